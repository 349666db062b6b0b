"""A user's orders for the portal (``distribution.orders.queries``): owners read theirs, operators all."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.models import MediaType
from distribution.orders.placing import Contact, RequestSpec, create_order
from distribution.orders.queries import (cancel_readable, find_user, order_by_token, order_details, readable_order,
                                         user_orders)
from tests.unit.inventory.test_catalog import _archive

ALICE = Contact(user_id="alice", email="alice@example.org")
BOB = Contact(user_id="bob", email="bob@example.org")


def test_a_user_reads_only_their_orders(settings: Settings, tmp_path: Path) -> None:
    urs = _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        a1 = create_order(session, settings, ALICE, [RequestSpec(MediaType.FTP_PULL, urs[:2])], source="portal:t1")
        create_order(session, settings, BOB, [RequestSpec(MediaType.FTP_PULL, urs[2:])])
        a2 = create_order(session, settings, ALICE, [RequestSpec(MediaType.FTP_PULL, urs[3:])])
        ids = str(a1.order_id), str(a2.order_id)
    with session_scope(settings.database_url) as session:
        rows, total = user_orders(session, "ALICE")
        assert total == 2 and [r.order_id for r in rows] == [ids[1], ids[0]]  # newest first
        assert user_orders(session, None)[1] == 3
        assert user_orders(session, "carol") == ([], 0)
        assert readable_order(session, ids[0], "alice").order_id == ids[0]
        with pytest.raises(NotFound):
            readable_order(session, ids[0], "bob")
        assert readable_order(session, ids[0], None).order_id == ids[0]
        found = order_by_token(session, "alice", "portal:t1")
        assert found is not None and found.order_id == ids[0]
        assert order_by_token(session, "bob", "portal:t1") is None
        assert find_user(session, "Alice") is not None and find_user(session, "carol") is None
        details = order_details(session, settings, readable_order(session, ids[0], "alice"))
        [request] = details["requests"]
        assert request["progress"]["granules"] == 2 and request["progress"]["delivered"] == 0
        assert request["progress"]["bytes"] > 0 and request["notices"] == [] and request["pull"] is None
        assert [len(g["files"]) for g in request["granules"]] == [2, 3]


def test_only_the_owner_or_an_operator_cancels(settings: Settings, tmp_path: Path) -> None:
    urs = _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        order_id = str(create_order(session, settings, ALICE, [RequestSpec(MediaType.FTP_PULL, urs[:1])]).order_id)
    with session_scope(settings.database_url) as session:
        with pytest.raises(NotFound):
            cancel_readable(session, order_id, "bob")
    with session_scope(settings.database_url) as session:
        assert readable_order(session, order_id, None).requests[0].state.value == "new"
        assert len(cancel_readable(session, order_id, "alice")) == 1
    with session_scope(settings.database_url) as session:
        assert readable_order(session, order_id, None).requests[0].state.value == "cancelled"
        with pytest.raises(UserError):
            cancel_readable(session, order_id, None)
