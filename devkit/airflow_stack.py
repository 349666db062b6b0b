"""Running Airflow's components as processes, for the demo and end-to-end tests.

The domain never imports Airflow; this starts ``airflow api-server``,
``airflow scheduler`` and ``airflow dag-processor`` with one environment
(LocalExecutor, SQLite under the given home, everything bound to 127.0.0.1)
and talks to them through the ``airflow`` CLI and the REST API. With a
``Celery`` executor (``executor=``) the metadata database is the given
PostgreSQL one, tasks go through the broker, and ``start_worker`` adds Celery
workers, each on its own queues (the drive host's listens on ``media`` only),
each reporting its own host name on the task instances it runs.

The SimpleAuthManager knows one account, ``ardis`` (role ``op``: it may start
runs and read connections), whose password the stack writes into the
manager's passwords file; ``client_env()`` is what an ``ardis`` command needs
to reach this Airflow with it, ``login()`` a token for it (or another account of
``accounts``). ``all_admins`` lets every request through as admin: the demo and
the tests that check permissions run without it; the stand-in HITL operator logs in.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from distribution.errors import ArdisError
from devkit.peers import free_port

ROOT = Path(__file__).resolve().parent.parent
#: The SimpleAuthManager account the stack creates for the ``ardis`` command.
ACCOUNT = "ardis"


def airflow_bin() -> str:
    """The ``airflow`` next to this interpreter (the project's virtualenv) or on PATH."""
    candidate = Path(sys.executable).parent / "airflow"
    found = str(candidate) if candidate.exists() else shutil.which("airflow")
    if not found:
        raise ArdisError("the airflow command is not installed (make install)")
    return found


def airflow_home_settings(home: Path) -> dict[str, str]:
    """The settings every Ardis Airflow needs: its home, Ardis's DAGs and plugins, no examples."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


#: The setting a Celery worker of this stack reads for the host name it reports (``worker_hostname``).
WORKER_HOSTNAME = "ARDIS_WORKER_HOSTNAME"


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` in a stack's workers: their own name, else the machine's."""
    return os.environ.get(WORKER_HOSTNAME) or socket.getfqdn()


@dataclass(frozen=True)
class Celery:
    """CeleryExecutor on a shared metadata database: Airflow's (PostgreSQL), the broker, results."""

    metadata_url: str  # postgresql+psycopg2://…, Airflow's own database
    broker_url: str  # redis://… or amqp://…
    result_backend: str  # db+postgresql://…

    def settings(self) -> dict[str, str]:
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
        }


