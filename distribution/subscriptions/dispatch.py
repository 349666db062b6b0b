"""Firing subscriptions for inserted granules: each (subscription, granule) once, whoever races.

``dispatch_pending`` sweeps every unprocessed INSERT row of ``granule_events``
(an asset event only nudges; the table is the record). For each event, in one
transaction: every subscription of the granule's ESDT whose dates cover the
insert time and whose qualifier holds gets a ``subscription_firings`` row by
INSERT … ON CONFLICT DO NOTHING. Only the transaction whose insert landed goes
on: it queues the event notification (outbox, Table 4.3.5-1) and, when the
subscription has a distribution option, places an order (source
``subscription``, the notification text as USERSTRING). Then the event is marked
processed. Two dispatchers on the same event: on PostgreSQL the second insert
waits for the first transaction and then does nothing; on SQLite writers take
turns (the first statement of each transaction is that insert, so no stale
snapshot is ever written from).

"Active at that moment" is judged by dates, not by the state column: an event
inserted before the expiration date still fires when the dispatch runs after
the subscription was marked expired. A cancelled subscription never fires.

An order that ``create_order`` refuses (e.g. CD-ROM, DVD or DLT for a subscriber
whose shipping address the archive does not have yet: Table 4.3.1-1 names only
the medium) is held on the firing with why; every sweep tries the held ones
again, each claimed by its attempt count so two sweeps never place it twice.
Media requests get their run from ``ardis_dispatcher`` (the media DAGs).

``backfill`` is the operator's door (the ICD forbids it by e-mail): the same
firing over granules already in the archive, recorded as ``backfilled``.

Data rights (``distribution.inventory.rights``): a subscriber who may not have a
granule (proprietary to a group they are not in) gets no firing; the pair is
recorded in ``subscription_withheld`` instead, and every sweep
(``fire_newly_public``) fires the withheld pairs whose granule the subscriber may
have now (its release date passed, or they joined the group), once: the firing
row's unique pair still decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.destinations import split_host
from distribution.errors import UserError
from distribution.identifiers import GranuleRef
from distribution.inventory.metadata import GranuleMetadata
from distribution.models import Collection, Granule, GranuleEvent, MediaType
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order
from distribution.inventory.rights import groups_of, may_access
from distribution.subscriptions.models import (DistributionMethod, Subscription, SubscriptionFiring, SubscriptionState,
                                               SubscriptionWithheld)
from distribution.subscriptions.notification import build_notification, notification_subject, render_notification
from distribution.subscriptions.qualifiers import Qualifier, QualifierMatch, evaluate, parse_qualifier
from distribution.subscriptions.store import get_subscription, record, request_of
from distribution.time import utcnow

log = logging.getLogger(__name__)

_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
BATCH = 500  # events per sweep; the next sweep takes the rest
NOTICE_KIND = "subscription"
_MEDIA = {"CD-ROM": MediaType.CDROM, "DVD": MediaType.DVD, "DLT": MediaType.DLT}


@dataclass(frozen=True)
class CreatedRequest:
    """A request an order from a firing holds: what the distribution DAG's trigger needs."""

    request_id: str
    order_id: str
    media_type: str


@dataclass
class DispatchResult:
    events: int = 0
    firings: int = 0
    notice_ids: list[int] = field(default_factory=list)
    requests: list[CreatedRequest] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # firings whose order could not be placed, and why
    withheld: int = 0  # firings held back by data rights (subscription_withheld)
    history_id: int | None = None  # a backfill: the history row that records it


@dataclass(frozen=True)
class _Candidate:
    """A subscription as loaded once per sweep, its qualifier parsed once."""

    id: int
    start: datetime
    expires: datetime
    qualifier: Qualifier | None


def firing_key(subscription_id: int, granule_id: int) -> str:
    return f"{NOTICE_KIND}:{subscription_id}:{granule_id}"


