"""The real deployment's topology as processes on this machine: CeleryExecutor, PostgreSQL, Redis.

Airflow's metadata and Ardis's database are two fresh PostgreSQL databases; the
broker is the Redis on 127.0.0.1:6379; api-server, scheduler, dag-processor and two
Celery workers run as processes (``devkit.airflow_stack``): a general one on
the ``default`` queue and the drive host's, on ``media`` only. ``ardis setup`` makes
the pools. An FtpPull request and a DVD request (virtual burner, the operator's
answers given through the REST API) run end to end; the media DAG's drive tasks
(``write``, ``read_back``) ran on the drive host's worker and nothing else did.
(No triggerer: on Airflow 3.3 a waiting human-in-the-loop step needs none.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from devkit.airflow_stack import AirflowStack, Celery
from devkit.operator import Operator, shipping_clerk
from devkit.sample_data import SAMPLES, write_granule_files
from distribution import db
from distribution.db import session_scope
from distribution.models import RequestState
from distribution.orders.placing import get_request

pytestmark = [pytest.mark.integration, pytest.mark.dags]

PG_ADMIN = os.environ.get("ARDIS_TEST_DATABASE_URL") or "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
REDIS = ("127.0.0.1", 6379)
DRIVE_HOST = "drive-host"
GENERAL = "worker-1"
MEDIA_TASKS = {"volume.write", "volume.read_back"}
TIMEOUT = 600


def _answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def _why_not() -> str | None:
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError:
        return "apache-airflow-providers-celery is not installed (make install)"
    if not _answers(REDIS):
        return "no Redis answers on 127.0.0.1:6379 (the broker)"
    host = PG_ADMIN.split("@", 1)[-1].split("/", 1)[0]
    if not _answers((host.split(":")[0], int(host.split(":")[1]) if ":" in host else 5432)):
        return f"no PostgreSQL answers at {host}"
    return None


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases: Airflow's metadata and Ardis's."""
    if why := _why_not():
        pytest.skip(why)
    names = [f"ardis_celery_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("airflow", "ardis")]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        db.get_engine.cache_clear()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def ardis(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([str(Path(sys.executable).parent / "ardis"), *args], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _get(stack: AirflowStack, path: str) -> Any:
    with urllib.request.urlopen(f"{stack.api_url}{path}", timeout=30) as r:  # all-admins stack: no login
        return json.loads(r.read())


def _hosts(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, set[tuple[str, str]]]:
    """task id -> the (host name, queue) of its task instances in the run."""
    hosts: dict[str, set[tuple[str, str]]] = {}
    for ti in _get(stack, f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")["task_instances"]:
        if ti["state"] == "success" and ti["hostname"]:
            hosts.setdefault(ti["task_id"], set()).add((ti["hostname"], ti["queue"]))
    return hosts


def _wait_terminal(url: str, request_ids: list[str], logs: Path) -> dict[str, RequestState]:
    deadline = time.monotonic() + TIMEOUT
    states: dict[str, RequestState] = {}
    while time.monotonic() < deadline:
        with session_scope(url) as session:
            states = {rid: get_request(session, rid).state for rid in request_ids}
        if all(s.is_terminal for s in states.values()):
            return states
        time.sleep(3)
    raise AssertionError(f"not finished: {states}; scheduler log: {(logs / 'scheduler.log').read_text()[-3000:]}")


def test_celery_workers_run_deliveries_and_the_drive_host_runs_the_media_tasks(
        databases: tuple[str, str], tmp_path: Path) -> None:
    airflow_url, ardis_url = databases
    home = tmp_path / "ardis"
    ardis_env = {"ARDIS_HOME": str(home), "ARDIS_DATABASE_URL": ardis_url,
                 "ARDIS_OPTICAL_DRIVES": f"burner-1=virtual:{home / 'drives' / 'burner-1'}",
                 "ARDIS_RETRY_DELAY_SECONDS": "2", "ARDIS_RETRIES": "1"}
    broker = f"redis://{REDIS[0]}:{REDIS[1]}/{uuid.uuid4().int % 15 + 1}"
    celery = Celery(airflow_url, broker, "db+" + airflow_url)
    stack = AirflowStack(tmp_path / "airflow", extra_env=ardis_env, executor=celery)
    env = {**stack.env(), **stack.client_env()}
    logs = tmp_path / "logs"
    stack.migrate()
    stack.start(logs)
    general = stack.start_worker(GENERAL, logs, queues=("default",))
    media = stack.start_worker(DRIVE_HOST, logs, queues=("media",), concurrency=1)
    clerk = Operator(stack.api_url, ["ardis_media_optical"], shipping_clerk)
    try:
        stack.wait_ready(["ardis_distribution", "ardis_media_optical"])
        setup = ardis(env, "setup")  # migrates Ardis's database on PostgreSQL, makes the pools
        assert "pool ardis_optical_drives: created (1 slots)" in setup, setup
        assert "pool ardis_deliveries: created (7 slots)" in setup, setup
        files = write_granule_files(tmp_path / "in", SAMPLES[0], seed=3, scale=0.01)
        ur = ardis(env, "archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)).split("\t")[0]
        clerk.start()
        ordered = {}
        for method, extra in (("FtpPull", ()), ("DVD", ("--shipping-address", "1 Main St\\nTown"))):
            out = ardis(env, "order", "create", "--user", "celery", "--email", "c@example.org", "--method", method,
                        "--granule", ur, *extra)
            assert " triggered" in out, out
            ordered[method] = out.split("REQUESTID: ")[1].split()[0]

        states = _wait_terminal(ardis_url, list(ordered.values()), logs)
        assert set(states.values()) == {RequestState.COMPLETE}, states
        pull = _hosts(stack, "ardis_distribution", f"request-{ordered['FtpPull']}")
        dvd = _hosts(stack, "ardis_media_optical", f"request-{ordered['DVD']}")
    finally:
        if clerk.is_alive():
            clerk.stop()
        stack.stop()
    assert general.returncode is not None and media.returncode is not None
    assert {"begin", "stage", "verify", "deliver", "notify", "outcome"} <= set(pull)
    assert all(hosts == {(GENERAL, "default")} for hosts in pull.values()), pull
    assert MEDIA_TASKS <= set(dvd), dvd
    for task_id, hosts in dvd.items():
        assert hosts == ({(DRIVE_HOST, "media")} if task_id in MEDIA_TASKS else {(GENERAL, "default")}), dvd
    burned = list((home / "drives" / "burner-1").rglob("*.iso"))
    assert burned, "the virtual burner received the DVD image"
    dns = [p for p in (home / "outbox").glob("*.eml") if any(rid in p.read_text() for rid in ordered.values())]
    assert len(dns) >= 2, [p.name for p in (home / "outbox").iterdir()]
