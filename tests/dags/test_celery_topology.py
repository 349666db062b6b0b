"""The real deployment's topology as processes on this machine: CeleryExecutor, PostgreSQL, Redis.

Airflow's metadata and Ardis's database are two fresh PostgreSQL databases; the
broker is the Redis on 127.0.0.1:6379; api-server, scheduler, dag-processor and three
Celery workers run as processes (``devkit.airflow_stack``): two general ones on
the ``default`` queue and the drive host's, on ``media`` only (a burner and a tape drive, a slot each). ``ardis setup`` makes
the pools. One stack serves the module (starting it is a third of the time):

* an FtpPull request and a DVD request (virtual burner, the operator's answers given
  through the REST API) run end to end; the media DAG's drive tasks (``write``,
  ``read_back``) ran on the drive host's worker and nothing else did;
* the load test (marker ``load``, last: it kills a worker): LOAD_ORDERS (16) orders of
  mixed methods (FtpPull, FtpPush, scp, SmbPush, DVD, DLT) placed at once, one general worker SIGKILLed (its process group, by its PID)
  while it holds a push; all complete on the other, each file delivered once, one DN each.

(No triggerer: on Airflow 3.3 a waiting human-in-the-loop step needs none.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from devkit.airflow_stack import AirflowStack, Celery
from devkit.operator import Operator, shipping_clerk
from devkit.sample_data import SAMPLES, write_granule_files
from distribution import db
from distribution.cli.airflow import start_run
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.models import MediaType, Notice, RequestState
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order, get_request
from tests.faults.test_push_claims import Watch, watching_handler
from tests.servers import run_ftp_server, run_smbd, run_sshd

pytestmark = [pytest.mark.integration, pytest.mark.dags]

PG_ADMIN = os.environ.get("ARDIS_TEST_DATABASE_URL") or "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
REDIS = ("127.0.0.1", 6379)
DRIVE_HOST = "drive-host"
GENERAL = ("worker-1", "worker-2")
MEDIA_TASKS = {"volume.write", "volume.read_back"}
DAGS = ("ardis_distribution", "ardis_media_optical", "ardis_media_tape")
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


@pytest.fixture(scope="module")
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


@dataclass
class Topology:
    """The running stack, the environment an ``ardis`` command needs to reach it, where things are."""

    stack: AirflowStack
    env: dict[str, str]  # the stack's, with ARDIS_AIRFLOW_URL and the ardis account
    home: Path  # ARDIS_HOME
    ardis_url: str
    logs: Path
    workdir: Path

    @property
    def ardis_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k.startswith("ARDIS_")}


@pytest.fixture(scope="module")
def topology(databases: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """api-server, scheduler, dag-processor, two general workers and the drive host's; ``ardis setup`` done.

    A worker that dies (the load test kills one) is noticed within the heartbeat timeout, a task
    it had taken but not started within the queued timeout, and a push claim it held at once.
    """
    airflow_url, ardis_url = databases
    workdir = tmp_path_factory.mktemp("celery")
    home = workdir / "ardis"
    ardis_env = {"ARDIS_HOME": str(home), "ARDIS_DATABASE_URL": ardis_url,
                 "ARDIS_OPTICAL_DRIVES": f"burner-1=virtual:{home / 'drives' / 'burner-1'}",
                 "ARDIS_TAPE_DRIVES": f"tape-1=virtual:{home / 'drives' / 'tape-1.tape'}",
                 "ARDIS_RETRY_DELAY_SECONDS": "2", "ARDIS_RETRIES": "2",
                 "AIRFLOW__CORE__PARALLELISM": "6",  # the workers' slots: 2 + 2 + 2 (a burner and a tape drive)
                 # Only the DAGs under test run (unpaused below): every-minute polls and housekeeping would
                 # take the slots from them on 2 cores.
                 "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                 # A task's first call to the api-server may wait for it on a loaded machine (default 5 s:
                 # "ReadTimeout" and the try fails before it began).
                 "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
                 "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
                 "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120"}
    broker = f"redis://{REDIS[0]}:{REDIS[1]}/{uuid.uuid4().int % 15 + 1}"
    celery = Celery(airflow_url, broker, "db+" + airflow_url)
    stack = AirflowStack(workdir / "airflow", extra_env=ardis_env, executor=celery)
    env = {**stack.env(), **stack.client_env()}
    logs = workdir / "logs"
    stack.migrate()
    stack.start(logs)
    try:
        stack.wait_ready(list(DAGS), timeout=600)
        for dag_id in DAGS:
            _send(stack, "PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        for name in GENERAL:  # after: the workers' start-up would slow the parse on 2 cores
            stack.start_worker(name, logs, queues=("default",))
        stack.start_worker(DRIVE_HOST, logs, queues=("media",), concurrency=2)  # one slot per drive
        setup = ardis(env, "setup")  # migrates Ardis's database on PostgreSQL, makes the pools
        assert "pool ardis_optical_drives: created (1 slots)" in setup, setup
        assert "pool ardis_deliveries: created (7 slots)" in setup, setup
        yield Topology(stack, env, home, ardis_url, logs, workdir)
    finally:
        stack.stop()


def _send(stack: AirflowStack, method: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(f"{stack.api_url}{path}", data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # all-admins stack: no login
        return json.loads(response.read())


def _get(stack: AirflowStack, path: str) -> Any:
    with urllib.request.urlopen(f"{stack.api_url}{path}", timeout=30) as r:
        return json.loads(r.read())


def _hosts(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, set[tuple[str, str]]]:
    """task id -> the (host name, queue) of its task instances in the run."""
    hosts: dict[str, set[tuple[str, str]]] = {}
    for ti in _get(stack, f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")["task_instances"]:
        if ti["state"] == "success" and ti["hostname"]:
            hosts.setdefault(ti["task_id"], set()).add((ti["hostname"], ti["queue"]))
    return hosts


def _wait_terminal(url: str, request_ids: list[str], logs: Path, timeout: float = TIMEOUT
                   ) -> dict[str, RequestState]:
    deadline = time.monotonic() + timeout
    states: dict[str, RequestState] = {}
    while time.monotonic() < deadline:
        with session_scope(url) as session:
            states = {rid: get_request(session, rid).state for rid in request_ids}
        if all(s.is_terminal for s in states.values()):
            return states
        time.sleep(3)
    waiting = {rid: s for rid, s in states.items() if not s.is_terminal}
    raise AssertionError(f"not finished: {waiting}; scheduler log: {(logs / 'scheduler.log').read_text()[-3000:]}")


@pytest.mark.timeout(1200)  # with the module's stack starting
def test_celery_workers_run_deliveries_and_the_drive_host_runs_the_media_tasks(
        topology: Topology, tmp_path: Path) -> None:
    stack, env, home = topology.stack, topology.env, topology.home
    clerk = Operator(stack.api_url, ["ardis_media_optical"], shipping_clerk)
    try:
        files = write_granule_files(tmp_path / "in", SAMPLES[0], seed=3, scale=0.01)
        ur = ardis(env, "archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)).split("\t")[0]
        clerk.start()
        ordered = {}
        for method, extra in (("FtpPull", ()), ("DVD", ("--shipping-address", "1 Main St\\nTown"))):
            out = ardis(env, "order", "create", "--user", "celery", "--email", "c@example.org", "--method", method,
                        "--granule", ur, *extra)
            assert " triggered" in out, out
            ordered[method] = out.split("REQUESTID: ")[1].split()[0]

        states = _wait_terminal(topology.ardis_url, list(ordered.values()), topology.logs)
        assert set(states.values()) == {RequestState.COMPLETE}, states
        pull = _hosts(stack, "ardis_distribution", f"request-{ordered['FtpPull']}")
        dvd = _hosts(stack, "ardis_media_optical", f"request-{ordered['DVD']}")
    finally:
        if clerk.is_alive():
            clerk.stop()
    general = {(name, "default") for name in GENERAL}
    assert {"begin", "stage", "verify", "deliver", "notify", "outcome"} <= set(pull)
    assert all(hosts <= general for hosts in pull.values()), pull
    assert MEDIA_TASKS <= set(dvd), dvd
    for task_id, hosts in dvd.items():
        if task_id in MEDIA_TASKS:
            assert hosts == {(DRIVE_HOST, "media")}, dvd
        else:
            assert hosts <= general, dvd
    burned = list((home / "drives" / "burner-1").rglob("*.iso"))
    assert burned, "the virtual burner received the DVD image"
    dns = [p for p in (home / "outbox").glob("*.eml") if any(rid in p.read_text() for rid in ordered.values())]
    assert len(dns) == 2, [p.name for p in (home / "outbox").iterdir()]


# --- load: mixed orders at once, a general worker SIGKILLed while it holds a push ---------------------------

#: Orders placed at once: FtpPull, FtpPush, scp and SmbPush in turn, DVD_AT on DVD, DLT_AT on DLT tape, VICTIM_AT
#: the slow push that is cut. 16 in `make test`: each order costs ~20 s of this 2-core machine here (six tasks,
#: each a few seconds of Airflow's own start-up), and the suite must stay under 25 minutes; the issue's 50
#: passed alone in 17.5 min (ARDIS_LOAD_ORDERS=50; at least 8).
LOAD_ORDERS = int(os.environ.get("ARDIS_LOAD_ORDERS", "16"))
DVD_AT, DLT_AT, VICTIM_AT = (LOAD_ORDERS // 2 - 1,), (LOAD_ORDERS // 2 + 1,), min(12, LOAD_ORDERS // 2)
MIX = (MediaType.FTP_PULL, MediaType.FTP_PUSH, MediaType.SCP, MediaType.SMB_PUSH)
MEDIA = (MediaType.DVD, MediaType.DLT)
#: The cut push: SLOW_FILES files of SLOW_SIZE bytes to a server that takes SLOW_RATE bytes a second.
SLOW_FILES, SLOW_SIZE, SLOW_RATE = 6, 96_000, 32_000


@dataclass
class Placed:
    request_id: str
    method: MediaType
    target: Path | None  # where a push lands on this machine


def _add_connection(stack: AirflowStack, conn_id: str, conn: dict[str, Any]) -> None:
    """An Airflow connection through the REST API (the workers read it from Airflow's database)."""
    assert _send(stack, "POST", "/api/v2/connections", {"connection_id": conn_id, **conn})["connection_id"] == conn_id


def _place(settings: Settings, n: int, method: MediaType, ur: str, destination: Destination,
           target: Path | None) -> Placed:
    address = "1 Main St\nTown" if method in MEDIA else ""
    contact = Contact(user_id=f"load{n:02d}", email=f"load{n:02d}@example.org", shipping_address=address)
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, contact, [RequestSpec(method, [ur], destination)])
        return Placed(str(order.requests[0].request_id), method, target)


