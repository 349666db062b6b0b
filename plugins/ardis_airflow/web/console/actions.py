"""What an operator does from the console (POST, Origin checked, operators only).

* ``POST /console/steps/answer`` — the page's forms: a blank medium loaded in a
  drive, a shipment confirmed with carrier and tracking number, or a volume marked
  bad to be written again; then back to the console page (303), which says the
  step's recorded answer — or the page with the refusal on top (409 and "already
  answered by …" when another operator was quicker).
* ``POST /console/api/steps/{dag_id}/{run_id}/{task_id}/{map_index}`` — the same
  for scripts: ``{"chosen_options": […], "params_input": {…}}``.
"""

from __future__ import annotations

from typing import Any

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ardis_airflow.media_steps import REWRITE, SHIPPED
from ardis_airflow.web.console import steps
from ardis_airflow.web.console.access import CONSOLE, Operator, operator
from ardis_airflow.web.console.routes import render_console
from ardis_airflow.web.security import same_origin
from distribution.orders.overview import OrderFilter

router = APIRouter(prefix=CONSOLE, dependencies=[Depends(operator), Depends(same_origin)],
                   tags=["Ardis console"])


class StepAnswer(BaseModel):
    chosen_options: list[str]
    params_input: dict[str, str] = {}


def _form_answer(form: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The chosen option and the step's parameters, from the form that was sent."""
    match form.get("action"):
        case "load":
            return [form.get("drive", "")], {"media_serial": form.get("media_serial", "").strip()}
        case "ship":
            return [SHIPPED], {"carrier": form.get("carrier", "").strip(),
                               "tracking_number": form.get("tracking_number", "").strip(), "bad_media_id": ""}
        case "rewrite":
            return [REWRITE], {"carrier": "", "tracking_number": "",
                               "bad_media_id": form.get("bad_media_id", "").strip()}
    return [], {}


@router.post("/steps/answer", response_class=HTMLResponse)
async def answer_form(request: Request, user: Operator) -> Response:
    """Answer a step from the console's page; back to the page (303), or the page with the refusal on top."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    chosen, params = _form_answer(form)
    try:
        map_index = int(form.get("map_index", "-1"))
        # in a worker thread: the answer goes to this same server's API, which must stay free to take it
        step = await run_in_threadpool(steps.answer_step, form.get("dag_id", ""), form.get("run_id", ""),
                                       form.get("task_id", ""), map_index, chosen, params, str(user.get_name()),
                                       steps.operator_token(request))
    except ValueError:
        return render_console(request, user, OrderFilter(), "the form was not complete", 400)
    except steps.Refused as e:
        return render_console(request, user, OrderFilter(), e.message, e.status)
    # back to the page by GET (a reload sends nothing again); it says what the step's recorded answer is
    where = urlencode({"dag": step.dag_id, "run": step.run_id, "task": step.task_id,
                       "map_index": step.map_index})
    return RedirectResponse(f"{request.scope.get('root_path', '')}{CONSOLE}?{where}#steps", status.HTTP_303_SEE_OTHER)


@router.post("/api/steps/{dag_id}/{run_id}/{task_id}/{map_index}")
def answer_json(request: Request, user: Operator, dag_id: str, run_id: str, task_id: str, map_index: int,
                body: StepAnswer) -> dict[str, Any]:
    """Answer a step as the operator through Airflow's API; 409 "already answered by …"."""
    try:
        step = steps.answer_step(dag_id, run_id, task_id, map_index, body.chosen_options, body.params_input,
                                 str(user.get_name()), steps.operator_token(request))
    except steps.Refused as e:
        raise HTTPException(e.status, e.message) from e
    return {"answered": steps.describe(step, body.chosen_options, body.params_input)}
