"""One request in the console (``/console/requests/{id}``): what its user sees, plus its run and the actions.

The page shows the request as the portal's order page does (state, progress,
granules, pull area, shipment, the notices as sent), the link to its Airflow run,
each task's state and the last error each step left, and the operator's actions:
cancel, retry a failed request, resend the DN, extend the pull area
(``distribution.orders.operations``).
The actions are POSTs (Origin checked, operators only) that come back to the page
with what happened on top.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ardis_airflow.connections import notice_transport
from ardis_airflow.names import dag_for, request_run_id
from ardis_airflow.web.console import airflow_api, steps
from ardis_airflow.web.console.access import CONSOLE, Operator, operator
from ardis_airflow.web.console.routes import templates, waiting
from ardis_airflow.web.security import same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import ArdisError, NotFound, UserError
from distribution.notices.outbox import send_pending
from distribution.orders import operations
from distribution.orders.placing import get_request
from distribution.orders.queries import order_details
from distribution.shipping import paperwork

router = APIRouter(prefix=CONSOLE + "/requests", dependencies=[Depends(operator)], tags=["Ardis console"])
#: Where a retry starts again in the request's run: its first step (which checks the destination's
#: connection again); the steps after it take up only what is not done (delivered granules stay delivered).
RETRY_FROM = "begin"


def _view(request_id: str) -> dict[str, Any]:
    """The request as its user sees it, its run and tasks, and each step's last error; NotFound."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        details = order_details(session, settings, request.order)
        [shown] = [r for r in details["requests"] if r["request_id"] == request_id]
        errors = operations.step_errors(session, request_id)
        retried = request.media_type.is_electronic and (request.state in operations.RETRIED or
                                                        operations.unsent_retry(session, request) is not None)
        attempt = request.attempt
        tried = [{"attempt": t.attempt, "by": t.requested_by, "at": t.requested_at, "before": t.previous_failure,
                  "sent": t.sent_at} for t in operations.retries(session, request_id)]
    dag_id = dag_for(shown["media_type"])
    run_id = shown["airflow_run_id"] or request_run_id(request_id)
    tasks = steps.run_tasks(dag_id, run_id)
    in_run = {t.task_id.split(".")[-1] for t in tasks}
    return {"order": details, "r": shown, "attempt": attempt, "retriable": retried, "retries": tried, "dag_id": dag_id,
            "run_id": run_id, "errors": errors, "tasks": tasks,
            "other_errors": {step: why for step, why in errors.items() if step not in in_run},
            "run_link": f"/dags/{dag_id}/runs/{quote(run_id, safe='')}",
            "packing_list": paperwork.packing_list_file(settings, request_id) is not None}


def _page(request: Request, user: Any, request_id: str, message: str = "", code: int = 200) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    context: dict[str, Any] = {"user": user.get_name(), "base": root + CONSOLE, "static": root + "/portal/static",
                               "portal": root + "/portal", "steps": [], "message": message, "code": code,
                               "extend_max": operations.MAX_EXTENSION_DAYS}
    try:
        context.update(_view(request_id))
        context["steps"] = waiting()[0]
    except NotFound as e:
        return templates.TemplateResponse(request, "request.html", {**context, "message": str(e), "code": 404,
                                                                    "r": None}, status_code=404)
    return templates.TemplateResponse(request, "request.html", context, status_code=code)


@router.get("/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, user: Operator, request_id: str) -> HTMLResponse:
    """The request: the user's view, its Airflow run and tasks, the last error of each step, the actions."""
    return _page(request, user, request_id)


def retry(request_id: str, operator_name: str, token: str) -> tuple[int, str]:
    """Retry a failed request: recorded in Ardis first, then its run's steps cleared in Airflow as the operator.

    The same run is run again (``clearTaskInstances`` on ``request-<id>``, from ``begin``
    with everything downstream) rather than a new run: the run id stays the request's own
    (the page, the dispatcher and the user's order page find it, one run per request), and
    Airflow keeps the first attempt's tries and logs beside the new ones. Clearing only the
    failed tasks (``only_failed``) is not enough: ``notify`` succeeded with the failure DN and
    must run again to send the new attempt's DN (``notify.dn_key``), and a finished request's
    staging may be purged (``stage`` links it again); the steps skip what is done, so
    delivered granules are not sent twice. (HTTP status, sentence for the page).
    """
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        attempt = operations.retry_request(session, request_id, operator_name)
        r = get_request(session, request_id)
        dag_id, run_id = dag_for(r.media_type.value), r.airflow_run_id or request_run_id(request_id)
        number, retry_id = attempt.attempt, attempt.id
    status, detail = airflow_api.call("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", {
        "dry_run": False, "dag_run_id": run_id, "task_ids": [RETRY_FROM], "include_downstream": True,
        "only_failed": False, "reset_dag_runs": True,
        "note": f"Request {request_id}: attempt {number}, retried by {operator_name}"}, token)
    if status >= 300:
        return (status if status in (403, 404) else 502,
                f"attempt {number} of request {request_id} is recorded, but Airflow did not run it: {detail} "
                "(retry again to resend)")
    with session_scope(settings.database_url) as session:
        operations.mark_retry_sent(session, retry_id)
    return 200, f"Request {request_id} is retried (attempt {number}): its run {run_id} goes again from {RETRY_FROM}"


@router.post("/{request_id}/{action}", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def request_action(request: Request, user: Operator, request_id: str, action: str) -> HTMLResponse:
    """``cancel``, ``retry``, ``resend`` (the DN) or ``extend`` (the pull area, ``days``); the page with the outcome."""
    form = await request.form()
    if action == "retry":
        try:  # in a worker thread: Airflow's API is this same server, which must stay free to answer
            code, said = await run_in_threadpool(retry, request_id, str(user.get_name()), steps.operator_token(request))
        except (UserError, NotFound) as e:
            return _page(request, user, request_id, str(e), 409 if isinstance(e, UserError) else 404)
        return _page(request, user, request_id, said, code)
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            if action == "cancel":
                operations.cancel_request(session, request_id)
                done = f"Request {request_id} cancelled: its run sends the cancellation notice"
            elif action == "resend":
                notice_id = operations.resend_notice(session, request_id).id
                done = f"The notice of request {request_id} is sent again"
            elif action == "extend":
                until = operations.extend_pull_area(session, request_id, int(str(form.get("days") or 0)))
                done = f"The pull area of request {request_id} is kept until {until:%Y-%m-%d %H:%M} UTC"
            else:
                return _page(request, user, request_id, f"no action {action!r}", 404)
        if action == "resend":
            send_pending(settings.database_url, notice_transport(settings), notice_ids=[notice_id],
                         mail_from=settings.mail_from)
    except (UserError, NotFound) as e:
        return _page(request, user, request_id, str(e), 409 if isinstance(e, UserError) else 404)
    except ValueError:
        return _page(request, user, request_id, "days: a whole number", 400)
    except ArdisError as e:  # the mail relay refused: the notice stays in the outbox, housekeeping retries it
        return _page(request, user, request_id, f"queued, not sent yet: {e}", 502)
    return _page(request, user, request_id, done)
