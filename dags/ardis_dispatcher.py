"""Starts the run of every request that has none (a lost trigger, a restart), and the
rewrite run of every volume marked bad whose request has no run going.

Electronic requests go to ardis_distribution, CD-ROM and DVD to ardis_media_optical,
DLT to ardis_media_tape.

Wiring only. A run that already exists is skipped, so overlapping ticks are harmless.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task

from ardis_airflow import names, policy, steps

with DAG(
    dag_id=names.DISPATCHER_DAG,
    description="Trigger the distribution or media run of requests left without one",
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
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(pending)
