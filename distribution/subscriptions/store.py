"""Subscriptions kept in the database: submitted, updated, cancelled and expired, with their history.

``answer_message`` is what both doors use (``ardis subscription submit`` and the
incoming mail folder): it reads a request, update or cancellation, applies it and
returns the acknowledgment text of Table 4.3.2-1, accepted or failed. A message
that cannot be read is answered too: its text as received, then the failed status
(the ICD: "the original request message is retained and the status appended").

Dates in the messages are UTC. Every change leaves a ``subscription_history`` row
naming who asked (the e-mail sender, or ``cli:<login>``) and what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from distribution.errors import NotFound, UserError
from distribution.models import Collection
from distribution.orders import Contact, upsert_user
from distribution.subscription_models import (
    DistributionMethod,
    Subscription,
    SubscriptionHistory,
    SubscriptionState,
)
from distribution.subscriptions.acknowledgment import SUFFIX, Acknowledgment, message_kind, render_acknowledgment
from distribution.subscriptions.fields import format_date, read_lines
from distribution.subscriptions.messages import (
    CANCEL_SUBJECT,
    MEDIA,
    REQUEST_SUBJECT,
    UPDATE_SUBJECT,
    Distribution,
    SubscriptionCancellation,
    SubscriptionRequest,
    SubscriptionUpdate,
    User,
    apply_update,
    parse_cancellation,
    parse_request,
    parse_update,
    request_values,
)
from distribution.time import utcnow

MAX_REASON = 239  # the status line is at most 256 B (Table 4.3.2-1)
# The reason Table 4.3.2-1's example gives, spelled as printed: an ESDT the archive does not hold.
NO_EVENT = "matching subscribable event description could  not be found"
_DEFAULT_SUBJECT = {"request": REQUEST_SUBJECT, "update": UPDATE_SUBJECT, "cancellation": CANCEL_SUBJECT}


@dataclass(frozen=True)
class Answer:
    """What a message did: the acknowledgment to send back, and the subscription it concerned."""

    accepted: bool
    subject: str
    text: str
    subscription_id: int | None
    kind: str


def default_conn_id(user_id: str) -> str:
    """The Airflow connection a subscriber's pushes use unless the operator names another."""
    return f"ardis_subscriber_{user_id.lower()}"


def request_of(sub: Subscription) -> SubscriptionRequest:
    """The subscription as the ICD's request (what updates are checked against and notices built from)."""
    method = sub.method.value if sub.method else None
    distribution = Distribution(method, sub.host, sub.destination, sub.media_type) if method else None
    return SubscriptionRequest(
        User(sub.user_id, sub.first_name, sub.last_name, sub.middle_initial), sub.telephone, sub.email,
        sub.notification_text, sub.short_name, sub.version_id, sub.start_at, sub.expires_at, sub.qualifier,
        distribution)


def _copy(sub: Subscription, request: SubscriptionRequest) -> None:
    sub.user_id, sub.first_name = request.user.user_id, request.user.first_name
    sub.middle_initial, sub.last_name = request.user.middle_initial, request.user.last_name
    sub.telephone, sub.email, sub.notification_text = request.telephone, request.email, request.notification_text
    sub.short_name, sub.version_id, sub.event = request.short_name, request.version_id, "INSERT"
    sub.start_at, sub.expires_at, sub.qualifier = request.start, request.expiration, request.qualifier
    d = request.distribution
    sub.method = DistributionMethod(d.method) if d else None
    sub.host = d.host if d else None
    sub.destination = d.destination if d else None
    sub.media_type = d.media_type.upper() if d and d.media_type else None


def _state_for(sub: Subscription, now: datetime) -> SubscriptionState:
    return SubscriptionState.EXPIRED if sub.expires_at < now else SubscriptionState.ACTIVE


def record(session: Session, sub: Subscription, action: str, actor: str, detail: dict[str, Any] | None = None) -> None:
    """Append one history row (who, what, when)."""
    session.add(SubscriptionHistory(subscription_id=sub.id, action=action, actor=actor[:255], detail=detail or {},
                                    at=utcnow()))


