"""The order portal in a real browser: Debian's chromium through Playwright, against a real api-server.

alice logs in through Airflow's own login page, searches, chooses granules,
places an FtpPull order, and follows it to "complete" (the run's steps are played
here through the domain, as its tasks would be: this server runs no scheduler);
bob does not see the order. Every page is kept as a screenshot at 1280×800 and at
390 px wide in ``test-artifacts/portal/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distribution.orders import delivery, notify
from distribution.config import Settings
from devkit.sample_data import SAMPLES
from distribution.notices.outbox import OutboxFolder
from tests.airflow_rest import AirflowRest, forget_request_runs
from tests.dags.test_portal import archive_samples

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.dags,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/system-packages.sh)")]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


class Shots:
    """Screenshots of each page at 1280×800 and at 390 px wide."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, name: str) -> None:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(self.folder / f"{name}-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(self.folder / f"{name}-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})


def log_in(browser: Any, rest: AirflowRest, username: str, path: str, shots: Shots | None = None) -> Any:
    """A new browser context: open ``path``, get sent to Airflow's login page, log in, come back."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(rest.url + path)
    page.wait_for_url(re.compile(r".*/auth/login.*"))
    page.locator("input[type=password]").wait_for()
    if shots:
        shots.take(page, "00-airflow-login")
    page.locator("input:not([type=password])").first.fill(username)
    page.locator("input[type=password]").fill(rest.password(username))
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(rest.url + path)))
    return page


def play_the_run(settings: Settings, request_id: str) -> None:
    """The distribution run's steps, as its tasks call them."""
    delivery.begin_request(settings, request_id, f"request-{request_id}")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    delivery.deliver_request(settings, request_id)
    notify.notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir))


def test_search_order_and_follow_it(chromium: Any, airflow_rest: AirflowRest, rest_settings: Settings,
                                    tmp_path: Path, artifacts: Path) -> None:
    forget_request_runs()
    archive_samples(rest_settings, tmp_path)
    shots = Shots(artifacts / "portal")
    page = log_in(chromium, airflow_rest, "alice", "/ardis/portal/", shots)
    shots.take(page, "01-search")

    page.get_by_label("Collection").select_option("AST_L1BT.001")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.get_by_text(SAMPLES[1].lgid).is_visible()
    shots.take(page, "02-results")

    page.get_by_role("link", name=SAMPLES[1].lgid).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=SAMPLES[1].lgid).is_visible()
    shots.take(page, "03-granule")
    page.go_back()

    page.get_by_label(f"choose {SAMPLES[1].lgid}").check()
    page.get_by_label(f"choose {SAMPLES[2].lgid}").check()
    page.get_by_role("button", name="Order the chosen granules").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Place an order").is_visible()
    assert not page.get_by_label("Airflow connection").is_visible()  # FtpPull: no push fields
    shots.take(page, "04-order-form")

    page.get_by_label("E-mail (the notice goes here)").fill("not-an-address@")
    page.evaluate("document.querySelector('input[name=email]').type = 'text'")  # past the browser's own check
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_load_state()
    assert page.locator("#email-error").is_visible()
    shots.take(page, "05-order-form-errors")

    page.get_by_label("E-mail (the notice goes here)").fill("alice@example.org")
    page.get_by_label("Last name").fill("Liddell")
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_url(re.compile(r".*/ardis/portal/orders/\d+\?placed=1"))
    order_id = re.search(r"/orders/(\d+)", page.url).group(1)  # type: ignore[union-attr]
    assert page.get_by_text("Order placed").is_visible()
    request_id = page.locator("section.request h2").first.inner_text().split()[1]
    shots.take(page, "06-order-placed")

    play_the_run(rest_settings, request_id)
    # The page polls the JSON API and shows the end by itself (no one reloads it).
    page.wait_for_function("document.querySelector('section.request h2 .state').textContent === 'complete'"
                           " && document.querySelector('pre.dn') !== null", timeout=60_000)
    assert page.locator("section.request .state").first.inner_text() == "complete"
    assert page.get_by_text("2 of 2 granules delivered").is_visible()
    assert page.locator("pre.dn").inner_text().count("FTPDIR") == 1  # the DN as sent
    assert page.locator("a[href^='ftp://']").count() == 1
    shots.take(page, "07-order-complete")
    page.emulate_media(color_scheme="dark")  # no Airflow frame around it: the system's mode
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.screenshot(path=str(shots.folder / "07-order-complete-dark-1280.png"), full_page=True)
    page.emulate_media(color_scheme="light")

    page.get_by_role("link", name="← my orders").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=order_id).is_visible()
    shots.take(page, "08-my-orders")

    other = log_in(chromium, airflow_rest, "bob", f"/ardis/portal/orders/{order_id}")
    assert other.get_by_role("heading", name="Order not found").is_visible()
    shots.take(other, "09-other-user-order")

    inside = log_in(chromium, airflow_rest, "olga", "/plugin/ardis-orders")
    inside.frame_locator("iframe").get_by_role("link", name=order_id).wait_for()
    shots.take(inside, "10-inside-airflow-operator")
