"""The order portal in a real browser: Debian's chromium through Playwright, against a real api-server.

alice logs in through Airflow's own login page, completes her profile, searches
with a box across the antimeridian, adds granules to her cart, places an FtpPull
order from the cart, and follows it to "complete" (the run's steps are played
here through the domain, as its tasks would be: this server runs no scheduler);
bob does not see the order. A DVD order's page shows its volumes, the shipment
and the packing list. Every page is kept as a screenshot at 1280×800 and at
390 px wide in ``test-artifacts/portal/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from distribution.db import session_scope
from distribution.models import Granule, MediaType, Volume, VolumeState
from distribution.orders import delivery, notify
from distribution.orders.placing import Contact, RequestSpec, create_order
from distribution.shipping.paperwork import print_packing_list
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


def media_order(settings: Settings, urs: list[str]) -> tuple[str, str]:
    """alice's DVD order, planned on two discs (one verified), shipped, with its packing list printed."""
    contact = Contact(user_id="alice", email="alice@example.org", shipping_address="1 Rabbit Hole\nOxford")
    with session_scope(settings.database_url) as session:
        request = create_order(session, settings, contact, [RequestSpec(MediaType.DVD, urs)]).requests[0]
        for n, state in ((1, VolumeState.VERIFIED), (2, VolumeState.BUILT)):
            session.add(Volume(request_pk=request.id, number=n, count=2, media_id=f"{request.request_id}_00{n}",
                               medium="DVD+R", state=state, planned_bytes=3_000_000_000 // n))
        request.carrier, request.tracking_number = "FedEx", "7712 3456 7890"
        order_id, request_id = str(request.order.order_id), str(request.request_id)
    print_packing_list(settings, request_id)
    return order_id, request_id


def test_search_order_and_follow_it(chromium: Any, airflow_rest: AirflowRest, rest_settings: Settings,
                                    tmp_path: Path, artifacts: Path) -> None:
    forget_request_runs()
    urs = archive_samples(rest_settings, tmp_path)
    boxes = [(0.0, 20.0, 60.0, 40.0), (170.0, -170.0, 10.0, -10.0), (-161.0, -154.0, 23.0, 18.0),
             (113.0, 154.0, -10.0, -44.0)]  # Europe; 170E..170W; Hawaii; Australia
    box_of = {sample.lgid: box for sample, box in zip(SAMPLES, boxes)}
    with session_scope(rest_settings.database_url) as session:
        # Every version of each sample (the console's browser test may have archived the samples again in this
        # session's database: the search shows the newest version); anything else goes to Europe, outside the box.
        for granule in session.scalars(select(Granule)):
            granule.west, granule.east, granule.north, granule.south = box_of.get(str(granule.local_granule_id),
                                                                                  boxes[0])
    shots = Shots(artifacts / "portal")
    page = log_in(chromium, airflow_rest, "alice", "/ardis/portal/profile", shots)
    page.get_by_label("E-mail (notices go here)").fill("alice@")
    page.evaluate("document.querySelector('input[name=email]').type = 'text'")  # past the browser's own check
    page.get_by_label("Last name").fill("Liddell")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert page.locator("#email-error").is_visible()
    shots.take(page, "01-profile-errors")
    page.get_by_label("E-mail (notices go here)").fill("alice@example.org")
    page.get_by_label("Organization").fill("Wonderland Observatory")
    page.get_by_label("Shipping address").fill("Wonderland Observatory\n1 Rabbit Hole\nOxford OX1 1AA")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/ardis/portal/profile\?saved=1"))
    assert page.get_by_text("Saved.").is_visible()
    shots.take(page, "01-profile")

    page.get_by_role("link", name="Search").click()
    page.wait_for_load_state()
    shots.take(page, "01-search")
    page.get_by_label("West", exact=True).fill("175")
    page.get_by_label("East", exact=True).fill("-160")
    page.get_by_label("North", exact=True).fill("30")
    page.get_by_label("South", exact=True).fill("-5")
    page.locator("select[name=sort]").select_option("id")  # (a select's name includes its chosen option)
    page.locator("select[name=order]").select_option("asc")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=re.compile("^2 granules")).is_visible(), page.inner_text("main")[:1500]
    names = page.locator("table.results tbody tr td:nth-child(2) a").all_inner_texts()
    assert names == [SAMPLES[1].lgid, SAMPLES[2].lgid]  # by id; Europe and Australia are outside the box
    shots.take(page, "02-results")

    page.get_by_role("link", name=SAMPLES[1].lgid).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=SAMPLES[1].lgid).is_visible()
    shots.take(page, "03-granule")
    page.go_back()

    page.get_by_label(f"choose {SAMPLES[1].lgid}").check()
    page.get_by_role("button", name="Add the chosen to the cart").click()
    page.wait_for_load_state()
    assert page.get_by_text("1 granule added").is_visible()
    assert page.locator("#nav-cart .count").inner_text() == "1"
    page.get_by_role("button", name="Add this page to the cart").click()
    page.wait_for_load_state()
    assert page.get_by_text("1 granule added").is_visible()  # the other one; the first was there
    assert page.locator("#nav-cart .count").inner_text() == "2"
    page.locator("#nav-cart").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your cart").is_visible()
    assert page.locator("#estimate").inner_text().startswith("2 granules")
    assert "DVD 1 disc" in page.locator("#estimate").inner_text()
    shots.take(page, "04-cart")

    page.get_by_role("link", name="Order the cart…").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Place an order").is_visible()
    assert not page.get_by_label("Airflow connection").is_visible()  # FtpPull: no push fields
    assert page.get_by_label("E-mail (the notice goes here)").input_value() == "alice@example.org"  # the profile's
    assert page.locator("input[name=granules]:checked").count() == 2
    assert "DVD: 1 disc" in page.locator("#estimate").inner_text()
    shots.take(page, "04-order-form")

    page.get_by_label("E-mail (the notice goes here)").fill("not-an-address@")
    page.evaluate("document.querySelector('input[name=email]').type = 'text'")  # past the browser's own check
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_load_state()
    assert page.locator("#email-error").is_visible()
    shots.take(page, "05-order-form-errors")

    page.get_by_label("E-mail (the notice goes here)").fill("alice@example.org")
    assert page.get_by_label("Last name").input_value() == "Liddell"
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

    assert page.locator("#nav-cart .count").count() == 0  # ordered from the cart: it is empty
    page.get_by_role("link", name="← my orders").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=order_id).is_visible()
    shots.take(page, "08-my-orders")

    dvd_order, dvd_request = media_order(rest_settings, urs[:2])
    page.goto(f"{airflow_rest.url}/ardis/portal/orders/{dvd_order}")
    assert page.get_by_text(f"{dvd_request}_002").is_visible() and page.get_by_text("Media 2 of 2").is_visible()
    assert page.get_by_text("7712 3456 7890").is_visible()
    with page.expect_download() as pdf:
        page.get_by_role("link", name="packing list (PDF)").click()
    assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"
    shots.take(page, "08-media-order")

    other = log_in(chromium, airflow_rest, "bob", f"/ardis/portal/orders/{order_id}")
    assert other.get_by_role("heading", name="Order not found").is_visible()
    shots.take(other, "09-other-user-order")

    inside = log_in(chromium, airflow_rest, "olga", "/plugin/ardis-orders")
    inside.frame_locator("iframe").get_by_role("link", name=order_id).wait_for()
    shots.take(inside, "10-inside-airflow-operator")
