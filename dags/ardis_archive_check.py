"""Weekly: the archive's files against the inventory (missing, extra, size or checksum drift, versions).

Reports to operations; never deletes anything. Wiring only.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

from ardis_airflow import archive_steps, names, policy

with DAG(
    dag_id=names.ARCHIVE_CHECK_DAG,
    description="Compare the archive's files with the inventory and report to operations (never deletes)",
    schedule=timedelta(weeks=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 3},
    tags=["ardis"],
    doc_md=__doc__,
) as dag:
    task(task_id="check_archive", execution_timeout=timedelta(days=6))(archive_steps.check_archive)()
