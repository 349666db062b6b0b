"""The Ardis plugin's web app inside Airflow's own app (``create_app()``), as the api-server mounts it.

Tokens come from the auth manager (``generate_jwt``); ``simple_auth_manager_all_admins``
is never set, so every permission is the SimpleAuthManager's own: viewer < user < op < admin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import DISTRIBUTION_DAG, MEDIA_DAGS, request_run_id, rewrite_run_id
from fastapi.routing import APIRoute
from sqlalchemy import select

from distribution.orders import delivery
from distribution.shipping import production
from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.models import MediaType
from distribution.orders.placing import Contact, RequestSpec, create_order
from tests.airflow_rest import forget_request_runs, sync_ardis_dags, token

pytestmark = pytest.mark.dags
USER = Contact(user_id="webu", email="web.user@example.org", first_name="Web", last_name="User",
               shipping_address="1 Main Street\nLandover, MD 22222")
SERVER = "http://testserver"


@pytest.fixture(scope="module")
def airflow_app(airflow_db: str) -> Iterator[Any]:
    from airflow.api_fastapi.app import create_app
    from airflow.configuration import conf
    from fastapi.testclient import TestClient

    assert not conf.getboolean("core", "simple_auth_manager_all_admins")
    sync_ardis_dags()
    with TestClient(create_app(), base_url=SERVER) as client:
        yield client


def _ardis_app(client: Any) -> Any:
    from starlette.routing import Mount

    [mount] = [r for r in client.app.routes if isinstance(r, Mount) and r.path == "/ardis"]
    return mount.app


def _bearer(role: str, name: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(name or f'{role}1', role)}"}


def _order(settings: Settings, tmp_path: Path, media: MediaType) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        return str(create_order(session, settings, USER, [RequestSpec(media, urs[:1])]).requests[0].request_id)


@pytest.fixture(autouse=True)
def no_request_runs(airflow_app: Any) -> None:
    """Every test's Ardis database numbers its requests from 0100000001; the Airflow database is shared."""
    forget_request_runs()


def _run(dag_id: str, run_id: str) -> Any:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        return None if run is None else (run.state, dict(run.conf or {}), run.triggering_user_name)


def test_every_route_needs_a_user(airflow_app: Any) -> None:
    """Walk every route of the app: none answers without a user (nor with a forged token)."""
    from airflow.api_fastapi.core_api.security import get_user

    routes = [r for r in _ardis_app(airflow_app).routes if isinstance(r, APIRoute)]
    assert len(routes) >= 4
    for route in routes:
        deps = [d.call for d in route.dependant.dependencies]
        assert get_user in deps or any(get_user in [s.call for s in d.dependencies]
                                       for d in route.dependant.dependencies), route.path
        path = "/ardis" + re.sub(r"\{[^}]+\}", "0100000001", route.path)
        for method in route.methods:
            for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Cookie": "_token=forged"}):
                answer = airflow_app.request(method, path, headers={"Origin": SERVER, **headers}, json={})
                assert answer.status_code in (401, 403), (method, path, headers, answer.status_code, answer.text)
    assert airflow_app.get("/ardis/docs").status_code in (401, 403, 404)  # FastAPI's own docs: off


def test_a_user_starts_a_request_run_once(airflow_app: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    request_id = _order(sqlite_settings, tmp_path, MediaType.FTP_PULL)
    url = f"/ardis/api/requests/{request_id}/runs"
    first = airflow_app.post(url, headers=_bearer("user", "alice"))
    assert first.status_code == 201, first.text
    assert first.json() == {"request_id": request_id, "dag_id": DISTRIBUTION_DAG,
                            "run_id": request_run_id(request_id), "status": "triggered"}
    state, conf, who = _run(DISTRIBUTION_DAG, request_run_id(request_id))
    assert state == "queued" and conf["request_id"] == request_id and who == "alice"
    again = airflow_app.post(url, headers=_bearer("user", "alice"), json={})
    assert (again.status_code, again.json()["status"]) == (200, "exists")
    assert airflow_app.post("/ardis/api/requests/0999999999/runs", headers=_bearer("user")).status_code == 404
    assert airflow_app.get("/ardis/api/health", headers=_bearer("viewer")).json()["user"] == "viewer1"


def test_a_viewer_may_not_start_runs(airflow_app: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    request_id = _order(sqlite_settings, tmp_path, MediaType.FTP_PULL)
    answer = airflow_app.post(f"/ardis/api/requests/{request_id}/runs", headers=_bearer("viewer"))
    assert answer.status_code == 403
    assert _run(DISTRIBUTION_DAG, request_run_id(request_id)) is None


def test_a_cookie_request_from_another_origin_is_refused(airflow_app: Any, sqlite_settings: Settings,
                                                         tmp_path: Path) -> None:
    """The UI's cookie rides along with any site's form post: only this server's pages may use it."""
    request_id = _order(sqlite_settings, tmp_path, MediaType.FTP_PULL)
    url = f"/ardis/api/requests/{request_id}/runs"
    cookie = {"Cookie": f"_token={token('carol', 'user')}"}
    for refused in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"},
                    {"Origin": "null"}, {}):
        answer = airflow_app.post(url, headers={**cookie, **refused})
        assert answer.status_code == 403, (refused, answer.text)
    assert _run(DISTRIBUTION_DAG, request_run_id(request_id)) is None
    assert airflow_app.post(url, headers={**cookie, "Origin": SERVER}).status_code == 201
    assert airflow_app.post(url, headers={**cookie, "Referer": f"{SERVER}/ardis/x"}).status_code == 200


def test_the_rewrite_run_of_a_bad_volume(airflow_app: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    request_id = _order(sqlite_settings, tmp_path, MediaType.DLT)
    delivery.begin_request(sqlite_settings, request_id, request_run_id(request_id))
    delivery.stage_request(sqlite_settings, request_id)
    delivery.verify_request(sqlite_settings, request_id)
    [media_id] = production.plan_request(sqlite_settings, request_id)
    url = f"/ardis/api/requests/{request_id}/runs"
    assert airflow_app.post(url, headers=_bearer("user"), json={"media_id": media_id}).status_code == 404  # not bad
    production.mark_bad(sqlite_settings, media_id, "scratched")
    answer = airflow_app.post(url, headers=_bearer("user"), json={"media_id": media_id})
    assert answer.status_code == 201, answer.text
    assert answer.json()["run_id"] == rewrite_run_id(request_id, media_id)
    assert _run(MEDIA_DAGS["tape"], rewrite_run_id(request_id, media_id))[0] == "queued"
    production.mark_bad(sqlite_settings, media_id, "scratched again")  # a second round is a new run
    answer = airflow_app.post(url, headers=_bearer("user"), json={"media_id": media_id})
    assert (answer.status_code, answer.json()["run_id"]) == (201, rewrite_run_id(request_id, media_id, 2))
