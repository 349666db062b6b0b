"""An operator's actions on one request (``distribution.orders.operations``): SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.errors import RetryableError
from distribution.models import GranuleStatus, MediaType, Notice, NoticeState, RequestRetry, RequestState
from distribution.notices.outbox import OutboxFolder, enqueue_notice
from distribution.orders.delivery import begin_request, deliver_request, record_step_error, stage_request, \
    verify_request
from distribution.orders.notify import notify_request
from distribution.orders.operations import cancel_request, extend_pull_area, mark_retry_sent, resend_notice, \
    retry_request, step_errors
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from tests.unit.inventory.test_catalog import _archive

ALICE = Contact(user_id="alice", email="alice@example.org", shipping_address="1 Main Street\nLandover, MD 22222")
NOW = datetime(2026, 12, 7, 12, 0)


def _requests(settings: Settings, tmp_path: Path) -> list[str]:
    urs = _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, ALICE, [RequestSpec(MediaType.FTP_PULL, urs[:2]),
                                                        RequestSpec(MediaType.DVD, urs[2:3])])
        return [str(r.request_id) for r in order.requests]


def test_cancel_one_request_of_an_order(settings: Settings, tmp_path: Path) -> None:
    pull, dvd = _requests(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        cancel_request(session, dvd)
    with session_scope(settings.database_url) as session:
        assert get_request(session, dvd).state is RequestState.CANCELLED
        assert {rg.status for rg in get_request(session, dvd).granules} == {GranuleStatus.CANCELLED}
        assert get_request(session, pull).state is RequestState.NEW  # the order's other request goes on
        with pytest.raises(UserError, match="nothing to cancel"):
            cancel_request(session, dvd)


def test_extend_a_pull_area(settings: Settings, tmp_path: Path) -> None:
    pull, dvd = _requests(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        with pytest.raises(UserError, match="no pull area"):
            extend_pull_area(session, dvd, 3, NOW)
        request = get_request(session, pull)
        request.ftp_dir, request.ftp_expires_at = "alice/0100000001", NOW + timedelta(days=1)
    with session_scope(settings.database_url) as session:
        assert extend_pull_area(session, pull, 3, NOW) == NOW + timedelta(days=4)  # from the expiry
        assert extend_pull_area(session, pull, 1, NOW + timedelta(days=10)) == NOW + timedelta(days=11)  # passed
        for days in (0, 31):
            with pytest.raises(UserError, match="1 to 30 days"):
                extend_pull_area(session, pull, days, NOW)
        get_request(session, pull).pull_purged_at = NOW
        with pytest.raises(UserError, match="was removed"):
            extend_pull_area(session, pull, 1, NOW)


def test_resend_the_dn_as_a_new_outbox_row(settings: Settings, tmp_path: Path) -> None:
    pull, _ = _requests(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        with pytest.raises(UserError, match="no notice"):
            resend_notice(session, pull)
        request = get_request(session, pull)
        first = enqueue_notice(session, dedupe_key=f"dn:{pull}", kind="dn", recipient="alice@example.org",
                               subject="DN", body="the notice\n", request_pk=request.id)
        first.state = NoticeState.SENT
    with session_scope(settings.database_url) as session:
        again = resend_notice(session, pull)
        twice = resend_notice(session, pull)
        assert (again.dedupe_key, twice.dedupe_key) == (f"dn:{pull}:resend-1", f"dn:{pull}:resend-2")
        assert (again.state, again.body, again.recipient) == (NoticeState.PENDING, "the notice\n", "alice@example.org")
    with session_scope(settings.database_url) as session:
        states = session.execute(select(Notice.dedupe_key, Notice.state).order_by(Notice.id)).all()
        assert [s for _, s in states] == [NoticeState.SENT, NoticeState.PENDING, NoticeState.PENDING]


def test_the_last_error_of_each_step(settings: Settings, tmp_path: Path) -> None:
    pull, _ = _requests(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        assert step_errors(session, pull) == {}
        first, second = get_request(session, pull).granules
        first.last_error = "stage failed - the archive's copy is missing"
        second.failure_explanation = "deliver failed - the server refused the login"
        second.last_error = "stage failed - the archive's copy is missing"
    with session_scope(settings.database_url) as session:
        assert step_errors(session, pull) == {"stage": "the archive's copy is missing",
                                              "deliver": "the server refused the login"}


def _dns(settings: Settings, request_id: str) -> list[tuple[str, str, NoticeState]]:
    with session_scope(settings.database_url) as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(Notice.dedupe_key, Notice.kind, Notice.state).where(Notice.dedupe_key.startswith(f"dn:{request_id}"))
            .order_by(Notice.id))]


def test_a_failed_request_is_retried_with_one_new_dn(settings: Settings, tmp_path: Path) -> None:
    pull, dvd = _requests(settings, tmp_path)
    outbox = lambda: OutboxFolder(settings.outbox_dir)  # noqa: E731
    begin_request(settings, pull, "request-" + pull)
    stage_request(settings, pull)
    verify_request(settings, pull)
    record_step_error(settings, pull, "deliver", RetryableError("the pull area's disk is full"))
    with session_scope(settings.database_url) as session:
        with pytest.raises(UserError, match="only a failed request is retried"):
            retry_request(session, pull, "op1")  # still on its way
    notify_request(settings, pull, outbox)  # the deliver step gave up: the failure DN
    assert _dns(settings, pull) == [(f"dn:{pull}", "dn-failed", NoticeState.SENT)]
    with session_scope(settings.database_url) as session:
        retry = retry_request(session, pull, "op1", NOW)
        assert (retry.attempt, retry.requested_by, retry.previous_state, retry.sent_at) == (2, "op1", "failed", None)
        assert "deliver: the pull area's disk is full" in retry.previous_failure
        request = get_request(session, pull)
        assert (request.attempt, request.state, request.failure, request.finished_at) == (2, RequestState.NEW,
                                                                                           None, None)
        assert {(rg.status, rg.failure_explanation) for rg in request.granules} == {(GranuleStatus.PENDING, None)}
    with session_scope(settings.database_url) as session:  # Airflow did not take it: asked again, the same retry
        assert retry_request(session, pull, "op2").id == retry.id
        mark_retry_sent(session, retry.id, NOW)
    for step in (stage_request, verify_request, deliver_request):
        step(settings, pull)
    assert notify_request(settings, pull, outbox).state == "complete"
    notify_request(settings, pull, outbox)  # the step run twice: still one DN for the attempt
    assert _dns(settings, pull) == [(f"dn:{pull}", "dn-failed", NoticeState.SENT),
                                    (f"dn:{pull}:attempt-2", "dn", NoticeState.SENT)]
    with session_scope(settings.database_url) as session:
        assert resend_notice(session, pull).dedupe_key == f"dn:{pull}:attempt-2:resend-1"
        with pytest.raises(UserError, match="is complete: only a failed request is retried"):
            retry_request(session, pull, "op1")
        assert session.scalar(select(RequestRetry.sent_at)) == NOW
        get_request(session, dvd).state = RequestState.FAILED
        with pytest.raises(UserError, match="on DVD: mark its bad volume"):
            retry_request(session, dvd, "op1")
