"""Subscriptions and data rights: no firing for a subscriber outside the granule's group; the granule fires
once when the subscriber may have it (its release date passed, or they joined the group)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.rights import set_user_groups
from distribution.models import Granule, GranuleEvent, Order
from distribution.orders import placing
from distribution.orders.queries import find_user
from distribution.subscriptions import dispatch
from distribution.subscriptions.dispatch import backfill, dispatch_pending, fire_newly_public
from distribution.subscriptions.messages import Distribution
from distribution.subscriptions.models import SubscriptionFiring, SubscriptionWithheld
from distribution.subscriptions.store import cancel_subscription
from distribution.time import utcnow
from tests.unit.subscriptions.test_dispatch import counts, firings, insert_granules, subscribe


def _proprietary(settings: Settings, granule_ids: list[int], days: int = 1, group: str = "pi") -> None:
    with session_scope(settings.database_url) as session:
        for granule_id in granule_ids:
            granule = session.get(Granule, granule_id)
            assert granule is not None
            granule.public_release_date, granule.owner_group = utcnow().date() + timedelta(days=days), group


def _join(settings: Settings, user_id: str, group: str = "pi") -> None:
    with session_scope(settings.database_url) as session:
        user = find_user(session, user_id)
        assert user is not None
        set_user_groups(session, user, {group}, set())


def _waiting(settings: Settings) -> set[tuple[int, int]]:
    with session_scope(settings.database_url) as session:
        return set(session.execute(select(SubscriptionWithheld.subscription_id, SubscriptionWithheld.granule_id)
                                   .where(SubscriptionWithheld.settled_at.is_(None))).all())


def test_an_outsider_gets_no_firing_and_the_release_fires_it_once(settings: Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    member = subscribe(settings, "member", distribution=Distribution("FTP Pull"))
    outsider = subscribe(settings, "outsider", distribution=Distribution("FTP Pull"))
    _join(settings, "member")
    granules = insert_granules(settings, 2, event=False)
    secret, public = sorted(granules)
    _proprietary(settings, [secret])
    with session_scope(settings.database_url) as session:  # the INSERT events after the rights, as ingest does
        session.add_all([GranuleEvent(granule_id=g, event="INSERT") for g in (secret, public)])

    result = dispatch_pending(settings)
    assert (result.firings, result.withheld) == (3, 1)
    assert firings(settings) == {(member, secret), (member, public), (outsider, public)}
    assert _waiting(settings) == {(outsider, secret)}
    assert dispatch_pending(settings).firings == 0 and _waiting(settings) == {(outsider, secret)}
    assert counts(settings)["orders"] == 3

    tomorrow = utcnow() + timedelta(days=1)  # the release date comes; the 5-minute sweep runs, nobody acts
    monkeypatch.setattr(dispatch, "utcnow", lambda: tomorrow)
    monkeypatch.setattr(placing, "utcnow", lambda: tomorrow)
    result = dispatch_pending(settings)
    assert result.firings == 1 and len(result.requests) == 1
    assert firings(settings) == {(member, secret), (member, public), (outsider, public), (outsider, secret)}
    assert _waiting(settings) == set()
    assert dispatch_pending(settings).firings == 0 and fire_newly_public(settings, tomorrow).firings == 0
    assert counts(settings) == {"firings": 4, "notices": 4, "orders": 4, "unprocessed": 0}
    with session_scope(settings.database_url) as session:
        firing = session.scalars(select(SubscriptionFiring).where(SubscriptionFiring.subscription_id == outsider,
                                                                  SubscriptionFiring.granule_id == secret)).one()
        order = session.get(Order, firing.order_pk)
        assert order is not None and order.user.user_id == "outsider" and firing.detail is None


def test_joining_the_group_fires_it_and_a_cancelled_subscription_never_does(settings: Settings) -> None:
    joins = subscribe(settings, "joins")
    leaves = subscribe(settings, "leaves")
    granule = next(iter(insert_granules(settings, 1, event=False)))
    _proprietary(settings, [granule], days=30)
    with session_scope(settings.database_url) as session:
        session.add(GranuleEvent(granule_id=granule, event="INSERT"))
    assert dispatch_pending(settings).firings == 0
    assert _waiting(settings) == {(joins, granule), (leaves, granule)}
    with session_scope(settings.database_url) as session:
        cancel_subscription(session, leaves, actor="test")
    assert fire_newly_public(settings, utcnow()).firings == 0  # nothing they may have yet
    assert _waiting(settings) == {(joins, granule)}  # a cancelled subscription's pair is settled, unfired
    _join(settings, "joins")
    _join(settings, "leaves")
    assert fire_newly_public(settings, utcnow()).firings == 1
    assert firings(settings) == {(joins, granule)} and _waiting(settings) == set()


def test_backfill_withholds_what_the_subscriber_may_not_have(settings: Settings) -> None:
    sub = subscribe(settings, "late", start=utcnow() - timedelta(days=2))
    granules = sorted(insert_granules(settings, 3, event=False))
    _proprietary(settings, granules[:1])
    result = backfill(settings, sub, actor="test")
    assert (result.firings, result.withheld) == (2, 1)
    assert firings(settings) == {(sub, g) for g in granules[1:]} and _waiting(settings) == {(sub, granules[0])}
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(SubscriptionWithheld)
                              .where(SubscriptionWithheld.kind == "backfill")) == 1
