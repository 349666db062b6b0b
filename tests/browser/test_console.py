"""The operator console in a real browser (Debian chromium, Playwright) against a real api-server.

The operator logs in through Airflow's own login page and lands on the console;
screenshots at 1280x800 go to ``test-artifacts/console/`` for people to look at.
"""

from __future__ import annotations

import email
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import MEDIA_DAGS
from sqlalchemy import select

from devkit.sample_data import load_samples
from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.models import MediaType, RequestState, Volume
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from tests.airflow_rest import AirflowRest
from tests.dags.conftest import airflow_db, dagbag, run_dag  # noqa: F401  (fixtures)
from tests.dags.test_console import built_volume

pytestmark = pytest.mark.dags
CHROMIUM = Path("/usr/bin/chromium")
ALICE = Contact(user_id="alice", email="alice@example.org", first_name="Alice", last_name="User",
                shipping_address="1 Main Street\nLandover, MD 22222")


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


STOP = threading.Event()  # the run failed: the browser stops waiting for its steps


def _until(page: Any, selector: str, seconds: float = 300) -> Any:
    """Reload the console until ``selector`` is on it (a step appears once the run reaches it)."""
    deadline = time.monotonic() + seconds
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline and not STOP.is_set(), f"{selector} never appeared"
        page.wait_for_timeout(1000)
        page.reload()
    return page.locator(selector)


def _operate(rest: AirflowRest, request_id: str, shots: Path, seen: dict[str, Any]) -> None:
    """Two operators in the console: olga loads the blank disc and ships; the second answers the load too late."""
    from playwright.sync_api import sync_playwright

    from tests.browser.test_portal_browser import log_in

    media_id = f"{request_id}_001"
    second = rest.client_env()["ARDIS_AIRFLOW_USERNAME"]  # the stack's own op account
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            olga = log_in(browser, rest, "olga", "/ardis/console")
            late = log_in(browser, rest, second, "/ardis/console")
            step = _until(olga, f"#step-{media_id}")
            _until(late, f"#step-{media_id}")
            seen["badge"] = olga.inner_text("#steps-badge")
            olga.screenshot(path=str(shots / "10-load-waiting.png"))
            step.locator("input[name=media_serial]").fill("DVDR-000123")
            step.locator("select[name=drive]").select_option("burner-1")
            step.locator("button[type=submit]").click()
            seen["loaded"] = olga.locator("#message").inner_text()
            olga.screenshot(path=str(shots / "11-loaded.png"))
            stale = late.locator(f"#step-{media_id}")
            stale.locator("input[name=media_serial]").fill("OTHER-999")
            stale.locator("button[type=submit]").click()
            seen["late"] = (late.locator("#message").inner_text(), late.title())
            late.screenshot(path=str(shots / "12-already-answered.png"))
            _until(olga, "input[name=tracking_number]")
            link = olga.locator("a", has_text="Packing list (PDF)")
            seen["pdf_target"] = link.get_attribute("target")
            pdf = olga.request.get(rest.url + str(link.get_attribute("href")))
            seen["pdf"] = (pdf.status, pdf.headers.get("content-type"), pdf.body()[:5])
            olga.screenshot(path=str(shots / "13-shipment-waiting.png"))
            olga.fill("input[name=carrier]", "Parcel Express")
            olga.fill("input[name=tracking_number]", "PX-7731-0042")
            olga.click("button:has-text('Shipped')")
            seen["shipped"] = olga.locator("#message").inner_text()
            olga.screenshot(path=str(shots / "14-shipped.png"))
            olga.reload()  # the page came by GET: a reload sends no answer again
            seen["reloaded"] = olga.locator("#message").inner_text()
            olga.goto(f"{rest.url}/ardis/console/requests/{request_id}")
            olga.wait_for_selector("#run-title")
            seen["request_page"] = olga.inner_text("main")
            olga.screenshot(path=str(shots / "16-request-page.png"), full_page=True)
        finally:
            browser.close()


def test_operators_load_a_blank_disc_and_ship_through_the_console(airflow_client: AirflowRest, dagbag: Any,
                                                                  rest_settings: Settings, tmp_path: Path,
                                                                  artifacts: Path) -> None:
    """A real media run waits for the operator; the console answers through Airflow's API as olga."""
    if not CHROMIUM.exists():
        pytest.skip("no Debian chromium")
    pytest.importorskip("playwright.sync_api")
    from devkit.operator import Operator, shipping_clerk
    from tests.browser.test_portal_browser import log_in

    shots = artifacts / "console"
    shots.mkdir(exist_ok=True)
    with session_scope(rest_settings.database_url) as session:
        urs = [granule_ur(g, rest_settings) for g in load_samples(session, rest_settings, tmp_path / "in",
                                                                  scale=1 / 64)]
        request_id = str(create_order(session, rest_settings, ALICE, [RequestSpec(MediaType.DVD, urs[:1])])
                         .requests[0].request_id)
    seen: dict[str, Any] = {}
    failed: list[BaseException] = []
    rescue = Operator(airflow_client.url, [MEDIA_DAGS["optical"]], shipping_clerk, interval=1,
                      login=lambda: airflow_client.login("olga"))

    def operate() -> None:
        try:
            _operate(airflow_client, request_id, shots, seen)
        except BaseException as e:  # noqa: BLE001 - the run must not wait forever: answer for the browser
            failed.append(e)
            rescue.start()

    STOP.clear()
    browser = threading.Thread(target=operate, name="console-browser", daemon=True)
    browser.start()
    try:
        run = run_dag(dagbag, MEDIA_DAGS["optical"], {"request_id": request_id})
    except BaseException:
        STOP.set()
        raise
    finally:
        browser.join(timeout=600)
        if rescue.is_alive():
            rescue.stop()
    if failed:
        raise failed[0]
    assert getattr(run.state, "value", run.state) == "success"
    assert seen["badge"] == "1"
    assert seen["loaded"] == f"Volume {request_id}_001: blank medium serial DVDR-000123 loaded in burner-1"
    assert seen["late"][0] == "already answered by olga" and "Ardis operator console" in seen["late"][1]
    assert seen["pdf_target"] == "_blank" and seen["pdf"] == (200, "application/pdf", b"%PDF-")
    assert seen["shipped"] == seen["reloaded"] == f"Request {request_id} shipped with Parcel Express PX-7731-0042"
    assert "confirm_shipment" in seen["request_page"] and "Packing list (PDF)" in seen["request_page"]
    with session_scope(rest_settings.database_url) as session:
        request = get_request(session, request_id)
        assert (request.tracking_number, request.state) == ("PX-7731-0042", RequestState.COMPLETE)
        serial = session.scalar(select(Volume.media_serial).where(Volume.media_id == f"{request_id}_001"))
        assert serial == "DVDR-000123"  # olga's answer, not the late one
        order_id = str(request.order.order_id)
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in rest_settings.outbox_dir.glob("*.eml")]
    assert "ECS Order Shipment Notification" in mail["Subject"]  # the shipment notice, in the outbox

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            alice = log_in(chromium, airflow_client, "alice", f"/ardis/portal/orders/{order_id}")
            shipment = alice.inner_text(f"[data-request='{request_id}'] .shipment")
            assert "Parcel Express" in shipment and "PX-7731-0042" in shipment, shipment
            alice.screenshot(path=str(shots / "15-user-sees-tracking.png"), full_page=True)
            console = alice.goto(airflow_client.url + "/ardis/console")
            assert console is not None and console.status == 403  # a user never reaches the console
        finally:
            chromium.close()