def _candidates(session: Session) -> dict[tuple[str, int], list[_Candidate]]:
    """Every subscription that may still fire, by ESDT (cancelled ones never do)."""
    found: dict[tuple[str, int], list[_Candidate]] = {}
    rows = session.execute(select(Subscription.id, Subscription.short_name, Subscription.version_id,
                                  Subscription.start_at, Subscription.expires_at, Subscription.qualifier)
                           .where(Subscription.state != SubscriptionState.CANCELLED).order_by(Subscription.id))
    for sub_id, short, version, start, expires, text in rows:
        qualifier = None
        if text:
            try:
                qualifier = parse_qualifier(text)
            except UserError as e:  # stored before a parser change: never fire on a statement we cannot read
                log.warning("subscription %s: unreadable qualifier skipped: %s", sub_id, e)
                continue
        found.setdefault((short.upper(), version), []).append(_Candidate(sub_id, start, expires, qualifier))
    return found


def granule_metadata(granule: Granule) -> GranuleMetadata:
    """What the inventory holds of a granule, as qualifiers read it."""
    return GranuleMetadata(granule.local_granule_id, granule.begin_time, granule.end_time, granule.west,
                           granule.east, granule.north, granule.south, dict(granule.attributes or {}))


def _order_spec(sub: Subscription, granule: Granule) -> RequestSpec:
    """One request for the granule by the subscription's distribution option."""
    c = granule.collection
    granules = [GranuleRef(c.short_name, c.version_id, granule.id).short_ur]
    if sub.method == DistributionMethod.FTP_PULL:
        media, destination = MediaType.FTP_PULL, Destination()
    elif sub.method == DistributionMethod.MEDIA:
        media, destination = _MEDIA[str(sub.media_type).upper()], Destination()
    else:
        host, port = split_host(sub.host or "")
        media = MediaType.SCP if sub.method == DistributionMethod.SCP else MediaType.FTP_PUSH
        destination = Destination(host, port, sub.destination or "", sub.conn_id)
    return RequestSpec(media, granules, destination, userstring=sub.notification_text, notify_email=sub.email,
                       linked=tuple(t for t in (sub.linked or "").split(",") if t))


def _withhold(session: Session, sub: Subscription, granule: Granule, kind: str, event_id: int | None,
              result: DispatchResult) -> None:
    """Record that ``sub`` may not have ``granule`` yet: ``fire_newly_public`` fires it when it may."""
    insert = _INSERTS[session.get_bind().dialect.name]
    session.execute(insert(SubscriptionWithheld).values(subscription_id=sub.id, granule_id=granule.id,
                                                        event_id=event_id, kind=kind, withheld_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["subscription_id", "granule_id"]))
    result.withheld += 1


def fire(session: Session, settings: Settings, sub: Subscription, granule: Granule, *, kind: str,
         event_id: int | None, result: DispatchResult, match: QualifierMatch | None = None,
         now: datetime | None = None) -> bool:
    """Fire ``sub`` for ``granule`` unless it already fired; True when this call fired it.

    The firing row is written first: its insert is what decides who fires. ``match``
    is the qualifier's result (its values go into the notification). A granule the
    subscriber may not have at ``now`` (default: now) is withheld instead (False).
    """
    if not may_access(groups_of(sub.user), granule, now or utcnow()):
        _withhold(session, sub, granule, kind, event_id, result)
        return False
    insert = _INSERTS[session.get_bind().dialect.name]
    inserted = session.execute(
        insert(SubscriptionFiring).values(subscription_id=sub.id, granule_id=granule.id, event_id=event_id,
                                          kind=kind, fired_at=utcnow())
        .on_conflict_do_nothing(index_elements=["subscription_id", "granule_id"]))
    if not inserted.rowcount:  # type: ignore[attr-defined]
        return False
    firing = session.scalars(select(SubscriptionFiring).where(SubscriptionFiring.subscription_id == sub.id,
                                                             SubscriptionFiring.granule_id == granule.id)).one()
    c = granule.collection
    request = request_of(sub)
    notification = build_notification(GranuleRef(c.short_name, c.version_id, granule.id), settings.site_name,
                                      request, sub.id, match)
    notice = enqueue_notice(session, dedupe_key=firing_key(sub.id, granule.id), kind=NOTICE_KIND,
                            recipient=sub.email, subject=notification_subject(notification),
                            body=render_notification(notification))
    firing.notice_id = notice.id
    result.notice_ids.append(notice.id)
    if sub.method is not None:
        _place_order(session, settings, sub, granule, firing, result)
    result.firings += 1
    return True


