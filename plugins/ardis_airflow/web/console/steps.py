"""The steps that wait for a person, and the console's answers to them.

The media DAGs' steps (a blank medium loaded, a shipment) and the Phase 3 release
run's scientific validation (Approve, or Reject with a reason; the console's
``scientific`` queue). Which steps wait is read from Airflow's database (read
only: ``hitl_detail`` of those DAGs' task instances still parked); which volume a
load step is about, from Ardis's (the ``build`` step keeps the load step's run and
map index on the volume), never from the prompt's text. An answer goes the way the Airflow
UI's own goes: ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/{map}/hitlDetails``
on this api-server, sent by the server with the operator's own token (from the
request), so Airflow checks the operator's rights and assignment and writes its
rows itself. Before that, the answer is recorded in Ardis's database
(``distribution.answers``; the first answer recorded for a step is final), so a
console answer is never lost: if the PATCH does not land, the step's retry takes
it, and the next operator who answers sends the recorded answer to Airflow
instead of their own and is told who answered first.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow.models.hitl import HITLDetail
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ardis_airflow.media_steps import SHIPPED
from ardis_airflow.names import MEDIA_DAGS, PHASE3_RELEASE_DAG, request_id_of_run
from ardis_airflow.phase3_steps import SCIENTIFIC_TASK
from ardis_airflow.web.console import airflow_api
from distribution.answers import Answer, WaitingStep, record_answer, recorded_answer
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.phase3.workflow import APPROVE, REJECT
from distribution.shipping.queue import load_step_volumes, volume_ids
from distribution.time import utcnow

__all__ = ["Refused", "Step", "TaskState", "answer_step", "describe", "operator_token", "run_tasks", "waiting_steps"]

_PARKED = (TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED)
#: The DAGs whose steps the console answers.
ANSWERED_DAGS = (*MEDIA_DAGS.values(), PHASE3_RELEASE_DAG)


class Refused(Exception):
    """The answer was not taken: ``status`` (404, 400, 403, 409, 502) and a sentence for the operator."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Step(WaitingStep):
    """One step that waits for a person: its request and, for a load, its volume; or its Phase 3 release."""

    request_id: str = ""
    media_id: str = ""  # the volume a load step is about ('' for the shipment)
    release_id: int = 0  # the Phase 3 release a scientific validation is about

    @property
    def action(self) -> str:
        """What the console's form for it asks: ``load``, ``ship``, ``scientific`` or ``other`` (Airflow's UI)."""
        if self.dag_id == PHASE3_RELEASE_DAG:
            return "scientific" if self.task_id == SCIENTIFIC_TASK else "other"
        if self.task_id.endswith("load"):
            return "load"
        return "ship" if self.task_id == "confirm_shipment" else "other"


def _volumes_of(rows: list[HITLDetail]) -> dict[tuple[str, int], str]:
    """The volume each load step asks a blank medium for, from Ardis's database (``build`` kept it there)."""
    runs = sorted({row.task_instance.run_id for row in rows if row.task_instance.task_id.endswith("load")})
    with session_scope(load_settings().database_url) as session:
        return load_step_volumes(session, runs)


def _step(row: HITLDetail, volumes: dict[tuple[str, int], str]) -> Step:
    ti = row.task_instance
    map_index = -1 if ti.map_index is None else int(ti.map_index)
    conf = ti.dag_run.conf or {}
    request_id = str(conf.get("request_id") or request_id_of_run(ti.run_id) or "")
    release = str(conf.get("release_id") or "")
    media_id = volumes.get((ti.run_id, map_index), "") if ti.task_id.endswith("load") else ""
    return Step(ti.dag_id, ti.run_id, ti.task_id, map_index, row.subject, list(row.options or []), row.created_at,
                request_id, media_id, int(release) if release.isdigit() else 0)


def waiting_steps(dag_ids: Iterable[str] = tuple(MEDIA_DAGS.values())) -> list[Step]:
    """The steps of ``dag_ids`` (the media DAGs) parked for an answer nobody has given yet, oldest first."""
    with create_session() as session:
        rows = session.scalars(
            select(HITLDetail).join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .options(joinedload(HITLDetail.task_instance).joinedload(TaskInstance.dag_run))
            .where(TaskInstance.dag_id.in_(list(dag_ids)), TaskInstance.state.in_(_PARKED),
                   HITLDetail.responded_at.is_(None))
            .order_by(HITLDetail.created_at)).unique().all()
        volumes = _volumes_of(list(rows))
        return [_step(row, volumes) for row in rows]


def _detail(dag_id: str, run_id: str, task_id: str, map_index: int) -> tuple[Step, str | None]:
    """The step and who answered it in Airflow (None: nobody yet); 404 for no such step."""
    if dag_id not in ANSWERED_DAGS:
        raise Refused(404, f"{dag_id} is not a media DAG")
    with create_session() as session:
        row = session.scalar(
            select(HITLDetail).join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .options(joinedload(HITLDetail.task_instance).joinedload(TaskInstance.dag_run))
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id,
                   TaskInstance.map_index == map_index))
        if row is None:
            raise Refused(404, f"no step {task_id}[{map_index}] waits in run {run_id}")
        who = row.responded_by or {}
        answered = str(who.get("name") or who.get("id") or "someone") if row.responded_at is not None else None
        return _step(row, _volumes_of([row])), answered


