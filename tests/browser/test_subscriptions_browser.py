"""Subscriptions in a real browser (Debian chromium, Playwright) on the session's api-server.

alice subscribes in the portal, typing a qualifier that does not read and then
one that does (the page checks it as typed), and sees the acknowledgment; olga
previews a backfill of it in the console (the count the domain gives) and
confirms it; both see the firings and their orders; alice cancels it (nothing
of hers fires in the session's later tests, and the notifications it sent are
taken out of the outbox again). The browser and
the server are the portal browser test's (no new server). Screenshots at
1280×800 in ``test-artifacts/subscriptions/``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.subscriptions.dispatch import preview_backfill
from distribution.time import utcnow
from tests.airflow_rest import AirflowRest
from tests.browser.test_portal_browser import CHROMIUM, chromium, log_in  # noqa: F401  (fixture)
from tests.dags.test_portal import archive_samples

pytestmark = [pytest.mark.browser, pytest.mark.dags,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/system-packages.sh)")]
SINCE = "2000-01-01T00:00"


def shot(page: Any, folder: Path, name: str, element: str | None = None) -> None:
    """The viewport at 1280×800, scrolled to ``element`` when given."""
    page.set_viewport_size({"width": 1280, "height": 800})
    if element:
        page.locator(element).first.scroll_into_view_if_needed()
    page.screenshot(path=str(folder / f"{name}.png"))


def test_a_user_subscribes_and_an_operator_backfills_after_a_preview(chromium: Any,  # noqa: F811
                                                                     airflow_rest: AirflowRest,
                                                                     rest_settings: Settings, tmp_path: Path,
                                                                     artifacts: Path) -> None:
    archive_samples(rest_settings, tmp_path)
    outbox = set(rest_settings.outbox_dir.glob("*.eml"))
    try:
        _subscribe_and_backfill(chromium, airflow_rest, rest_settings, artifacts)
    finally:  # the session's later tests count the outbox's mails: take back the notifications sent here
        for mail in set(rest_settings.outbox_dir.glob("*.eml")) - outbox:
            mail.unlink()


def _subscribe_and_backfill(chromium: Any, airflow_rest: AirflowRest, rest_settings: Settings,  # noqa: F811
                            artifacts: Path) -> None:
    shots = artifacts / "subscriptions"
    shots.mkdir(exist_ok=True)

    alice = log_in(chromium, airflow_rest, "alice", "/ardis/portal/subscriptions")
    assert alice.get_by_role("heading", name=re.compile("^My subscriptions")).is_visible()
    shot(alice, shots, "01-my-subscriptions")
    alice.get_by_role("link", name="New subscription").click()
    alice.wait_for_url(re.compile(r".*/ardis/portal/subscriptions/new$"))
    alice.locator("select[name=esdt]").select_option("AST_L1BT.001")
    alice.get_by_label("First name").fill("Alice")
    alice.get_by_label("Last name").fill("Liddell")
    alice.get_by_label("Telephone").fill("301-555-0100")
    alice.get_by_label("E-mail (notifications go here)").fill("alice@example.org")
    alice.locator("input[name=start_date]").fill(f"{utcnow() - timedelta(days=1):%Y-%m-%dT%H:%M}")
    alice.locator("input[name=expiration_date]").fill(f"{utcnow() + timedelta(days=30):%Y-%m-%dT%H:%M}")
    alice.locator("input[name=notification_text]").fill("alice's ASTER scenes")
    qualifier = alice.locator("textarea[name=qualifier]")
    check = alice.locator("#qualifier-check")
    qualifier.press_sequentially('QAPercentMissingData >= 0 AND DayNightFlag = "Day')  # the quote is not closed
    alice.wait_for_selector("#qualifier-check.bad")
    said = check.inner_text()
    assert re.match(r"✗ qualifier statement, column \d+: ", said) and qualifier.get_attribute("aria-invalid") == "true"
    shot(alice, shots, "02-qualifier-wrong", "#qualifier-check")
    qualifier.fill("")
    qualifier.press_sequentially("QAPercentMissingData >= 0")
    alice.wait_for_selector("#qualifier-check.good")
    assert check.inner_text() == "✓ reads as: QAPercentMissingData >= 0"
    assert qualifier.get_attribute("aria-invalid") is None
    shot(alice, shots, "03-qualifier-right", "#qualifier-check")
    alice.locator("select[name=method]").select_option("FTP Pull")
    assert not alice.locator("input[name=ftp_host]").is_visible()  # no push fields for a pull
    alice.get_by_role("button", name="Subscribe").click()
    alice.wait_for_url(re.compile(r".*/ardis/portal/subscriptions/\d+\?ack=\d+$"))
    sub_id = int(re.search(r"/subscriptions/(\d+)", alice.url).group(1))  # type: ignore[union-attr]
    ack = alice.locator("#acknowledgment pre").inner_text()
    assert "qualifier statement: QAPercentMissingData >= 0" in ack
    assert ack.rstrip().endswith(f"status: accepted\nSubscriptionID: {sub_id}")
    shot(alice, shots, "04-acknowledgment")

    olga = log_in(chromium, airflow_rest, "olga", "/ardis/console/subscriptions")
    olga.locator("input[name=user_id]").fill("alice")
    olga.get_by_role("button", name="Filter").click()
    olga.wait_for_url(re.compile(r".*user_id=alice.*"))
    assert olga.locator(f"tr[data-subscription='{sub_id}']").is_visible()
    shot(olga, shots, "05-console-subscriptions")
    olga.get_by_role("link", name=str(sub_id), exact=True).click()
    olga.locator("#backfill input[name=since]").fill(SINCE)
    olga.get_by_role("button", name="Preview").click()
    olga.wait_for_selector("#preview")
    with session_scope(rest_settings.database_url) as session:
        expected = preview_backfill(session, sub_id, datetime.fromisoformat(SINCE))
    assert expected.would_fire >= 2  # the two ASTER samples at least
    assert olga.locator("#preview strong").inner_text() == f"{expected.would_fire} granules would fire"
    assert olga.get_by_role("button", name=f"Fire for {expected.would_fire} granules").is_visible()
    shot(olga, shots, "06-backfill-preview", "#backfill")
    olga.once("dialog", lambda dialog: dialog.accept())
    olga.get_by_role("button", name=f"Fire for {expected.would_fire} granules").click()
    olga.wait_for_url(re.compile(r".*\?backfilled=\d+$"))
    n = expected.would_fire
    assert olga.locator("#backfilled").inner_text().startswith(f"Backfilled from 2000-01-01 00:00: {n} granules fired, "
                                                               f"{n} requests placed")
    assert olga.locator("#firings tbody tr").count() == n and olga.locator("#firings .req").count() == n
    shot(olga, shots, "07-backfilled", "#firings")

    alice.reload()
    assert alice.locator("#firings tbody tr").count() == n  # alice sees the firings and their orders
    assert alice.locator("#firings a[href*='/ardis/portal/orders/']").count() == n
    shot(alice, shots, "08-my-firings", "#firings")
    alice.once("dialog", lambda dialog: dialog.accept())
    alice.get_by_role("button", name="Cancel the subscription").click()
    alice.wait_for_url(re.compile(r".*\?ack=\d+$"))
    alice.locator("#acknowledgment").wait_for()
    assert f"Cancel: {sub_id}" in alice.locator("#acknowledgment pre").inner_text()
    assert alice.locator("h1 .state").inner_text() == "cancelled"
    shot(alice, shots, "09-cancelled")
