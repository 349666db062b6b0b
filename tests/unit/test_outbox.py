"""The outbox: one row per notice, sent once, even when senders race (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import threading
from email.policy import default

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import RetryableError
from distribution.models import Notice, NoticeState
from distribution.notices.outbox import OutboxFolder, enqueue_notice, send_pending

BODY = "Preamble. \n\n++++++++++\n\nORDERID: 0100000001\n\tGRANULE: x\n\t\tFILENAME: a \n\n"


def _enqueue(settings: Settings, key: str = "dn:0100000001") -> int:
    with session_scope(settings.database_url) as session:
        notice = enqueue_notice(session, dedupe_key=key, kind="dn", recipient="u@example.org",
                                subject="ARDIS ECS Order Notification Order ID: 0100000001", body=BODY)
        session.flush()
        return notice.id


def test_enqueue_is_idempotent(settings: Settings) -> None:
    assert _enqueue(settings) == _enqueue(settings)
    with session_scope(settings.database_url) as session:
        assert session.query(Notice).count() == 1


def test_folder_send_keeps_the_body_exact_and_never_twice(settings: Settings) -> None:
    notice_id = _enqueue(settings)
    transport = OutboxFolder(settings.outbox_dir)
    assert send_pending(settings.database_url, transport, mail_from="ardis@example.org") == [notice_id]
    assert send_pending(settings.database_url, transport) == []
    (eml,) = settings.outbox_dir.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert message["Subject"] == "ARDIS ECS Order Notification Order ID: 0100000001"
    assert message["From"] == "ardis@example.org" and message["To"] == "u@example.org"
    assert message.get_content().replace("\r\n", "\n") == BODY  # tabs and trailing blanks survive
    with session_scope(settings.database_url) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None and notice.state == NoticeState.SENT and notice.attempts == 1


class CountingFolder(OutboxFolder):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.count = 0
        self.lock = threading.Lock()

    def deliver(self, notice: Notice, message: email.message.EmailMessage) -> str:
        with self.lock:
            self.count += 1
        return super().deliver(notice, message)


def test_racing_senders_send_each_notice_once(settings: Settings) -> None:
    ids = [_enqueue(settings, f"dn:{i:010d}") for i in range(20)]
    transport = CountingFolder(settings.outbox_dir)
    sent: list[list[int]] = []
    threads = [threading.Thread(target=lambda: sent.append(send_pending(settings.database_url, transport)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert transport.count == 20
    assert sorted(i for batch in sent for i in batch) == ids


class BrokenTransport:
    name = "broken"

    def deliver(self, notice: Notice, message: email.message.EmailMessage) -> str:
        raise ConnectionRefusedError("relay down")


def test_a_failed_send_stays_pending_and_is_retried(settings: Settings) -> None:
    notice_id = _enqueue(settings)
    with pytest.raises(RetryableError, match="relay down"):
        send_pending(settings.database_url, BrokenTransport())
    with session_scope(settings.database_url) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None and notice.state == NoticeState.PENDING and "relay down" in str(notice.last_error)
    assert send_pending(settings.database_url, OutboxFolder(settings.outbox_dir)) == [notice_id]
