"""The operator console inside Airflow's app: operators only, pages and JSON over Ardis's queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from distribution.config import Settings
from distribution.models import MediaType
from distribution.orders import delivery
from distribution.shipping import production
from tests.airflow_rest import token
from tests.dags.test_web_app import _bearer, _order, airflow_app, no_request_runs  # noqa: F401  (fixtures)

pytestmark = pytest.mark.dags
CONSOLE_PATHS = ("/ardis/console", "/ardis/console/api/media/optical", "/ardis/console/api/media/tape",
                 "/ardis/console/api/orders", "/ardis/console/api/ingest")


def built_volume(settings: Settings, tmp_path: Path) -> tuple[str, str]:
    """A DVD request staged and verified, its one volume built: waiting for a blank disc."""
    request_id = _order(settings, tmp_path, MediaType.DVD)
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    [media_id] = production.plan_request(settings, request_id)
    production.build_volume(settings, media_id)
    return request_id, media_id


def test_users_and_viewers_get_403(airflow_app: Any) -> None:  # noqa: F811
    for role in ("viewer", "user"):
        for path in CONSOLE_PATHS:
            answer = airflow_app.get(path, headers=_bearer(role))
            assert answer.status_code == 403, (role, path, answer.text)
            assert "operators" in answer.json()["detail"]


def test_a_browser_without_login_goes_to_the_login_page(airflow_app: Any) -> None:  # noqa: F811
    page = airflow_app.get("/ardis/console", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    assert "ardis%2Fconsole" in page.headers["location"]
    json = airflow_app.get("/ardis/console/api/orders", headers={"Accept": "text/html"}, follow_redirects=False)
    assert json.status_code == 401  # JSON is never redirected
    assert airflow_app.get("/ardis/console", follow_redirects=False).status_code == 401  # not a browser


def test_an_operator_sees_the_queue_orders_and_ingest(airflow_app: Any, sqlite_settings: Settings,  # noqa: F811
                                                      tmp_path: Path) -> None:
    request_id, media_id = built_volume(sqlite_settings, tmp_path)
    for role in ("op", "admin"):
        media = airflow_app.get("/ardis/console/api/media/optical", headers=_bearer(role))
        assert media.status_code == 200, media.text
        [waiting] = media.json()["queue"]["blank_media"]
        assert (waiting["request_id"], waiting["media_id"], waiting["number"], waiting["count"]) == (
            request_id, media_id, 1, 1)
        assert [d["state"] for d in media.json()["drives"]] == ["idle"]
    orders = airflow_app.get("/ardis/console/api/orders", params={"method": "DVD"}, headers=_bearer("op")).json()
    assert orders["counts"]["running"] == 1 and [r["request_id"] for r in orders["requests"]] == [request_id]
    assert airflow_app.get("/ardis/console/api/orders", params={"state": "nonsense"},
                           headers=_bearer("op")).status_code == 422
    assert airflow_app.get("/ardis/console/api/media/floppy", headers=_bearer("op")).status_code == 404
    assert airflow_app.get("/ardis/console/api/ingest", headers=_bearer("op")).json()["owed"] == []
    page = airflow_app.get("/ardis/console", headers={"Cookie": f"_token={token('op1', 'op')}"})
    assert page.status_code == 200 and "Waiting for blank media (1)" in page.text and media_id in page.text


def test_the_console_is_in_airflows_navigation(airflow_app: Any) -> None:  # noqa: F811
    plugins = airflow_app.get("/api/v2/plugins", headers=_bearer("admin")).json()["plugins"]
    [ardis] = [p for p in plugins if p["name"] == "ardis"]
    assert ("Operator console", "/ardis/console") in [(v["name"], v["href"]) for v in ardis["external_views"]]
