"""The media DAGs' human-in-the-loop steps are assigned to the operators ``ARDIS_MEDIA_OPERATORS`` names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dags.conftest import ROOT

pytestmark = pytest.mark.dags
STEPS = ("volume.load", "confirm_shipment")


def _media_dags() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "ardis_media.py"))
    assert bag.import_errors == {}
    return bag


def test_steps_are_assigned_to_the_configured_operators(airflow_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_MEDIA_OPERATORS", "op1, op2")
    bag = _media_dags()
    for dag_id in ("ardis_media_optical", "ardis_media_tape"):
        for task_id in STEPS:
            step = bag.get_dag(dag_id).get_task(task_id)
            assert step.assigned_users == [{"id": "op1", "name": "op1"}, {"id": "op2", "name": "op2"}], task_id


def test_without_the_setting_any_operator_answers(airflow_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARDIS_MEDIA_OPERATORS", raising=False)
    dag = _media_dags().get_dag("ardis_media_optical")
    assert [dag.get_task(task_id).assigned_users for task_id in STEPS] == [None, None]
