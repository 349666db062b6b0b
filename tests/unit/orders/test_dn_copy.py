"""The scp copy of the DN (ICD 4.3.6.4): retried on the retry schedule, operations told when it fails for good.

The destination is a closed port on 127.0.0.1 with no host key on record, so every try fails for real
(the client refuses to connect to a host it cannot verify).
"""

from __future__ import annotations

import email
import socket
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from devkit.sample_data import load_samples
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import RetryableError
from distribution.inventory.archive import granule_ur
from distribution.models import GranuleStatus, MediaType, Notice, NoticeState, RequestState
from distribution.notices.outbox import OutboxFolder
from distribution.orders.notify import copy_dn_again, notify_request
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order, get_request


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed once the socket is: connections are refused


def _delivered_scp_request(settings: Settings, tmp_path: Path) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 256)]
        spec = RequestSpec(MediaType.SCP, urs[:1], Destination("127.0.0.1", _closed_port(), "/incoming", ""))
        request = create_order(session, settings, Contact("scp1", "scp1@example.org"), [spec]).requests[0]
        for rg in request.granules:
            rg.status = GranuleStatus.DELIVERED  # the data went; only the DN copy is left
        return str(request.request_id)


def _outbox(settings: Settings) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=default)  # type: ignore[misc]
            for p in sorted(settings.outbox_dir.glob("*.eml"))]


def test_the_copy_is_retried_then_operations_are_told_once(sqlite_settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    object.__setattr__(settings, "operations_email", "ops@archive.example.org")
    request_id = _delivered_scp_request(settings, tmp_path)
    transport = lambda: OutboxFolder(settings.outbox_dir)  # noqa: E731
    result = notify_request(settings, request_id, transport)
    assert result.state == RequestState.COMPLETE.value and result.scp_copy.startswith("failed")
    assert [m["To"] for m in _outbox(settings)] == ["scp1@example.org"]  # the DN went by e-mail
    for _ in range(2):  # tries left: the step fails as retryable, Airflow retries it on the schedule
        with pytest.raises(RetryableError, match="DN copy to 127.0.0.1"):
            copy_dn_again(settings, request_id, lambda: None, transport, last_try=False)
    assert len(_outbox(settings)) == 1
    for _ in range(2):  # the last try: failed for good, operations told (once, whatever reruns)
        outcome = copy_dn_again(settings, request_id, lambda: None, transport, last_try=True)
        assert outcome.startswith("failed for good")
    ops = [m for m in _outbox(settings) if m["To"] == "ops@archive.example.org"]
    assert len(ops) == 1 and request_id in str(ops[0]["Subject"]) and "failed for good" in str(ops[0]["Subject"])
    assert f"{request_id}.notifyscp" in ops[0].get_content() and "scp1@example.org" in ops[0].get_content()
    with session_scope(settings.database_url) as session:
        assert get_request(session, request_id).state is RequestState.COMPLETE  # the user has the DN: still complete


def test_a_copy_written_earlier_is_not_written_again(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    request_id = _delivered_scp_request(settings, tmp_path)
    transport = lambda: OutboxFolder(settings.outbox_dir)  # noqa: E731
    notify_request(settings, request_id, transport)
    with session_scope(settings.database_url) as session:
        dn = session.scalar(select(Notice).where(Notice.dedupe_key == f"dn:{request_id}"))
        assert dn is not None
        session.add(Notice(dedupe_key=f"dn-scp:{request_id}", kind="dn-scp", recipient="scp://x", subject="s",
                           body=dn.body, message_id=dn.message_id, state=NoticeState.SENT))
    assert copy_dn_again(settings, request_id, lambda: None, transport, last_try=True) == "written"


def test_not_applicable_to_other_methods(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 256)]
        order = create_order(session, settings, Contact("pull1", "pull1@example.org"),
                             [RequestSpec(MediaType.FTP_PULL, urs[:1])])
        request_id = str(order.requests[0].request_id)
    assert copy_dn_again(settings, request_id, lambda: None, lambda: OutboxFolder(settings.outbox_dir),
                         last_try=True) == "not applicable"
