"""Subscriptions on the web: the portal's "My subscriptions" (own only) and the console's (every one, backfill).

In Airflow's own app (``create_app()``) with SimpleAuthManager tokens, as the
console's route tests: alice and bob are data users (role ``user``), op1 an
operator, viewer1 may not order. Pages get the ``_token`` cookie and POSTs this
server's Origin, as a browser sends them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import get_or_create_collection
from distribution.subscriptions.acknowledgment import parse_acknowledgment
from tests.airflow_rest import token
from tests.dags.test_web_app import SERVER, _bearer, airflow_app, no_request_runs  # noqa: F401  (fixtures)
from tests.unit.subscriptions.test_dispatch import NOW, insert_granules

pytestmark = pytest.mark.dags
PORTAL = "/ardis/portal/subscriptions"
CONSOLE = "/ardis/console/subscriptions"


def browser(name: str, role: str = "user") -> dict[str, str]:
    return {"Cookie": f"_token={token(name, role)}", "Origin": SERVER, "Accept": "text/html"}


def form(**changes: str) -> dict[str, str]:
    values = {"first_name": "Alice", "last_name": "Liddell", "telephone": "301-555-0100",
              "email": "alice@example.org", "notification_text": "alice's granules", "esdt": "MOD09GHK.003",
              "start_date": f"{NOW - timedelta(days=1):%Y-%m-%dT%H:%M}",
              "expiration_date": f"{NOW + timedelta(days=30):%Y-%m-%dT%H:%M}",
              "qualifier": "QAPercentMissingData >= 3", "method": "FTP Pull"}
    values.update(changes)
    return values


def holds_esdt(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, "MOD09GHK.003")


def created(answer: Any) -> tuple[int, int]:
    assert answer.status_code == 303, answer.text
    m = re.search(r"/subscriptions/(\d+)\?ack=(\d+)$", answer.headers["location"])
    assert m, answer.headers["location"]
    return int(m.group(1)), int(m.group(2))


def acknowledgment(page: str) -> str:
    m = re.search(r'<pre class="dn ack">(.*?)</pre>', page, re.S)
    assert m, page
    return m.group(1).replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_the_qualifier_is_checked_for_any_logged_in_user(airflow_app: Any) -> None:  # noqa: F811
    url = "/ardis/api/subscriptions/qualifier"
    bad = airflow_app.get(url, params={"text": "QAPercentMissingData <"}, headers=_bearer("viewer"))
    assert bad.status_code == 200 and not bad.json()["ok"] and "column" in bad.json()["error"]
    good = airflow_app.get(url, params={"text": 'daynightflag="Day"'}, headers=_bearer("user", "alice"))
    assert good.json()["ok"] and good.json()["canonical"] == 'daynightflag = "Day"'
    assert airflow_app.get(url, params={"text": "x"}).status_code == 401


def test_users_never_reach_the_consoles_subscriptions(airflow_app: Any, sqlite_settings: Settings) -> None:  # noqa: F811
    gets = (CONSOLE, CONSOLE + "/new", CONSOLE + "/1", CONSOLE + "/1?since=2020-01-01",
            "/ardis/console/api/subscriptions/1/backfill")
    posts = (CONSOLE, CONSOLE + "/1", CONSOLE + "/1/cancel", CONSOLE + "/1/backfill")
    for role in ("viewer", "user"):
        for path in gets:
            assert airflow_app.get(path, headers=_bearer(role)).status_code == 403, (role, path)
        for path in posts:
            assert airflow_app.post(path, headers={"Origin": SERVER, **_bearer(role)}, data={}).status_code == 403
    for path in posts:
        assert airflow_app.post(path, headers={"Origin": SERVER}, follow_redirects=False).status_code == 401


def test_a_user_subscribes_updates_and_cancels_their_own(airflow_app: Any,  # noqa: F811
                                                         sqlite_settings: Settings) -> None:
    holds_esdt(sqlite_settings)
    alice, bob = browser("alice"), browser("bob")
    new = airflow_app.get(PORTAL + "/new", headers=alice)
    assert new.status_code == 200 and 'data-check="/ardis/api/subscriptions/qualifier"' in new.text
    assert 'name="user_id" value="alice"' in new.text and "subscriptions.js" in new.text

    wrong = airflow_app.post(PORTAL, headers=alice, data=form(qualifier="QAPercentMissingData <", telephone="x"))
    assert wrong.status_code == 400 and 'id="qualifier-error"' in wrong.text and 'id="telephone-error"' in wrong.text
    refused = airflow_app.post(PORTAL, headers=alice, data=form(esdt="NOPE.001"))
    assert refused.status_code == 409 and "status:  failed; " in acknowledgment(refused.text)
    assert airflow_app.post(PORTAL, headers={**alice, "Origin": "https://evil.example"},
                            data=form()).status_code == 403

    sub_id, ack = created(airflow_app.post(PORTAL, headers=alice, data=form(user_id="bob"), follow_redirects=False))
    page = airflow_app.get(f"{PORTAL}/{sub_id}", params={"ack": ack}, headers=alice)
    assert page.status_code == 200 and "User ID: alice" in acknowledgment(page.text)  # the form's user_id is ignored
    told = parse_acknowledgment(acknowledgment(page.text))
    assert told.accepted and told.subscription_id == sub_id
    mine = airflow_app.get(PORTAL, headers=alice)
    assert f'data-subscription="{sub_id}"' in mine.text and "My subscriptions" in mine.text

    # bob: not found, whatever he tries; not in his list
    assert airflow_app.get(f"{PORTAL}/{sub_id}", headers=bob).status_code == 404
    assert airflow_app.post(f"{PORTAL}/{sub_id}", headers=bob, data=form(qualifier="")).status_code == 404
    assert airflow_app.post(f"{PORTAL}/{sub_id}/cancel", headers=bob).status_code == 404
    assert f'data-subscription="{sub_id}"' not in airflow_app.get(PORTAL, headers=bob).text
    assert airflow_app.get(f"{PORTAL}/{sub_id}", params={"ack": ack}, headers=bob).status_code == 404

    same = airflow_app.post(f"{PORTAL}/{sub_id}", headers=alice, data=form())
    assert same.status_code == 400 and "nothing was changed" in same.text
    changed = airflow_app.post(f"{PORTAL}/{sub_id}", headers=alice, data=form(qualifier="QAPercentMissingData < 9"),
                               follow_redirects=False)
    _, ack = created(changed)
    update = acknowledgment(airflow_app.get(f"{PORTAL}/{sub_id}", params={"ack": ack}, headers=alice).text)
    assert "Update Qualifier Statement To: QAPercentMissingData < 9" in update and "status: accepted" in update

    _, ack = created(airflow_app.post(f"{PORTAL}/{sub_id}/cancel", headers=alice, follow_redirects=False))
    gone = airflow_app.get(f"{PORTAL}/{sub_id}", params={"ack": ack}, headers=alice)
    assert f"Cancel: {sub_id}" in acknowledgment(gone.text) and 's-cancelled">cancelled' in gone.text
    assert 'id="update-subscription"' not in gone.text
    assert airflow_app.post(f"{PORTAL}/{sub_id}/cancel", headers=alice).status_code == 409


def test_who_may_not_subscribe_in_the_portal(airflow_app: Any, sqlite_settings: Settings) -> None:  # noqa: F811
    holds_esdt(sqlite_settings)
    viewer = browser("viewer1", "viewer")
    assert airflow_app.get(PORTAL, headers=viewer).status_code == 200  # may list (nothing)
    for answer in (airflow_app.get(PORTAL + "/new", headers=viewer), airflow_app.post(PORTAL, headers=viewer,
                                                                                      data=form())):
        assert answer.status_code == 403 and "You may not subscribe" in answer.text
    long_name = browser("web.user1")
    assert airflow_app.get(PORTAL, headers=long_name).status_code == 403  # no ICD User ID


def test_an_operator_manages_every_subscription_and_backfills(airflow_app: Any,  # noqa: F811
                                                              sqlite_settings: Settings) -> None:
    holds_esdt(sqlite_settings)
    old = insert_granules(sqlite_settings, 6, event=False)
    wanted = sum(1 for a in old.values() if a["QAPERCENTMISSINGDATA"] >= 3)
    alice_sub, _ = created(airflow_app.post(PORTAL, headers=browser("alice"), data=form(),
                                            follow_redirects=False))
    op = browser("op1", "op")
    new = airflow_app.get(CONSOLE + "/new", headers=op)
    assert new.status_code == 200 and "Ardis operator console" in new.text and 'name="user_id" value=""' in new.text
    carol_sub, ack = created(airflow_app.post(CONSOLE, headers=op, data=form(
        user_id="carol", first_name="Carol", email="carol@example.org", method=""), follow_redirects=False))
    assert "User ID: carol" in acknowledgment(airflow_app.get(f"{CONSOLE}/{carol_sub}", params={"ack": ack},
                                                              headers=op).text)
    push = airflow_app.post(CONSOLE, headers=op, data=form(user_id="carol", method="scp", ftp_host="sftp.example.org",
                                                           ftp_destination="/in/"))
    assert push.status_code == 409 and "no push account (ardis_subscriber_carol)" in acknowledgment(push.text)
    every = airflow_app.get(CONSOLE, headers=op).text
    assert f'data-subscription="{alice_sub}"' in every and f'data-subscription="{carol_sub}"' in every
    only = airflow_app.get(CONSOLE, params={"user_id": "carol"}, headers=op).text
    assert f'data-subscription="{alice_sub}"' not in only and f'data-subscription="{carol_sub}"' in only

    since = f"{NOW - timedelta(days=1):%Y-%m-%dT%H:%M}"
    page = airflow_app.get(f"{CONSOLE}/{alice_sub}", params={"since": since}, headers=op)
    assert page.status_code == 200 and f"{wanted} granules would fire" in page.text, page.text
    preview = airflow_app.get(f"/ardis/console/api/subscriptions/{alice_sub}/backfill", params={"since": since},
                              headers=_bearer("op")).json()
    assert (preview["granules"], preview["matching"], preview["would_fire"]) == (6, wanted, wanted)
    assert airflow_app.get(f"/ardis/console/api/subscriptions/{alice_sub}/backfill", params={"since": "soon"},
                           headers=_bearer("op")).status_code == 422
    assert airflow_app.post(f"{CONSOLE}/{alice_sub}/backfill", headers={**op, "Origin": "https://evil.example"},
                            data={"since": since}).status_code == 403
    done = airflow_app.post(f"{CONSOLE}/{alice_sub}/backfill", headers=op, data={"since": since},
                            follow_redirects=False)
    assert done.status_code == 303 and "?backfilled=" in done.headers["location"]
    after = airflow_app.get(done.headers["location"], headers=op).text
    assert f"{wanted} granules fired, {wanted} requests placed" in after
    assert after.count('<span class="req">') == wanted and "/ardis/console/requests/" in after
    mine = airflow_app.get(f"{PORTAL}/{alice_sub}", headers=browser("alice")).text  # alice sees the firings
    assert mine.count('<span class="req">') == wanted and "/ardis/portal/orders/" in mine
    assert 'id="backfill"' not in mine  # and no backfill
    again = airflow_app.get(f"{CONSOLE}/{alice_sub}", params={"since": since}, headers=op).text
    assert "0 granules would fire" in again and 'id="confirm-backfill"' not in again

    _, ack = created(airflow_app.post(f"{CONSOLE}/{alice_sub}/cancel", headers=op, follow_redirects=False))
    assert airflow_app.get(f"{CONSOLE}/{alice_sub}", headers=op).status_code == 200
    assert airflow_app.get(f"{CONSOLE}/999", headers=op).status_code == 404


def test_subscriptions_are_in_airflows_navigation(airflow_app: Any) -> None:  # noqa: F811
    plugins = airflow_app.get("/api/v2/plugins", headers=_bearer("admin")).json()["plugins"]
    [ardis] = [p for p in plugins if p["name"] == "ardis"]
    assert ("Subscriptions", PORTAL) in [(v["name"], v["href"]) for v in ardis["external_views"]]
