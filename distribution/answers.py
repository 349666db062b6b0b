"""A person's answers to the steps that wait for one: the state of record.

Airflow asks ("Load a blank DVD+R disc in burner-1 …", "Confirm shipment …") and
keeps the answer with the try of the task that asked. A person may answer at any
moment, and under the real scheduler an answer that lands before the scheduler has
seen the paused process end makes Airflow retry the step (Airflow 3.3.2, see
DESIGN.md). So Ardis records each answer here before any step acts on it, and the
first answer recorded for a step of a run is final: a retried step takes it instead
of asking again, and a second, different answer is ignored (and logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from distribution.db import session_scope
from distribution.models import OperatorAnswer
from distribution.time import naive_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepKey:
    """Which step of which run: Airflow's run id, task id and map index (``-1`` when not mapped)."""

    run_id: str
    step: str
    map_index: int = -1


@dataclass(frozen=True)
class WaitingStep:
    """A step that waits for a person's answer in Airflow (the stand-in operator and the console list them)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    subject: str
    options: list[str]
    created_at: datetime | None = None

    @property
    def key(self) -> StepKey:
        return StepKey(self.run_id, self.task_id, self.map_index)


@dataclass(frozen=True)
class Answer:
    """What the person chose and entered, who they were and when they answered."""

    chosen_options: list[str]
    params_input: dict[str, Any] = field(default_factory=dict)
    responded_by: str = ""
    responded_at: datetime | None = None


def _answer(row: OperatorAnswer) -> Answer:
    return Answer(list(row.chosen_options or []), dict(row.params_input or {}), row.responded_by, row.responded_at)


def _row(session: Session, key: StepKey) -> OperatorAnswer | None:
    return session.scalars(select(OperatorAnswer).where(
        OperatorAnswer.run_id == key.run_id, OperatorAnswer.step == key.step,
        OperatorAnswer.map_index == key.map_index)).one_or_none()


def recorded_answer(database_url: str, key: StepKey) -> Answer | None:
    """The answer recorded for this step, or None while nobody has answered it."""
    with session_scope(database_url) as session:
        row = _row(session, key)
        return _answer(row) if row is not None else None


def record_answer(database_url: str, key: StepKey, answer: Answer, request_id: str = "",
                  try_number: int = 1) -> Answer:
    """Record ``answer`` unless the step has one already; the answer that counts (the first)."""
    values = {
        "run_id": key.run_id, "step": key.step, "map_index": key.map_index, "request_id": request_id[:10],
        "chosen_options": list(answer.chosen_options), "params_input": dict(answer.params_input),
        "responded_by": answer.responded_by[:256], "responded_at": naive_utc(answer.responded_at),
        "try_number": try_number,
    }
    with session_scope(database_url) as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(OperatorAnswer).values(**values).on_conflict_do_nothing(
            index_elements=["run_id", "step", "map_index"]))
        row = _row(session, key)
        assert row is not None  # just inserted, or there before
        kept = _answer(row)
    if (kept.chosen_options, kept.params_input) != (list(answer.chosen_options), dict(answer.params_input)):
        log.warning("%s %s[%s]: answer %s ignored, the step was answered before: %s",
                    key.run_id, key.step, key.map_index, answer.chosen_options, kept.chosen_options)
    return kept
