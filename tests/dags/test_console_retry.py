"""Retrying a failed request from the console, under the real scheduler.

An FtpPush request names a connection nobody has created yet: its run fails and
its user gets the failure DN. An operator creates the connection (the cause), then
presses "Retry the request" on the console page, logged in as an operator: Ardis
records attempt 2, Airflow's API clears the run's steps as that operator, the run
goes again and the request completes with one new DN in the outbox — the failure
DN is not sent again, and the new one not twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ardis_airflow.names import DELIVERY_POOL
from devkit.airflow_stack import AirflowStack
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import MediaType, Notice, NoticeState, RequestRetry, RequestState
from distribution.orders.placing import Destination, RequestSpec, get_request
from tests.dags.test_distribution_dag import archive, order
from tests.servers import run_ftp_server

pytestmark = pytest.mark.dags


def _api(stack: AirflowStack, path: str, body: dict[str, Any] | None = None, token: str = "") -> Any:
    request = urllib.request.Request(f"{stack.api_url}{path}", data=json.dumps(body).encode() if body else None,
                                     method="POST" if body else "GET", headers={
                                         "Content-Type": "application/json",
                                         "Authorization": f"Bearer {token or stack.login()}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(settings: Settings, stack: AirflowStack, request_id: str, state: RequestState, run_state: str,
          log: Path) -> None:
    deadline = time.monotonic() + 300
    seen: tuple[RequestState, str] | None = None
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            now = get_request(session, request_id).state
        run = _api(stack, f"/api/v2/dags/ardis_distribution/dagRuns/request-{request_id}")["state"]
        seen = (now, run)
        if seen == (state, run_state):
            return
        time.sleep(3)
    raise AssertionError(f"{seen} instead of {(state, run_state)}: {log.read_text()[-3000:]}")


def _dns(settings: Settings, request_id: str) -> list[tuple[str, str, NoticeState]]:
    with session_scope(settings.database_url) as session:
        return [(k, kind, s) for k, kind, s in session.execute(
            select(Notice.dedupe_key, Notice.kind, Notice.state).where(Notice.dedupe_key.startswith(f"dn:{request_id}"))
            .order_by(Notice.id))]


def test_a_failed_request_is_retried_from_the_console(sqlite_settings: Settings, tmp_path: Path) -> None:
    stack = AirflowStack(tmp_path / "airflow", all_admins=False,  # logins required; ``ardis`` is an operator
                         extra_env={"ARDIS_RETRIES": "0", "ARDIS_RETRY_DELAY_SECONDS": "2"})
    with run_ftp_server(tmp_path / "ftproot") as ftp:
        (ftp.root / "in").mkdir()
        urs = archive(sqlite_settings, tmp_path)
        request_id = order(sqlite_settings, RequestSpec(MediaType.FTP_PUSH, urs[:2], Destination(
            "127.0.0.1", ftp.port, "/in", "retry_ftp")))  # the connection is not there yet
        stack.migrate()
        stack.create_pools({DELIVERY_POOL: 2})
        logs = tmp_path / "logs"
        stack.start(logs)
        try:
            stack.wait_ready(["ardis_distribution"])
            _api(stack, "/api/v2/dags/ardis_distribution/dagRuns", {
                "dag_run_id": f"request-{request_id}", "logical_date": None, "conf": {"request_id": request_id}})
            _wait(sqlite_settings, stack, request_id, RequestState.FAILED, "failed", logs / "scheduler.log")
            assert _dns(sqlite_settings, request_id) == [(f"dn:{request_id}", "dn-failed", NoticeState.SENT)]

            stack.add_connection("retry_ftp", {"conn_type": "ftp", "host": "127.0.0.1", "port": ftp.port,
                                               "login": ftp.username, "password": ftp.password})
            page = urllib.request.Request(
                f"{stack.api_url}/ardis/console/requests/{request_id}/retry", data=b"", method="POST",
                headers={"Cookie": f"_token={stack.login()}", "Origin": stack.api_url,
                         "Content-Type": "application/x-www-form-urlencoded"})
            try:
                with urllib.request.urlopen(page, timeout=60) as answer:
                    text = answer.read().decode()
            except urllib.error.HTTPError as e:
                raise AssertionError(f"{e.code}: {e.read()[:2000]!r} {(logs / 'api-server.log').read_text()[-4000:]}")
            assert f"Request {request_id} is retried (attempt 2)" in text, text
            _wait(sqlite_settings, stack, request_id, RequestState.COMPLETE, "success", logs / "scheduler.log")
            begin = _api(stack, f"/api/v2/dags/ardis_distribution/dagRuns/{urllib.parse.quote(f'request-{request_id}')}"
                                "/taskInstances/begin")
        finally:
            stack.stop()
        assert sorted(p.name for p in (ftp.root / "in").iterdir())  # the files arrived
    assert _dns(sqlite_settings, request_id) == [(f"dn:{request_id}", "dn-failed", NoticeState.SENT),
                                                 (f"dn:{request_id}:attempt-2", "dn", NoticeState.SENT)]
    emls = sorted(p.name for p in sqlite_settings.outbox_dir.glob("*.eml"))
    assert len([n for n in emls if "-dn" in n]) == 2, emls
    with session_scope(sqlite_settings.database_url) as session:
        [retry] = session.scalars(select(RequestRetry)).all()
        assert (retry.attempt, retry.requested_by, retry.previous_state) == (2, "ardis", "failed")
        assert retry.sent_at is not None and get_request(session, request_id).attempt == 2
    assert (begin["note"], begin["try_number"]) == (f"Request {request_id}: attempt 2, retried by ardis", 2)
