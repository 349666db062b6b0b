"""ESO Phase 3 (seed 000): one run per closed release (run id ``phase3-<id>``), from validation to publication.

Wiring only. begin → validate (automatic: Closed → Valid | Error) → valid? →
scientific validation (an operator answers Approve, or Reject with a reason, in
Required Actions) → record → archive (granules, INSERT events) → publish →
notify (the PI's error report or rejection) → outcome (fails when the release
ended in Error). ``ardis_phase3_poll`` starts a run for every Closed release
without one ("Triggers automatic validation process").
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, TriggerRule, task

from ardis_airflow import phase3_steps, policy
from ardis_airflow.assets import GRANULE_INSERTS
from ardis_airflow.hitl import AnsweredOnce
from ardis_airflow.names import PHASE3_POLL_DAG, PHASE3_RELEASE_DAG

with DAG(
    dag_id=PHASE3_RELEASE_DAG,
    description="Validate, archive and publish one ESO Phase 3 release",
    schedule=None,
    catchup=False,
    max_active_runs=4,
    default_args=policy.default_args(),
    params={"release_id": Param(0, type="integer", description="Phase 3 release id (ardis phase3 release list)")},
    tags=["ardis", "phase3"],
    doc_md=__doc__,
) as dag:
    begin = task(task_id="begin", retries=0)(phase3_steps.begin)()
    validate = task(task_id="validate")(phase3_steps.validate)()
    valid = task.short_circuit(task_id="valid", ignore_downstream_trigger_rules=False)(phase3_steps.is_valid)()
    scientific = AnsweredOnce(
        task_id=phase3_steps.SCIENTIFIC_TASK,
        subject="Scientific validation of Phase 3 release {{ dag_run.conf['release_id'] }}",
        body="The release passed the automatic validation. Approve it for archiving, or reject it with the "
             "reason the PI will read.",
        options=phase3_steps.SCIENTIFIC_OPTIONS,
        params={"reason": Param("", type="string", description="why (needed to reject)")},
    )
    approved = task.short_circuit(task_id="record_scientific", ignore_downstream_trigger_rules=False)(
        phase3_steps.record_scientific)(scientific.output)
    archive = task(task_id="archive", outlets=[GRANULE_INSERTS])(phase3_steps.archive)()
    publish = task(task_id="publish")(phase3_steps.publish)()
    notify = task(task_id="notify", trigger_rule=TriggerRule.ALL_DONE)(phase3_steps.notify)()
    outcome = task(task_id="outcome", retries=0, trigger_rule=TriggerRule.ALL_DONE)(phase3_steps.outcome)()
    begin >> validate >> valid >> scientific >> approved >> archive >> publish >> notify >> outcome

with DAG(
    dag_id=PHASE3_POLL_DAG,
    description="Start the validation run of every closed Phase 3 release",
    schedule=timedelta(minutes=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 1},
    tags=["ardis", "phase3"],
    doc_md=__doc__,
) as poll:
    closed = task(task_id="discover")(phase3_steps.discover)()
    TriggerDagRunOperator.partial(
        task_id="trigger_release",
        trigger_dag_id=PHASE3_RELEASE_DAG,
        skip_when_already_exists=True,
        wait_for_completion=False,
        retries=1,
    ).expand_kwargs(closed)