def _place_order(session: Session, settings: Settings, sub: Subscription, granule: Granule,
                 firing: SubscriptionFiring, result: DispatchResult, *, again: bool = False) -> None:
    """The subscription's order for one granule; a refused order is held on the firing with its reason.

    Held orders are tried again by ``place_held_orders`` (e.g. media orders, refused
    until the subscriber has a shipping address); ``again`` only lowers the log level of a repeat.
    """
    contact = Contact(user_id=sub.user.user_id, email="")  # the user as on record: a firing never changes it
    firing.order_attempts = (firing.order_attempts or 0) + (0 if again else 1)
    try:
        with session.begin_nested():  # inside the firing's transaction: a refusal undoes only the order
            order = create_order(session, settings, contact, [_order_spec(sub, granule)], source="subscription")
    except UserError as e:
        firing.detail = f"no order: {e}"[:1000]
        result.held.append(f"subscription {sub.id}, granule {granule.id}: {e}")
        log.log(logging.DEBUG if again else logging.WARNING, "subscription %s granule %s: order held: %s",
                sub.id, granule.id, e)
        return
    firing.order_pk, firing.detail = order.id, None
    for r in order.requests:
        result.requests.append(CreatedRequest(str(r.request_id), str(order.order_id), r.media_type.value))


def place_held_orders(settings: Settings, limit: int = BATCH) -> DispatchResult:
    """Try again the orders held on firings; each is claimed by its attempt count, so it is placed once.

    Only firings that were refused an order (``detail`` set) of subscriptions that
    still have a distribution option and are not cancelled: a notification-only
    firing never gets an order because its subscription gained an option later.
    """
    url = settings.database_url
    with session_scope(url) as session:
        held = session.execute(
            select(SubscriptionFiring.id, SubscriptionFiring.order_attempts)
            .join(Subscription, Subscription.id == SubscriptionFiring.subscription_id)
            .where(SubscriptionFiring.order_pk.is_(None), SubscriptionFiring.detail.is_not(None),
                   Subscription.method.is_not(None), Subscription.state != SubscriptionState.CANCELLED)
            .order_by(SubscriptionFiring.id).limit(limit)).all()
    result = DispatchResult()
    for firing_id, attempts in held:
        with session_scope(url) as session:
            claim = session.execute(
                update(SubscriptionFiring)
                .where(SubscriptionFiring.id == firing_id, SubscriptionFiring.order_pk.is_(None),
                       SubscriptionFiring.order_attempts == attempts)
                .values(order_attempts=attempts + 1).execution_options(synchronize_session=False))
            if not claim.rowcount:  # type: ignore[attr-defined]
                continue  # another sweep has it
            firing = session.get(SubscriptionFiring, firing_id)
            assert firing is not None
            sub, granule = session.get(Subscription, firing.subscription_id), session.get(Granule, firing.granule_id)
            assert sub is not None and granule is not None
            _place_order(session, settings, sub, granule, firing, result, again=True)
    return result


def _covers(c: _Candidate, moment: datetime) -> bool:
    return c.start <= moment <= c.expires


