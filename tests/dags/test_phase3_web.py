"""Phase 3 in the plugin's JSON API (``/ardis/api/phase3``), inside Airflow's own app, with SimpleAuthManager tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from distribution.config import Settings
from tests.airflow_rest import sync_ardis_dags, token
from tests.unit.phase3.conftest import make_world

pytestmark = pytest.mark.dags
SERVER = "http://testserver"


@pytest.fixture(scope="module")
def client(airflow_db: str) -> Iterator[Any]:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    sync_ardis_dags()
    with TestClient(create_app(), base_url=SERVER) as test_client:
        yield test_client


def _as(name: str, role: str = "user") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(name, role)}"}


def test_who_sees_and_who_closes_a_release(client: Any, sqlite_settings: Settings) -> None:
    world = make_world(sqlite_settings)
    url = f"/ardis/api/phase3/releases/{world.release_id}"
    assert client.get("/ardis/api/phase3/releases").status_code == 401
    assert client.get("/ardis/api/phase3/releases", headers=_as("stranger1")).json() == []
    assert client.get(url, headers=_as("stranger1")).status_code == 404
    mine = client.get("/ardis/api/phase3/releases", headers=_as("coi1")).json()
    assert mine == [{"id": world.release_id, "path": "196.B-0001/SURVEY1/DR1", "mode": "create", "state": "Open",
                     "release_date": None}]
    assert client.get(url, headers=_as("ops1", "op")).json()["state"] == "Open"

    refused = client.post(f"{url}/close", headers=_as("coi1"))
    assert refused.status_code == 403 and "only PI may" in refused.json()["detail"]
    assert client.post(f"{url}/close", headers=_as("ops1", "op")).status_code == 403
    cross = client.post(f"{url}/close", headers={"Origin": "https://evil.example"},
                        cookies={"_token": token("pi1", "user")})
    assert cross.status_code == 403
    closed = client.post(f"{url}/close", headers=_as("pi1"))
    assert closed.status_code == 200 and closed.json()["state"] == "Closed"
    assert client.post(f"{url}/close", headers=_as("pi1")).status_code == 409
    shown = client.get(url, headers=_as("pi1")).json()
    assert [(h["who"], h["to"]) for h in shown["history"]] == [("pi1", "Open"), ("pi1", "Closed")]
    assert client.get(f"{url}/content", headers=_as("pi1")).status_code == 409
