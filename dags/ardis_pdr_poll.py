"""Polls every due provider's PDR server and starts one ardis_ingest run per new PDR (ICD 4.5).

Wiring only. A PDR is recorded once (provider, name, digest) before its run is
triggered; a run that already exists is skipped, and PDRs left without a run are
triggered again at the next tick.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task

from ardis_airflow import ingest_steps, names, policy

with DAG(
    dag_id=names.PDR_POLL_DAG,
    description="Take new PDRs from the providers and start their ingest",
    schedule=timedelta(minutes=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 1},
    tags=["ardis", "ingest"],
    doc_md=__doc__,
) as dag:
    new_pdrs = task(task_id="discover")(ingest_steps.discover)()
    TriggerDagRunOperator.partial(
        task_id="trigger_ingest",
        trigger_dag_id=names.INGEST_DAG,
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(new_pdrs)
