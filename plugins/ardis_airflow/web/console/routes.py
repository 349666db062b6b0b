"""The console's pages and JSON, all operator-only (``access.operator``); GETs change nothing.

``GET /console`` is the page; ``/console/api/media/{kind}``, ``/console/api/orders``
and ``/console/api/ingest`` answer the same data as JSON.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ardis_airflow.names import MEDIA_DAGS
from ardis_airflow.web.console.access import CONSOLE, Operator, operator
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.ingest import glance
from distribution.models import MediaType, RequestState
from distribution.orders import overview
from distribution.shipping import queue

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
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


@router.get("", response_class=HTMLResponse)
def console_page(request: Request, user: Operator, where: overview.OrderFilter = Depends(order_filter)) -> Any:
    """The console: the drives and queue of each kind, every order, ingest at a glance."""
    context = {"user": user.get_name(), "media": [media_view(kind) for kind in MEDIA_DAGS],
               "orders": orders_view(where), "ingest": ingest_view(), "stages": STAGE_TITLES,
               "states": [s.value for s in RequestState], "methods": [m.value for m in MediaType],
               "where": {"state": where.state.value if where.state else "", "method": where.method.value if where.method
                         else "", "user_id": where.user_id, "collection": where.collection}}
    return templates.TemplateResponse(request, "console.html", context)


def install(app: FastAPI) -> None:
    """The console's routes (no static files: the style is in the page; ``web.app`` sends a page to the login)."""
    app.include_router(router)