def get_subscription(session: Session, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {subscription_id}")
    return sub


def create_subscription(session: Session, request: SubscriptionRequest, *, actor: str, source: str = "cli",
                        conn_id: str = "") -> Subscription:
    """A new active subscription from a parsed request.

    Refused: an ESDT the archive has no collection for (its INSERT is no
    subscribable event: the ICD's example reason), and one already expired.
    """
    now = utcnow()
    known = session.scalar(select(Collection.id).where(Collection.short_name == request.short_name,
                                                       Collection.version_id == request.version_id))
    if known is None:
        raise UserError(NO_EVENT)
    if request.expiration < now:
        raise UserError(f"the expiration date {format_date(request.expiration)} has passed")
    if request.distribution and request.distribution.method == MEDIA and not request.distribution.media_type:
        raise UserError("a Media distribution names DLT, CD-ROM or DVD")
    user = upsert_user(session, Contact(user_id=request.user.user_id, email=request.email,
                                        first_name=request.user.first_name, last_name=request.user.last_name,
                                        phone=request.telephone))
    sub = Subscription(user_pk=user.id, state=SubscriptionState.ACTIVE, source=source, created_at=now, updated_at=now,
                       conn_id=conn_id or (default_conn_id(request.user.user_id) if request.distribution else ""))
    _copy(sub, request)
    session.add(sub)
    session.flush()
    record(session, sub, "created", actor, {"source": source, "request": request_values(request)})
    return sub


def update_subscription(session: Session, change: SubscriptionUpdate, *, actor: str) -> Subscription:
    """Apply an update message; every From must be the current value (apply_update checks)."""
    sub = get_subscription(session, change.subscription_id)
    if sub.state == SubscriptionState.CANCELLED:
        raise UserError(f"subscription {sub.id} is cancelled")
    updated = apply_update(request_of(sub), change)
    if updated.expiration < utcnow():
        raise UserError(f"the expiration date {format_date(updated.expiration)} has passed")
    had_method = sub.method is not None
    _copy(sub, updated)
    if sub.method is not None and not had_method and not sub.conn_id:
        sub.conn_id = default_conn_id(sub.user_id)
    sub.state, sub.updated_at = _state_for(sub, utcnow()), utcnow()
    session.flush()
    record(session, sub, "updated", actor,
           {"changes": [{"field": c.field, "from": c.old, "to": c.new} for c in change.changes]})
    return sub


def cancel_subscription(session: Session, subscription_id: int, *, actor: str,
                        user_id: str | None = None) -> Subscription:
    """Cancel (final); ``user_id`` given (an e-mail), it must be the subscriber's."""
    sub = get_subscription(session, subscription_id)
    if user_id is not None and user_id != sub.user_id:
        raise UserError(f"subscription {sub.id} is not {user_id}'s")
    if sub.state == SubscriptionState.CANCELLED:
        raise UserError(f"subscription {sub.id} is already cancelled")
    sub.state, sub.updated_at = SubscriptionState.CANCELLED, utcnow()
    record(session, sub, "cancelled", actor)
    session.flush()
    return sub


def expire_subscriptions(session: Session, now: datetime | None = None) -> list[int]:
    """Mark active subscriptions past their expiration date expired; returns their ids.

    Each is changed by a conditional UPDATE, so a concurrent update or cancellation
    wins and no history row claims an expiry that did not happen.
    """
    now = now or utcnow()
    due = list(session.scalars(select(Subscription.id).where(Subscription.state == SubscriptionState.ACTIVE,
                                                             Subscription.expires_at < now)))
    expired = []
    for sub_id in due:
        changed = session.execute(update(Subscription)
                                  .where(Subscription.id == sub_id, Subscription.state == SubscriptionState.ACTIVE,
                                         Subscription.expires_at < now)
                                  .values(state=SubscriptionState.EXPIRED, updated_at=now)
                                  .execution_options(synchronize_session=False))
        if changed.rowcount:  # type: ignore[attr-defined]
            session.add(SubscriptionHistory(subscription_id=sub_id, action="expired", actor="ardis", detail={},
                                            at=now))
            expired.append(sub_id)
    return expired


def _reason(error: Exception) -> str:
    text = re.sub(r"[^\x20-\x7e]", " ", str(error)).strip() or type(error).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3].rstrip() + "..."


def _failed_text(text: str, reason: str, subscription_id: int | None) -> str:
    """The message as received, then the failed status (for a message that cannot be read back)."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    body = body if body.endswith("\n") or not body else body + "\n"
    body += f"status:  failed; {reason}\n"
    return body + (f"SubscriptionID: {subscription_id}\n" if subscription_id is not None else "")


def _parse(kind: str, text: str, subject: str) -> Any:
    parse = {"update": parse_update, "cancellation": parse_cancellation}.get(kind, parse_request)
    return parse(text, subject)


def _known_id(text: str) -> int | None:
    m = re.search(r"(?im)^\s*(?:update|cancel)\s*:\s*(\d{1,8})\s*$", text)
    return int(m.group(1)) if m else None


def answer_message(session: Session, text: str, subject: str | None, *, actor: str, source: str = "cli",
                   conn_id: str = "") -> Answer:
    """Apply one subscription e-mail and build its acknowledgment; a refusal changes nothing.

    The change runs in a savepoint, so a failure after part of it was written
    leaves the database as it was and the acknowledgment says why.
    """
    kind = message_kind(read_lines(text, []))
    subject = subject if subject is not None else _DEFAULT_SUBJECT[kind]
    ack_subject = subject + SUFFIX
    try:
        message = _parse(kind, text, subject)
    except UserError as e:
        return Answer(False, ack_subject, _failed_text(text, _reason(e), _known_id(text)), _known_id(text), kind)
    known = getattr(message, "subscription_id", None)
    try:
        with session.begin_nested():
            if isinstance(message, SubscriptionRequest):
                sub = create_subscription(session, message, actor=actor, source=source, conn_id=conn_id)
            elif isinstance(message, SubscriptionUpdate):
                sub = update_subscription(session, message, actor=actor)
            else:
                assert isinstance(message, SubscriptionCancellation)
                sub = cancel_subscription(session, message.subscription_id, actor=actor,
                                          user_id=message.user.user_id)
    except UserError as e:
        ack = Acknowledgment(message, False, _reason(e), known)
        return Answer(False, ack_subject, render_acknowledgment(ack), known, kind)
    ack = Acknowledgment(message, True, None, sub.id)
    return Answer(True, ack_subject, render_acknowledgment(ack), sub.id, kind)


def describe(sub: Subscription) -> dict[str, Any]:
    """A plain summary for ``ardis subscription show`` and the web pages."""
    return {
        "subscription_id": sub.id, "state": sub.state.value, "user_id": sub.user_id, "email": sub.email,
        "esdt": sub.esdt, "event": sub.event, "start": format_date(sub.start_at),
        "expiration": format_date(sub.expires_at), "qualifier": sub.qualifier,
        "notification_text": sub.notification_text,
        "distribution": {"method": sub.method.value, "host": sub.host, "destination": sub.destination,
                         "media": sub.media_type, "conn_id": sub.conn_id} if sub.method else None,
        "history": [{"at": h.at.isoformat(sep=" "), "action": h.action, "actor": h.actor, "detail": h.detail}
                    for h in sub.history],
    }

