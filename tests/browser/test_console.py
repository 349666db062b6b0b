"""The operator console in a real browser (Debian chromium, Playwright) against a real api-server.

The operator logs in through Airflow's own login page and lands on the console;
screenshots at 1280x800 go to ``test-artifacts/console/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distribution.config import Settings
from tests.airflow_rest import AirflowRest
from tests.dags.test_console import built_volume

pytestmark = pytest.mark.dags
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no Debian chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()


def test_an_operator_logs_in_and_sees_the_queue(page: Any, airflow_client: AirflowRest, rest_settings: Settings,
                                                tmp_path: Path, artifacts: Path) -> None:
    request_id, media_id = built_volume(rest_settings, tmp_path)
    shots = artifacts / "console"
    shots.mkdir(exist_ok=True)

    page.goto(f"{airflow_client.url}/ardis/console")
    page.wait_for_url("**/auth/login**")  # not logged in: Airflow's login page
    env = airflow_client.client_env()
    page.fill("input[name=username]", env["ARDIS_AIRFLOW_USERNAME"])
    page.fill("input[name=password]", env["ARDIS_AIRFLOW_PASSWORD"])
    page.screenshot(path=str(shots / "01-login.png"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/ardis/console**")
    page.wait_for_selector("text=Ardis operator console")
    page.screenshot(path=str(shots / "02-console.png"), full_page=False)
    page.screenshot(path=str(shots / "03-console-full.png"), full_page=True)
    waiting = page.locator("#media-optical table.queue[data-stage=blank_media]")
    assert media_id in waiting.inner_text() and "1 of 1" in waiting.inner_text()
    assert "Waiting for blank media (1)" in page.inner_text("#media-optical")
    assert request_id in page.inner_text("#orders")
    page.select_option("select[name=method]", "DVD")
    page.click("text=Filter")
    page.wait_for_url("**method=DVD**")
    assert request_id in page.inner_text("#orders") and page.input_value("select[name=method]") == "DVD"
    page.screenshot(path=str(shots / "04-orders-filtered.png"))
