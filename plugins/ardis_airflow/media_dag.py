"""The physical media DAG's tasks, for one drive kind (optical or tape): wiring only.

begin → stage → verify → plan → per volume [build → load (operator) → record
→ write (pool of the drive kind) → read back (both on the drive host's queue ``media``)] → packing list → confirm shipment
(operator: carrier and tracking number, or a volume to rewrite) → ship → notify; a volume
to rewrite starts the request's next run (``rewrite``, Airflow's ``TriggerDagRunOperator``).
The human-in-the-loop steps hold no worker or pool slot while they wait, are assigned
to the operators of ``ARDIS_MEDIA_OPERATORS`` when it names some, and each answer is
recorded in Ardis's database; a retried step takes it (``ardis_airflow.hitl``).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, TriggerRule, task, task_group

from ardis_airflow import media_steps, policy, steps
from ardis_airflow.hitl import AnsweredOnce
from ardis_airflow.names import MEDIA_QUEUE, POOLS, media_dag

def dag_arguments(kind: str, media: str, doc: str | None) -> dict[str, Any]:
    """The DAG of one drive kind: ``ardis_media_<kind>``, triggered per request, never scheduled."""
    return {
        "dag_id": media_dag(kind),
        "description": f"Produce, verify and ship the {media} volumes of one request",
        "schedule": None,
        "catchup": False,
        "max_active_runs": 4,
        "default_args": policy.default_args(),
        "params": {"request_id": Param("", type="string", description="Ardis RequestID (10 digits)")},
        "tags": ["ardis", "media"],
        "doc_md": doc,
    }


def media_tasks(kind: str) -> None:
    """Add the media tasks for drives of ``kind`` to the DAG being defined."""
    begin = task(task_id="begin", retries=0)(steps.begin)()
    stage = task(task_id="stage")(steps.stage)()
    verify = task(task_id="verify")(steps.verify)()
    planned = task(task_id="plan")(media_steps.plan)()

    @task_group(group_id="volume")
    def volume(media_id: str) -> None:
        prompt = task(task_id="build")(media_steps.build)(media_id)
        load = AnsweredOnce(
            task_id="load",
            subject="{{ ti.xcom_pull(task_ids='volume.build')['subject'] }}",
            body="{{ ti.xcom_pull(task_ids='volume.build')['body'] }}",
            options=media_steps.drive_names(kind),
            params={"media_serial": Param("", type="string", description="serial number on the medium")},
            assigned_users=media_steps.assigned_operators(),
        )
        recorded = task(task_id="record_load")(media_steps.record_load)(media_id, load.output)
        written = task(task_id="write", pool=POOLS[kind], queue=MEDIA_QUEUE)(media_steps.write)(media_id)
        checked = task(task_id="read_back", queue=MEDIA_QUEUE)(media_steps.read_back)(media_id)
        prompt >> load >> recorded >> written >> checked

    volumes = volume.expand(media_id=planned)
    printed = task(task_id="packing_list")(media_steps.packing_list)()
    confirm = AnsweredOnce(
        task_id="confirm_shipment",
        subject="Confirm shipment of request {{ dag_run.conf['request_id'] }}",
        body="Every volume is written and verified; the packing list is printed. Put it in the box with the "
             "volumes, then confirm with the carrier and tracking number — or name a volume to rewrite.",
        options=[media_steps.SHIPPED, media_steps.REWRITE],
        params={"carrier": Param("", type="string"), "tracking_number": Param("", type="string"),
                "bad_media_id": Param("", type="string", description="only to rewrite a volume")},
        assigned_users=media_steps.assigned_operators(),
    )
    shipped = task(task_id="ship")(media_steps.ship)(confirm.output)
    TriggerDagRunOperator.partial(  # a volume marked bad: its request's next run writes it again
        task_id="rewrite",
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(shipped)
    notified = task(task_id="notify", trigger_rule=TriggerRule.ALL_DONE)(media_steps.notify)()
    begin >> stage >> verify >> planned
    volumes >> printed >> confirm >> shipped >> notified
