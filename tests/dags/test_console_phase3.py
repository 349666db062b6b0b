"""The console's scientific-validation queue against a real ``ardis_phase3_release`` run and a real api-server.

The run (``dag.test()``) validates a closed release and waits at its scientific
validation; an operator (olga, logged in through ``/auth/token``) sees the release
in the console's queue and rejects it with a reason from the console's form: the
answer is recorded in Ardis, then sent to Airflow's own HITL API as olga; a second
operator's answer gets 409 "already answered by olga"; the run ends the release in
Error and e-mails the reason to the PI. A user gets 403.
"""

from __future__ import annotations

import email
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from ardis_airflow.names import PHASE3_RELEASE_DAG

from distribution.config import Settings
from distribution.db import session_scope
from distribution.phase3.releases import get_release
from distribution.phase3.workflow import close_release
from tests.airflow_rest import AirflowRest
from tests.dags.conftest import run_beside, task_states
from tests.unit.phase3.conftest import PI, World, make_world
from tests.unit.phase3.fits_files import good_release
from tests.unit.phase3.test_archiving import archive_raw, in_upload_area

pytestmark = pytest.mark.dags


def _http(rest: AirflowRest, path: str, token: str, *, body: dict[str, Any] | None = None,
          form: str | None = None) -> tuple[int, str, dict[str, str]]:
    """(status, text, headers) of a GET, a JSON POST or a form POST (the form with the login cookie, as a browser)."""
    headers = {"Authorization": f"Bearer {token}"} if form is None else {
        "Cookie": f"_token={token}", "Content-Type": "application/x-www-form-urlencoded"}
    data = json.dumps(body).encode() if body is not None else form.encode() if form is not None else None
    if data is not None:
        headers["Origin"] = rest.url
        if body is not None:
            headers["Content-Type"] = "application/json"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(rest.url + path, data=data, headers=headers,
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=60) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def _until_queued(rest: AirflowRest, token: str, release_id: int, ended: threading.Event,
                  seconds: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        status, text, _ = _http(rest, "/ardis/console/api/phase3", token)
        assert status == 200, text
        found = [r for r in json.loads(text)["releases"] if r["release_id"] == release_id]
        if found:
            return found[0]
        assert time.monotonic() < deadline and not ended.is_set(), "the release never reached the queue"
        time.sleep(0.5)


def _operate(rest: AirflowRest, release_id: int, seen: dict[str, Any], ended: threading.Event) -> None:
    olga = rest.login("olga")
    other = rest.login(rest.client_env()["ARDIS_AIRFLOW_USERNAME"])  # the stack's own op account
    seen["user"] = _http(rest, "/ardis/console/api/phase3", rest.login("alice"))[0]
    seen["line"] = line = _until_queued(rest, olga, release_id, ended)
    seen["page"] = _http(rest, "/ardis/console/phase3", olga)[1]
    toc = [name for name in line["reports"] if name == "validator.toc"]
    seen["toc"] = _http(rest, f"/ardis/console/phase3/releases/{release_id}/report/{toc[0]}", olga) if toc else None
    seen["no_reason"] = _http(rest, f"/ardis/console/api/phase3/releases/{release_id}", olga,
                              body={"decision": "Reject", "reason": " "})[:2]
    status, _, headers = _http(rest, "/ardis/console/phase3/answer", olga,
                               form=f"release_id={release_id}&decision=Reject&reason=PSF+too+wide+in+img1")
    seen["rejected"] = (status, headers.get("location", headers.get("Location", "")))
    seen["after"] = _http(rest, f"/ardis/console/phase3?release={release_id}", olga)[1]
    seen["late"] = _http(rest, f"/ardis/console/api/phase3/releases/{release_id}", other,
                         body={"decision": "Approve"})[:2]


def _world(settings: Settings) -> World:
    world = make_world(settings)
    archive_raw(world)
    in_upload_area(world, world.release_id, good_release)
    close_release(settings, str(world.release_id), PI)
    return world


def test_an_operator_rejects_a_release_from_the_console_queue(airflow_client: AirflowRest, dagbag: Any,
                                                              rest_settings: Settings) -> None:
    from devkit.operator import Operator

    release_id = _world(rest_settings).release_id
    seen: dict[str, Any] = {}
    rescue = Operator(airflow_client.url, [PHASE3_RELEASE_DAG], lambda _step: (["Reject"], {"reason": "failed"}),
                      interval=1, login=lambda: airflow_client.login("olga"))
    run = run_beside(dagbag, PHASE3_RELEASE_DAG, {"release_id": release_id},
                     lambda ended: _operate(airflow_client, release_id, seen, ended), rescue)
    assert seen["user"] == 403  # the queue is the operators'
    line = seen["line"]
    assert (line["program"], line["collection"], line["release"], line["pi"], line["state"]) == (
        "196.B-0001", "SURVEY1", "DR1", "pi1", "Valid")
    assert line["files"] == 5 and line["size"] > 5760  # good_release: two images, two ancillary, the description
    assert line["reports"] == ["validator.toc", "validator.error", "validator.log"]
    assert line["run_id"] == run.run_id and line["age_seconds"] >= 0
    assert 'id="scientific-queue"' in seen["page"] and f'data-release="{release_id}"' in seen["page"]
    assert seen["toc"][0] == 200 and "img1.fits\tSCIENCE.IMAGE" in seen["toc"][1]
    assert seen["no_reason"][0] == 400 and "a rejection needs its reason" in seen["no_reason"][1]
    assert seen["rejected"] == (303, f"/ardis/console/phase3?release={release_id}")
    assert f"Phase 3 release {release_id} rejected: PSF too wide in img1" in seen["after"]
    assert seen["late"][0] == 409 and json.loads(seen["late"][1])["detail"] == "already answered by olga"

    states = task_states(run)
    assert (states["scientific_validation"], states["record_scientific"], states["notify"]) == (
        "success", "success", "success")
    assert states["archive"] == states["publish"] == "skipped" and states["outcome"] == "failed"
    with session_scope(rest_settings.database_url) as session:
        release = get_release(session, release_id)
        last = release.history[-1]
        assert [e.to_state.value for e in release.history] == ["Open", "Closed", "Valid", "Error"]
        assert (last.actor, last.reason) == ("olga", "rejected: PSF too wide in img1")
        assert release.error_report == "scientific validation: PSF too wide in img1\n"
    mails = [email.message_from_bytes(p.read_bytes()) for p in rest_settings.outbox_dir.glob("*.eml")]
    [notice] = [m for m in mails if "rejected" in str(m["Subject"])]
    assert "pi1@example.org" in str(notice["To"]) and "PSF too wide in img1" in notice.get_payload(decode=True).decode()
