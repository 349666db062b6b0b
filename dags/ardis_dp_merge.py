"""ELT data products: one run per specification (run id ``dp-<id>``): fetch → merge → archive → outcome.

Wiring only. ``ardis_dp_poll`` takes specifications from the drop directory and
starts a run for every product submitted (there or by ``ardis dp submit``)
without one; a specification id is merged once, but one whose product failed
may be submitted again once fixed (a new product, a run of its own). Fetch is
retried for network failures; a permanent failure (missing source, dictionary
violation) fails its step at once, and ``outcome`` ends the run with the
product's report (and frees its workspace); a failed archive step leaves no
granule directory behind.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, TriggerRule, task

from ardis_airflow import policy, product_steps
from ardis_airflow.names import DP_MERGE_DAG, DP_POLL_DAG
from ardis_airflow.assets import GRANULE_INSERTS

with DAG(
    dag_id=DP_MERGE_DAG,
    description="Merge one ELT data product specification and archive the product",
    schedule=None,
    catchup=False,
    max_active_runs=4,
    default_args=policy.default_args(),
    params={"product_id": Param(0, type="integer", description="Ardis data product id (ardis dp list)")},
    tags=["ardis", "products"],
    doc_md=__doc__,
) as dag:
    begin = task(task_id="begin", retries=0)(product_steps.begin)()
    fetch = task(task_id="fetch")(product_steps.fetch)()
    merge = task(task_id="merge")(product_steps.merge)()
    archive = task(task_id="archive", outlets=[GRANULE_INSERTS])(product_steps.archive)()
    outcome = task(task_id="outcome", retries=0, trigger_rule=TriggerRule.ALL_DONE)(product_steps.outcome)()
    begin >> fetch >> merge >> archive >> outcome

with DAG(
    dag_id=DP_POLL_DAG,
    description="Take data product specifications from the drop directory and start their merge",
    schedule=timedelta(minutes=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 1},
    tags=["ardis", "products"],
    doc_md=__doc__,
) as poll:
    new_products = task(task_id="discover")(product_steps.discover)()
    TriggerDagRunOperator.partial(
        task_id="trigger_merge",
        trigger_dag_id=DP_MERGE_DAG,
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(new_products)
