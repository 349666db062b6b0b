"""Electronic distribution: one run per request (run_id ``request-<RequestID>``).

Wiring only; each task calls one function of ``distribution`` through
``ardis_airflow.steps``.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task
from airflow.sdk import TriggerRule

from ardis_airflow import names, policy, steps

with DAG(
    dag_id=names.DISTRIBUTION_DAG,
    description="Stage, verify, deliver (FtpPull, FtpPush, scp, SmbPush) and notify one request",
    schedule=None,
    catchup=False,
    max_active_runs=7,
    default_args=policy.default_args(),
    params={"request_id": Param("", type="string", description="Ardis RequestID (10 digits)")},
    tags=["ardis", "distribution"],
    doc_md=__doc__,
) as dag:
    begin = task(task_id="begin", retries=0)(steps.begin)()
    stage = task(task_id="stage")(steps.stage)()
    verify = task(task_id="verify")(steps.verify)()
    deliver = task(task_id="deliver", pool=names.DELIVERY_POOL)(steps.deliver)()
    notify = task(task_id="notify", trigger_rule=TriggerRule.ALL_DONE)(steps.notify_user)()
    outcome = task(task_id="outcome", retries=0)(steps.outcome)()
    copy_dn = task(task_id="copy_dn")(steps.copy_dn)()  # scp only: the DN beside the data, retried
    begin >> stage >> verify >> deliver >> notify >> outcome
    notify >> copy_dn
