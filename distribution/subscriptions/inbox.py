"""Subscription e-mails dropped into a Maildir, each answered once with its acknowledgment.

A mail system (fetchmail, procmail, Postfix's maildir delivery) puts messages in
``<ARDIS_MAILDIR>/new``. Each one is recorded in ``subscription_mail`` by its
Message-ID (or its maildir name) with INSERT … ON CONFLICT DO NOTHING, applied and
answered through the outbox in the same transaction, then moved to ``cur/`` with
the Seen flag. A crash between the commit and the move leaves a message that is
recognised by its key at the next sweep and only moved.

Each mail is judged before its text is applied (trust.py): the acknowledgment
goes to the address on record of the User ID it names, never to the sender, and
to no one when that User ID is unknown (logged for the operators). A mail the
parser cannot take apart is answered like any other unreadable message.
"""

from __future__ import annotations

import email
import logging
import mailbox
import os
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from distribution.config import Settings
from distribution.db import session_scope
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.subscriptions.models import MailMessage
from distribution.subscriptions.store import ConnectionLookup, answer_message
from distribution.subscriptions.trust import Sender, mail_sender

log = logging.getLogger(__name__)

_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
ACK_KIND = "subscription_ack"
MAX_PER_SWEEP = 200


@dataclass(frozen=True)
class MailOutcome:
    key: str
    sender: str
    accepted: bool | None  # None: taken before (only moved now), or no one to answer
    subscription_id: int | None
    notice_id: int | None


def maildir_path(settings: Settings) -> Path:
    return settings.maildir or settings.home / "maildir"


_UNREADABLE = (LookupError, ValueError, TypeError, IndexError, AttributeError, UnicodeError)


def _body(message: EmailMessage) -> str:
    """The text/plain body; a part the parser cannot decode is read as bytes, undecodable ones replaced."""
    try:
        part = message.get_body(preferencelist=("plain",))
        if part is None:
            return ""
        content = part.get_content()
    except _UNREADABLE:
        payload = message.get_payload(decode=True) if not message.is_multipart() else b""
        content = payload if isinstance(payload, bytes) else b""
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, ""))
    except _UNREADABLE:
        return ""


def _sender(message: EmailMessage, relays: tuple[str, ...]) -> Sender:
    try:
        return mail_sender(message, relays)
    except _UNREADABLE as e:
        return Sender("", f"its headers cannot be read ({type(e).__name__})")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _move_to_cur(root: Path, name: str) -> None:
    """new/<name> → cur/<name>:2,S (the maildir way to say "seen")."""
    source = root / "new" / name
    if source.exists():
        os.replace(source, root / "cur" / f"{name.split(':', 1)[0]}:2,S")


def _answer_one(settings: Settings, box: mailbox.Maildir, key: str,
                connections: ConnectionLookup | None) -> MailOutcome:
    message = email.message_from_bytes(box.get_bytes(key), policy=default_policy)
    assert isinstance(message, EmailMessage)
    judged = _sender(message, settings.subscription_relays)
    sender = judged.address
    subject = _one_line(_header(message, "Subject"))
    message_key = _one_line(_header(message, "Message-ID"))[:255] or f"maildir:{key}"
    with session_scope(settings.database_url) as session:
        insert = _INSERTS[session.get_bind().dialect.name]
        taken = session.execute(insert(MailMessage).values(message_key=message_key[:255], sender=sender[:255],
                                                           subject=subject[:512])
                                .on_conflict_do_nothing(index_elements=["message_key"]))
        if not taken.rowcount:  # type: ignore[attr-defined]
            return MailOutcome(key, sender, None, None, None)
        row = session.scalars(select(MailMessage).where(MailMessage.message_key == message_key[:255])).one()
        answer = answer_message(session, _body(message), subject or None, actor=f"mail:{sender or key}"[:255],
                                source="email", sender=judged, connections=connections)
        row.accepted, row.subscription_id = answer.accepted, answer.subscription_id
        if not answer.accepted:
            log.warning("maildir %s from %r refused: %s", key, sender[:255], answer.reason)
        if answer.recipient is None:
            log.warning("maildir %s: no known user to answer; %s not sent", key, answer.subject[:300])
            return MailOutcome(key, sender, answer.accepted, answer.subscription_id, None)
        notice = enqueue_notice(session, dedupe_key=f"{ACK_KIND}:{row.id}", kind=ACK_KIND,
                                recipient=answer.recipient, subject=answer.subject[:512], body=answer.text)
        row.notice_id = notice.id
        return MailOutcome(key, sender, answer.accepted, answer.subscription_id, notice.id)


def answer_mail(settings: Settings, transport: Transport | None = None,
                connections: ConnectionLookup | None = None) -> list[MailOutcome]:
    """Apply and answer every message in ``new/``; then send the acknowledgments.

    ``connections`` looks up push accounts (their host); without it no FTP Push or
    scp subscription is taken by mail.
    """
    root = maildir_path(settings)
    box = mailbox.Maildir(root, factory=None, create=True)
    names = sorted(n for n in os.listdir(root / "new") if not n.startswith("."))[:MAX_PER_SWEEP]
    outcomes = []
    for name in names:
        key = name.split(":", 1)[0]
        outcomes.append(_answer_one(settings, box, key, connections))
        _move_to_cur(root, name)
    notice_ids = [o.notice_id for o in outcomes if o.notice_id is not None]
    if transport is not None and notice_ids:
        send_pending(settings.database_url, transport, notice_ids=notice_ids, mail_from=settings.mail_from)
    return outcomes