def _dispatch_event(session: Session, settings: Settings, event_id: int,
                    candidates: dict[tuple[str, int], list[_Candidate]], result: DispatchResult) -> None:
    event = session.get(GranuleEvent, event_id)
    if event is None or event.processed_at is not None:
        return
    granule = event.granule
    c = granule.collection
    meta = granule_metadata(granule)
    for cand in candidates.get((c.short_name.upper(), c.version_id), []):
        if not _covers(cand, event.created_at):
            continue
        match = evaluate(cand.qualifier, meta) if cand.qualifier is not None else None
        if match is not None and not match:
            continue
        sub = session.get(Subscription, cand.id)
        if sub is None or sub.state == SubscriptionState.CANCELLED:
            continue
        fire(session, settings, sub, granule, kind="insert", event_id=event.id, result=result, match=match)
    session.execute(update(GranuleEvent).where(GranuleEvent.id == event.id, GranuleEvent.processed_at.is_(None))
                    .values(processed_at=utcnow()).execution_options(synchronize_session=False))
    result.events += 1


def _send(settings: Settings, transport: Transport | None, result: DispatchResult) -> None:
    if transport is not None and result.notice_ids:
        send_pending(settings.database_url, transport, notice_ids=result.notice_ids, mail_from=settings.mail_from)


def dispatch_pending(settings: Settings, transport: Transport | None = None, limit: int = BATCH) -> DispatchResult:
    """Fire every subscription for every unprocessed INSERT (up to ``limit`` events); then send the notices.

    Each event is its own transaction, so a crash loses no firing and repeats none.
    The sweep also tries the held orders again (``place_held_orders``).
    Without a transport the notices stay queued (ardis_housekeeping resends them).
    """
    url = settings.database_url
    with session_scope(url) as session:
        events = list(session.scalars(select(GranuleEvent.id).where(GranuleEvent.processed_at.is_(None),
                                                                    GranuleEvent.event == "INSERT")
                                      .order_by(GranuleEvent.id).limit(limit)))
        candidates = _candidates(session) if events else {}
    result = DispatchResult(requests=place_held_orders(settings).requests)  # before: not what this sweep holds
    released = fire_newly_public(settings, utcnow())
    result.firings, result.notice_ids = released.firings, released.notice_ids
    result.requests += released.requests
    for event_id in events:
        with session_scope(url) as session:
            _dispatch_event(session, settings, event_id, candidates, result)
    _send(settings, transport, result)
    return result


def fire_newly_public(settings: Settings, now: datetime, limit: int = BATCH) -> DispatchResult:
    """Fire the withheld (subscription, granule) pairs whose subscriber may have the granule at ``now``.

    Each pair in its own transaction; a pair is settled once fired (or found fired
    already, or its subscription cancelled), so a second sweep does nothing. The
    rule is asked of the granule as it is now: a release date that passed, a group
    granted, or rights cleared by ``ardis granule rights --public``.
    """
    url = settings.database_url
    with session_scope(url) as session:
        pending = list(session.scalars(select(SubscriptionWithheld.id).where(SubscriptionWithheld.settled_at.is_(None))
                                       .order_by(SubscriptionWithheld.id).limit(limit)))
    result = DispatchResult()
    for withheld_id in pending:
        with session_scope(url) as session:
            row = session.get(SubscriptionWithheld, withheld_id)
            if row is None or row.settled_at is not None:
                continue
            sub, granule = session.get(Subscription, row.subscription_id), session.get(Granule, row.granule_id)
            assert sub is not None and granule is not None
            if sub.state != SubscriptionState.CANCELLED:
                if not may_access(groups_of(sub.user), granule, now):
                    continue
                try:  # it matched when withheld; parsed again for the values the notification shows
                    match = evaluate(parse_qualifier(sub.qualifier), granule_metadata(granule)) if sub.qualifier \
                        else None
                except UserError:
                    match = None
                fire(session, settings, sub, granule, kind=row.kind, event_id=row.event_id, result=result,
                     match=match, now=now)
            session.execute(update(SubscriptionWithheld).where(SubscriptionWithheld.id == withheld_id,
                                                               SubscriptionWithheld.settled_at.is_(None))
                            .values(settled_at=now).execution_options(synchronize_session=False))
    return result


