"""Subscriptions kept in the database: submitted, updated, cancelled and expired, with their history.

``answer_message`` is what both doors use (``ardis subscription submit`` and the
incoming mail folder): it reads a request, update or cancellation, applies it and
returns the acknowledgment text of Table 4.3.2-1, accepted or failed. A message
that cannot be read is answered too: its text as received, then the failed status
(the ICD: "the original request message is retained and the status appended").

Dates in the messages are UTC. Every change leaves a ``subscription_history`` row
naming who asked (the e-mail sender, or ``cli:<login>``) and what changed.

Who may ask (the e-mail door: ``sender`` given; trust.py says how a mail is judged):

* A subscription message never changes a user's record (e-mail, names,
  telephone). The subscription keeps the message's own fields; notifications go
  to its Email Address.
* By e-mail, the User ID must be known already and the mail must come from its
  address on record; otherwise nothing changes and the failed acknowledgment goes
  to the address on record (``Answer.recipient``), or to no one for an unknown
  User ID (logged for the operators).
* The operator (``ardis subscription submit``, ``sender`` None) is trusted to
  speak for the user: an unknown User ID is created from the message (the ICD's
  operator registers subscriptions on the SIPS's behalf), a known one is left as
  it is, and ``Answer.notes`` says so where the message differs from the record.
* FTP Push and scp destinations must be the host of the push account (Airflow
  connection) they use (distribution/orders/destinations.py), checked here through
  ``connections`` and again at every push.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from distribution.orders.destinations import Address, host_problem, split_host
from distribution.errors import NotFound, UserError
from distribution.models import Collection
from distribution.models import User as UserRecord
from distribution.orders.placing import Contact, linked_types, upsert_user
from distribution.subscriptions.models import (
    DistributionMethod,
    Subscription,
    SubscriptionHistory,
    SubscriptionState,
)
from distribution.subscriptions.acknowledgment import (
    MAX_RETAINED,
    SUFFIX,
    Acknowledgment,
    failed_text,
    message_kind,
    render_acknowledgment,
)
from distribution.subscriptions.fields import format_date, read_lines
from distribution.subscriptions.messages import (
    CANCEL_SUBJECT,
    FTP_PUSH,
    MEDIA,
    SCP,
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
from distribution.subscriptions.trust import Sender, same_address
from distribution.time import utcnow

MAX_REASON = 239  # the status line is at most 256 B (Table 4.3.2-1)
# The reason Table 4.3.2-1's example gives, spelled as printed: an ESDT the archive does not hold.
NO_EVENT = "matching subscribable event description could  not be found"
_DEFAULT_SUBJECT = {"request": REQUEST_SUBJECT, "update": UPDATE_SUBJECT, "cancellation": CANCEL_SUBJECT}
ConnectionLookup = Callable[[str], Address | None]  # a push account's host and port; None: no such account


@dataclass(frozen=True)
class Answer:
    """What a message did: the acknowledgment to send back, and the subscription it concerned."""

    accepted: bool
    subject: str
    text: str
    subscription_id: int | None
    kind: str
    recipient: str | None = None  # e-mail door: where the acknowledgment goes (the address on record); None: no one
    notes: tuple[str, ...] = ()  # for the operator: what was left as it is
    reason: str | None = None  # why it failed


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


def record(session: Session, sub: Subscription, action: str, actor: str,
           detail: dict[str, Any] | None = None) -> int:
    """Append one history row (who, what, when); its id."""
    row = SubscriptionHistory(subscription_id=sub.id, action=action, actor=actor[:255], detail=detail or {},
                              at=utcnow())
    session.add(row)
    session.flush()
    return row.id


def get_subscription(session: Session, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {subscription_id}")
    return sub


def check_destination(distribution: Distribution | None, conn_id: str,
                      connections: ConnectionLookup | None) -> None:
    """An FTP Push or scp destination must be the host of the push account it uses (UserError if not).

    Without ``connections`` (code that made the account itself) nothing is looked
    up here; the push checks again anyway.
    """
    if connections is None or distribution is None or distribution.method not in (FTP_PUSH, SCP):
        return
    account = connections(conn_id)
    if account is None:
        raise UserError(f"no push account ({conn_id}) is arranged for this user; ask the archive's User Services")
    host, port = split_host(distribution.host or "")
    why = host_problem(conn_id, account, host, port, require_conn_host=True)
    if why:
        raise UserError(why)


def _user_record(session: Session, user_id: str) -> UserRecord | None:
    if len(user_id) > 32:
        return None
    return session.scalar(select(UserRecord).where(UserRecord.user_id == user_id))


def create_subscription(session: Session, request: SubscriptionRequest, *, actor: str, source: str = "cli",
                        conn_id: str = "", connections: ConnectionLookup | None = None,
                        create_user: bool = True, linked: tuple[str, ...] = ()) -> Subscription:
    """A new active subscription from a parsed request; the user's record is never changed.

    ``linked`` (BROWSE, QA, PH) goes into every order it places; it needs a distribution option.

    Refused: an ESDT the archive has no collection for (its INSERT is no
    subscribable event: the ICD's example reason), one already expired, an unknown
    User ID unless ``create_user`` (the operator's door), and a push to a host
    that is not its account's.
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
    conn_id = conn_id or (default_conn_id(request.user.user_id) if request.distribution else "")
    check_destination(request.distribution, conn_id, connections)
    links = _links(request.distribution, linked)
    user = _user_record(session, request.user.user_id)
    if user is None:
        if not create_user:
            raise UserError(f"User ID {request.user.user_id} is not known to the archive")
        user = upsert_user(session, Contact(user_id=request.user.user_id, email=request.email,
                                            first_name=request.user.first_name, last_name=request.user.last_name,
                                            phone=request.telephone))
    sub = Subscription(user_pk=user.id, state=SubscriptionState.ACTIVE, source=source, created_at=now, updated_at=now,
                       conn_id=conn_id, linked=links)
    _copy(sub, request)
    session.add(sub)
    session.flush()
    detail: dict[str, Any] = {"source": source, "request": request_values(request)}
    if links:
        detail["linked"] = links
    record(session, sub, "created", actor, detail)
    return sub


def _links(distribution: Distribution | None, linked: tuple[str, ...]) -> str:
    links = linked_types(linked)
    if links and distribution is None:
        raise UserError("linked granules go with an order: the subscription needs a distribution option")
    return links


def set_linked(session: Session, subscription_id: int, linked: tuple[str, ...], *, actor: str) -> Subscription:
    """The operator changes which linked granules the subscription's later orders carry (history kept)."""
    sub = get_subscription(session, subscription_id)
    if sub.state == SubscriptionState.CANCELLED:
        raise UserError(f"subscription {sub.id} is cancelled")
    links = _links(request_of(sub).distribution, linked)
    if links != sub.linked:
        record(session, sub, "updated", actor, {"changes": [{"field": "linked", "from": sub.linked, "to": links}]})
        sub.linked, sub.updated_at = links, utcnow()
        session.flush()
    return sub


def update_subscription(session: Session, change: SubscriptionUpdate, *, actor: str,
                        connections: ConnectionLookup | None = None) -> Subscription:
    """Apply an update message; every From must be the current value (apply_update checks).

    A push destination it sets or keeps must still be its account's host.
    """
    sub = get_subscription(session, change.subscription_id)
    if sub.state == SubscriptionState.CANCELLED:
        raise UserError(f"subscription {sub.id} is cancelled")
    updated = apply_update(request_of(sub), change)
    if updated.expiration < utcnow():
        raise UserError(f"the expiration date {format_date(updated.expiration)} has passed")
    conn_id = sub.conn_id or (default_conn_id(sub.user_id) if updated.distribution else "")
    check_destination(updated.distribution, conn_id, connections)
    _copy(sub, updated)
    sub.conn_id = conn_id
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


def _reason(error: Exception | str) -> str:
    text = re.sub(r"[^\x20-\x7e]", " ", str(error)).strip() or type(error).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3].rstrip() + "..."


def _parse(kind: str, text: str, subject: str) -> Any:
    parse = {"update": parse_update, "cancellation": parse_cancellation}.get(kind, parse_request)
    return parse(text, subject)


def _known_id(text: str) -> int | None:
    m = re.search(r"(?im)^[ \t]*(?:update|cancel)[ \t]*:[ \t]*(\d{1,8})[ \t]*$", text)
    return int(m.group(1)) if m else None


def _mail_owner(session: Session, text: str, sender: Sender) -> tuple[UserRecord | None, str | None]:
    """The user a mail speaks for, and why it may not (None: it may)."""
    named = {line.value for line in read_lines(text, []) if line.key == "userid"}
    if len(named) != 1:
        return None, "the message must name exactly one User ID"
    user_id = named.pop()
    user = _user_record(session, user_id)
    if user is None:
        return None, f"User ID {user_id[:40]} is not known to the archive"
    if sender.problem:
        return user, f"not accepted by e-mail: {sender.problem}"
    if not same_address(sender.address, user.email):
        return user, f"not sent from the address on record for User ID {user_id}"
    if len(text) > MAX_RETAINED:
        return user, f"the message is {len(text)} characters; at most {MAX_RETAINED}"
    return user, None


def _notes(session: Session, message: Any) -> tuple[str, ...]:
    """What the operator should know: a known user's record differs from the message and was left as it is."""
    if not isinstance(message, SubscriptionRequest):
        return ()
    user = _user_record(session, message.user.user_id)
    if user is None or (same_address(message.email, user.email) and (user.first_name, user.last_name) ==
                        (message.user.first_name, message.user.last_name)):
        return ()
    return (f"user {user.user_id}'s record was left as it is ({user.first_name} {user.last_name} <{user.email}>); "
            f"this subscription's notifications go to {message.email}",)


def answer_message(session: Session, text: str, subject: str | None, *, actor: str, source: str = "cli",
                   conn_id: str = "", sender: Sender | None = None,
                   connections: ConnectionLookup | None = None, linked: tuple[str, ...] = ()) -> Answer:
    """Apply one subscription message and build its acknowledgment; a refusal changes nothing.

    ``sender`` is the e-mail door's judgement of the mail (None: the operator).
    The change runs in a savepoint, so a failure after part of it was written
    leaves the database as it was and the acknowledgment says why. The
    acknowledgment keeps the message's lines as received (ICD 4.3.2). ``linked``
    (the operator's door only) applies to a request.
    """
    kind = message_kind(read_lines(text, []))
    subject = subject if subject is not None else _DEFAULT_SUBJECT[kind]
    ack_subject = re.sub(r"[^\x20-\x7e]", "?", subject)[:255] + SUFFIX
    recipient = None
    if sender is not None:
        owner, refusal = _mail_owner(session, text, sender)
        recipient = owner.email if owner is not None else None
        if refusal:
            known, why = _known_id(text), _reason(refusal)
            return Answer(False, ack_subject, failed_text(text, why, known), known, kind, recipient, reason=why)
        connections = connections or (lambda _conn_id: None)  # the e-mail door never pushes unchecked
    try:
        message = _parse(kind, text, subject)
    except UserError as e:
        known, why = _known_id(text), _reason(e)
        return Answer(False, ack_subject, failed_text(text, why, known), known, kind, recipient, reason=why)
    known = getattr(message, "subscription_id", None)
    notes = _notes(session, message) if sender is None else ()
    try:
        with session.begin_nested():
            if isinstance(message, SubscriptionRequest):
                sub = create_subscription(session, message, actor=actor, source=source, conn_id=conn_id,
                                          connections=connections, create_user=sender is None,
                                          linked=linked if sender is None else ())
            elif isinstance(message, SubscriptionUpdate):
                sub = update_subscription(session, message, actor=actor, connections=connections)
            else:
                assert isinstance(message, SubscriptionCancellation)
                sub = cancel_subscription(session, message.subscription_id, actor=actor,
                                          user_id=message.user.user_id)
    except UserError as e:
        ack = Acknowledgment(message, False, _reason(e), known, received=text)
        return Answer(False, ack_subject, render_acknowledgment(ack), known, kind, recipient, reason=ack.reason)
    ack = Acknowledgment(message, True, None, sub.id, received=text)
    return Answer(True, ack_subject, render_acknowledgment(ack), sub.id, kind, recipient, notes)


def describe(sub: Subscription) -> dict[str, Any]:
    """A plain summary for ``ardis subscription show`` and the web pages."""
    return {
        "subscription_id": sub.id, "state": sub.state.value, "user_id": sub.user_id, "email": sub.email,
        "esdt": sub.esdt, "event": sub.event, "start": format_date(sub.start_at),
        "expiration": format_date(sub.expires_at), "qualifier": sub.qualifier,
        "notification_text": sub.notification_text,
        "distribution": {"method": sub.method.value, "host": sub.host, "destination": sub.destination,
                         "media": sub.media_type, "conn_id": sub.conn_id,
                         "linked": sub.linked} if sub.method else None,
        "history": [{"at": h.at.isoformat(sep=" "), "action": h.action, "actor": h.actor, "detail": h.detail}
                    for h in sub.history],
    }