def operator_token(request: Request) -> str:
    """The operator's own token: the Bearer token of a script, or the Airflow UI's ``_token`` cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get("_token", "")


def _patch(step: Step, answer: Answer, token: str) -> tuple[int, str]:
    """Airflow's own answer endpoint, as the operator; (HTTP status, detail)."""
    path = (f"/api/v2/dags/{step.dag_id}/dagRuns/{urllib.parse.quote(step.run_id, safe='')}/taskInstances/"
            f"{urllib.parse.quote(step.task_id, safe='')}/{step.map_index}/hitlDetails")
    return airflow_api.call("PATCH", path, {"chosen_options": answer.chosen_options,
                                            "params_input": answer.params_input}, token)


def _volumes(step: Step) -> list[str]:
    with session_scope(load_settings().database_url) as session:
        return volume_ids(session, step.request_id)


def _check(step: Step, chosen: list[str], params: dict[str, str]) -> None:
    if len(chosen) != 1 or chosen[0] not in step.options:
        raise Refused(400, f"choose one of {', '.join(step.options)}")
    if step.action == "scientific" and chosen[0] == REJECT and not str(params.get("reason", "")).strip():
        raise Refused(400, "a rejection needs its reason (the PI reads it)")
    if step.action == "ship" and chosen[0] == SHIPPED and not (params.get("carrier") and
                                                                 params.get("tracking_number")):
        raise Refused(400, "a shipment needs the carrier and the tracking number")
    if step.action == "ship" and chosen[0] != SHIPPED and params.get("bad_media_id") not in _volumes(step):
        raise Refused(400, f"name a volume of request {step.request_id} to rewrite")


def answer_step(dag_id: str, run_id: str, task_id: str, map_index: int, chosen: list[str],
                params: dict[str, str], user_name: str, token: str) -> Step:
    """Answer a waiting step as the operator; the step. Refused: 409 "already answered by …", 400, 403, 404, 502."""
    step, answered_in_airflow = _detail(dag_id, run_id, task_id, map_index)
    url = load_settings().database_url
    earlier = recorded_answer(url, step.key)
    if answered_in_airflow is not None:
        raise Refused(409, f"already answered by {earlier.responded_by if earlier else answered_in_airflow}")
    if earlier is None:
        _check(step, chosen, params)
        earlier = record_answer(url, step.key, Answer(chosen, params, user_name, utcnow()), step.request_id)
        if earlier.responded_by != user_name or (earlier.chosen_options, earlier.params_input) != (chosen, params):
            raise Refused(409, f"already answered by {earlier.responded_by}")  # in the moment between
    elif earlier.responded_by != user_name:
        # recorded, but its PATCH never landed (or is under way): Airflow gets the answer that counts
        _patch(step, earlier, token)
        raise Refused(409, f"already answered by {earlier.responded_by}")
    status, detail = _patch(step, earlier, token)
    if status == 409:
        _, who = _detail(dag_id, run_id, task_id, map_index)
        if who != user_name:
            raise Refused(409, f"already answered by {who}")
    elif status >= 300:
        raise Refused(status, f"Airflow did not take the answer: {detail} (it is recorded; answer again to resend)")
    return step


def answered(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """What was answered to a step, as the page says it after the answer ('' when unknown or not answered)."""
    try:
        step, _ = _detail(dag_id, run_id, task_id, map_index)
    except Refused:
        return ""
    kept = recorded_answer(load_settings().database_url, step.key)
    return describe(step, kept.chosen_options, kept.params_input) if kept and kept.chosen_options else ""


def describe(step: Step, chosen: list[str], params: dict[str, str]) -> str:
    """What the operator did, in a sentence for the page."""
    if step.action == "load":
        serial = f" serial {params['media_serial']}" if params.get("media_serial") else ""
        return f"Volume {step.media_id or step.map_index + 1}: blank medium{serial} loaded in {chosen[0]}"
    if step.action == "ship" and chosen[0] == SHIPPED:
        return f"Request {step.request_id} shipped with {params.get('carrier')} {params.get('tracking_number')}"
    if step.action == "ship":
        return f"Request {step.request_id}: volume {params.get('bad_media_id')} marked bad, to be written again"
    if step.action == "scientific" and chosen[0] == APPROVE:
        return f"Phase 3 release {step.release_id} approved: to be archived"
    if step.action == "scientific":
        return f"Phase 3 release {step.release_id} rejected: {str(params.get('reason', '')).strip()}"
    return f"{step.subject}: {', '.join(chosen)}"


@dataclass(frozen=True)
class TaskState:
    """One task instance of a request's run, as Airflow has it."""

    task_id: str
    map_index: int
    state: str
    try_number: int
    ended: datetime | None


def run_tasks(dag_id: str, run_id: str) -> list[TaskState]:
    """The task instances of a run (read from Airflow's database), in the order they started."""
    with create_session() as session:
        rows = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
                               .order_by(TaskInstance.start_date.is_(None), TaskInstance.start_date,
                                         TaskInstance.task_id, TaskInstance.map_index))
        return [TaskState(ti.task_id, -1 if ti.map_index is None else int(ti.map_index),
                          getattr(ti.state, "value", ti.state) or "none", int(ti.try_number or 0), ti.end_date)
                for ti in rows]
