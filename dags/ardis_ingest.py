"""Ingests one PDR (run id ``pdr-<id>``): validate → pull → archive → answer with the PAN or PDRD.

Wiring only. Pull is retried on the ICD's schedule for network failures; archive
and answer run whatever pull's fate, so every PDR gets its answer.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, TriggerRule, task

from ardis_airflow import ingest_steps, names, policy
from ardis_airflow.assets import GRANULE_INSERTS

with DAG(
    dag_id=names.INGEST_DAG,
    description="Validate, pull, archive and answer one PDR",
    schedule=None,
    catchup=False,
    max_active_runs=7,
    default_args=policy.default_args(),
    params={"pdr_id": Param(0, type="integer", description="Ardis ingest id (ardis pdr list)")},
    tags=["ardis", "ingest"],
    doc_md=__doc__,
) as dag:
    validate = task(task_id="validate", retries=0)(ingest_steps.validate)()
    pull = task(task_id="pull")(ingest_steps.pull_files)()
    archive = task(task_id="archive", trigger_rule=TriggerRule.ALL_DONE, outlets=[GRANULE_INSERTS])(
        ingest_steps.archive)()
    answer = task(task_id="answer", trigger_rule=TriggerRule.ALL_DONE)(ingest_steps.answer)()
    validate >> pull >> archive >> answer
