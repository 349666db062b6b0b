"""The order portal (``/ardis/portal/``) on a real ``airflow api-server`` with SimpleAuthManager logins.

Two data users (alice, bob: role ``user``) and an operator (olga: role ``op``) log
in through ``POST /auth/token``; the pages get the token as the browser does, in
the ``_token`` cookie, and posts carry this server's Origin. ``all_admins`` is off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from ardis_airflow.names import DISTRIBUTION_DAG, request_run_id
from sqlalchemy import func, select

from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, load_samples
from distribution.models import Granule, Order, Request
from tests.airflow_rest import AirflowRest, forget_request_runs

pytestmark = pytest.mark.dags


def archive_samples(settings: Settings, work: Path) -> list[str]:
    """The sample granules in the api-server's Ardis database (loaded once per session); their URs."""
    with session_scope(settings.database_url) as session:
        if not session.scalar(select(func.count()).select_from(Granule)):
            load_samples(session, settings, work / "in", scale=1 / 256)
        return [granule_ur(g, settings) for g in session.scalars(select(Granule).order_by(Granule.id))]


def browser(rest: AirflowRest, username: str | None) -> httpx.Client:
    """A client with the login cookie the Airflow UI would set, sending this server's Origin on posts."""
    cookies = {"_token": rest.login(username)} if username else {}
    return httpx.Client(base_url=rest.url, cookies=cookies, headers={"Origin": rest.url}, timeout=60,
                        follow_redirects=False)


def order_form(client: httpx.Client, urs: list[str]) -> dict[str, Any]:
    page = client.get("/ardis/portal/order", params=[("granules", ur) for ur in urs])
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([0-9a-f]+)"', page.text)
    assert token, page.text
    return {"token": token.group(1), "granules": urs, "method": "FtpPull", "email": "alice@example.org"}


def _orders_of(settings: Settings, user_id: str) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [str(o.order_id) for o in session.scalars(select(Order).where(Order.source.startswith("portal:")))
                if o.user.user_id == user_id]


def _run_state(rest: AirflowRest, request_id: str) -> str:
    run = rest.call("GET", f"/api/v2/dags/{DISTRIBUTION_DAG}/dagRuns/{request_run_id(request_id)}")
    return str(run["state"])


def test_a_page_without_a_login_goes_to_airflows_login(airflow_rest: AirflowRest) -> None:
    with browser(airflow_rest, None) as anonymous:
        answer = anonymous.get("/ardis/portal/orders?page=2")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/auth/login?next=%2Fardis%2Fportal%2Forders%3Fpage%3D2"
        assert anonymous.post("/ardis/portal/order", data={}).status_code == 401


