"""The real scheduler path: Airflow's api-server, scheduler and dag-processor as processes.

One request is started by ``ardis order create`` (it triggers ``request-<id>``
with a note); another is created without a trigger and the dispatcher DAG starts
it. Both must end COMPLETE with their files in the pull area and one DN each.
A provider's PDR dropped before Airflow starts is taken by the scheduled
``ardis_pdr_poll`` run (nobody triggers it) and answered with a PAN; its granule
fires a subscription submitted with ``ardis subscription submit``, whose FTP Pull
order is delivered by the run the asset-triggered ``ardis_subscriptions`` started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution import db
from devkit.airflow_stack import AirflowStack
from distribution.db import session_scope
from distribution.ingest import pan
from devkit.sample_data import SAMPLES, write_delivery, write_granule_files
from distribution.models import PdrRecord, PdrState, RequestState
from distribution.ingest.pdr import render_pdr
from distribution.models import Order, Request
from distribution.orders.placing import get_request
from distribution.subscriptions.messages import Distribution, SubscriptionRequest, User, render_request
from distribution.time import utcnow

pytestmark = pytest.mark.dags


def ardis(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([str(Path(sys.executable).parent / "ardis"), *args], env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_requests_run_under_the_real_scheduler(tmp_path: Path) -> None:
    home = tmp_path / "ardis"
    url = f"sqlite:///{home / 'ardis.db'}"
    ardis_env = {"ARDIS_HOME": str(home), "ARDIS_DATABASE_URL": url,
                 "ARDIS_RETRY_DELAY_SECONDS": "2", "ARDIS_RETRIES": "1"}
    stack = AirflowStack(tmp_path / "airflow", extra_env=ardis_env, all_admins=False)  # logins required
    env = {**stack.env(), **stack.client_env()}  # ardis reaches Airflow over its REST API, as user ardis
    db.upgrade(url)
    files = write_granule_files(tmp_path / "in", SAMPLES[0], seed=1, scale=0.01)
    ur = ardis(env, "archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)).split("\t")[0]
    area = tmp_path / "provider"
    (area / "PDR").mkdir(parents=True)
    ardis(env, "provider", "add", "SCHED", "--root", str(area), "--polling-dir", "/PDR", "--interval", "5")
    ardis(env, "collection", "add", SAMPLES[1].esdt)
    (area / "PDR" / "SCHED.PDR").write_text(render_pdr(write_delivery(area, "DATA", SAMPLES[1:2], scale=0.01)))
    now = utcnow().replace(second=0)
    short, version = SAMPLES[1].esdt.split(".")
    (tmp_path / "subscribe.txt").write_text(render_request(SubscriptionRequest(
        User("sched2", "Sched", "Subscriber"), "301-555-0100", "sched2@example.org", "standing pull", short,
        int(version), now - timedelta(days=1), now + timedelta(days=30), None, Distribution("FTP Pull"))))
    assert "status: accepted" in ardis(env, "subscription", "submit", str(tmp_path / "subscribe.txt"))
    stack.migrate()
    stack.start(tmp_path / "logs")
    try:
        stack.wait_ready(["ardis_distribution", "ardis_dispatcher", "ardis_pdr_poll", "ardis_ingest",
                          "ardis_subscriptions"])
        common = ["order", "create", "--user", "sched", "--email", "s@example.org", "--method", "FtpPull",
                  "--granule", ur]
        triggered = ardis(env, *common)
        assert " of ardis_distribution triggered" in triggered, triggered
        first = triggered.split("REQUESTID: ")[1].split()[0]
        second = ardis(env, *common, "--no-trigger").split("REQUESTID: ")[1].split()[0]

        deadline = time.monotonic() + 300
        states: dict[str, RequestState] = {}
        while time.monotonic() < deadline:
            with session_scope(url) as session:
                states = {rid: get_request(session, rid).state for rid in (first, second)}
            if all(s.is_terminal for s in states.values()):
                break
            time.sleep(3)
        assert states == {first: RequestState.COMPLETE, second: RequestState.COMPLETE}, (
            (tmp_path / "logs" / "scheduler.log").read_text()[-3000:]
        )
        with session_scope(url) as session:
            for rid in (first, second):
                request = get_request(session, rid)
                assert request.airflow_run_id == f"request-{rid}"
                pulled = home / "pull" / str(request.order.order_id) / rid
                assert sorted(p.name for p in pulled.iterdir()) == sorted(
                    rf.dist_name for rg in request.granules for rf in rg.files
                )
        login = urllib.request.Request(f"{stack.api_url}/auth/token", method="POST", data=json.dumps(
            {"username": env["ARDIS_AIRFLOW_USERNAME"], "password": env["ARDIS_AIRFLOW_PASSWORD"]}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(login, timeout=10) as r:
            bearer = {"Authorization": f"Bearer {json.loads(r.read())['access_token']}"}
        with urllib.request.urlopen(urllib.request.Request(
            f"{stack.api_url}/api/v2/dags/ardis_distribution/dagRuns/request-{first}", headers=bearer), timeout=10
        ) as r:
            run = json.loads(r.read())
        assert run["state"] == "success"
        assert run["conf"]["request_id"] == first
        assert f"Request {first}" in (run.get("note") or "")
        dns = [p for p in (home / "outbox").glob("*-dn.eml") if first in p.read_text() or second in p.read_text()]
        assert len(dns) == 2
        while time.monotonic() < deadline:
            with session_scope(url) as session:
                record = session.query(PdrRecord).filter_by(name="SCHED.PDR").one_or_none()
                if record is not None and record.state is PdrState.RESPONDED:
                    break
            time.sleep(3)
        answer = pan.parse_pan((area / "PDR" / "SCHED.PAN").read_text())
        assert isinstance(answer, pan.ShortPan) and answer.disposition == pan.SUCCESSFUL
        assert record is not None and record.airflow_run_id == f"pdr-{record.id}"
        fired: RequestState | None = None
        while time.monotonic() < deadline:  # the subscription's order, delivered with no one touching it
            with session_scope(url) as session:
                fired = session.scalars(select(Request.state).join(Order).where(Order.source == "subscription")
                                        ).one_or_none()
            if fired is not None and fired.is_terminal:
                break
            time.sleep(3)
        assert fired == RequestState.COMPLETE, (tmp_path / "logs" / "scheduler.log").read_text()[-3000:]
        (notification,) = (home / "outbox").glob("*-subscription.eml")
        assert "Subject: Notification for Event: AST_L1BT.1:INSERT" in notification.read_text()
    finally:
        stack.stop()
    assert not os.environ.get("ARDIS_HOME", "").startswith(str(home))  # the test leaked no settings
