"""The console's scientific-validation queue in a real browser (Debian chromium, Playwright), a real run waiting.

olga logs in through Airflow's login page, finds the closed release in the queue
and approves it; the run archives and publishes it. Screenshots at 1280x800 go to
``test-artifacts/console/`` (``20-scientific-queue.png``, ``21-approved.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import PHASE3_RELEASE_DAG

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import NewFile, add_granule
from distribution.models import User
from distribution.phase3.archiving import in_archive
from distribution.phase3.areas import upload_area
from distribution.phase3.programs import Actor, create_program
from distribution.phase3.releases import create_collection, create_release, get_release
from distribution.phase3.workflow import close_release
from tests.airflow_rest import AirflowRest
from tests.browser.test_console import CHROMIUM, _until
from tests.dags.conftest import airflow_db, dagbag, run_beside, task_states  # noqa: F401  (fixtures)
from tests.unit.phase3.fits_files import good_release, science_image

pytestmark = pytest.mark.dags


def _closed_release(settings: Settings) -> int:
    """A release of its own program (the session's Ardis database is shared), uploaded and closed by its PI."""
    if not in_archive(settings)("raw1.fits"):  # type: ignore[operator]
        raw = science_image(settings.home / "raw1.fits")
        with session_scope(settings.database_url) as session:
            add_granule(session, settings, "VIRCAM_RAW.001", [NewFile(raw)])
    with session_scope(settings.database_url) as session:
        session.add(User(user_id="pi20", email="pi20@example.org"))
        session.flush()
        create_program(session, Actor.archive_operator(), "200.F-0020", "pi20", "A browser survey")
        create_collection(session, Actor("pi20"), "200.F-0020", "DEEP20")
        release = create_release(session, Actor("pi20"), "200.F-0020", "DEEP20", "DR1")
        area = upload_area(settings, release)
        release_id = release.id
    good_release(area)
    close_release(settings, str(release_id), Actor("pi20"))
    return release_id


def _approve(rest: AirflowRest, release_id: int, shots: Path, seen: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.test_portal_browser import log_in

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            olga = log_in(browser, rest, "olga", "/ardis/console/phase3")
            row = _until(olga, f"#scientific-queue tr[data-release='{release_id}']")
            seen["row"] = row.inner_text()
            seen["badge"] = olga.inner_text("#scientific-badge")
            olga.screenshot(path=str(shots / "20-scientific-queue.png"))
            row.locator("button", has_text="Approve").click()
            seen["approved"] = olga.locator("#message").inner_text()
            olga.screenshot(path=str(shots / "21-approved.png"))
        finally:
            browser.close()


def test_an_operator_approves_a_release_in_the_browser(airflow_client: AirflowRest, dagbag: Any,  # noqa: F811
                                                       rest_settings: Settings, artifacts: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no Debian chromium")
    pytest.importorskip("playwright.sync_api")
    from devkit.operator import Operator

    shots = artifacts / "console"
    shots.mkdir(exist_ok=True)
    release_id = _closed_release(rest_settings)
    seen: dict[str, Any] = {}
    rescue = Operator(airflow_client.url, [PHASE3_RELEASE_DAG], lambda _step: (["Approve"], {"reason": ""}),
                      interval=1, login=lambda: airflow_client.login("olga"))
    run = run_beside(dagbag, PHASE3_RELEASE_DAG, {"release_id": release_id},
                     lambda _ended: _approve(airflow_client, release_id, shots, seen), rescue)
    assert "200.F-0020" in seen["row"] and "DEEP20" in seen["row"] and "pi20" in seen["row"], seen["row"]
    assert "toc · error · log" in seen["row"] and seen["badge"] == "1"
    assert seen["approved"] == f"Phase 3 release {release_id} approved: to be archived"
    assert set(task_states(run).values()) == {"success"}
    with session_scope(rest_settings.database_url) as session:
        release = get_release(session, release_id)
        assert [e.to_state.value for e in release.history] == [
            "Open", "Closed", "Valid", "ToBeArchived", "Archived", "Published"]
        assert release.history[3].actor == "olga"
