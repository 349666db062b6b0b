"""Airflow for DAG tests: the metadata DB migrated once, DAGs loaded from ``dags/``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import POOLS

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


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: getattr(ti.state, "value", ti.state) for ti in dag_run.get_task_instances()}


@pytest.fixture(scope="session")
def airflow_api(airflow_db: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An api-server on this session's Airflow DB: the REST API that answers human-in-the-loop steps.

    Under ``dag.test()`` a HITL task waits until an answer is recorded from outside,
    as an operator's in the UI would be; tests answer through this server.
    """
    from devkit.airflow_stack import AirflowStack

    stack = AirflowStack(Path(os.environ["AIRFLOW_HOME"]))
    stack.create_pools({pool: 1 for pool in POOLS.values()})
    stack.start(tmp_path_factory.mktemp("airflow-api-logs"), components=("api-server",))
    try:
        stack.wait_ready([])
        yield stack
    finally:
        stack.stop()