def _delivered_now(settings: Settings, placed: list[Placed]) -> dict[Path, tuple[int, int]]:
    """Every pushed file the database says is delivered, with what its destination holds (inode, mtime)."""
    found = {}
    with session_scope(settings.database_url) as session:
        for p in placed:
            if p.target is None:
                continue
            for rg in get_request(session, p.request_id).granules:
                for rf in rg.files:
                    if rf.delivered_at is not None:
                        st = (p.target / rf.dist_name).stat()
                        found[p.target / rf.dist_name] = (st.st_ino, st.st_mtime_ns)
    return found


def _assert_delivered_once(settings: Settings, p: Placed, outbox: list[str]) -> None:
    """Complete; every file where it belongs with the archive's bytes, delivered, no claim left; one DN."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, p.request_id)
        assert request.state == RequestState.COMPLETE, (p, request.state)
        kinds = sorted(n.kind for n in session.query(Notice).filter(Notice.request_pk == request.id))
        pulled = list(settings.pull_root.glob(f"*/{p.request_id}"))
        for rg in request.granules:
            for rf in rg.files:
                assert rf.claimed_by is None and rf.claim_expires_at is None, rf.dist_name
                if p.method == MediaType.FTP_PULL:
                    (where,) = pulled
                    assert (where / rf.dist_name).stat().st_size == rf.size, rf.dist_name
                elif p.target is not None:
                    assert rf.delivered_at is not None, rf.dist_name
                    got = (p.target / rf.dist_name).read_bytes()
                    expected = Path(str(rf.staged_path if rf.written else rf.granule_file.archive_path))
                    assert got == expected.read_bytes(), rf.dist_name
    expected_kinds = {MediaType.DVD: ["media-dn"], MediaType.DLT: ["media-dn"],
                      MediaType.SCP: ["dn", "dn-scp"]}.get(p.method, ["dn"])
    assert kinds == expected_kinds, (p, kinds)
    assert sum(p.request_id in mail for mail in outbox) == 1, p
    if p.method == MediaType.SCP:
        assert p.target is not None and [f.name for f in p.target.glob("*.notifyscp")] == [
            f"{p.request_id}.notifyscp"]


@pytest.mark.load
@pytest.mark.timeout(1500)
def test_mixed_orders_at_once_survive_a_worker_killed_mid_push(
        topology: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack, env = topology.stack, topology.env
    for key, value in topology.ardis_env.items():
        monkeypatch.setenv(key, value)  # the orders are placed and started here, as `ardis order create` does
    settings = load_settings()
    slow_watch = Watch()
    slow = watching_handler(slow_watch, SLOW_RATE)
    clerk = Operator(stack.api_url, ["ardis_media_optical", "ardis_media_tape"], shipping_clerk)
    with run_ftp_server(tmp_path / "ftp") as ftp, run_ftp_server(tmp_path / "ftp-slow", handler_base=slow) as cut, \
            run_sshd(tmp_path / "sshd") as sshd, run_smbd(tmp_path / "smbd") as smbd:
        for conn_id, server in (("load_ftp", ftp), ("load_ftp_slow", cut)):
            _add_connection(stack, conn_id, {"conn_type": "ftp", "host": server.host, "port": server.port,
                                             "login": server.username, "password": server.password})
        _add_connection(stack, "load_smb", {"conn_type": "samba", "host": smbd.host, "port": smbd.port,
                                            "login": smbd.username, "password": smbd.password})
        _add_connection(stack, "load_scp", {"conn_type": "sftp", "host": sshd.host, "port": sshd.port,
                                            "login": sshd.username, "extra": json.dumps(
                                                {"private_key": sshd.private_key, "known_hosts": sshd.known_hosts})})
        urs = [ardis(env, "archive", "add", "--esdt", sample.esdt, *map(str, write_granule_files(
            tmp_path / "in" / str(i), sample, seed=10 + i, scale=0.01))).split("\t")[0]
            for i, sample in enumerate(SAMPLES[:3])]
        big = [tmp_path / "in" / "big" / f"LOAD.A2002.{i}.hdf" for i in range(SLOW_FILES)]
        for path in big:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(SLOW_SIZE))
        big_ur = ardis(env, "archive", "add", "--esdt", "LOAD.001", *map(str, big)).split("\t")[0]

        placed: list[Placed] = []
        for n in range(LOAD_ORDERS):
            ur = urs[n % len(urs)]
            if n == VICTIM_AT:
                (cut.root / "in").mkdir()
                victim = _place(settings, n, MediaType.FTP_PUSH, big_ur,
                                Destination(cut.host, cut.port, "/in", "load_ftp_slow"), cut.root / "in")
                placed.append(victim)
            elif n in DVD_AT or n in DLT_AT:
                placed.append(_place(settings, n, MediaType.DVD if n in DVD_AT else MediaType.DLT, ur,
                                     Destination(), None))
            elif MIX[n % len(MIX)] == MediaType.FTP_PULL:
                placed.append(_place(settings, n, MediaType.FTP_PULL, ur, Destination(), None))
            elif MIX[n % len(MIX)] == MediaType.FTP_PUSH:
                (target := ftp.root / "in" / f"o{n}").mkdir(parents=True)
                placed.append(_place(settings, n, MediaType.FTP_PUSH, ur,
                                     Destination(ftp.host, ftp.port, f"/in/o{n}", "load_ftp"), target))
            elif MIX[n % len(MIX)] == MediaType.SMB_PUSH:
                (target := smbd.root / f"o{n}").mkdir(parents=True)
                placed.append(_place(settings, n, MediaType.SMB_PUSH, ur,
                                     Destination(smbd.host, smbd.port, f"{smbd.share}/o{n}", "load_smb"), target))
            else:
                (target := tmp_path / "scp" / f"o{n}").mkdir(parents=True)
                placed.append(_place(settings, n, MediaType.SCP, ur,
                                     Destination(sshd.host, sshd.port, str(target), "load_scp"), target))
        clerk.start()
        started = time.monotonic()
        for p in placed:
            started_run = start_run(p.request_id)
            assert started_run.startswith(f"run request-{p.request_id} "), started_run
        try:
            killed, other = _kill_the_worker_pushing(topology, victim, slow_watch)
            slow.dtp_handler.read_limit = 0  # the retry goes at full speed
            time.sleep(1)
            before = _delivered_now(settings, placed)
            states = _wait_terminal(topology.ardis_url, [p.request_id for p in placed], topology.logs, 1200)
            took = time.monotonic() - started
        finally:
            clerk.stop()
    print(f"{LOAD_ORDERS} orders: {took:.0f} s from the first trigger to the last DN; {killed} killed")
    assert set(states.values()) == {RequestState.COMPLETE}, states
    outbox = [p.read_text() for p in (topology.home / "outbox").glob("*.eml")]
    for p in placed:
        _assert_delivered_once(settings, p, outbox)
    after = _delivered_now(settings, placed)
    again = [path for path, stamp in before.items() if after[path] != stamp]
    assert before and again == [], "files the database had as delivered before the kill were sent again"
    # The cut push: only the file on its way at the kill may have gone twice (the retry never saw it confirmed).
    assert len(slow_watch.complete) == SLOW_FILES  # (archived without metadata: no metadata file goes with them)
    assert sum(slow_watch.complete.values()) - len(slow_watch.complete) + sum(slow_watch.incomplete.values()) <= 1
    deliver = _get(stack, f"/api/v2/dags/ardis_distribution/dagRuns/request-{victim.request_id}"
                          "/taskInstances/deliver")
    assert deliver["state"] == "success" and deliver["try_number"] >= 2 and deliver["hostname"] == other, deliver
    assert {p.method for p in placed} == {*MIX, *MEDIA}, "every method in the mix"
    for p in placed:
        if p.method in MEDIA:
            dag_id = "ardis_media_optical" if p.method == MediaType.DVD else "ardis_media_tape"
            hosts = _hosts(stack, dag_id, f"request-{p.request_id}")
            assert all(hosts[task] == {(DRIVE_HOST, "media")} for task in MEDIA_TASKS), hosts


def _kill_the_worker_pushing(topology: Topology, victim: Placed, watch: Watch) -> tuple[str, str]:
    """SIGKILL (its process group, by its PID: the worker and its task processes) the general worker whose
    task is sending the victim's files, once two have begun. Returns (killed worker, the other)."""
    stack = topology.stack
    deadline = time.monotonic() + TIMEOUT
    while sum(watch.stors.values()) < 2:
        assert time.monotonic() < deadline, "the slow push never began"
        time.sleep(0.05)
    run = f"/api/v2/dags/ardis_distribution/dagRuns/request-{victim.request_id}/taskInstances/deliver"
    ti = _get(stack, run)
    assert ti["state"] == "running" and ti["hostname"] in GENERAL, ti
    worker = stack.processes[ti["hostname"]]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL
    (other,) = set(GENERAL) - {ti["hostname"]}
    return ti["hostname"], other
