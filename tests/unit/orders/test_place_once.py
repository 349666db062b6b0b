"""One order per form token (``place_once``): two identical posts at the same moment make one order."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import get_or_create_collection, new_granule
from distribution.inventory.metadata import GranuleMetadata
from distribution.models import MediaType, Order
from distribution.orders.placing import Contact, RequestSpec, place_once


def test_two_identical_posts_at_once_make_one_order(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        granule = new_granule(session, get_or_create_collection(session, "ONCE.001"), "g1", GranuleMetadata("g1"))
        ur = f"SC:ONCE.001:{granule.id}"
    barrier = threading.Barrier(2)
    made: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait()
            with session_scope(settings.database_url) as session:
                order, new = place_once(session, settings, Contact("alice", "alice@example.org"),
                                        [RequestSpec(MediaType.FTP_PULL, [ur])], "portal:" + "ab" * 12)
                made.append((str(order.order_id), new))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(new for _, new in made) == [False, True] and len({order for order, _ in made}) == 1
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        again, new = place_once(session, settings, Contact("ALICE", ""), [RequestSpec(MediaType.FTP_PULL, [ur])],
                                "portal:" + "ab" * 12)  # the back button, later
        assert (str(again.order_id), new) == (made[0][0], False)
        other, new = place_once(session, settings, Contact("bob", "bob@example.org"),
                                [RequestSpec(MediaType.FTP_PULL, [ur])], "portal:" + "ab" * 12)
        assert new and other.order_id != again.order_id  # a token is one user's: bob's own order
