"""The outbox: one row per notice, sent once, even when senders race (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import logging
import smtplib
import threading
import time
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import func, select, update

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import PermanentError, RetryableError
from distribution.models import Notice, NoticeState
from distribution.notices.outbox import (
    STALE_CLAIM,
    OutboxFolder,
    build_message,
    enqueue_notice,
    message_id_for,
    send_pending,
)
from distribution.time import utcnow

BODY = "Preamble. \n\n++++++++++\n\nORDERID: 0100000001\nUSERSTRING: \n\tGRANULE: x\n\t\tFILENAME: a\t \n\n"
SUBJECT = "ARDIS ECS Order Notification Order ID: 0100000001"


def _enqueue(settings: Settings, key: str = "dn:0100000001", body: str = BODY) -> int:
    with session_scope(settings.database_url) as session:
        notice = enqueue_notice(session, dedupe_key=key, kind="dn", recipient="u@example.org", subject=SUBJECT,
                                body=body)
        return notice.id


def _row(settings: Settings, notice_id: int) -> Notice:
    with session_scope(settings.database_url) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        return notice


def _set(settings: Settings, notice_id: int, **values: object) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(update(Notice).where(Notice.id == notice_id).values(**values))


def test_enqueue_is_idempotent_and_keeps_the_first(settings: Settings) -> None:
    first = _enqueue(settings)
    assert _enqueue(settings, body="a different body\n") == first
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 1
    notice = _row(settings, first)
    assert (notice.body, notice.state, notice.attempts) == (BODY, NoticeState.PENDING, 0)
    assert notice.message_id == message_id_for("dn:0100000001") and notice.message_id.endswith("@ardis>")


def test_enqueue_loses_a_race_gracefully(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """B looks while A's insert is uncommitted, inserts, hits the unique key, and returns A's row."""
    caplog.set_level(logging.DEBUG, logger="distribution.notices.outbox")
    results: list[int] = []
    started = threading.Event()

    def other() -> None:
        started.set()
        results.append(_enqueue(settings, "dn:race", body="B's body\n"))

    with session_scope(settings.database_url) as session:
        mine = enqueue_notice(session, dedupe_key="dn:race", kind="dn", recipient="u@example.org",
                              subject=SUBJECT, body=BODY)
        thread = threading.Thread(target=other)
        thread.start()
        started.wait()
        time.sleep(0.5)  # B's select sees nothing; its insert waits for our commit
    thread.join(30)
    assert results == [mine.id]
    assert _row(settings, mine.id).body == BODY
    assert "enqueued concurrently" in caplog.text


def test_enqueue_commits_with_the_callers_transaction(settings: Settings) -> None:
    with pytest.raises(RuntimeError), session_scope(settings.database_url) as session:
        enqueue_notice(session, dedupe_key="dn:undone", kind="dn", recipient="u@example.org", subject=SUBJECT,
                       body=BODY)
        raise RuntimeError("the step failed after writing its notice")
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0


@pytest.mark.parametrize(("field", "value"), [("kind", "dn/../x"), ("recipient", ""), ("subject", "a\nBcc: x")])
def test_enqueue_refuses_what_would_break_a_header_or_a_file_name(sqlite_settings: Settings, field: str,
                                                                  value: str) -> None:
    args = {"dedupe_key": "k", "kind": "dn", "recipient": "u@example.org", "subject": SUBJECT, "body": BODY}
    with session_scope(sqlite_settings.database_url) as session, pytest.raises(ValueError, match=field):
        enqueue_notice(session, **{**args, field: value})


def test_body_is_stored_as_it_will_be_read(sqlite_settings: Settings) -> None:
    notice_id = _enqueue(sqlite_settings, body="line one\r\nline two")
    assert _row(sqlite_settings, notice_id).body == "line one\nline two\n"


def test_message_headers(sqlite_settings: Settings) -> None:
    message = build_message(_row(sqlite_settings, _enqueue(sqlite_settings)), "ardis@example.org")
    assert message["Message-ID"] == message_id_for("dn:0100000001")
    assert message["Date"].endswith("+0000") and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"


def test_folder_send_keeps_the_body_exact_and_never_twice(settings: Settings) -> None:
    notice_id = _enqueue(settings)
    transport = OutboxFolder(settings.outbox_dir)
    assert send_pending(settings.database_url, transport, mail_from="ardis@example.org") == [notice_id]
    assert send_pending(settings.database_url, transport) == []
    (eml,) = settings.outbox_dir.iterdir()
    assert eml.name == f"{notice_id:06d}-dn.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert message["Subject"] == SUBJECT and message["Message-ID"] == message_id_for("dn:0100000001")
    assert message["From"] == "ardis@example.org" and message["To"] == "u@example.org"
    assert message.get_content() == BODY  # byte for byte: tabs, trailing blanks, LF
    notice = _row(settings, notice_id)
    assert (notice.state, notice.attempts, notice.sent_via) == (NoticeState.SENT, 1, str(eml))
    assert notice.sent_at is not None and notice.last_error is None


class CountingFolder(OutboxFolder):
    """An outbox folder that counts deliveries per notice, and is slow enough for races to happen."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.count: Counter[int] = Counter()
        self.lock = threading.Lock()

    def deliver(self, notice: Notice, message: EmailMessage) -> str:
        with self.lock:
            self.count[notice.id] += 1
        time.sleep(0.01)
        return super().deliver(notice, message)


