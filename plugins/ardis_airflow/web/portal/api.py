"""The portal's data as JSON (``/ardis/api/search``, ``/ardis/api/orders``, ``/ardis/api/orders/{id}``,
``POST /ardis/api/orders/{id}/cancel``).

Same rules as the pages (``people.Viewer``): a user reads their own orders and
the granules they may see; an operator everything. Scripts send a Bearer token.
To place an order, a script posts the order form (``/ardis/portal/order``) with
its Bearer token and any 24-hex-digit ``token`` of its own (the same token twice
finds the first order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from ardis_airflow.web.portal.people import Viewer
from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.inventory.catalog import FieldErrors, parse_search, search_granules
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.orders.queries import cancel_readable, order_details, readable_order, user_orders

__all__ = ["router"]

router = APIRouter(tags=["Ardis portal"])


@router.get("/search")
def search(request: Request, user: CurrentUser) -> dict[str, Any]:
    """Granules by ``collection``, ``begin``/``end`` (overlap), ``text`` (LocalGranuleID part or UR),
    ``qualifier``, ``page``, ``page_size``; 400 names each wrong field."""
    settings = load_settings()
    try:
        query = parse_search(dict(request.query_params))
    except FieldErrors as e:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, {"errors": e.errors}) from e
    with session_scope(settings.database_url) as session:
        page = search_granules(session, settings, query, Viewer(user, session).groups)
    return {"total": page.total, "truncated": page.truncated, "page": query.page, "pages": page.pages,
            "granules": [{**g.__dict__, "begin": _iso(g.begin), "end": _iso(g.end), "inserted": _iso(g.inserted),
                          "proprietary_until": _iso(g.proprietary_until)} for g in page.granules]}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@router.get("/orders")
def orders(user: CurrentUser, page: int = 1) -> dict[str, Any]:
    """Your orders, newest first, 25 a page (an operator: everyone's)."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        rows, total = user_orders(session, Viewer(user, session).owner, max(1, page), 25)
    return {"total": total, "page": max(1, page),
            "orders": [{"order_id": r.order_id, "user": r.user_id, "created": _iso(r.created),
                        "requests": [{"request_id": i, "media_type": m, "state": s} for i, m, s in r.requests]}
                       for r in rows]}


def _on_order(user: Any, act: Callable[[Session, Settings, str | None], Any]) -> Any:
    """``act`` on an order as ``user`` may (their own; an operator any): 404 for another's, 409 a refusal."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        try:
            return act(session, settings, Viewer(user, session).owner)
        except NotFound as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
        except UserError as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e


@router.get("/orders/{order_id}")
def order(user: CurrentUser, order_id: str) -> dict[str, Any]:
    """One order with each request's state, progress, files, pull area and notices; 404 if it is not yours."""
    return _on_order(user, lambda session, settings, owner: order_details(
        session, settings, readable_order(session, order_id, owner)))


@router.post("/orders/{order_id}/cancel", dependencies=[Depends(same_origin)])
def cancel(user: CurrentUser, order_id: str) -> dict[str, Any]:
    """Cancel the order's unfinished requests (their runs send the cancellation DN); 404 if it is not yours,
    409 when nothing is left to cancel."""
    cancelled = _on_order(user, lambda session, _settings, owner: cancel_readable(session, order_id, owner))
    return {"order_id": order_id, "cancelled": cancelled}
