"""Dispatch: every (subscription, granule) fires once — dates, qualifiers, a burst, racing dispatchers, backfill.

Everything is checked against the database (firings, notices, orders) and the
expected set is computed here from the granules' own attributes.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from distribution.inventory.archive import get_or_create_collection, new_granule
from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.metadata import GranuleMetadata
from distribution.models import GranuleEvent, MediaType, Notice, Order, Request
from distribution.models import User as ArchiveUser
from distribution.notices.outbox import OutboxFolder
from distribution.subscriptions.models import Subscription, SubscriptionFiring, SubscriptionState
from distribution.subscriptions.dispatch import backfill, dispatch_pending, split_host
from distribution.subscriptions.messages import Distribution, SubscriptionRequest, User
from distribution.subscriptions.notification import parse_notification
from distribution.subscriptions.store import cancel_subscription, create_subscription
from distribution.time import utcnow

NOW = utcnow().replace(second=0)


def subscribe(settings: Settings, user_id: str, *, qualifier: str | None = None,
              distribution: Distribution | None = None, start: datetime | None = None,
              expiration: datetime | None = None, esdt: tuple[str, int] = ("MOD09GHK", 3)) -> int:
    request = SubscriptionRequest(
        User(user_id, "Sub", "Scriber"), "301-555-0100", f"{user_id}@example.org", f"text of {user_id}",
        esdt[0], esdt[1], start or NOW - timedelta(days=1), expiration or NOW + timedelta(days=1), qualifier,
        distribution)
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, f"{esdt[0]}.{esdt[1]:03d}")  # only the archive's ESDTs are subscribable
        return create_subscription(session, request, actor="test", conn_id="t_push").id


def insert_granules(settings: Settings, count: int, esdt: str = "MOD09GHK.003", *, event: bool = True,
                    at: datetime | None = None) -> dict[int, dict[str, Any]]:
    """``count`` granules as ingest archives them (each with its INSERT row); id -> attributes."""
    made = {}
    with session_scope(settings.database_url) as session:
        collection = get_or_create_collection(session, esdt)
        for i in range(count):
            attrs = {"QAPERCENTMISSINGDATA": i % 20, "DAYNIGHTFLAG": "Day" if i % 3 == 0 else "Night"}
            meta = GranuleMetadata(f"G{i:04d}.hdf", NOW, NOW, -10.0 + i, 0.0 + i, 10.0, -10.0, attrs)
            granule = new_granule(session, collection, meta.local_granule_id, meta)
            if event:
                session.add(GranuleEvent(granule_id=granule.id, event="INSERT", created_at=at or utcnow()))
            made[granule.id] = attrs
    return made


def firings(settings: Settings) -> set[tuple[int, int]]:
    with session_scope(settings.database_url) as session:
        return set(session.execute(select(SubscriptionFiring.subscription_id, SubscriptionFiring.granule_id)).all())


def counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings.database_url) as session:
        return {
            "firings": session.scalar(select(func.count()).select_from(SubscriptionFiring)) or 0,
            "notices": session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "subscription"))
            or 0,
            "orders": session.scalar(select(func.count()).select_from(Order)) or 0,
            "unprocessed": session.scalar(select(func.count()).select_from(GranuleEvent)
                                          .where(GranuleEvent.processed_at.is_(None))) or 0,
        }


def three_subscriptions(settings: Settings) -> tuple[int, int, int]:
    """No qualifier (notice only); few missing data, pulled; daytime only, pushed by scp to host:port."""
    everyone = subscribe(settings, "alice")
    low_missing = subscribe(settings, "bob", qualifier="QAPercentMissingData <= 4",
                            distribution=Distribution("FTP Pull"))
    daytime = subscribe(settings, "carol", qualifier='DayNightFlag = "Day" AND QAPercentMissingData >= 2',
                        distribution=Distribution("scp", "sink.example.org:2222", "/in/"))
    return everyone, low_missing, daytime


def expected_pairs(subs: tuple[int, int, int], granules: dict[int, dict[str, Any]]) -> set[tuple[int, int]]:
    everyone, low_missing, daytime = subs
    pairs = {(everyone, g) for g in granules}
    pairs |= {(low_missing, g) for g, a in granules.items() if a["QAPERCENTMISSINGDATA"] <= 4}
    pairs |= {(daytime, g) for g, a in granules.items()
              if a["DAYNIGHTFLAG"] == "Day" and a["QAPERCENTMISSINGDATA"] >= 2}
    return pairs


def test_a_burst_of_50_inserts_fires_each_pair_once_with_two_racing_dispatchers(settings: Settings) -> None:
    subs = three_subscriptions(settings)
    granules = insert_granules(settings, 50)
    expected = expected_pairs(subs, granules)
    ordering = {p for p in expected if p[0] != subs[0]}
    assert len(expected) == 50 + 15 + 15 and len(ordering) == 30  # computed by hand from i % 20 and i % 3

    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(dispatch_pending(settings))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.firings for r in results) == len(expected)  # each pair fired by exactly one of the two
    assert firings(settings) == expected
    assert counts(settings) == {"firings": 80, "notices": 80, "orders": 30, "unprocessed": 0}
    with session_scope(settings.database_url) as session:
        requests = session.scalars(select(Request).join(Order)).all()
        assert {(r.order.user.user_id, r.granules[0].granule_id) for r in requests} == {
            ({subs[1]: "bob", subs[2]: "carol"}[s], g) for s, g in ordering}
        for r in requests:
            assert r.order.source == "subscription" and len(r.granules) == 1
            assert r.userstring == f"text of {r.order.user.user_id}"
            if r.media_type == MediaType.SCP:
                assert (r.host, r.port, r.directory, r.conn_id) == ("sink.example.org", 2222, "/in/", "t_push")
            else:
                assert r.media_type == MediaType.FTP_PULL
        notices = session.scalars(select(Notice).where(Notice.kind == "subscription")).all()
        assert len({n.dedupe_key for n in notices}) == 80
        assert {n.subject for n in notices} == {"Notification for Event: MOD09GHK.3:INSERT"}
    # A third sweep finds nothing left.
    assert dispatch_pending(settings).firings == 0 and firings(settings) == expected


def test_the_notification_carries_the_qualifier_and_the_granule_values(settings: Settings) -> None:
    sub_id = subscribe(settings, "dave", qualifier="QAPercentMissingData >= 1 AND QAPercentMissingData <= 100")
    granules = insert_granules(settings, 3)
    result = dispatch_pending(settings, OutboxFolder(settings.outbox_dir))
    assert result.firings == 2 and len(result.requests) == 0  # QA 0 does not qualify; no distribution option
    with session_scope(settings.database_url) as session:
        notices = session.scalars(select(Notice).where(Notice.kind == "subscription").order_by(Notice.id)).all()
        assert [n.state.value for n in notices] == ["sent", "sent"] and notices[0].recipient == "dave@example.org"
        n = parse_notification(notices[0].body)
    first = sorted(granules)[1]
    assert n.granule_ur.endswith(f":SC:MOD09GHK.003:{first}") and n.user_id == "dave"
    assert (n.subscription_id, n.user_string, n.event) == (sub_id, "text of dave", "MOD09GHK.3:INSERT")
    assert n.qualifier_list == (("QAPercentMissingData", "min = 1; max = 100"),)
    assert n.qualifying_metadata == (("QAPercentMissingData", "1"),)
    assert len(list(settings.outbox_dir.glob("*-subscription.eml"))) == 2


def test_start_and_expiration_dates_and_cancellation_are_honoured(settings: Settings) -> None:
    future = subscribe(settings, "later", start=NOW + timedelta(days=1), expiration=NOW + timedelta(days=9))
    current = subscribe(settings, "now")
    cancelled = subscribe(settings, "gone")
    ended = subscribe(settings, "ended", expiration=NOW + timedelta(days=2))
    with session_scope(settings.database_url) as session:
        cancel_subscription(session, cancelled, actor="test")
        sub = session.get(Subscription, ended)
        assert sub is not None
        sub.expires_at = NOW - timedelta(hours=1)  # expired an hour ago
    other_esdt = subscribe(settings, "other", esdt=("MOD13A1", 4))
    insert_granules(settings, 2)
    # Inserted while it was still active, dispatched after it was marked expired: it fires.
    insert_granules(settings, 1, at=NOW - timedelta(hours=2))
    with session_scope(settings.database_url) as session:
        sub = session.get(Subscription, ended)
        assert sub is not None
        sub.state = SubscriptionState.EXPIRED
    dispatch_pending(settings)
    fired = firings(settings)
    assert {s for s, _ in fired} == {current, ended}
    assert len([1 for s, _ in fired if s == current]) == 3 and len([1 for s, _ in fired if s == ended]) == 1
    assert not {future, cancelled, other_esdt} & {s for s, _ in fired}


def test_backfill_fires_for_the_archive_once_and_is_recorded(settings: Settings) -> None:
    old = insert_granules(settings, 6, event=False)  # in the archive before the subscription
    sub_id = subscribe(settings, "erin", qualifier="QAPercentMissingData >= 2",
                       distribution=Distribution("FTP Pull"), start=NOW + timedelta(days=1),
                       expiration=NOW + timedelta(days=5))
    assert dispatch_pending(settings).firings == 0
    result = backfill(settings, sub_id, actor="cli:operator", since=NOW - timedelta(days=1))
    wanted = {g for g, a in old.items() if a["QAPERCENTMISSINGDATA"] >= 2}
    assert {g for _, g in firings(settings)} == wanted and result.firings == len(wanted) == 4
    assert len(result.requests) == 4
    again = backfill(settings, sub_id, actor="cli:operator", since=NOW - timedelta(days=1))
    assert again.firings == 0 and counts(settings)["orders"] == 4
    with session_scope(settings.database_url) as session:
        sub = session.get(Subscription, sub_id)
        assert sub is not None
        history = [(h.action, h.actor, h.detail.get("fired")) for h in sub.history]
        assert history == [("created", "test", None), ("backfilled", "cli:operator", 4),
                           ("backfilled", "cli:operator", 0)]
        kinds = set(session.scalars(select(SubscriptionFiring.kind)))
        assert kinds == {"backfill"}


def test_media_subscription_notifies_and_holds_the_order_until_the_subscriber_has_an_address(
        settings: Settings) -> None:
    subscribe(settings, "frank", distribution=Distribution("Media", media_type="DVD"))
    subscribe(settings, "henry")  # notification only: never an order, whatever happens later
    insert_granules(settings, 6)
    result = dispatch_pending(settings)
    assert result.firings == 12 and result.requests == [] and "shipping address" in result.held[0]
    with session_scope(settings.database_url) as session:
        held = session.scalars(select(SubscriptionFiring).where(SubscriptionFiring.detail.is_not(None))).all()
        assert len(held) == 6 and all(f.notice_id is not None and f.order_pk is None for f in held)
        assert all("needs a shipping address" in str(f.detail) and f.order_attempts == 1 for f in held)
        assert session.scalar(select(func.count()).select_from(Order)) == 0  # nothing half made
    assert dispatch_pending(settings).requests == []  # still refused: held, tried again, nothing made

    # Table 4.3.1-1 names the medium, not where to ship it: the operator records the subscriber's
    # address. The held orders are then placed once each, even by two sweeps racing.
    with session_scope(settings.database_url) as session:
        frank = session.scalar(select(ArchiveUser).where(ArchiveUser.user_id == "frank"))
        frank.shipping_address = "1 Science Way\nGreenbelt, MD 20771"
    barrier = threading.Barrier(2)
    placed: list[int] = []

    def sweep() -> None:
        barrier.wait()
        placed.append(len(dispatch_pending(settings).requests))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(placed) == 6
    with session_scope(settings.database_url) as session:
        requests = session.scalars(select(Request)).all()
        assert len(requests) == 6 and {r.media_type for r in requests} == {MediaType.DVD}
        assert len({r.granules[0].granule_id for r in requests}) == 6
        assert session.scalar(select(func.count()).select_from(SubscriptionFiring)
                              .where(SubscriptionFiring.order_pk.is_not(None))) == 6
    assert dispatch_pending(settings).requests == []


@pytest.mark.parametrize("text, expected", [("h.example.org", ("h.example.org", None)),
                                            ("h.example.org:2222", ("h.example.org", 2222)),
                                            ("[::1]:2022", ("::1", 2022)), ("[::1]", ("::1", None)),
                                            ("::1", ("::1", None))])
def test_ftp_host_with_a_port(text: str, expected: tuple[str, int | None]) -> None:
    assert split_host(text) == expected


def test_the_database_refuses_a_second_firing_of_a_pair(settings: Settings) -> None:
    """The guarantee is the UNIQUE constraint itself, not the dispatcher's care."""
    from sqlalchemy.exc import IntegrityError

    sub_id = subscribe(settings, "grace")
    (granule_id,) = insert_granules(settings, 1, event=False)
    with session_scope(settings.database_url) as session:
        session.add(SubscriptionFiring(subscription_id=sub_id, granule_id=granule_id, kind="insert"))
    with pytest.raises(IntegrityError):
        with session_scope(settings.database_url) as session:
            session.add(SubscriptionFiring(subscription_id=sub_id, granule_id=granule_id, kind="backfill"))
    assert firings(settings) == {(sub_id, granule_id)}
