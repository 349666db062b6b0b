"""Airflow's api-server for tests of what ``ardis`` asks of it, and helpers for the web app's tests.

What ``ardis`` asks of Airflow (``distribution.cli.airflow``) goes to a real
``airflow api-server`` as it would in a deployment: connections through Airflow's
REST API, runs through the Ardis plugin's ``/ardis/api``, logged in as the
stack's ``ardis`` account (``simple_auth_manager_all_admins`` off). Tests of the
web app itself use ``create_app()`` in process with tokens from ``token()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from distribution import db
from devkit.airflow_stack import AirflowStack



def migrate_airflow_db() -> str:
    """Migrate this session's Airflow metadata DB (SQLite under AIRFLOW_HOME)."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=dict(os.environ))
    return os.environ["AIRFLOW_HOME"]


def sync_ardis_dags() -> None:
    """Write Ardis's DAGs into the metadata DB, as the dag-processor would (triggering needs them there)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        assert not bag.import_errors, bag.import_errors
        sync_bag_to_db(bag, bundle.name, bundle.version)


def forget_request_runs() -> None:
    """Delete the request runs (``request-…``) a test before this one left in the session's Airflow DB."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.run_id.startswith("request-")))


def token(username: str, role: str) -> str:
    """A token for a SimpleAuthManager user, from the auth manager (as ``/auth/token`` would give)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))


@dataclass
class AirflowRest:
    """An api-server of this session's Airflow (SimpleAuthManager, all-admins off) and its ``ardis`` account."""

    stack: AirflowStack
    #: Ardis's database and home as the api-server's plugin sees them (one for the session).
    ardis_home: Path
    ardis_url: str

    @property
    def url(self) -> str:
        return self.stack.api_url

    def client_env(self) -> dict[str, str]:
        """What ``ardis`` needs to reach this server: its URL and the account's username and password."""
        return self.stack.client_env()

    def add_connection(self, conn_id: str, fields: dict[str, Any]) -> None:
        """Define (or redefine) a connection through Airflow's REST API."""
        self.call("DELETE", f"/api/v2/connections/{conn_id}", expect=(204, 404))
        self.call("POST", "/api/v2/connections", {"connection_id": conn_id, **fields}, expect=(201,))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             expect: tuple[int, ...] = (200,), token: str | None = None) -> Any:
        status, raw = _http(self.url + path, method, body, token or self._login())
        assert status in expect, (method, path, status, raw[:300])
        return json.loads(raw) if raw else None

    def _login(self) -> str:
        env = self.client_env()
        status, raw = _http(self.url + "/auth/token", "POST", {"username": env["ARDIS_AIRFLOW_USERNAME"],
                                                               "password": env["ARDIS_AIRFLOW_PASSWORD"]}, None)
        assert status == 201, raw
        return str(json.loads(raw)["access_token"])


def _http(url: str, method: str, body: dict[str, Any] | None, token: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def serve_airflow(work: Path) -> Iterator[AirflowRest]:
    """An ``airflow api-server`` on this session's Airflow DB, Ardis's DAGs synced, until closed.

    Its plugin reads Ardis's database under ``work`` (a test that asks it for a run uses that one).
    """
    migrate_airflow_db()
    sync_ardis_dags()
    home, url = work / "ardis", f"sqlite:///{work / 'ardis.db'}"
    db.upgrade(url)
    stack = AirflowStack(Path(os.environ["AIRFLOW_HOME"]), all_admins=False,
                         extra_env={"ARDIS_HOME": str(home), "ARDIS_DATABASE_URL": url})
    stack.start(work / "logs", components=("api-server",))
    try:
        stack.wait_ready([])
        yield AirflowRest(stack, home, url)
    finally:
        stack.stop()