# A failed DN as the ICD writes it: the GRANULE and STATUS lines are longer than 76 characters.
LONG_LINES_DN = (
    "Your request could not be completed. \n\n++++++++++\n\nORDERID: 0100000001\nUSERSTRING: \n\nFAILURE\n"
    "The request failed\nMEDIATYPE: FtpPush\n\n\nNone of the requested granules are considered distributed.\n"
    "The requested granules were:\n"
    "\t\t GRANULE: UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[ARD:DSSDSRV]:24:SC:MOD09GHK.003:1234567890\n"
    "\t\t STATUS: DISTRIBUTION FAILED - delivery failed - cannot connect to the destination: Connection refused\n"
)


def test_an_ascii_notice_goes_7bit_with_every_line_as_written(sqlite_settings: Settings) -> None:
    """A SIPS parses the raw mail line by line: no soft line breaks, no ``=09`` for a tab."""
    notice_id = _enqueue(sqlite_settings, body=LONG_LINES_DN)
    send_pending(sqlite_settings.database_url, OutboxFolder(sqlite_settings.outbox_dir))
    raw = (sqlite_settings.outbox_dir / f"{notice_id:06d}-dn.eml").read_bytes()
    head, _, body = raw.partition(b"\n\n")
    assert b"Content-Transfer-Encoding: 7bit" in head.split(b"\n")
    assert body == LONG_LINES_DN.encode("ascii")  # the raw body is the notice, byte for byte
    assert max(len(line) for line in LONG_LINES_DN.split("\n")) > 100


def test_a_notice_7bit_cannot_carry_is_still_encoded(sqlite_settings: Settings) -> None:
    for key, body in (("dn:1", "caf\u00e9 \n"), ("dn:2", "x" * 1200 + "\n")):
        message = build_message(_row(sqlite_settings, _enqueue(sqlite_settings, key, body)), "ardis@example.org")
        assert message["Content-Transfer-Encoding"] == "quoted-printable"
        assert message.get_content() == body


def test_racing_senders_send_each_notice_once(settings: Settings) -> None:
    ids = [_enqueue(settings, f"dn:{i:010d}") for i in range(20)]
    transport = CountingFolder(settings.outbox_dir)
    sent: list[list[int]] = []
    barrier = threading.Barrier(2)

    def sender() -> None:
        barrier.wait()
        sent.append(send_pending(settings.database_url, transport))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert transport.count == Counter(ids)  # every notice delivered exactly once
    assert sorted(i for batch in sent for i in batch) == ids
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 20


def test_a_live_claim_is_left_alone_however_old_the_notice(settings: Settings) -> None:
    notice_id = _enqueue(settings)
    _set(settings, notice_id, state=NoticeState.SENDING, attempts=1, created_at=utcnow() - timedelta(days=2),
         sent_at=utcnow())
    assert send_pending(settings.database_url, OutboxFolder(settings.outbox_dir)) == []
    assert not settings.outbox_dir.exists() or not list(settings.outbox_dir.iterdir())


def test_a_claim_abandoned_by_a_crash_is_taken_over(settings: Settings) -> None:
    notice_id = _enqueue(settings)
    _set(settings, notice_id, state=NoticeState.SENDING, attempts=1,
         sent_at=utcnow() - STALE_CLAIM - timedelta(minutes=1))
    assert send_pending(settings.database_url, OutboxFolder(settings.outbox_dir)) == [notice_id]
    assert (_row(settings, notice_id).state, _row(settings, notice_id).attempts) == (NoticeState.SENT, 2)


class BrokenTransport:
    name = "broken"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def deliver(self, notice: Notice, message: EmailMessage) -> str:
        raise self.error


def test_a_failed_send_stays_pending_and_is_retried(settings: Settings) -> None:
    first, second = _enqueue(settings, "dn:1"), _enqueue(settings, "dn:2")
    with pytest.raises(RetryableError, match="relay down") as info:
        send_pending(settings.database_url, BrokenTransport(ConnectionRefusedError("relay down")))
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    for notice_id in (first, second):  # both were tried
        notice = _row(settings, notice_id)
        assert (notice.state, notice.attempts, notice.sent_at) == (NoticeState.PENDING, 1, None)
        assert "ConnectionRefusedError: relay down" in str(notice.last_error)
    assert send_pending(settings.database_url, OutboxFolder(settings.outbox_dir)) == [first, second]
    assert _row(settings, first).last_error is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (smtplib.SMTPRecipientsRefused({"u@example.org": (550, b"no such user")}), PermanentError),
        (smtplib.SMTPRecipientsRefused({"u@example.org": (451, b"try later")}), RetryableError),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), PermanentError),
        (smtplib.SMTPServerDisconnected("gone"), RetryableError),
        (TimeoutError("timed out"), RetryableError),
    ],
)
def test_refusals_that_waiting_cannot_cure_are_permanent(sqlite_settings: Settings, error: Exception,
                                                        expected: type[Exception]) -> None:
    notice_id = _enqueue(sqlite_settings)
    with pytest.raises(expected):
        send_pending(sqlite_settings.database_url, BrokenTransport(error))
    assert _row(sqlite_settings, notice_id).state == NoticeState.PENDING


def test_a_failing_sender_does_not_undo_a_takeover(settings: Settings) -> None:
    """A slow sender whose claim went stale fails after another one sent the notice: it stays sent."""
    notice_id = _enqueue(settings)
    url = settings.database_url

    class OvertakenTransport:
        name = "slow"

        def deliver(self, notice: Notice, message: EmailMessage) -> str:
            _set(settings, notice.id, sent_at=utcnow() - STALE_CLAIM - timedelta(minutes=1))
            assert send_pending(url, OutboxFolder(settings.outbox_dir)) == [notice.id]
            raise TimeoutError("the relay answered too late")

    with pytest.raises(RetryableError):
        send_pending(url, OvertakenTransport())
    notice = _row(settings, notice_id)
    assert (notice.state, notice.attempts, notice.last_error) == (NoticeState.SENT, 2, None)
