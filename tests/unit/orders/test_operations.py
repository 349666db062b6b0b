"""An operator's actions on one request (``distribution.orders.operations``): SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.models import GranuleStatus, MediaType, Notice, NoticeState, RequestState
from distribution.notices.outbox import enqueue_notice
from distribution.orders.operations import cancel_request, extend_pull_area, resend_notice, step_errors
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
