"""The two ways a run starts besides a DAG's own schedule, through real Airflow.

``ardis`` asks a real api-server (logins required, all-admins off) over HTTP;
the dispatcher DAG starts what no one started, rewrites of bad volumes included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import DISPATCHER_DAG, DISTRIBUTION_DAG, MEDIA_DAGS, request_run_id, rewrite_run_id
from sqlalchemy import select

from distribution.orders import delivery
from distribution.shipping import production
from distribution.cli.airflow import airflow_names, start_run
from distribution.inventory.archive import granule_ur
from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.models import MediaType
from distribution.orders.placing import Contact, RequestSpec, create_order
from tests.airflow_rest import forget_request_runs
from tests.dags.conftest import run_dag, task_states

pytestmark = pytest.mark.dags
USER = Contact(user_id="pathu", email="path.user@example.org", first_name="Pat", last_name="User",
               shipping_address="1 Main Street\nLandover, MD 22222")


def _orders(settings: Settings, tmp_path: Path, *media: MediaType) -> list[str]:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        return [str(create_order(session, settings, USER, [RequestSpec(m, urs[:1])]).requests[0].request_id)
                for m in media]


def _runs(dag_id: str) -> dict[str, dict[str, Any]]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return {r.run_id: dict(r.conf or {}) for r in session.scalars(select(DagRun).where(DagRun.dag_id == dag_id))}


def test_ardis_starts_runs_through_the_plugin_api(rest_settings: Settings, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sqlite_settings = rest_settings
    forget_request_runs()
    [pull, dlt] = _orders(sqlite_settings, tmp_path, MediaType.FTP_PULL, MediaType.DLT)
    assert start_run(pull) == f"run {request_run_id(pull)} of {DISTRIBUTION_DAG} triggered"
    assert start_run(pull) == f"run {request_run_id(pull)} of {DISTRIBUTION_DAG} exists"
    assert start_run(dlt) == f"run {request_run_id(dlt)} of {MEDIA_DAGS['tape']} triggered"
    assert _runs(DISTRIBUTION_DAG)[request_run_id(pull)]["request_id"] == pull
    assert "not triggered (404" in start_run("0999999999")
    names = airflow_names()
    assert names["dags"]["media"] == MEDIA_DAGS and DISPATCHER_DAG in names["parsed"]
    delivery.begin_request(sqlite_settings, dlt, request_run_id(dlt))
    delivery.stage_request(sqlite_settings, dlt)
    delivery.verify_request(sqlite_settings, dlt)
    [media_id] = production.plan_request(sqlite_settings, dlt)
    assert main(["media", "rewrite", media_id]) == 0  # ardis media rewrite: mark bad, start the rewrite run
    assert f"run {rewrite_run_id(dlt, media_id)} of {MEDIA_DAGS['tape']} triggered" in capsys.readouterr().out


def test_a_wrong_password_leaves_the_run_to_the_dispatcher(rest_settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_AIRFLOW_USERNAME", "nobody")
    [pull] = _orders(rest_settings, tmp_path, MediaType.FTP_PULL)
    assert start_run(pull).startswith("left to the dispatcher DAG (Airflow refused the login of nobody (401")


def test_the_dispatcher_starts_first_runs_and_rewrites(dagbag: Any, sqlite_settings: Settings,
                                                       tmp_path: Path) -> None:
    forget_request_runs()
    [pull, dlt] = _orders(sqlite_settings, tmp_path, MediaType.FTP_PULL, MediaType.DLT)
    delivery.begin_request(sqlite_settings, dlt, request_run_id(dlt))  # its first run has been and gone
    delivery.stage_request(sqlite_settings, dlt)
    delivery.verify_request(sqlite_settings, dlt)
    [media_id] = production.plan_request(sqlite_settings, dlt)
    production.mark_bad(sqlite_settings, media_id, "scratched")
    run = run_dag(dagbag, DISPATCHER_DAG, {})
    assert set(task_states(run).values()) == {"success"}, task_states(run)
    assert _runs(DISTRIBUTION_DAG)[request_run_id(pull)] == {"request_id": pull, "order_id": _order_id(sqlite_settings, pull)}
    assert _runs(MEDIA_DAGS["tape"])[rewrite_run_id(dlt, media_id)]["request_id"] == dlt
    forget_request_runs()
    # A run of the request still going (here: its first run, queued): no rewrite run beside it.
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    trigger_dag(MEDIA_DAGS["tape"], triggered_by=DagRunTriggeredByType.TEST, run_id=request_run_id(dlt),
                conf={"request_id": dlt})
    run_dag(dagbag, DISPATCHER_DAG, {})
    assert rewrite_run_id(dlt, media_id) not in _runs(MEDIA_DAGS["tape"])


def _order_id(settings: Settings, request_id: str) -> str:
    from distribution.orders.placing import get_request

    with session_scope(settings.database_url) as session:
        return str(get_request(session, request_id).order.order_id)
