"""Airflow for DAG tests: the metadata DB migrated once, DAGs loaded from ``dags/``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Migrate this session's Airflow metadata DB (SQLite under AIRFLOW_HOME) once."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=dict(os.environ))
    return os.environ["AIRFLOW_HOME"]


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
