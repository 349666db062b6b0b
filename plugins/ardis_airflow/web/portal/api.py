"""The portal's data as JSON (``/ardis/api/search``, ``/ardis/api/orders``, ``/ardis/api/orders/{id}``,
``POST /ardis/api/orders/{id}/cancel``, ``/ardis/api/cart`` with ``POST …/cart/add`` and ``…/cart/remove``).

Same rules as the pages (``people.Viewer``): a user reads their own orders and
the granules they may see; an operator everything. Scripts send a Bearer token.
To place an order, a script posts the order form (``/ardis/portal/order``) with
its Bearer token and any 24-hex-digit ``token`` of its own (the same token twice
finds the first order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from ardis_airflow.web.portal.people import Viewer
from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.inventory.catalog import FieldErrors, GranuleSummary, parse_search, search_granules
from distribution.orders.cart import CART_LIMIT, add_granules, add_search, cart_contents, remove_granules
from distribution.shipping.estimate import estimate_order
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.orders.profile import profile_values, save_profile
from distribution.orders.queries import cancel_readable, order_details, readable_order, user_orders

__all__ = ["router"]

router = APIRouter(tags=["Ardis portal"])


@router.get("/search")
def search(request: Request, user: CurrentUser) -> dict[str, Any]:
    """Granules by ``collection``, ``begin``/``end`` (overlap), ``text`` (LocalGranuleID part or UR),
    ``qualifier``, the box ``west``/``east``/``north``/``south`` (degrees; west > east crosses the
    antimeridian), ``sort`` (inserted, time, size, id) and ``order`` (asc, desc), ``page``, ``page_size``;
    400 names each wrong field. ``total`` is counted up to 10,000 (``truncated``: more)."""
    settings = load_settings()
    try:
        query = parse_search(dict(request.query_params))
    except FieldErrors as e:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, {"errors": e.errors}) from e
    with session_scope(settings.database_url) as session:
        page = search_granules(session, settings, query, Viewer(user, session).groups)
    return {"total": page.total, "truncated": page.truncated, "page": query.page, "pages": page.pages,
            "granules": _granules(page.granules)}


def _granules(rows: list[GranuleSummary]) -> list[dict[str, Any]]:
    return [{**g.__dict__, "begin": _iso(g.begin), "end": _iso(g.end), "inserted": _iso(g.inserted),
             "proprietary_until": _iso(g.proprietary_until)} for g in rows]


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


def _cart(session: Session, settings: Settings, viewer: Viewer) -> dict[str, Any]:
    granules = cart_contents(session, settings, viewer.name, viewer.groups) if viewer.valid_id else []
    estimate = estimate_order(session, [int(g.ur.rsplit(":", 1)[1]) for g in granules])
    return {"granules": _granules(granules), "limit": CART_LIMIT,
            "estimate": {"granules": estimate.granules, "files": estimate.files, "bytes": estimate.bytes,
                         "volumes": estimate.volumes}}


@router.get("/cart")
def cart(user: CurrentUser) -> dict[str, Any]:
    """Your cart: its granules, their size, and the volumes each medium would take (null: a granule too large)."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        return _cart(session, settings, Viewer(user, session))


@router.post("/cart/add", dependencies=[Depends(same_origin)])
def cart_add(user: CurrentUser, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Add ``{"granules": [UR, …]}``, or every result of ``{"search": {field: value, …}}`` up to the cart's
    limit (the fields of ``GET /search``); 404 for a granule you may not see, 409 past the limit."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        try:
            if "search" in body:
                query = parse_search({str(k): str(v) for k, v in dict(body["search"]).items()})
                added = add_search(session, viewer.name, query, viewer.groups)
            else:
                added = add_granules(session, viewer.name, [str(u) for u in body.get("granules", [])], viewer.groups)
        except FieldErrors as e:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, {"errors": e.errors}) from e
        except NotFound as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
        except UserError as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
        return {"added": added, **_cart(session, settings, viewer)}


@router.post("/cart/remove", dependencies=[Depends(same_origin)])
def cart_remove(user: CurrentUser, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Remove ``{"granules": [UR, …]}``, or everything (``{"all": true}``)."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        urs = None if body.get("all") else [str(u) for u in body.get("granules", [])]
        return {"removed": remove_granules(session, viewer.name, urs), **_cart(session, settings, viewer)}


@router.get("/profile")
def profile(user: CurrentUser) -> dict[str, Any]:
    """Your details as orders use them (empty until you save them or place an order)."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        return {"user_id": viewer.name, "exists": viewer.record is not None, **profile_values(viewer.record)}


@router.post("/profile", dependencies=[Depends(same_origin)])
def profile_save(user: CurrentUser, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Save every field (``email``, ``first_name``, ``last_name``, ``organization``, ``phone``,
    ``shipping_address``, ``checksum_list``) as given; 400 names each wrong field."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        if not viewer.valid_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{viewer.name!r} cannot be an Ardis user id")
        try:
            record = save_profile(session, viewer.name, {**body, "checksum_list": bool(body.get("checksum_list"))})
        except FieldErrors as e:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, {"errors": e.errors}) from e
        return {"user_id": viewer.name, "exists": True, **profile_values(record)}
