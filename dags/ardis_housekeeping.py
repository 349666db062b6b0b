"""Hourly chores: remove expired FTP pull directories and finished staging, resend unsent notices and owed PANs,
tell operations about volumes waiting too long for a blank medium."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

from ardis_airflow import ingest_steps, names, policy, steps

with DAG(
    dag_id=names.HOUSEKEEPING_DAG,
    description="Expire pull areas, clean staging, resend pending notices and owed PANs/PDRDs",
    schedule=timedelta(hours=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 2},
    tags=["ardis"],
    doc_md=__doc__,
) as dag:
    task(task_id="purge_expired_pull_areas")(steps.purge_expired_pull_areas)()
    task(task_id="purge_finished_staging")(steps.purge_finished_staging)()
    task(task_id="resend_pending_notices")(steps.resend_pending_notices)()
    task(task_id="resend_owed_answers")(ingest_steps.resend_owed_answers)()
    task(task_id="alert_blank_media_waits")(steps.alert_blank_media_waits)()
