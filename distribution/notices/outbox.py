"""The notice outbox: every notice is a database row first, then sent once.

Why a row first: a DN must survive a crash between "the request is finished" and
"the mail went out", and a retried task must not announce a request twice.

* ``enqueue_notice`` is idempotent by ``dedupe_key`` (e.g. ``dn:<RequestID>``):
  a second call, or a concurrent one, returns the first row unchanged.
* ``send_pending`` claims each row with one conditional UPDATE
  (``pending → sending``, ``attempts + 1``); only the sender whose UPDATE hit
  the row sends it. The claim's ``attempts`` value is its fencing token: the
  sender releases the row (back to ``pending`` after a transport error) only
  if nobody has claimed it since. No transaction is open while a message is
  in flight.
* While a row is ``sending``, ``sent_at`` holds the time of the claim; once it
  is ``sent``, the time it was sent (the model has no separate claim column).
  A row left ``sending`` by a crashed sender for longer than ``STALE_CLAIM``
  is claimed again.

At-most-once or at-least-once? At least once, by choice: a lost DN is worse
than a repeated one. The only window for a duplicate is a crash (or a send
slower than ``STALE_CLAIM``) after the transport accepted the message and
before the row was marked ``sent``. For the outbox folder that window is empty:
the ``.eml`` file name is the notice id and its bytes depend only on the row
(Date is the creation time), so a second write replaces the file with the same
bytes. For SMTP the repeat carries the same Message-ID, so mail systems and
readers can recognise it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from distribution.db import session_scope
from distribution.errors import PermanentError, RetryableError
from distribution.models import Notice, NoticeState
from distribution.paths import under
from distribution.time import utcnow

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=15)
_KIND = re.compile(r"[A-Za-z0-9_-]{1,32}")
_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


class Transport(Protocol):
    """Where a notice goes. ``deliver`` returns where it went (for ``sent_via``) and
    raises OSError / smtplib.SMTPException when it cannot deliver."""

    name: str

    def deliver(self, notice: Notice, message: EmailMessage) -> str: ...


@dataclass
class OutboxFolder:
    """The embedded default: one ``<notice id>-<kind>.eml`` per notice in a folder.

    Written to a temporary name, synced and renamed, so a reader never sees half a
    file and a repeated write (after a crash) replaces the file with the same bytes.
    The file has LF line ends, so its decoded body is the notice byte for byte.
    """

    path: Path
    name: str = "outbox"

    def deliver(self, notice: Notice, message: EmailMessage) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        target = under(self.path, f"{notice.id:06d}-{notice.kind}.eml")
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(message.as_bytes(policy=default_policy))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(target)


@dataclass
class SmtpTransport:
    """An SMTP relay; the caller reads host, port and credentials from an Airflow connection.

    ``ssl`` is SMTP over TLS from the first byte (port 465), ``starttls`` upgrades a
    plain connection (port 587); the password is never shown in a repr or a log.
    """

    host: str
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout: float = 30.0
    name: str = "smtp"

    def __post_init__(self) -> None:
        if self.ssl and self.starttls:
            raise ValueError("SMTP: choose ssl (implicit TLS) or starttls, not both")

    def deliver(self, notice: Notice, message: EmailMessage) -> str:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            refused = client.send_message(message)
        if refused:  # some recipients took it, some did not: it is sent, the rest is noted
            log.warning("notice %s: recipients refused: %s", notice.id, refused)
        return f"smtp://{self.host}:{self.port}"


def message_id_for(dedupe_key: str) -> str:
    """The same notice always has the same Message-ID, so a repeated send is recognisable."""
    return f"<{hashlib.sha1(dedupe_key.encode('utf-8')).hexdigest()}@ardis>"


def text_body(body: str) -> str:
    """The body as the recipient will read it: LF line ends, ending in one.

    A text/plain body travels as lines, so a final line end is added on the way
    anyway; storing it so keeps "the row is what was sent" true to the byte.
    """
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return body if body.endswith("\n") else body + "\n"


def _find(session: Session, dedupe_key: str) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))


def enqueue_notice(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    request_pk: int | None = None,
) -> Notice:
    """The notice with this key: created now, or the one an earlier try created (unchanged).

    The row is written (it has its id) but committed with the caller's transaction,
    so a notice exists exactly when the state change it announces does. The body
    is stored as ``text_body`` makes it (LF line ends, a final one).
    """
    if not _KIND.fullmatch(kind):
        raise ValueError(f"notice kind must be 1-32 letters, digits, '-' or '_': {kind!r}")
    for header, value in (("recipient", recipient), ("subject", subject)):
        if not value.strip() or "\n" in value or "\r" in value:
            raise ValueError(f"the notice {header} must be one non-empty line: {value!r}")
    existing = _find(session, dedupe_key)
    if existing is not None:
        return existing
    insert = _INSERTS.get(session.get_bind().dialect.name)
    if insert is None:
        raise NotImplementedError(f"the outbox needs SQLite or PostgreSQL, not {session.get_bind().dialect.name}")
    # INSERT … ON CONFLICT DO NOTHING, not a savepoint: a concurrent enqueue waits
    # for ours and then does nothing, and pysqlite's RELEASE SAVEPOINT would commit
    # the caller's transaction early when it is the outermost one.
    result = session.execute(
        insert(Notice)
        .values(dedupe_key=dedupe_key, kind=kind, recipient=recipient, subject=subject, body=text_body(body),
                request_pk=request_pk, message_id=message_id_for(dedupe_key), state=NoticeState.PENDING,
                attempts=0, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[Notice.dedupe_key])
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        log.debug("notice %s was enqueued concurrently; using that one", dedupe_key)
    notice = _find(session, dedupe_key)
    assert notice is not None  # inserted now, or committed by the concurrent enqueue
    return notice


_SMTP_LINE = 998  # RFC 5321/5322: the longest line a mail may carry, without its CRLF


def transfer_encoding(body: str) -> str:
    """``7bit`` for an ASCII notice whose lines fit in a mail, else ``quoted-printable``.

    A SIPS reads a DN line by line from the raw mail: in 7bit every line is there
    as the ICD writes it (quoted-printable would cut a long ``GRANULE:`` line with
    ``=`` and write ``=09`` for a tab). Only a notice that 7bit cannot carry
    (non-ASCII text, a line over 998 characters) is encoded.
    """
    if body.isascii() and all(len(line) <= _SMTP_LINE for line in body.split("\n")):
        return "7bit"
    return "quoted-printable"


def build_message(notice: Notice, mail_from: str) -> EmailMessage:
    """A text/plain message whose decoded body is the notice byte for byte (7bit when ASCII).

    Date is the creation time, so the message is the same on every send.
    """
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = notice.recipient
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(notice.created_at.replace(tzinfo=UTC))
    message["Message-ID"] = notice.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the archive
    message.set_content(notice.body, subtype="plain", charset="utf-8", cte=transfer_encoding(notice.body))
    return message


def _claim(url: str, notice_id: int) -> Notice | None:
    """Take the row for this sender (pending, or abandoned in ``sending``); None if another has it."""
    now = utcnow()
    with session_scope(url) as session:
        claimable = or_(
            Notice.state == NoticeState.PENDING,
            and_(Notice.state == NoticeState.SENDING,
                 or_(Notice.sent_at.is_(None), Notice.sent_at < now - STALE_CLAIM)),
        )
        result = session.execute(
            update(Notice)
            .where(Notice.id == notice_id, claimable)
            .values(state=NoticeState.SENDING, attempts=Notice.attempts + 1, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.get(Notice, notice_id)


def _mark_sent(url: str, notice_id: int, via: str) -> None:
    """Delivered is delivered, whoever holds the claim now; a notice already sent keeps its first time."""
    with session_scope(url) as session:
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.state != NoticeState.SENT)
            .values(state=NoticeState.SENT, sent_at=utcnow(), sent_via=via[:255], last_error=None)
            .execution_options(synchronize_session=False)
        )


def _release(url: str, claimed: Notice, error: str) -> None:
    """Back to pending with the error, unless another sender has claimed the row since."""
    with session_scope(url) as session:
        session.execute(
            update(Notice)
            .where(Notice.id == claimed.id, Notice.state == NoticeState.SENDING,
                   Notice.attempts == claimed.attempts)
            .values(state=NoticeState.PENDING, sent_at=None, last_error=error)
            .execution_options(synchronize_session=False)
        )


def _is_permanent(error: BaseException) -> bool:
    """A 5xx answer (rejected sender, recipients, auth, message) will not change by waiting."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return True
    return not isinstance(error, (OSError, smtplib.SMTPException))