def _backfill_scope(session: Session, subscription_id: int, since: datetime | None
                    ) -> tuple[Subscription, datetime, Qualifier | None, list[int]]:
    """The subscription, from when, its parsed qualifier, and the ids of its ESDT's granules inserted since then."""
    sub = get_subscription(session, subscription_id)
    if sub.state == SubscriptionState.CANCELLED:
        raise UserError(f"subscription {sub.id} is cancelled")
    start = since or sub.start_at
    qualifier = parse_qualifier(sub.qualifier) if sub.qualifier else None
    granule_ids = list(session.scalars(
        select(Granule.id).join(Collection)
        .where(Collection.short_name == sub.short_name, Collection.version_id == sub.version_id,
               Granule.inserted_at >= start).order_by(Granule.id)))
    return sub, start, qualifier, granule_ids


@dataclass(frozen=True)
class BackfillPreview:
    """What a backfill from ``since`` would do, counted without firing: the operator confirms after seeing it."""

    subscription_id: int
    since: datetime
    granules: int  # of its ESDT inserted since then
    matching: int  # of those, the ones its qualifier wants
    already: int  # of those, fired before (a backfill skips them)
    withheld: int  # of the rest, the subscriber may not have yet (recorded as withheld, fired later)
    would_fire: int  # notifications (and orders, with a distribution option) the backfill would send now


def preview_backfill(session: Session, subscription_id: int, since: datetime | None = None,
                     now: datetime | None = None) -> BackfillPreview:
    """Count what ``backfill`` would fire, by the same selection, qualifier and data rights; changes nothing."""
    sub, start, qualifier, granule_ids = _backfill_scope(session, subscription_id, since)
    fired = set(session.scalars(select(SubscriptionFiring.granule_id)
                                .where(SubscriptionFiring.subscription_id == sub.id)))
    groups, moment = groups_of(sub.user), now or utcnow()
    matching = already = withheld = 0
    for granule_id in granule_ids:
        granule = session.get(Granule, granule_id)
        assert granule is not None
        if qualifier is not None and not evaluate(qualifier, granule_metadata(granule)):
            continue
        matching += 1
        if granule_id in fired:
            already += 1
        elif not may_access(groups, granule, moment):
            withheld += 1
    return BackfillPreview(sub.id, start, len(granule_ids), matching, already, withheld,
                           matching - already - withheld)


def backfill(settings: Settings, subscription_id: int, *, actor: str, since: datetime | None = None,
             transport: Transport | None = None) -> DispatchResult:
    """Fire a subscription for the archive's granules inserted since ``since`` (default: its start date).

    Granules it fired for already are skipped by the same unique pair; the history
    says who backfilled, from when, and how many fired.
    """
    url = settings.database_url
    with session_scope(url) as session:
        _, start, qualifier, granule_ids = _backfill_scope(session, subscription_id, since)
    result = DispatchResult()
    for granule_id in granule_ids:
        with session_scope(url) as session:
            granule = session.get(Granule, granule_id)
            assert granule is not None
            match = evaluate(qualifier, granule_metadata(granule)) if qualifier is not None else None
            if match is not None and not match:
                continue
            fire(session, settings, get_subscription(session, subscription_id), granule, kind="backfill",
                 event_id=None, result=result, match=match)
    with session_scope(url) as session:
        result.history_id = record(session, get_subscription(session, subscription_id), "backfilled", actor,
                                   {"since": start.isoformat(sep=" "), "granules": len(granule_ids),
                                    "fired": result.firings, "orders": len(result.requests),
                                    "held": result.held[:20]})
    _send(settings, transport, result)
    return result
