"""Airflow for DAG tests: the metadata DB migrated once, DAGs loaded from ``dags/``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import DELIVERY_POOL, POOLS

from tests.airflow_rest import migrate_airflow_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Migrate this session's Airflow metadata DB (SQLite under AIRFLOW_HOME) once."""
    return migrate_airflow_db()


@pytest.fixture(scope="session")
def dagbag(airflow_db: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def run_dag(dagbag: Any, dag_id: str, conf: dict[str, Any]) -> Any:
    """``dag.test()`` one run; returns the DagRun with its task instances loaded."""
    dag = dagbag.get_dag(dag_id)
    assert dag is not None, dagbag.import_errors
    return dag.test(run_conf=conf)


def run_beside(dagbag: Any, dag_id: str, conf: dict[str, Any], person: Callable[[threading.Event], None],
               rescue: Any, join: float = 300) -> Any:
    """``run_dag`` while ``person`` (in a thread) answers the run's steps as an operator would.

    ``person`` is told by its event when the run has ended (stop waiting). Should it
    fail, ``rescue`` (a ``devkit.operator.Operator``, not started) answers instead,
    since the run must not wait for ever; the failure is raised after the run.
    """
    ended, failed = threading.Event(), []

    def act() -> None:
        try:
            person(ended)
        except BaseException as e:  # noqa: BLE001 - raised after the run
            failed.append(e)
            rescue.start()

    thread = threading.Thread(target=act, name=f"operator-{dag_id}", daemon=True)
    thread.start()
    try:
        run = run_dag(dagbag, dag_id, conf)
    finally:
        ended.set()
        thread.join(timeout=join)
        if rescue.is_alive():
            rescue.stop()
    if failed:
        raise failed[0]
    return run


def forget_runs(dag_id: str) -> None:
    """Delete ``dag_id``'s runs from this session's Airflow DB. Request ids start anew in each test's Ardis
    database, so a run ``request-<id>`` left by an earlier test would make a trigger skip as "already exists"
    (which tests share a session depends on how pytest-xdist deals the files out)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_id).delete()


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: getattr(ti.state, "value", ti.state) for ti in dag_run.get_task_instances()}


@pytest.fixture(scope="session")
def airflow_api(airflow_db: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An api-server on this session's Airflow DB: the REST API that answers human-in-the-loop steps.

    Under ``dag.test()`` a HITL task waits until an answer is recorded from outside,
    as an operator's in the UI would be; tests answer through this server.
    """
    from devkit.airflow_stack import AirflowStack

    stack = AirflowStack(Path(os.environ["AIRFLOW_HOME"]), all_admins=False)  # answers log in (stack.login)
    stack.create_pools({pool: 1 for pool in (*POOLS.values(), DELIVERY_POOL)})
    stack.start(tmp_path_factory.mktemp("airflow-api-logs"), components=("api-server",))
    try:
        stack.wait_ready([])
        yield stack
    finally:
        stack.stop()