def test_search_order_and_only_the_owner_sees_it(airflow_rest: AirflowRest, rest_settings: Settings,
                                                 tmp_path: Path) -> None:
    forget_request_runs()
    urs = archive_samples(rest_settings, tmp_path)
    with browser(airflow_rest, "alice") as alice, browser(airflow_rest, "bob") as bob, \
            browser(airflow_rest, "olga") as olga:
        found = alice.get("/ardis/portal/", params={"collection": "AST_L1BT.001", "qualifier": "QAPercentMissingData >= 0"})
        assert found.status_code == 200, found.text
        assert SAMPLES[1].lgid in found.text and SAMPLES[0].lgid not in found.text
        assert alice.get("/ardis/portal/granule", params={"ur": urs[1]}).status_code == 200

        form = order_form(alice, urs[1:3])
        placed = alice.post("/ardis/portal/order", data=form)
        assert placed.status_code == 303, placed.text
        order_id = re.fullmatch(r"/ardis/portal/orders/(\d+)\?placed=1", placed.headers["location"]).group(1)
        assert _orders_of(rest_settings, "alice") .count(order_id) == 1
        with session_scope(rest_settings.database_url) as session:
            [request] = session.scalars(select(Request).join(Order).where(Order.order_id == order_id)).all()
            request_id = str(request.request_id)
            assert [rg.granule.id for rg in request.granules] == [int(u.rsplit(":", 1)[1]) for u in urs[1:3]]
            assert request.order.user.email == "alice@example.org"
        assert _run_state(airflow_rest, request_id) in ("queued", "running")  # started at once

        again = alice.post("/ardis/portal/order", data=form)  # the back button, a double click
        assert (again.status_code, again.headers["location"]) == (303, f"/ardis/portal/orders/{order_id}")
        assert _orders_of(rest_settings, "alice").count(order_id) == 1 and len(_orders_of(rest_settings, "alice")) \
            == len(set(_orders_of(rest_settings, "alice")))

        page = alice.get(f"/ardis/portal/orders/{order_id}")
        assert page.status_code == 200 and request_id in page.text and SAMPLES[1].data_files[0] in page.text
        assert order_id in alice.get("/ardis/portal/orders").text

        assert bob.get(f"/ardis/portal/orders/{order_id}").status_code == 404
        assert order_id not in bob.get("/ardis/portal/orders").text
        assert "has no account for" in bob.get("/ardis/portal/orders").text  # bob never ordered

        scripted = httpx.Client(base_url=airflow_rest.url, timeout=60,
                                headers={"Authorization": f"Bearer {airflow_rest.login('alice')}"})
        with scripted:  # the same through the JSON API, as a user's script
            mine = scripted.get(f"/ardis/api/orders/{order_id}").json()
            assert [r["request_id"] for r in mine["requests"]] == [request_id]
            assert mine["requests"][0]["progress"]["granules"] == 2
            assert order_id in [o["order_id"] for o in scripted.get("/ardis/api/orders").json()["orders"]]
            found = scripted.get("/ardis/api/search", params={"text": SAMPLES[2].lgid}).json()
            assert [g["local_granule_id"] for g in found["granules"]] == [SAMPLES[2].lgid]
            assert scripted.get("/ardis/api/search", params={"begin": "soon"}).json()["detail"]["errors"].keys() \
                == {"begin"}
        assert bob.get(f"/ardis/api/orders/{order_id}").status_code == 404
        assert order_id not in bob.get("/ardis/api/orders").text
        assert olga.get(f"/ardis/api/orders/{order_id}").status_code == 200
        assert bob.post(f"/ardis/portal/orders/{order_id}/cancel").status_code == 404  # not bob's
        assert bob.post(f"/ardis/api/orders/{order_id}/cancel").status_code == 404
        assert alice.post(f"/ardis/portal/orders/{order_id}/cancel",
                          headers={"Origin": "http://evil.example"}).status_code == 403
        assert mine["requests"][0]["state"] == "new"
        cancelled = alice.post(f"/ardis/portal/orders/{order_id}/cancel")
        assert (cancelled.status_code, cancelled.headers["location"]) == (303, f"/ardis/portal/orders/{order_id}")
        assert "cancelled" in alice.get(f"/ardis/portal/orders/{order_id}").text
        assert alice.post(f"/ardis/api/orders/{order_id}/cancel").status_code == 409  # nothing left
        assert olga.get(f"/ardis/portal/orders/{order_id}").status_code == 200
        everyone = olga.get("/ardis/portal/orders").text
        assert "All orders" in everyone and order_id in everyone and "alice" in everyone


def test_bad_input_gets_field_errors_and_creates_nothing(airflow_rest: AirflowRest, rest_settings: Settings,
                                                         tmp_path: Path) -> None:
    urs = archive_samples(rest_settings, tmp_path)
    airflow_rest.add_connection("ardis_subscriber_bob", {"conn_type": "ftp", "host": "127.0.0.1"})
    airflow_rest.add_connection("ardis_subscriber_alice_ftp", {"conn_type": "ftp", "host": "127.0.0.1"})
    before = _orders_of(rest_settings, "alice")
    with browser(airflow_rest, "alice") as alice:
        form = order_form(alice, urs[:1])
        cases = [
            ({"method": "FtpPush", "directory": "/in"}, "conn_id", "a push needs the Airflow connection"),
            ({"method": "FtpPush", "directory": "/in", "conn_id": "ardis_subscriber_bob"}, "conn_id",
             "you may use your own connections"),
            ({"method": "FtpPush", "directory": "/in", "conn_id": "ardis_subscriber_alice_nope"}, "conn_id",
             "Airflow has no connection"),
            ({"method": "FtpPush", "conn_id": "ardis_subscriber_alice_ftp"}, "directory", "needs a destination directory"),
            ({"method": "DVD", "shipping_address": ""}, "shipping_address", "physical media are shipped"),
            ({"method": "Pigeon"}, "method", "unknown delivery method"),
            ({"granules": ["SC:MOD09GHK.003:999999"]}, "granules", "no granule"),
            ({"userstring": "two\nlines"}, "userstring", "one line"),
            ({"notify_email": "not-an-address"}, "notify_email", "not a valid e-mail address"),
        ]
        for change, field, message in cases:
            answer = alice.post("/ardis/portal/order", data={**form, **change})
            assert answer.status_code == 400, (change, answer.status_code)
            shown = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', answer.text)
            assert shown and message in shown.group(1).replace("&#39;", "'"), (change, field, answer.text[-3000:])
        assert alice.post("/ardis/portal/order", data=form, headers={"Origin": "http://evil.example"}).status_code \
            == 403
        assert _orders_of(rest_settings, "alice") == before
        pushed = alice.post("/ardis/portal/order", data={**form, "method": "FtpPush", "directory": "/in",
                                                         "conn_id": "ardis_subscriber_alice_ftp"})
        assert pushed.status_code == 303, pushed.text
