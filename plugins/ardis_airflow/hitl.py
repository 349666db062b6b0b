"""Human-in-the-loop steps whose answer cannot be lost.

Airflow 3.3.2's ``HITLOperator`` parks the task and resumes it when a person
answers. When the answer arrives before the scheduler has processed the executor's
report that the parked process ended, the scheduler takes that report for a lost
try ("finished with state success, but the task instance's state attribute is
queued") and retries the step; the retry used to ask again, and an operator who had
answered saw the question come back until the tries ran out.

An answer is recorded in Ardis's database the moment Airflow stores it
(``ardis_airflow.answer_log``, in the api-server) and again when the step takes it
(``execute_complete``). ``AnsweredOnce`` starts every try by looking there: a step of
a run that has an answer returns it and does not ask again. (A task cannot read an
earlier try's answer from Airflow: the task API has no HITL read, and asking again
would clear the answer Airflow kept.)
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator

from distribution.answers import Answer, StepKey, record_answer, recorded_answer
from distribution.config import load_settings


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


class AnsweredOnce(HITLOperator):
    """A HITL step that asks once per run: a retried try takes the answer given before."""

    def execute(self, context: Any) -> Any:
        kept = recorded_answer(load_settings().database_url, _key(context))
        if kept is not None:
            self.validate_chosen_options(kept.chosen_options)
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
