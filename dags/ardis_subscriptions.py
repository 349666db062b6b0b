"""Fires subscriptions for new granules: on every granule-insert asset event and every 5 minutes.

Wiring only. The run sweeps every unprocessed INSERT row (an asset event only
nudges: several can fold into one run, and one can start none), each
(subscription, granule) fires once, and the orders' requests start their
ardis_distribution runs here (ardis_dispatcher catches any trigger that is lost).
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, task

from ardis_airflow import names, policy, steps, subscription_steps
from ardis_airflow.assets import GRANULE_INSERTS

with DAG(
    dag_id=names.SUBSCRIPTIONS_DAG,
    description="Notify subscribers and place their orders for newly inserted granules",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("*/5 * * * *", timezone="UTC"),
                                 assets=[GRANULE_INSERTS]),
    catchup=False,
    max_active_runs=2,
    default_args={**policy.default_args(), "retries": 2},
    tags=["ardis", "subscriptions"],
    doc_md=__doc__,
) as dag:
    new_requests = task(task_id="dispatch")(subscription_steps.dispatch)()
    trigger = TriggerDagRunOperator.partial(
        task_id="trigger_distribution",
        trigger_dag_id=names.DISTRIBUTION_DAG,
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(new_requests)
    send = task(task_id="send_notifications", trigger_rule=TriggerRule.ALL_DONE)(steps.resend_pending_notices)()
    expire = task(task_id="expire", trigger_rule=TriggerRule.ALL_DONE)(subscription_steps.expire)()
    new_requests >> send >> expire
