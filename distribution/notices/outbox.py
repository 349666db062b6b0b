"""The notice outbox: every notice is a database row first, then sent once.

``enqueue_notice`` is idempotent by ``dedupe_key`` (one DN per request, whatever
retries happen). ``send_pending`` claims a row with one conditional UPDATE
(pending → sending) so two senders never both send it, sends, and marks it sent.
The only duplicate window is a crash between an SMTP server's acceptance and the
``sent`` mark: a row stuck in ``sending`` longer than ``STALE_CLAIM`` is sent again
(at-least-once there, by choice: a lost DN is worse than a repeated one; the
Message-ID is the same, so mail systems can drop the repeat). Writing ``.eml``
files is idempotent by file name, so the folder transport has no such window.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distribution.db import session_scope
from distribution.errors import RetryableError
from distribution.models import Notice, NoticeState
from distribution.time import utcnow

STALE_CLAIM = timedelta(minutes=15)


class Transport(Protocol):
    """Where a notice goes: ``deliver`` raises OSError/smtplib errors when it cannot."""

    name: str

    def deliver(self, notice: Notice, message: EmailMessage) -> str: ...


@dataclass
class OutboxFolder:
    """The embedded default: one ``<id>-<kind>.eml`` per notice in a folder."""

    path: Path
    name: str = "outbox"

    def deliver(self, notice: Notice, message: EmailMessage) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / f"{notice.id:06d}-{notice.kind}.eml"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(message.as_bytes(policy=SMTP))
        os.replace(tmp, target)
        return str(target)


@dataclass
class SmtpTransport:
    """An SMTP relay (from an Airflow SMTP connection); the password is never logged."""

    host: str
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout: float = 30.0
    name: str = "smtp"

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
            client.send_message(message)
        return f"smtp://{self.host}:{self.port}"


def message_id_for(dedupe_key: str) -> str:
    return f"<{hashlib.sha1(dedupe_key.encode()).hexdigest()}@ardis>"


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
    """The notice with this key: created now, or the one an earlier try created (unchanged)."""
    existing = session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    notice = Notice(dedupe_key=dedupe_key, kind=kind, recipient=recipient, subject=subject, body=body,
                    request_pk=request_pk, message_id=message_id_for(dedupe_key), state=NoticeState.PENDING)
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:
        # A concurrent try created it between our select and insert.
        found = session.scalar(select(Notice).where(Notice.dedupe_key == dedupe_key))
        assert found is not None
        return found
    return notice


def build_message(notice: Notice, mail_from: str) -> EmailMessage:
    """A text/plain message whose body is the notice byte for byte (tabs, trailing blanks)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = notice.recipient
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(notice.created_at.replace(tzinfo=None), usegmt=False)
    message["Message-ID"] = notice.message_id
    # quoted-printable keeps trailing blanks and tabs intact through any relay.
    message.set_content(notice.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


def _claim(session: Session, notice_id: int) -> bool:
    stale = utcnow() - STALE_CLAIM
    result = session.execute(
        update(Notice)
        .where(
            Notice.id == notice_id,
            or_(Notice.state == NoticeState.PENDING,
                (Notice.state == NoticeState.SENDING) & (Notice.sent_at.is_(None)) & (Notice.created_at < stale)),
        )
        .values(state=NoticeState.SENDING, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def send_pending(url: str, transport: Transport, *, notice_ids: list[int] | None = None,
                 mail_from: str = "ardis@localhost") -> list[int]:
    """Send the given (or all pending) notices once each; returns the ids sent now.

    Raises RetryableError after trying all of them if any could not be sent.
    """
    with session_scope(url) as session:
        query = select(Notice.id).where(Notice.state.in_([NoticeState.PENDING, NoticeState.SENDING]))
        if notice_ids is not None:
            query = query.where(Notice.id.in_(notice_ids))
        candidates = list(session.scalars(query.order_by(Notice.id)))
    sent, errors = [], []
    for notice_id in candidates:
        with session_scope(url) as session:
            if not _claim(session, notice_id):
                continue
        with session_scope(url) as session:
            notice = session.get(Notice, notice_id)
            assert notice is not None
            try:
                where = transport.deliver(notice, build_message(notice, mail_from))
            except (OSError, smtplib.SMTPException) as e:
                notice.state = NoticeState.PENDING
                notice.last_error = f"{transport.name}: {e}"
                errors.append(f"notice {notice_id}: {e}")
                continue
            notice.state = NoticeState.SENT
            notice.sent_at = utcnow()
            notice.sent_via = where
            notice.last_error = None
            sent.append(notice_id)
    if errors:
        raise RetryableError("could not send: " + "; ".join(errors))
    return sent
