"""The console's pages and JSON, all operator-only (``access.operator``); GETs change nothing.

``GET /console`` is the page; ``/console/api/media/{kind}``, ``/console/api/orders``,
``/console/api/ingest`` and ``/console/api/steps`` answer the same data as JSON;
``/console/requests/{id}/packing-list.pdf`` is a request's packing list. What an
operator does (POST) is in ``actions``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from ardis_airflow.names import MEDIA_DAGS
from ardis_airflow.web.console import steps
from ardis_airflow.web.console.access import CONSOLE, Operator, operator
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound
from distribution.ingest import glance
from distribution.models import MediaType, RequestState
from distribution.orders import overview
from distribution.shipping import paperwork, queue

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
_static = StaticFiles(directory=HERE / "static")
router = APIRouter(prefix=CONSOLE, dependencies=[Depends(operator)], tags=["Ardis console"])
STAGE_TITLES = {"to_build": "Waiting to be built", "blank_media": "Waiting for blank media",
                "writing": "Being written", "read_back": "Being read back", "shipment": "Waiting for shipment"}


def _kind(kind: str) -> str:
    if kind not in MEDIA_DAGS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no drive kind {kind!r} (optical, tape)")
    return kind


def media_view(kind: str) -> dict[str, Any]:
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        lines = queue.media_queue(session, kind)
        drives = queue.drive_states(session, settings, kind)
    return {"kind": kind, "drives": [asdict(d) for d in drives],
            "queue": {stage: [asdict(v) for v in volumes] for stage, volumes in lines.items()}}


def orders_view(where: overview.OrderFilter) -> dict[str, Any]:
    with session_scope(load_settings().database_url) as session:
        counts = overview.counts(session)
        lines = overview.list_requests(session, where)
    return {"counts": asdict(counts), "requests": [asdict(line) for line in lines]}


def ingest_view() -> dict[str, Any]:
    with session_scope(load_settings().database_url) as session:
        return {"providers": [asdict(p) for p in glance.providers(session)],
                "pdrs_today": [asdict(p) for p in glance.pdrs_today(session)],
                "owed": [asdict(o) for o in glance.answers_owed(session)]}


def order_filter(state: str = "", method: str = "", user: str = "", since: datetime | None = None,
                 until: datetime | None = None, collection: str = "") -> overview.OrderFilter:
    try:
        return overview.OrderFilter(state=RequestState(state) if state else None,
                                    method=MediaType(method) if method else None,
                                    user_id=user, since=since, until=until, collection=collection)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from e


@router.get("/api/media/{kind}")
def media_json(kind: str, user: Operator) -> Any:
    """The drives of ``kind`` (optical | tape) and its queue, stage by stage."""
    return jsonable_encoder(media_view(_kind(kind)))


@router.get("/api/orders")
def orders_json(user: Operator, where: overview.OrderFilter = Depends(order_filter)) -> Any:
    """The counts at the top and the requests the filters select (state, method, user, since, until, collection)."""
    return jsonable_encoder(orders_view(where))


@router.get("/api/ingest")
def ingest_json(user: Operator) -> Any:
    """Providers and their last poll, today's PDRs, the PANs and PDRDs still owed."""
    return jsonable_encoder(ingest_view())


def waiting() -> tuple[list[steps.Step], str]:
    """The steps waiting for a person, and why they are unknown ('' when known)."""
    try:
        return steps.waiting_steps(), ""
    except SQLAlchemyError as e:  # Airflow's database is the api-server's own: say so, show the rest
        return [], f"the steps waiting in Airflow could not be read ({type(e).__name__})"


def render_console(request: Request, user: Any, where: overview.OrderFilter, message: str = "",
                   code: int = 200) -> HTMLResponse:
    """The console page; ``message`` the outcome of an action (409: someone was quicker)."""
    found, unknown = waiting()
    settings = load_settings()
    media = [media_view(kind) for kind in MEDIA_DAGS]
    shipping = {v["request_id"] for m in media for v in m["queue"]["shipment"]} | {
        s.request_id for s in found if s.action == "ship" and s.request_id}
    root = request.scope.get("root_path", "")
    context = {"user": user.get_name(), "media": media, "steps": found, "steps_unknown": unknown,
               "loads": {s.media_id: s for s in found if s.action == "load"},
               "packing_lists": {r for r in shipping if paperwork.packing_list_file(settings, r) is not None},
               "message": message, "code": code, "base": root + CONSOLE, "static": root + "/portal/static",
               "portal": root + "/portal",
               "orders": orders_view(where), "ingest": ingest_view(), "stages": STAGE_TITLES,
               "states": [s.value for s in RequestState], "methods": [m.value for m in MediaType],
               "where": {"state": where.state.value if where.state else "", "method": where.method.value if where.method
                         else "", "user_id": where.user_id, "collection": where.collection}}
    return templates.TemplateResponse(request, "console.html", context, status_code=code)


@router.get("", response_class=HTMLResponse)
def console_page(request: Request, user: Operator, where: overview.OrderFilter = Depends(order_filter),
                 dag: str = "", run: str = "", task: str = "", map_index: int = -1) -> Any:
    """The console: steps waiting for a person, the drives and queue of each kind, every order, ingest.

    After an answer (``dag``, ``run``, ``task``, ``map_index`` name the step) it says the answer recorded for it.
    """
    said = steps.answered(dag, run, task, map_index) if dag and run and task else ""
    return render_console(request, user, where, said)


@router.get("/api/steps")
def steps_json(user: Operator) -> Any:
    """The media steps waiting for a person (the badge counts them)."""
    found, unknown = waiting()
    return jsonable_encoder({"count": len(found), "unknown": unknown,
                             "steps": [{**asdict(s), "action": s.action} for s in found]})


@router.get("/requests/{request_id}/packing-list.pdf")
def packing_list(request_id: str, user: Operator) -> FileResponse:
    """The request's packing list as printed (PDF); 404 while it has none."""
    try:
        path = paperwork.packing_list_file(load_settings(), request_id)
    except NotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"request {request_id} has no packing list yet")
    return FileResponse(path, media_type="application/pdf", filename=f"packing-list-{request_id}.pdf",
                        content_disposition_type="inline")


@router.get("/static/{name}")
async def static(request: Request, user: Operator, name: str) -> Response:
    """The console's stylesheet (on top of the portal's)."""
    return await _static.get_response(name, request.scope)
