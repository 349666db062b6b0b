"""The DAG files parse, wire what they should, and do no work at import time."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_dags_import_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {"ardis_distribution", "ardis_dispatcher", "ardis_housekeeping", "ardis_pdr_poll", "ardis_ingest",
            "ardis_media_optical", "ardis_media_tape"} <= set(dagbag.dag_ids)


def test_distribution_dag_shape(dagbag: Any) -> None:
    dag = dagbag.get_dag("ardis_distribution")
    order = ["begin", "stage", "verify", "deliver", "notify", "outcome"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.get_task("notify").trigger_rule == "all_done"
    assert dag.schedule is None
    deliver = dag.get_task("deliver")
    assert deliver.retries >= 1 and deliver.retry_policy is not None


def test_dag_files_only_wire(dagbag: Any) -> None:
    """Module level holds imports, constants and the DAG context, nothing that runs."""
    for path in (ROOT / "dags").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            assert isinstance(node, ast.Import | ast.ImportFrom | ast.With | ast.Expr | ast.Assign), (
                f"{path.name}:{node.lineno} {type(node).__name__}"
            )
            if isinstance(node, ast.Assign):
                assert isinstance(node.value, ast.Constant), f"{path.name}:{node.lineno} computes at import"