def send_pending(
    url: str, transport: Transport, *, notice_ids: list[int] | None = None, mail_from: str = "ardis@localhost"
) -> list[int]:
    """Send the given notices (default: every unsent one) once each; returns the ids sent by this call.

    A notice that cannot be sent goes back to ``pending`` with ``last_error``; after
    trying the others this raises RetryableError, or PermanentError when every
    failure was a refusal that waiting will not cure (SMTP 5xx, a broken notice).
    """
    with session_scope(url) as session:
        query = select(Notice.id).where(Notice.state != NoticeState.SENT)
        if notice_ids is not None:
            query = query.where(Notice.id.in_(notice_ids))
        candidates = list(session.scalars(query.order_by(Notice.id)))
    sent: list[int] = []
    failures: list[tuple[int, BaseException]] = []
    for notice_id in candidates:
        notice = _claim(url, notice_id)
        if notice is None:
            continue
        try:
            via = transport.deliver(notice, build_message(notice, mail_from))
        except Exception as e:  # noqa: BLE001 — every failure releases the claim; the type is decided below
            _release(url, notice, f"{transport.name}: {type(e).__name__}: {e}")
            failures.append((notice_id, e))
            continue
        _mark_sent(url, notice_id, via)
        sent.append(notice_id)
    if failures:
        detail = "; ".join(f"notice {i}: {e}" for i, e in failures)
        error_type = PermanentError if all(_is_permanent(e) for _, e in failures) else RetryableError
        raise error_type(f"could not send {len(failures)} notice(s) via {transport.name}: {detail}") from failures[0][1]
    return sent
