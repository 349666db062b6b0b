"""Starts a distribution run for every request that has none (a lost trigger, a restart).

Wiring only. A run that already exists is skipped, so overlapping ticks are harmless.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task

from ardis_airflow import policy, steps

with DAG(
    dag_id="ardis_dispatcher",
    description="Trigger ardis_distribution for requests left without a run",
    schedule=timedelta(minutes=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 1},
    tags=["ardis", "distribution"],
    doc_md=__doc__,
) as dag:
    pending = task(task_id="requests_to_dispatch")(steps.requests_to_dispatch)()
    TriggerDagRunOperator.partial(
        task_id="trigger_distribution",
        trigger_dag_id="ardis_distribution",
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(pending)
