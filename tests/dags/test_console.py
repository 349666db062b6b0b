"""The operator console inside Airflow's app: operators only, pages and JSON over Ardis's queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import MEDIA_DAGS

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import RetryableError
from distribution.models import MediaType, RequestRetry
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery, notify
from distribution.orders.placing import get_request
from distribution.shipping import paperwork, production
from tests.airflow_rest import token
from tests.dags.test_web_app import SERVER, _bearer, _order, airflow_app, no_request_runs  # noqa: F401  (fixtures)

pytestmark = pytest.mark.dags
CONSOLE_PATHS = ("/ardis/console", "/ardis/console/api/media/optical", "/ardis/console/api/media/tape",
                 "/ardis/console/api/orders", "/ardis/console/api/ingest", "/ardis/console/api/steps",
                 "/ardis/console/static/console.css", "/ardis/console/requests/0100000001/packing-list.pdf",
                 "/ardis/console/requests/0100000001", "/ardis/console/phase3", "/ardis/console/api/phase3",
                 "/ardis/console/phase3/releases/1/report/validator.toc")
STEP = f"/ardis/console/api/steps/{MEDIA_DAGS['optical']}/request-0100000001/volume.load/0"
ACTIONS = ("/ardis/console/steps/answer", STEP, "/ardis/console/requests/0100000001/cancel",
           "/ardis/console/requests/0100000001/retry",
           "/ardis/console/requests/0100000001/resend", "/ardis/console/requests/0100000001/extend",
           "/ardis/console/phase3/answer", "/ardis/console/api/phase3/releases/1")


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


def test_users_and_viewers_may_not_act(airflow_app: Any) -> None:  # noqa: F811
    for role in ("viewer", "user"):
        for path in ACTIONS:
            answer = airflow_app.post(path, headers={"Origin": SERVER, **_bearer(role)},
                                      json={"chosen_options": ["burner-1"]})
            assert answer.status_code == 403, (role, path, answer.text)
    for path in ACTIONS:  # anonymous: 401, never a redirect for a POST
        assert airflow_app.post(path, headers={"Origin": SERVER, "Accept": "text/html"},
                                follow_redirects=False).status_code == 401


def test_an_answer_from_another_site_is_refused(airflow_app: Any) -> None:  # noqa: F811
    cookie = {"Cookie": f"_token={token('op1', 'op')}"}
    for origin in ({"Origin": "https://evil.example"}, {}):
        answer = airflow_app.post("/ardis/console/steps/answer", headers={**cookie, **origin},
                                  data={"dag_id": MEDIA_DAGS["optical"], "run_id": "request-0100000001",
                                        "task_id": "volume.load", "map_index": "0", "action": "load",
                                        "drive": "burner-1"})
        assert answer.status_code == 403, answer.text


def test_an_answer_to_no_waiting_step_is_a_message_on_the_page(airflow_app: Any,  # noqa: F811
                                                               sqlite_settings: Settings) -> None:
    cookie = {"Cookie": f"_token={token('op1', 'op')}", "Origin": SERVER}
    page = airflow_app.post("/ardis/console/steps/answer", headers=cookie, data={
        "dag_id": MEDIA_DAGS["optical"], "run_id": "request-0100000001", "task_id": "volume.load",
        "map_index": "0", "action": "load", "drive": "burner-1", "media_serial": "X1"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert 'id="message"' in page.text and "no step volume.load[0] waits in run request-0100000001" in page.text
    other = airflow_app.post(STEP.replace(MEDIA_DAGS["optical"], "ardis_distribution"),
                             headers={"Origin": SERVER, **_bearer("op")}, json={"chosen_options": ["burner-1"]})
    assert (other.status_code, other.json()["detail"]) == (404, "ardis_distribution is not a media DAG")
    back = airflow_app.get("/ardis/console", params={"dag": MEDIA_DAGS["optical"], "run": "request-0100000001",
                                                      "task": "volume.load", "map_index": 0}, headers=cookie)
    assert back.status_code == 200 and 'id="message"' not in back.text  # no such step: nothing to say
    steps = airflow_app.get("/ardis/console/api/steps", headers=_bearer("op")).json()
    assert (steps["count"], steps["steps"], steps["unknown"]) == (0, [], "")


def test_the_packing_list_opens_for_operators(airflow_app: Any, sqlite_settings: Settings,  # noqa: F811
                                              tmp_path: Path) -> None:
    request_id, media_id = built_volume(sqlite_settings, tmp_path)
    url = f"/ardis/console/requests/{request_id}/packing-list.pdf"
    assert airflow_app.get(url, headers=_bearer("op")).status_code == 404  # not printed yet
    paperwork.print_packing_list(sqlite_settings, request_id)
    pdf = airflow_app.get(url, headers=_bearer("op"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-disposition"].startswith("inline")
    assert airflow_app.get(url, headers=_bearer("user")).status_code == 403
    assert airflow_app.get("/ardis/console/requests/0999999999/packing-list.pdf",
                           headers=_bearer("op")).status_code == 404


def test_the_console_wears_the_portals_style(airflow_app: Any, sqlite_settings: Settings) -> None:  # noqa: F811
    page = airflow_app.get("/ardis/console", headers={"Cookie": f"_token={token('op1', 'op')}"})
    assert "/ardis/portal/static/portal.css" in page.text and "/ardis/console/static/console.css" in page.text
    assert "<style" not in page.text and 'id="steps-badge"' in page.text
    css = airflow_app.get("/ardis/console/static/console.css", headers=_bearer("op"))
    assert css.status_code == 200 and "main.console" in css.text


def test_a_request_page_and_its_actions(airflow_app: Any, sqlite_settings: Settings,  # noqa: F811
                                        tmp_path: Path) -> None:
    request_id, media_id = built_volume(sqlite_settings, tmp_path)
    op = {"Cookie": f"_token={token('op1', 'op')}", "Origin": SERVER}
    page = airflow_app.get(f"/ardis/console/requests/{request_id}", headers=op)
    assert page.status_code == 200, page.text
    assert f"Request {request_id} · DVD" in page.text and "Cancel the request" in page.text
    assert 'href="/dags/ardis_media_optical/runs/test"' in page.text  # the run the request recorded
    assert "Airflow has no run test (yet)." in page.text and "Resend the notice" not in page.text
    resend = airflow_app.post(f"/ardis/console/requests/{request_id}/resend", headers=op)
    assert resend.status_code == 409 and f"request {request_id} has no notice to resend yet" in resend.text
    extend = airflow_app.post(f"/ardis/console/requests/{request_id}/extend", headers=op, data={"days": "3"})
    assert extend.status_code == 409 and "has no pull area" in extend.text
    cancel = airflow_app.post(f"/ardis/console/requests/{request_id}/cancel", headers=op)
    assert cancel.status_code == 200 and f"Request {request_id} cancelled" in cancel.text
    assert '<span class="state s-cancelled">cancelled</span>' in cancel.text and "Cancel the request" not in cancel.text
    again = airflow_app.post(f"/ardis/console/requests/{request_id}/cancel", headers=op)
    assert again.status_code == 409 and "nothing to cancel" in again.text
    assert airflow_app.post(f"/ardis/console/requests/{request_id}/cancel",
                            headers={**op, "Origin": "https://evil.example"}).status_code == 403
    assert airflow_app.get("/ardis/console/requests/0999999999", headers=op).status_code == 404


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


def test_the_scientific_queue_and_its_refusals_without_a_run(airflow_app: Any,  # noqa: F811
                                                             sqlite_settings: Settings) -> None:
    """The queue is empty while no run asks; the report opens; an answer for a release without a waiting step
    is refused with a sentence (the real run's answers: tests/dags/test_console_phase3.py)."""
    from distribution.phase3.workflow import begin, close_release, validate_closed
    from tests.unit.phase3.conftest import PI, make_world
    from tests.unit.phase3.fits_files import good_release
    from tests.unit.phase3.test_archiving import archive_raw, in_upload_area

    world = make_world(sqlite_settings)
    archive_raw(world)
    in_upload_area(world, world.release_id, good_release)
    op = {"Cookie": f"_token={token('op1', 'op')}", "Origin": SERVER}
    page = airflow_app.get("/ardis/console/phase3", headers=op)
    assert page.status_code == 200 and "No release waits for scientific validation." in page.text
    assert 'id="scientific-badge"' in page.text and 'aria-current="page"' in page.text
    assert airflow_app.get("/ardis/console/api/phase3", headers=_bearer("op")).json() == {
        "count": 0, "unknown": "", "releases": []}
    answer = f"/ardis/console/api/phase3/releases/{world.release_id}"
    refused = airflow_app.post(answer, headers={"Origin": SERVER, **_bearer("op")}, json={"decision": "Approve"})
    assert (refused.status_code, refused.json()["detail"]) == (
        404, f"Phase 3 release {world.release_id} has no validation run waiting")
    close_release(sqlite_settings, str(world.release_id), PI)
    assert validate_closed(sqlite_settings, world.release_id)["state"] == "Valid"
    begin(sqlite_settings, world.release_id, "phase3-test")
    report = airflow_app.get(f"/ardis/console/phase3/releases/{world.release_id}/report/validator.toc",
                             headers=_bearer("op"))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/plain")
    assert "img1.fits\tSCIENCE.IMAGE" in report.text
    for name in ("CONTENT.ESO", "..%2F..%2Fftp-secret", "validator.txt"):
        assert airflow_app.get(f"/ardis/console/phase3/releases/{world.release_id}/report/{name}",
                               headers=_bearer("op")).status_code == 404, name
    nothing = airflow_app.post(answer, headers={"Origin": SERVER, **_bearer("op")}, json={"decision": "Approve"})
    assert (nothing.status_code, nothing.json()["detail"]) == (
        404, "no step scientific_validation[-1] waits in run phase3-test")
    odd = airflow_app.post(answer, headers={"Origin": SERVER, **_bearer("op")}, json={"decision": "Maybe"})
    assert (odd.status_code, odd.json()["detail"]) == (400, "the scientific validation answers Approve or Reject")
    form = airflow_app.post("/ardis/console/phase3/answer", headers=op,
                            data={"release_id": str(world.release_id), "decision": "Approve"})
    assert form.status_code == 404 and "text/html" in form.headers["content-type"]
    assert 'id="message"' in form.text and "no step scientific_validation[-1] waits in run phase3-test" in form.text
    assert airflow_app.post("/ardis/console/phase3/answer", headers=op, data={}).status_code == 400


def test_a_failed_request_is_retried_and_recorded_first(airflow_app: Any, sqlite_settings: Settings,  # noqa: F811
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = _order(sqlite_settings, tmp_path, MediaType.FTP_PULL)
    op = {"Cookie": f"_token={token('op1', 'op')}", "Origin": SERVER}
    url = f"/ardis/console/requests/{request_id}/retry"
    early = airflow_app.post(url, headers=op)
    assert early.status_code == 409 and "only a failed request is retried" in early.text
    delivery.begin_request(sqlite_settings, request_id, f"request-{request_id}")
    delivery.record_step_error(sqlite_settings, request_id, "stage", RetryableError("the archive is offline"))
    notify.notify_request(sqlite_settings, request_id, lambda: OutboxFolder(sqlite_settings.outbox_dir))
    page = airflow_app.get(f"/ardis/console/requests/{request_id}", headers=op)
    assert "Retry the request" in page.text and "attempt 2" not in page.text
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:9")  # Airflow's API does not answer
    lost = airflow_app.post(url, headers=op)
    assert lost.status_code == 502, lost.text
    assert f"attempt 2 of request {request_id} is recorded, but Airflow did not run it" in lost.text
    assert "attempt 2" in lost.text and "Retry the request" in lost.text  # to send it again
    assert "attempt 2 by <strong>op1</strong>" in lost.text and "not taken by Airflow yet" in lost.text
    with session_scope(sqlite_settings.database_url) as session:
        [retry] = session.query(RequestRetry).all()
        assert (retry.attempt, retry.requested_by, retry.sent_at) == (2, "op1", None)
        assert "the archive is offline" in retry.previous_failure and get_request(session, request_id).attempt == 2
    again = airflow_app.post(url, headers=op)  # the same attempt sent again, not a third
    assert again.status_code == 502 and f"attempt 2 of request {request_id} is recorded" in again.text
    assert airflow_app.post(url, headers=_bearer("user") | {"Origin": SERVER}).status_code == 403
    with session_scope(sqlite_settings.database_url) as session:  # had Airflow taken it: nothing more to retry
        session.query(RequestRetry).update({"sent_at": retry.requested_at})
    taken = airflow_app.get(f"/ardis/console/requests/{request_id}", headers=op)
    assert "attempt 2" in taken.text and "Retry the request" not in taken.text
    assert "not taken by Airflow yet" not in taken.text and "the archive is offline" in taken.text
