"""Human-in-the-loop steps whose answer cannot be lost.

Airflow 3.3.2's ``HITLOperator`` parks the task and resumes it when a person
answers. When the answer arrives before the scheduler has processed the executor's
report that the parked process ended, the scheduler takes that report for a lost
try ("finished with state success, but the task instance's state attribute is
queued") and retries the step; the retry used to ask again, and an operator who had
answered saw the question come back until the tries ran out.

``AnsweredOnce`` keeps every answer in Ardis's database (``distribution.answers``)
before it returns it, and a try that starts takes the answer already given to this
step of the run: first the one Ardis recorded, then the one Airflow still holds
for an earlier try. Airflow keeps one HITL detail per task instance and carries it
to the next try (its ``ti_id`` follows the task instance), and its upsert would
clear the response; so the answer is read before the question is asked again.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk.execution_time.hitl import get_hitl_detail_content_detail

from distribution.answers import Answer, StepKey, record_answer, recorded_answer
from distribution.config import load_settings

log = logging.getLogger(__name__)


def _key(context: Any) -> StepKey:
    ti = context["task_instance"]
    map_index = getattr(ti, "map_index", -1)
    return StepKey(ti.run_id, ti.task_id, -1 if map_index is None else int(map_index))


def _request_id(context: Any) -> str:
    conf = context["dag_run"].conf or {}
    return str(conf.get("request_id") or "")


def _payload(answer: Answer) -> dict[str, Any]:
    """The operator's XCom: the same shape ``HITLOperator.execute_complete`` returns."""
    return {"chosen_options": list(answer.chosen_options), "params_input": dict(answer.params_input),
            "responded_at": answer.responded_at, "responded_by_user": {"id": answer.responded_by,
                                                                       "name": answer.responded_by}}


def earlier_answer(ti: Any) -> Answer | None:
    """The answer Airflow holds for this task instance from an earlier try, if one was given."""
    try:
        detail = get_hitl_detail_content_detail(ti.id)
    except Exception as e:  # no detail yet (404) or the API is unreachable: nothing to take over
        log.info("no earlier answer for %s: %s", ti.task_id, e)
        return None
    if not getattr(detail, "response_received", False) or not detail.chosen_options:
        return None
    user = detail.responded_by_user
    return Answer(list(detail.chosen_options), dict(detail.params_input or {}),
                  (user.name or user.id) if user is not None else "", detail.responded_at)


class AnsweredOnce(HITLOperator):
    """A HITL step that asks once per run: a retried try takes the answer given before."""

    def execute(self, context: Any) -> Any:
        key, ti = _key(context), context["task_instance"]
        url = load_settings().database_url
        kept = recorded_answer(url, key)
        if kept is None and (ti.try_number or 1) > 1:
            given = earlier_answer(ti)
            if given is not None:
                self.validate_chosen_options(given.chosen_options)
                kept = record_answer(url, key, given, _request_id(context), ti.try_number)
        if kept is not None:
            self.log.info("Answered before by %s at %s: %s — not asking again", kept.responded_by or "someone",
                          kept.responded_at, kept.chosen_options)
            return _payload(kept)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        result = super().execute_complete(context, event)  # raises on a timeout; validates the answer
        user = result.get("responded_by_user") or {}
        given = Answer(list(result["chosen_options"]), dict(result.get("params_input") or {}),
                       str(user.get("name") or user.get("id") or ""), result.get("responded_at"))
        ti = context["task_instance"]
        return _payload(record_answer(load_settings().database_url, _key(context), given, _request_id(context),
                                      ti.try_number or 1))
