"""Every subscription in the console (``/console/subscriptions``): list by user and state, create for any
user, update, cancel, and backfill: a preview of how many granules would fire, then the operator confirms.

Operators only (``access.operator``). The pages are the portal's subscription
templates inside the console's look (``web.subscribing``). A backfill is the
operator's door the ICD allows (never by e-mail): ``?since=…`` on the
subscription's page counts what it would fire (``dispatch.preview_backfill``),
``POST …/backfill`` fires it, starts the runs of the orders it placed, and comes
back to the page, which says what the history recorded.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ardis_airflow.web.api import trigger_run
from ardis_airflow.web.console.access import CONSOLE, Operator, operator
from ardis_airflow.web.console.routes import waiting
from ardis_airflow.web.security import same_origin
from ardis_airflow.web.subscribing import PORTAL_TEMPLATES, Door, cancel, create, detail_page, list_page, new_page, \
    posted, update
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.notices.outbox import OutboxFolder
from distribution.subscriptions.dispatch import BackfillPreview, backfill, preview_backfill
from distribution.subscriptions.forms import form_values
from distribution.subscriptions.models import SubscriptionHistory

__all__ = ["router"]

PREFIX = CONSOLE + "/subscriptions"
# The console's base.html first, then the portal's subscription pages and macros.
templates = Jinja2Templates(directory=[Path(__file__).resolve().parent / "templates", PORTAL_TEMPLATES])
router = APIRouter(dependencies=[Depends(operator)], tags=["Ardis console"])


def _door(request: Request, user: Any) -> Door:
    root = request.scope.get("root_path", "")
    return Door(request, templates, PREFIX, None, f"console:{user.get_name()}",
                {"user": user.get_name(), "base": root + CONSOLE, "static": root + "/portal/static",
                 "portal": root + "/portal", "steps": waiting()[0], "message": "", "code": 200,
                 "nav": "subscriptions"})


def _since(text: str) -> datetime | None:
    """``since`` as a date or date and time (UTC); None when empty; 422 when it is not one."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"since: a date such as 2026-01-31, "
                                                                  f"not {text[:40]!r}") from e


def preview(subscription_id: int, since: datetime | None) -> BackfillPreview:
    """How many granules a backfill would fire; NotFound, or UserError for a cancelled subscription."""
    with session_scope(load_settings().database_url) as session:
        return preview_backfill(session, subscription_id, since)


@router.get(PREFIX, response_class=HTMLResponse)
def subscriptions_page(request: Request, user: Operator, user_id: str = "", state: str = "") -> HTMLResponse:
    """Every subscription, filtered by subscriber and state."""
    return list_page(_door(request, user), user_id, state)


@router.get(PREFIX + "/new", response_class=HTMLResponse)
def new_subscription(request: Request, user: Operator, user_id: str = "") -> HTMLResponse:
    """The form for a subscription of any user (one the archive does not know yet is registered from it)."""
    return new_page(_door(request, user), form_values(user_id=user_id))


@router.post(PREFIX, response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def subscribe(request: Request, user: Operator) -> Response:
    return create(_door(request, user), await posted(request), create_user=True)


@router.get(PREFIX + "/{subscription_id}", response_class=HTMLResponse)
def subscription_page(request: Request, user: Operator, subscription_id: int, ack: int | None = None,
                      since: str | None = None, backfilled: int | None = None) -> HTMLResponse:
    """A subscription with the operator's backfill: ``since`` given, the preview of what it would fire."""
    extra: dict[str, Any] = {"since": since or ""}
    if since is not None:
        try:
            extra["preview"] = preview(subscription_id, _since(since))
        except NotFound:
            pass  # the page says so
        except UserError as e:
            extra["problem"] = str(e)
        except HTTPException as e:  # not a date
            extra["problem"] = str(e.detail)
    if backfilled:
        with session_scope(load_settings().database_url) as session:
            row = session.get(SubscriptionHistory, backfilled)
            if row is not None and row.subscription_id == subscription_id and row.action == "backfilled":
                extra["backfilled"] = dict(row.detail)
    return detail_page(_door(request, user), subscription_id, ack, **extra)


@router.get(CONSOLE + "/api/subscriptions/{subscription_id}/backfill")
def preview_json(user: Operator, subscription_id: int, since: str = "") -> Any:
    """The backfill's preview as JSON: granules since then, matching, already fired, withheld, would fire."""
    try:
        return jsonable_encoder(preview(subscription_id, _since(since)))
    except NotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    except UserError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e


@router.post(PREFIX + "/{subscription_id}", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def change(request: Request, user: Operator, subscription_id: int) -> Response:
    return update(_door(request, user), subscription_id, await posted(request))


@router.post(PREFIX + "/{subscription_id}/cancel", response_class=HTMLResponse,
             dependencies=[Depends(same_origin)])
def cancel_any(request: Request, user: Operator, subscription_id: int) -> Response:
    return cancel(_door(request, user), subscription_id)


@router.post(PREFIX + "/{subscription_id}/backfill", response_class=HTMLResponse,
             dependencies=[Depends(same_origin)])
async def backfill_now(request: Request, user: Operator, subscription_id: int) -> Response:
    """Fire for the archive's granules since ``since`` (the preview's), start the orders' runs; back to the page."""
    since = _since((await posted(request)).get("since", ""))
    # in a worker thread: a backfill of many granules must not hold up the api-server's other requests
    return await run_in_threadpool(_backfill, _door(request, user), user, subscription_id, since)


def _backfill(door: Door, user: Any, subscription_id: int, since: datetime | None) -> Response:
    settings = load_settings()
    # Without an SMTP connection the notices go to the outbox folder now; with one, ardis_housekeeping sends them.
    transport = OutboxFolder(settings.outbox_dir) if not settings.smtp_conn_id else None
    try:
        result = backfill(settings, subscription_id, actor=door.actor, since=since, transport=transport)
    except NotFound as e:
        return door.missing(e)
    except UserError as e:
        return detail_page(door, subscription_id, code=409, problem=str(e))
    for r in result.requests:
        try:
            trigger_run(r.request_id, user)
        except HTTPException:  # not parsed yet, or not theirs to run: the dispatcher DAG starts it
            pass
    return RedirectResponse(f"{door.here}/{subscription_id}?backfilled={result.history_id or 0}",
                            status.HTTP_303_SEE_OTHER)
