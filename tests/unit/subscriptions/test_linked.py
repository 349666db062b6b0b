"""A subscription asks for the browse, QA and production-history granules linked to what it fires for
(issue 16 item 5): its orders carry them, and they reach the subscriber beside the science granule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.inventory.archive import find_granule, get_or_create_collection
from distribution.models import GranuleEvent, Order, Request
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.placing import get_request
from distribution.subscriptions.dispatch import dispatch_pending
from distribution.subscriptions.messages import Distribution, SubscriptionRequest, User, render_request
from distribution.subscriptions.models import Subscription, SubscriptionFiring
from distribution.subscriptions.store import answer_message, create_subscription, set_linked
from distribution.subscriptions.trust import Sender
from distribution.time import utcnow
from tests.unit.orders.test_linked_granules import SCIENCE_LGID, _archive_with_links

NOW = utcnow().replace(second=0)


def _request(user_id: str, distribution: Distribution | None = Distribution("FTP Pull")) -> SubscriptionRequest:
    return SubscriptionRequest(User(user_id, "Sub", "Scriber"), "301-555-0100", f"{user_id}@example.org",
                               f"text of {user_id}", "MOD09GHK", 3, NOW - timedelta(days=1), NOW + timedelta(days=9),
                               None, distribution)


def _insert_event(settings: Settings, ur: str) -> int:
    with session_scope(settings.database_url) as session:
        granule = find_granule(session, ur)
        session.add(GranuleEvent(granule_id=granule.id, event="INSERT", created_at=utcnow()))
        return granule.id


def _fired_request(settings: Settings, sub_id: int, granule_id: int) -> str:
    with session_scope(settings.database_url) as session:
        firing = session.scalars(select(SubscriptionFiring).where(SubscriptionFiring.subscription_id == sub_id,
                                                                 SubscriptionFiring.granule_id == granule_id)).one()
        order = session.get_one(Order, firing.order_pk)
        [request] = order.requests
        return str(request.request_id)


def test_a_subscription_with_linked_granules_fires_an_order_carrying_them(sqlite_settings: Settings,
                                                                         tmp_path: Path) -> None:
    settings = sqlite_settings
    ur = _archive_with_links(settings, tmp_path)  # a browse and a QA granule linked to the science granule
    with session_scope(settings.database_url) as session:
        with_links = create_subscription(session, _request("links"), actor="test", linked=("browse", "QA")).id
        plain = create_subscription(session, _request("plain"), actor="test").id
    granule_id = _insert_event(settings, ur)
    result = dispatch_pending(settings, OutboxFolder(settings.outbox_dir))
    assert result.firings == 2 and not result.held
    pulled = {}
    for sub_id in (with_links, plain):
        request_id = _fired_request(settings, sub_id, granule_id)
        for step in (delivery.stage_request, delivery.verify_request, delivery.deliver_request):
            step(settings, request_id)
        with session_scope(settings.database_url) as session:
            request = get_request(session, request_id)
            pulled[sub_id] = (request.linked, {p.name for p in delivery.pull_directory(settings, request).iterdir()})
    assert pulled[with_links] == ("BROWSE,QA", {SCIENCE_LGID, f"{SCIENCE_LGID}.xml", "BRWS.A2002123.jpg",
                                                "QA.A2002123.txt"})
    assert pulled[plain] == ("", {SCIENCE_LGID, f"{SCIENCE_LGID}.xml"})


def test_the_operator_sets_linked_granules_and_the_mail_door_cannot(sqlite_settings: Settings,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, "MOD09GHK.003")  # only the archive's ESDTs are subscribable
        notify_only = create_subscription(session, _request("noorder", None), actor="test").id
        with pytest.raises(UserError, match="needs a distribution option"):
            create_subscription(session, _request("nodist", None), actor="test", linked=("PH",))
        with pytest.raises(UserError, match="BROWSE, QA, PH"):
            create_subscription(session, _request("thumb"), actor="test", linked=("thumbnail",))
        text = render_request(_request("mailer"))
        created = answer_message(session, text, None, actor="cli:op", linked=("PH",))
        assert created.accepted and session.get_one(Subscription, created.subscription_id).linked == "PH"
        # by e-mail the ICD's request has no such field, and the door passes none through
        mailed = answer_message(session, text, None, actor="mail:x", linked=("PH",),
                                sender=Sender("mailer@example.org", None))
        assert mailed.accepted and session.get_one(Subscription, mailed.subscription_id).linked == ""
        sub_id = created.subscription_id
        with pytest.raises(UserError, match="needs a distribution option"):
            set_linked(session, notify_only, ("QA",), actor="test")
    assert main(["subscription", "linked", str(sub_id), "qa,browse,QA"]) == 0
    assert "linked granules BROWSE,QA" in capsys.readouterr().out
    assert main(["subscription", "show", str(sub_id)]) == 0
    shown = capsys.readouterr().out
    assert "'linked': 'BROWSE,QA'" in shown and '"from": "PH", "to": "BROWSE,QA"' in shown
    assert main(["subscription", "linked", str(sub_id), "none"]) == 0
    with session_scope(settings.database_url) as session:
        assert session.get_one(Subscription, sub_id).linked == ""
        assert not session.scalars(select(Request)).all()  # setting it places nothing
