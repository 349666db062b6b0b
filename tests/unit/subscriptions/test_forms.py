"""The web door (forms.py), the pages' queries (queries.py) and the backfill preview, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.inventory.archive import get_or_create_collection
from distribution.inventory.catalog import FieldErrors
from distribution.subscriptions.acknowledgment import parse_acknowledgment
from distribution.subscriptions.dispatch import backfill, preview_backfill
from distribution.subscriptions.forms import Refused, cancel, change, check_qualifier, form_values, subscribe
from distribution.subscriptions.messages import Distribution
from distribution.subscriptions.models import SubscriptionState
from distribution.subscriptions.queries import list_subscriptions, readable_subscription, recent_firings
from tests.unit.subscriptions.test_dispatch import NOW, insert_granules
from tests.unit.subscriptions.test_dispatch import subscribe as subscribe_request


def form(**changes: str) -> dict[str, str]:
    values = {"user_id": "dora", "first_name": "Dora", "last_name": "Explorer", "telephone": "301-555-0100",
              "email": "dora@example.org", "notification_text": "dora's MOD09", "esdt": "MOD09GHK.003",
              "start_date": f"{NOW - timedelta(days=1):%Y-%m-%dT%H:%M}",
              "expiration_date": f"{NOW + timedelta(days=30):%m/%d/%Y-%H:%M}",
              "qualifier": "QAPercentMissingData < 10", "method": "FTP Pull"}
    values.update(changes)
    return values


def test_the_qualifier_is_checked_as_typed() -> None:
    bad = check_qualifier('QAPercentMissingData < 10 AND DayNightFlag = "Day')
    assert not bad["ok"] and bad["column"] and "column" in bad["error"]
    assert check_qualifier("a < 1 OR b > 2")["error"].startswith("qualifier statement, column")
    good = check_qualifier('qapercentmissingdata<10 and DayNightFlag="Day"')
    assert good == {"ok": True, "empty": False, "canonical": 'qapercentmissingdata < 10 AND DayNightFlag = "Day"',
                    "error": None, "column": None}
    assert check_qualifier("  ")["empty"] and not check_qualifier("x" * 1004)["ok"]


def test_a_form_creates_updates_and_cancels_with_acknowledgments(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, "MOD09GHK.003")
        with pytest.raises(FieldErrors) as wrong:
            subscribe(session, form(qualifier="QAPercentMissingData <", telephone="call me", method="scp",
                                    expiration_date="2001-01-01T00:00"),
                      actor="portal:dora", source="portal", create_user=True, connections=None)
        assert set(wrong.value.errors) == {"qualifier", "telephone", "ftp_host", "ftp_destination", "start_date"}
        with pytest.raises(Refused) as refused:
            subscribe(session, form(esdt="MOD10XXX.001"), actor="portal:dora", source="portal", create_user=True,
                      connections=None)
        failed = parse_acknowledgment(refused.value.acknowledgment)
        assert not failed.accepted and failed.reason and "could  not be found" in failed.reason

        done = subscribe(session, form(), actor="portal:dora", source="portal", create_user=True, connections=None)
        ack = parse_acknowledgment(done.acknowledgment)
        assert ack.accepted and ack.subscription_id == done.subscription_id
        assert "qualifier statement: QAPercentMissingData < 10" in done.acknowledgment
        sub_id = done.subscription_id
        sub = readable_subscription(session, sub_id, "DORA")
        assert form_values(sub)["method"] == "FTP Pull" and form_values(sub)["start_date"].count("T") == 1

        with pytest.raises(FieldErrors) as same:
            change(session, sub_id, form_values(sub), actor="portal:dora", connections=None)
        assert same.value.errors == {"form": "nothing was changed"}
        updated = change(session, sub_id, {**form_values(sub), "qualifier": "QAPercentMissingData < 5",
                                           "method": "Media", "esdt": "OTHER.001"},
                         actor="portal:dora", connections=None)
        assert "Update Qualifier Statement From: QAPercentMissingData < 10" in updated.acknowledgment
        assert "Update Qualifier Statement To: QAPercentMissingData < 5" in updated.acknowledgment
        assert parse_acknowledgment(updated.acknowledgment).accepted
        assert (sub.qualifier, sub.esdt, sub.method.value if sub.method else None) == (
            "QAPercentMissingData < 5", "MOD09GHK.003", "FTP Pull")  # the option and the ESDT stay

        gone = cancel(session, sub_id, actor="portal:dora")
        assert gone.acknowledgment.splitlines()[-3:] == [f"Cancel: {sub_id}", "status: accepted",
                                                         f"SubscriptionID: {sub_id}"]
        assert sub.state == SubscriptionState.CANCELLED
        with pytest.raises(UserError):
            cancel(session, sub_id, actor="portal:dora")
        assert [h.action for h in sub.history] == ["created", "updated", "cancelled"]


def test_a_user_reads_only_their_own(settings: Settings) -> None:
    mine = subscribe_request(settings, "dora")
    theirs = subscribe_request(settings, "erin")
    with session_scope(settings.database_url) as session:
        assert [s.subscription_id for s in list_subscriptions(session, "dora")] == [mine]
        assert [s.subscription_id for s in list_subscriptions(session)] == [mine, theirs]
        assert list_subscriptions(session, state=SubscriptionState.CANCELLED) == []
        with pytest.raises(NotFound):
            readable_subscription(session, theirs, "dora")
        assert readable_subscription(session, theirs, None).user_id == "erin"


def test_the_backfill_preview_counts_what_the_backfill_fires(settings: Settings) -> None:
    old = insert_granules(settings, 8, event=False)
    sub_id = subscribe_request(settings, "erin", qualifier="QAPercentMissingData >= 3",
                               distribution=Distribution("FTP Pull"), start=NOW + timedelta(days=1),
                               expiration=NOW + timedelta(days=5))
    since = NOW - timedelta(days=1)
    with session_scope(settings.database_url) as session:
        before = preview_backfill(session, sub_id, since)
        assert preview_backfill(session, sub_id).granules == 0  # none inserted since its start date
    wanted = sum(1 for a in old.values() if a["QAPERCENTMISSINGDATA"] >= 3)
    assert (before.granules, before.matching, before.already, before.withheld, before.would_fire) == (
        8, wanted, 0, 0, wanted)
    result = backfill(settings, sub_id, actor="console:olga", since=since)
    assert result.firings == before.would_fire
    with session_scope(settings.database_url) as session:
        after = preview_backfill(session, sub_id, since)
        assert (after.already, after.would_fire) == (wanted, 0)
        fired = recent_firings(session, sub_id)
        assert len(fired) == wanted and {f.kind for f in fired} == {"backfill"}
        assert all(f.order_id and len(f.requests) == 1 and f.requests[0][1] == "FtpPull" for f in fired)
        assert all(f.granule_ur.startswith("SC:MOD09GHK.003:") and f.notice_state == "pending" for f in fired)
        assert len(recent_firings(session, sub_id, limit=2)) == 2
        [line] = list_subscriptions(session, "erin")
        assert line.fired == wanted and line.last_fired is not None and line.method == "FTP Pull"
