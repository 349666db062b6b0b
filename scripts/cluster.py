"""``make cluster``: docker-compose.yml's topology as processes on this machine, until Ctrl-C.

- PostgreSQL: the one at ``ARDIS_CLUSTER_PG_URL`` (default the local server on 127.0.0.1:5432, trust auth);
  the databases ``ardis_cluster_airflow`` (Airflow's metadata) and ``ardis_cluster_ardis`` (Ardis's) are
  created when missing and kept between runs;
- Redis: the one on 127.0.0.1:6379 when it answers, else ``redis-server`` started here on a free port;
- Airflow 3.3.2 with CeleryExecutor: api-server, scheduler, dag-processor, triggerer, two general
  Celery workers (queue ``default``) and the drive host's (queue ``media`` only, virtual drives under
  the work directory), everything bound to 127.0.0.1, logs in ``WORKDIR/logs``;
- then ``ardis setup`` (Ardis's migrations, the pools, the connections).

It prints the environment with which ``ardis`` commands reach the cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.airflow_stack import AirflowStack, Celery  # noqa: E402
from devkit.peers import free_port  # noqa: E402

PG = os.environ.get("ARDIS_CLUSTER_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
NAMES = ("ardis_cluster_airflow", "ardis_cluster_ardis")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def databases() -> tuple[str, str]:
    """Airflow's and Ardis's database URLs, created when missing."""
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in NAMES:
                if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    base = PG.rsplit("/", 1)[0]
    return f"{base}/{NAMES[0]}", f"{base}/{NAMES[1]}"


def redis(workdir: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
    """The broker's URL: the running Redis, or one started here."""
    if _answers("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0", None
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, start_new_session=True)
    while not _answers("127.0.0.1", port):
        if proc.poll() is not None:
            raise SystemExit(f"cluster: redis-server exited with status {proc.returncode}")
        time.sleep(0.2)
    return f"redis://127.0.0.1:{port}/0", proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="cluster")
    args = parser.parse_args()
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        airflow_db, ardis_db = databases()
    except Exception as e:  # noqa: BLE001 - one line, not a traceback
        raise SystemExit(f"cluster: PostgreSQL at {PG.split('@')[-1]} did not answer: {e}") from e
    broker, own_redis = redis(workdir)
    home = workdir / "ardis"
    ardis_env = {"ARDIS_HOME": str(home), "ARDIS_DATABASE_URL": ardis_db,
                 "ARDIS_OPTICAL_DRIVES": f"burner-1=virtual:{home / 'drives' / 'burner-1'}",
                 "ARDIS_TAPE_DRIVES": f"tape-1=virtual:{home / 'drives' / 'tape-1.tape'}"}
    stack = AirflowStack(workdir / "airflow", extra_env=ardis_env,
                         executor=Celery(airflow_db, broker, "db+" + airflow_db))
    logs = workdir / "logs"
    try:
        print("cluster: airflow db migrate", flush=True)
        stack.migrate()
        stack.start(logs, components=("api-server", "scheduler", "dag-processor", "triggerer"))
        for name in ("worker-1", "worker-2"):
            stack.start_worker(name, logs, queues=("default",))
        stack.start_worker("drive-host", logs, queues=("media",), concurrency=2)
        stack.wait_ready(["ardis_distribution", "ardis_media_optical", "ardis_media_tape"], timeout=600)
        env = {**stack.env(), **stack.client_env()}
        ardis = str(Path(sys.executable).parent / "ardis")
        subprocess.run([ardis, "setup", "--wait", "120"], env=env, check=True)
        print(f"\ncluster: up; Airflow at {stack.api_url}, logs in {logs}. For `ardis` commands:")
        for key in ("ARDIS_HOME", "ARDIS_DATABASE_URL", "ARDIS_AIRFLOW_URL", "ARDIS_AIRFLOW_USERNAME"):
            print(f"  export {key}='{env[key]}'")
        print(f"  export ARDIS_AIRFLOW_PASSWORD=...  # the \"ardis\" entry of {stack.passwords_file}")
        print("Ctrl-C stops it.", flush=True)
        while True:
            stopped = [name for name, proc in stack.processes.items() if proc.poll() is not None]
            if stopped:
                print(f"cluster: {', '.join(stopped)} stopped (see {logs}); stopping the rest", file=sys.stderr)
                return 1
            time.sleep(5)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        if own_redis is not None:
            own_redis.terminate()
            own_redis.wait()
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    raise SystemExit(main())
