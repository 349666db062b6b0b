"""What the pages and ``ardis subscription list`` read: subscriptions with their firing counts, one
subscription as its owner may read it, and its recent firings with the orders they placed.

Reads only; the owner rule is here so every door applies the same one: a user
reads their own subscriptions (another's is "not found", never "forbidden", so
ids cannot be probed), an operator (``user_id`` None) reads every one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribution.errors import NotFound
from distribution.identifiers import GranuleRef
from distribution.models import Granule, Notice, Order
from distribution.subscriptions.models import Subscription, SubscriptionFiring, SubscriptionState

RECENT = 20  # firings a subscription's page shows


@dataclass(frozen=True)
class SubscriptionLine:
    """One subscription in a list."""

    subscription_id: int
    user_id: str
    esdt: str
    state: str
    method: str  # the distribution option, "notify" for notification only
    start: datetime
    expires: datetime
    qualifier: str
    fired: int
    last_fired: datetime | None


@dataclass(frozen=True)
class Firing:
    """A firing as its subscription's page shows it: the granule, the notice, and the order it placed (or why not)."""

    granule_ur: str
    local_granule_id: str
    kind: str  # insert | backfill
    fired_at: datetime
    notice_state: str  # the notification's: pending, sent, failed ("" none)
    order_id: str  # "" when no order (notification only, or held: see ``held``)
    requests: tuple[tuple[str, str, str], ...]  # (request id, media type, state)
    held: str  # why the order is held ("" none)


def list_subscriptions(session: Session, user_id: str | None = None,
                       state: SubscriptionState | None = None) -> list[SubscriptionLine]:
    """The subscriptions (``user_id``'s only, when given), by id, each with how often it fired and when last."""
    fired = {sub_id: (n, last) for sub_id, n, last in session.execute(
        select(SubscriptionFiring.subscription_id, func.count(), func.max(SubscriptionFiring.fired_at))
        .group_by(SubscriptionFiring.subscription_id))}
    query = select(Subscription).order_by(Subscription.id)
    if user_id is not None:
        query = query.where(func.lower(Subscription.user_id) == user_id.lower())
    if state is not None:
        query = query.where(Subscription.state == state)
    return [SubscriptionLine(s.id, s.user_id, s.esdt, s.state.value, s.method.value if s.method else "notify",
                             s.start_at, s.expires_at, s.qualifier or "", *fired.get(s.id, (0, None)))
            for s in session.scalars(query)]


def readable_subscription(session: Session, subscription_id: int, user_id: str | None) -> Subscription:
    """The subscription if ``user_id`` may read it (None: an operator, any); NotFound otherwise."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or (user_id is not None and sub.user_id.lower() != user_id.lower()):
        raise NotFound(f"no subscription {subscription_id}" + (f" of {user_id}" if user_id is not None else ""))
    return sub


def recent_firings(session: Session, subscription_id: int, limit: int = RECENT) -> list[Firing]:
    """The subscription's latest firings, newest first, each with its granule, notice and order's requests."""
    rows = session.execute(
        select(SubscriptionFiring, Granule, Notice.state, Order)
        .join(Granule, Granule.id == SubscriptionFiring.granule_id)
        .outerjoin(Notice, Notice.id == SubscriptionFiring.notice_id)
        .outerjoin(Order, Order.id == SubscriptionFiring.order_pk)
        .where(SubscriptionFiring.subscription_id == subscription_id)
        .order_by(SubscriptionFiring.fired_at.desc(), SubscriptionFiring.id.desc()).limit(limit)).all()
    out = []
    for firing, granule, notice_state, order in rows:
        c = granule.collection
        requests = tuple((str(r.request_id), r.media_type.value, r.state.value) for r in order.requests) \
            if order is not None else ()
        out.append(Firing(GranuleRef(c.short_name, c.version_id, granule.id).short_ur,
                          granule.local_granule_id or "", firing.kind, firing.fired_at,
                          getattr(notice_state, "value", notice_state or ""),
                          str(order.order_id) if order is not None else "", requests,
                          firing.detail or ""))
    return out
