"""The console's scientific-validation queue (seed 000 "9. Validate Release (scientific)", issue 17 items 6 and 9).

Operators only (``access.operator``). ``GET /console/phase3`` is the page and
``/console/api/phase3`` its JSON: the Phase 3 releases whose ``ardis_phase3_release``
run waits at its scientific validation, with program, collection, release, PI,
files, size, how long it has waited and its validator report
(``/console/phase3/releases/{id}/report/{name}``). An operator approves (→
ToBeArchived) or rejects with a reason (→ Error and a notice to the PI): ``POST
/console/phase3/answer`` (the page's forms) or ``POST /console/api/phase3/releases/{id}``
(scripts). The answer is the run's step's, given the way ``steps`` gives every
answer: recorded in Ardis first, then sent to Airflow's own HITL API as the
operator; a second answer gets 409 "already answered by …". The run moves the
release (``workflow.scientific_answer``), not this page.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from ardis_airflow.names import PHASE3_RELEASE_DAG
from ardis_airflow.phase3_steps import SCIENTIFIC_TASK
from ardis_airflow.web.console import steps
from ardis_airflow.web.console.access import CONSOLE, Operator, operator
from ardis_airflow.web.console.routes import templates, waiting
from ardis_airflow.web.security import same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound
from distribution.phase3.releases import get_release
from distribution.phase3.scientific import report_file, waiting_release
from distribution.phase3.workflow import APPROVE, REJECT
from distribution.time import naive_utc, utcnow

PAGE = CONSOLE + "/phase3"
router = APIRouter(prefix=CONSOLE, dependencies=[Depends(operator)], tags=["Ardis console"])
acts = APIRouter(prefix=CONSOLE, dependencies=[Depends(operator), Depends(same_origin)], tags=["Ardis console"])


class Decision(BaseModel):
    decision: str  # Approve | Reject
    reason: str = ""


def queue() -> tuple[list[dict[str, Any]], str]:
    """The releases waiting for the scientists, oldest first, and why Airflow's steps are unknown ('' if known)."""
    try:
        found = [s for s in steps.waiting_steps([PHASE3_RELEASE_DAG]) if s.action == "scientific"]
    except SQLAlchemyError as e:  # Airflow's database is the api-server's own: say so
        return [], f"the steps waiting in Airflow could not be read ({type(e).__name__})"
    settings, now, lines = load_settings(), utcnow(), []
    with session_scope(settings.database_url) as session:
        for step in found:
            try:
                line = waiting_release(session, settings, step.release_id)
            except NotFound:
                continue  # a run for a release this database does not have: Airflow's UI answers it
            since = line.valid_since or naive_utc(step.created_at) or now
            lines.append({**asdict(line), "run_id": step.run_id, "subject": step.subject,
                          "age_seconds": max(0, int((now - since).total_seconds()))})
    return lines, ""


def _render(request: Request, user: Any, message: str = "", code: int = 200) -> HTMLResponse:
    lines, unknown = queue()
    media, _ = waiting()
    root = request.scope.get("root_path", "")
    context = {"user": user.get_name(), "queue": lines, "queue_unknown": unknown, "steps": media,
               "message": message, "code": code, "base": root + CONSOLE, "static": root + "/portal/static",
               "portal": root + "/portal", "approve": APPROVE, "reject": REJECT}
    return templates.TemplateResponse(request, "scientific.html", context, status_code=code)


@router.get("/phase3", response_class=HTMLResponse)
def queue_page(request: Request, user: Operator, release: int = 0) -> HTMLResponse:
    """The queue; after an answer (``release``) it says the answer recorded for that release's step."""
    return _render(request, user, _answered(release) if release else "")


@router.get("/api/phase3")
def queue_json(user: Operator) -> Any:
    """The releases waiting for the scientific validation."""
    lines, unknown = queue()
    return jsonable_encoder({"count": len(lines), "unknown": unknown, "releases": lines})


@router.get("/phase3/releases/{release_id}/report/{name}")
def report(release_id: int, name: str, user: Operator) -> FileResponse:
    """The automatic validation's ``validator.toc``, ``validator.error`` or ``validator.log`` (plain text)."""
    try:
        path = report_file(load_settings(), release_id, name)
    except NotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    return FileResponse(path, media_type="text/plain; charset=utf-8", content_disposition_type="inline",
                        filename=name)


def _run_of(release_id: int) -> str:
    """The release's validation run (Ardis keeps it); Refused 404 when there is none."""
    try:
        with session_scope(load_settings().database_url) as session:
            run_id = get_release(session, release_id).airflow_run_id
    except NotFound as e:
        raise steps.Refused(404, str(e)) from e
    if not run_id:
        raise steps.Refused(404, f"Phase 3 release {release_id} has no validation run waiting")
    return run_id


def answer(release_id: int, decision: str, reason: str, user: Any, token: str) -> steps.Step:
    """Answer the release's scientific validation as the operator (``steps.answer_step``); Refused."""
    if decision not in (APPROVE, REJECT):
        raise steps.Refused(400, f"the scientific validation answers {APPROVE} or {REJECT}")
    params = {"reason": reason.strip()}
    return steps.answer_step(PHASE3_RELEASE_DAG, _run_of(release_id), SCIENTIFIC_TASK, -1, [decision], params,
                             str(user.get_name()), token)


def _answered(release_id: int) -> str:
    try:
        return steps.answered(PHASE3_RELEASE_DAG, _run_of(release_id), SCIENTIFIC_TASK, -1)
    except steps.Refused:
        return ""


@acts.post("/phase3/answer", response_class=HTMLResponse)
async def answer_form(request: Request, user: Operator) -> Response:
    """The page's Approve and Reject forms; back to the page (303) saying the answer, or the refusal on top."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    raw = form.get("release_id", "")
    if not raw.isdigit():
        return _render(request, user, "the form was not complete", 400)
    try:
        # in a worker thread: the answer goes to this same server's API, which must stay free to take it
        await run_in_threadpool(answer, int(raw), form.get("decision", ""), form.get("reason", ""), user,
                                steps.operator_token(request))
    except steps.Refused as e:
        return _render(request, user, e.message, e.status)
    where = urlencode({"release": raw})
    return RedirectResponse(f"{request.scope.get('root_path', '')}{PAGE}?{where}", status.HTTP_303_SEE_OTHER)


@acts.post("/api/phase3/releases/{release_id}")
def answer_json(request: Request, user: Operator, release_id: int, body: Decision) -> dict[str, Any]:
    """Approve, or Reject with a reason, through Airflow's API as the operator; 409 "already answered by …"."""
    try:
        step = answer(release_id, body.decision, body.reason, user, steps.operator_token(request))
    except steps.Refused as e:
        raise HTTPException(e.status, e.message) from e
    return {"answered": steps.describe(step, [body.decision], {"reason": body.reason.strip()})}
