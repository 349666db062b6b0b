"""Running Airflow's components as processes, for the demo and end-to-end tests.

The domain never imports Airflow; this starts ``airflow api-server``,
``airflow scheduler`` and ``airflow dag-processor`` with one environment
(LocalExecutor, SQLite under the given home, everything bound to 127.0.0.1)
and talks to them through the ``airflow`` CLI and the REST API.

The SimpleAuthManager knows one account, ``ardis`` (role ``op``: it may start
runs and read connections), whose password the stack writes into the
manager's passwords file; ``client_env()`` is what an ``ardis`` command needs
to reach this Airflow with it. ``all_admins`` (the default, for the stand-in
HITL operator, which sends no token) lets every request through as admin.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
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


@dataclass
class AirflowStack:
    """An Airflow installation under ``home`` and its running components."""

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = 0
    all_admins: bool = True
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
        if not self.passwords_file.exists():
            self.passwords_file.write_text(json.dumps({ACCOUNT: secrets.token_urlsafe(16)}) + "\n")
            self.passwords_file.chmod(0o600)
        self.password = json.loads(self.passwords_file.read_text())[ACCOUNT]

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
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ACCOUNT}:op",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "plugins"), os.environ.get("PYTHONPATH")])),
            }
        )
        env.update(self.extra_env)
        return env

    def client_env(self) -> dict[str, str]:
        """The settings with which ``ardis`` reaches this Airflow (``distribution.cli.airflow``)."""
        return {"ARDIS_AIRFLOW_URL": self.api_url, "ARDIS_AIRFLOW_USERNAME": ACCOUNT,
                "ARDIS_AIRFLOW_PASSWORD": self.password}

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
        }
        for name, args in commands.items():
            if name not in components:
                continue
            log = (log_dir / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                [airflow_bin(), *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

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
        out = self.cli("dags", "list", "-o", "json", check=False)
        # Warnings are printed before the JSON; the list is the line that starts with "[{".
        lines = [line for line in out.splitlines() if line.startswith("[{")]
        try:
            listed = {d["dag_id"] for d in json.loads(lines[-1])} if lines else set()
        except (ValueError, KeyError):
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
