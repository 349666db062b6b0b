"""Phase 3 on the web inside Airflow's own app, with SimpleAuthManager tokens: the JSON API (``/ardis/api/phase3``)
and the PIs' and CoIs' pages (``/ardis/portal/phase3/``): who sees a release, who may close it (Origin checked),
and an archived release's CONTENT.ESO and release-description.tar."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.phase3.archiving import archive_release
from distribution.phase3.content import parse_content
from distribution.phase3.releases import get_release
from distribution.phase3.workflow import close_release, validate_closed
from tests.airflow_rest import sync_ardis_dags, token
from tests.unit.phase3.conftest import PI, make_world
from tests.unit.phase3.fits_files import good_release
from tests.unit.phase3.test_archiving import archive_raw, in_upload_area, to_be_archived

pytestmark = pytest.mark.dags
SERVER = "http://testserver"
PAGES = "/ardis/portal/phase3"


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


def _cookie(name: str) -> dict[str, str]:
    return {"_token": token(name, "user")}


def test_who_sees_a_release_and_only_the_pi_closes_it(client: Any, sqlite_settings: Settings) -> None:
    world = make_world(sqlite_settings)
    page = f"{PAGES}/releases/{world.release_id}"
    anonymous = client.get(f"{PAGES}/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(
        "/auth/login?next=%2Fardis%2Fportal%2Fphase3%2F")
    assert "196.B-0001/SURVEY1/DR1" not in client.get(f"{PAGES}/", headers=_as("stranger1")).text
    hidden = client.get(page, headers=_as("stranger1"))
    assert hidden.status_code == 404 and "196.B-0001/SURVEY1/DR1" not in hidden.text

    listed = client.get(f"{PAGES}/", headers=_as("coi1"))
    assert listed.status_code == 200 and f'href="{page}"' in listed.text and ">CoI<" in listed.text
    coi = client.get(page, headers=_as("coi1")).text
    assert 'id="upload-instructions"' in coi and "cd 196.B-0001/SURVEY1/DR1" in coi
    assert "close-release" not in coi and "Only the PI can close" in coi
    refused = client.post(f"{page}/close", headers={"Origin": SERVER}, cookies=_cookie("coi1"))
    assert refused.status_code == 403 and "only PI may" in refused.text
    assert client.post(f"{page}/close", headers={"Origin": SERVER, **_as("ops1", "op")}).status_code == 403
    assert "close-release" not in client.get(page, headers=_as("ops1", "op")).text

    pi = client.get(page, headers=_as("pi1")).text
    assert 'id="close-release"' in pi and f'action="{page}/close"' in pi
    cross = client.post(f"{page}/close", headers={"Origin": "https://evil.example"}, cookies=_cookie("pi1"))
    no_origin = client.post(f"{page}/close", cookies=_cookie("pi1"))
    assert (cross.status_code, no_origin.status_code) == (403, 403)
    with session_scope(sqlite_settings.database_url) as session:
        assert get_release(session, world.release_id).state.value == "Open"
    closed = client.post(f"{page}/close", headers={"Origin": SERVER}, cookies=_cookie("pi1"), follow_redirects=False)
    assert closed.status_code == 303 and closed.headers["location"] == f"{page}?done=closed"
    shown = client.get(closed.headers["location"], headers=_as("pi1")).text
    assert 'id="state">Closed<' in shown and "Release closed" in shown and "close-release" not in shown
    assert "upload-instructions" not in shown  # the upload area is no longer the users'
    assert shown.count('<span class="state s-Closed">Closed</span>') == 1  # the history's new row
    again = client.post(f"{page}/close", headers={"Origin": SERVER}, cookies=_cookie("pi1"))
    assert again.status_code == 409
    with session_scope(sqlite_settings.database_url) as session:
        assert [(e.actor, e.to_state.value) for e in get_release(session, world.release_id).history] == [
            ("pi1", "Open"), ("pi1", "Closed")]


def test_an_archived_release_offers_content_eso_and_its_description(client: Any, sqlite_settings: Settings) -> None:
    world = make_world(sqlite_settings)
    archive_raw(world)
    area = in_upload_area(world, world.release_id, good_release)
    tar = (area / "release-description.tar").read_bytes()
    page = f"{PAGES}/releases/{world.release_id}"
    before = client.get(f"{page}/release-description.tar", headers=_as("pi1"))
    assert before.status_code == 409 and "content-eso" not in client.get(page, headers=_as("pi1")).text
    to_be_archived(world, world.release_id)
    archive_release(world.settings, world.release_id)

    shown = client.get(page, headers=_as("coi1")).text
    assert 'id="content-eso"' in shown and 'id="description"' in shown
    content = client.get(f"{page}/CONTENT.ESO", headers=_as("coi1"))
    assert content.status_code == 200 and "CONTENT.ESO" in content.headers["content-disposition"]
    assert sorted(parse_content(content.text)) == ["img1.fits", "img1.png", "img1.weight.fits", "img2.fits.fz"]
    for url in (f"{page}/release-description.tar", f"/ardis/api/phase3/releases/{world.release_id}/description"):
        got = client.get(url, headers=_as("pi1"))
        assert got.status_code == 200 and got.content == tar, url
        assert client.get(url, headers=_as("stranger1")).status_code == 404  # archived, not yet published
    assert client.get(f"{page}/CONTENT.ESO", headers=_as("stranger1")).status_code == 404


def test_a_program_page_for_its_people_only(client: Any, sqlite_settings: Settings) -> None:
    world = make_world(sqlite_settings)
    page = f"{PAGES}/programs/196.B-0001"
    shown = client.get(page, headers=_as("coi1"))
    assert shown.status_code == 200
    assert '<li>pi1 <span class="badge">PI</span></li>' in shown.text
    assert '<li>coi1 <span class="badge">CoI</span></li>' in shown.text
    assert "SURVEY1 <span" in shown.text and f'href="{PAGES}/releases/{world.release_id}"' in shown.text
    assert client.get(page, headers=_as("ops1", "op")).status_code == 200
    for who, url in (("stranger1", page), ("pi1", f"{PAGES}/programs/999.X-0000")):
        hidden = client.get(url, headers=_as(who))
        assert hidden.status_code == 404 and "coi1" not in hidden.text, (who, url)
    assert f'href="{page}"' in client.get(f"{PAGES}/", headers=_as("pi1")).text


def test_a_release_in_error_is_reopened_by_its_people(client: Any, sqlite_settings: Settings) -> None:
    world = make_world(sqlite_settings)
    close_release(world.settings, str(world.release_id), PI)
    assert validate_closed(world.settings, world.release_id)["state"] == "Error"  # no release-description.tar
    page = f"{PAGES}/releases/{world.release_id}"
    shown = client.get(page, headers=_as("coi1")).text
    assert 'id="reopen-release"' in shown and "the release description release-description.tar is missing" in shown
    assert "reopen-release" not in client.get(page, headers=_as("ops1", "op")).text
    assert client.post(f"{page}/reopen", headers={"Origin": SERVER}, cookies=_cookie("stranger1")).status_code == 404
    assert client.post(f"{page}/reopen", headers={"Origin": "https://evil.example"},
                       cookies=_cookie("coi1")).status_code == 403
    assert client.post(f"{page}/reopen", headers={"Origin": SERVER, **_as("ops1", "op")}).status_code == 403
    done = client.post(f"{page}/reopen", headers={"Origin": SERVER}, cookies=_cookie("coi1"), follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{page}?done=reopened"
    after = client.get(done.headers["location"], headers=_as("coi1")).text
    assert 'id="state">Open<' in after and 'id="upload-instructions"' in after and "error-report" not in after
    assert client.post(f"{page}/reopen", headers={"Origin": SERVER}, cookies=_cookie("coi1")).status_code == 409
    with session_scope(sqlite_settings.database_url) as session:
        assert get_release(session, world.release_id).history[-1].actor == "coi1"