@dataclass
class AirflowStack:
    """An Airflow installation under ``home`` and its running components."""

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = 0
    all_admins: bool = True
    executor: Celery | None = None  # None: LocalExecutor on SQLite under home
    #: More SimpleAuthManager accounts (name → role: viewer, user, op, admin) beside ``ardis``, e.g. portal users.
    accounts: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.api_port = self.api_port or free_port()
        secret_file = self.home / "jwt-secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(32))
            secret_file.chmod(0o600)
        self._secret = secret_file.read_text().strip()
        self.passwords_file = self.home / "simple_auth_manager_passwords.json"
        passwords = json.loads(self.passwords_file.read_text()) if self.passwords_file.exists() else {}
        if not {ACCOUNT, *self.accounts} <= set(passwords):
            for name in (ACCOUNT, *self.accounts):
                passwords.setdefault(name, secrets.token_urlsafe(16))
            self.passwords_file.write_text(json.dumps(passwords) + "\n")
            self.passwords_file.chmod(0o600)
        self.passwords: dict[str, str] = passwords
        self.password = passwords[ACCOUNT]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                **airflow_home_settings(self.home),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._secret,
                "AIRFLOW__API__SECRET_KEY": self._secret,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(self.all_admins),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                    f"{name}:{role}" for name, role in {ACCOUNT: "op", **self.accounts}.items()),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "plugins"), os.environ.get("PYTHONPATH")])),
            }
        )
        if self.executor is not None:
            env.update(self.executor.settings())
        env.update(self.extra_env)
        return env

    def client_env(self) -> dict[str, str]:
        """The settings with which ``ardis`` reaches this Airflow (``distribution.cli.airflow``)."""
        return {"ARDIS_AIRFLOW_URL": self.api_url, "ARDIS_AIRFLOW_USERNAME": ACCOUNT,
                "ARDIS_AIRFLOW_PASSWORD": self.password}

    def login(self, account: str = ACCOUNT) -> str:
        """A token for one of this stack's accounts (``POST /auth/token``), as a script or the UI gets one."""
        body = json.dumps({"username": account, "password": self.passwords[account]}).encode()
        request = urllib.request.Request(f"{self.api_url}/auth/token", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.loads(response.read())["access_token"])
        except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
            raise ArdisError(f"Airflow refused the login of {account}: {e}") from e

    def cli(self, *args: str, check: bool = True, timeout: float = 180) -> str:
        """Run an ``airflow`` CLI command against this installation; its stdout."""
        proc = subprocess.run([airflow_bin(), *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise ArdisError(f"airflow {' '.join(args[:2])} failed: {tail}")
        return proc.stdout

    def migrate(self) -> None:
        self.cli("db", "migrate")

    def create_pools(self, pools: dict[str, int]) -> None:
        """One pool per drive kind, a slot per drive: concurrent writes never exceed the drives."""
        for name, slots in pools.items():
            self.cli("pools", "set", name, str(max(1, slots)), f"Ardis: {name.replace('_', ' ')}")

    def add_connection(self, conn_id: str, conn: dict[str, object]) -> None:
        """Create (or replace) a connection; credentials stay in Airflow's store."""
        self.cli("connections", "delete", conn_id, check=False)
        self.cli("connections", "add", conn_id, "--conn-json", json.dumps(conn))

    def start(self, log_dir: Path, components: tuple[str, ...] = ("api-server", "scheduler", "dag-processor")) -> None:
        """Start the components (all three by default; tests under dag.test() need only the api-server)."""
        log_dir.mkdir(parents=True, exist_ok=True)
        commands = {
            "api-server": ["api-server"],
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer", "--skip-serve-logs"],
        }
        for name, args in commands.items():
            if name in components:
                self._spawn(name, args, log_dir, self.env())

    def start_worker(self, name: str, log_dir: Path, queues: tuple[str, ...] = ("default",),
                     concurrency: int = 2) -> subprocess.Popen[bytes]:
        """A Celery worker ``name`` serving ``queues``; the task instances it runs show ``name`` as host."""
        if self.executor is None:
            raise ArdisError("Celery workers need a stack with the Celery executor")
        env = {**self.env(), WORKER_HOSTNAME: name,
               "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname"}
        args = ["celery", "worker", "--queues", ",".join(queues), "--concurrency", str(concurrency),
                "--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        return self._spawn(name, args, log_dir, env)

    def _spawn(self, name: str, args: list[str], log_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen([airflow_bin(), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.processes[name] = proc
        return proc

    def wait_ready(self, dag_ids: list[str], timeout: float = 240) -> None:
        """Until the API answers and the DAGs are parsed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as r:
                    if r.status == 200 and self._dags_parsed(dag_ids):
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(2)
        raise ArdisError(f"Airflow did not become ready in {timeout:.0f} s (logs under {self.home})")

    def _dags_parsed(self, dag_ids: list[str]) -> bool:
        """The DAGs are in Airflow's database (the dag-processor serialized them), asked of the REST API:
        an ``airflow dags list`` would import Airflow again and parse every file (minutes on a loaded machine)."""
        if not dag_ids:
            return True
        headers = {} if self.all_admins else {"Authorization": f"Bearer {self.login()}"}
        request = urllib.request.Request(f"{self.api_url}/api/v2/dags?limit=1000", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                listed = {d["dag_id"] for d in json.loads(response.read())["dags"]}
        except (ArdisError, urllib.error.URLError, OSError, ValueError, KeyError):
            return False
        return set(dag_ids) <= listed

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise ArdisError(f"airflow {name} exited with status {proc.returncode}")

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()
