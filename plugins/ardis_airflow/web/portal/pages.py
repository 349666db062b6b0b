"""The portal's pages (``/ardis/portal/…``): search, a granule, the order form, my orders, an order.

Server-rendered with Jinja2; every route depends on ``current_user`` (the app
turns a page GET without a user into a redirect to Airflow's login page). GETs
change nothing; the order POST checks Origin/Referer (``same_origin``). Reads and
writes go through the domain (``distribution.catalog``, ``order_queries``,
``orders``): this module writes no SQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ardis_airflow.names import dag_for, request_run_id
from ardis_airflow.web.api import trigger_run
from ardis_airflow.web.portal.orderform import METHODS, blank_form, read_form
from ardis_airflow.web.portal.people import Viewer
from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.inventory.catalog import PAGE_SIZES, SORTS, FieldErrors, SearchQuery, collections, granule_detail, \
    parse_search, search_granules, visible_granule
from distribution.orders.cart import CART_LIMIT, cart_contents, remove_granules
from distribution.shipping.estimate import Estimate, estimate_order
from distribution.shipping.paperwork import packing_list_path
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.orders.queries import cancel_readable, order_details, readable_order, user_orders
from distribution.orders.placing import place_once

__all__ = ["BASE", "router", "search_fields", "show"]

HERE = Path(__file__).resolve().parent
#: Where the portal's pages are, inside the plugin app (mounted at /ardis).
BASE = "/portal"
templates = Jinja2Templates(directory=HERE / "templates")
_static = StaticFiles(directory=HERE / "static")
router = APIRouter(tags=["Ardis portal"], include_in_schema=False)


def show(request: Request, name: str, viewer: Viewer, code: int = 200, **context: Any) -> HTMLResponse:
    prefix = request.scope.get("root_path", "") + BASE
    return templates.TemplateResponse(request, name, {"viewer": viewer, "base": prefix,
                                                      "root": request.scope.get("root_path", ""),
                                                      "methods": METHODS, **context}, status_code=code)


#: The search form's fields (kept in page links and in "add every result to the cart").
search_fields = ("collection", "begin", "end", "text", "qualifier", "west", "east", "north", "south", "sort",
                 "order", "page", "page_size", "versions")


def _search_fields(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in search_fields}


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Search the inventory: a form and, once asked, a page of results."""
    settings = load_settings()
    fields = _search_fields(request)
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        errors: dict[str, str] = {}
        results = None
        try:
            query = parse_search(fields)
        except FieldErrors as e:
            errors, query = e.errors, SearchQuery()
        if fields and not errors:
            results = search_granules(session, settings, query, viewer.groups)
        paging = {k: v for k, v in fields.items() if k != "page"}
        here = request.scope.get("root_path", "") + BASE + "/" + ("?" + urlencode(fields) if fields else "")
        return show(request, "search.html", viewer, 400 if errors else 200, fields=fields, errors=errors,
                    results=results, collections=collections(session), page_sizes=PAGE_SIZES, sorts=SORTS,
                    page_link=lambda n: "?" + urlencode({**paging, "page": n}), here=here,
                    added=request.query_params.get("added"), cart_limit=CART_LIMIT)


@router.get("/granule", response_class=HTMLResponse)
def granule_page(request: Request, user: CurrentUser, ur: str = "") -> HTMLResponse:
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        try:
            detail = granule_detail(session, settings, ur, viewer.groups)
        except UserError as e:
            return show(request, "message.html", viewer, 404, title="Granule not found", message=str(e))
        return show(request, "granule.html", viewer, detail=detail, ur=ur)


@router.get("/order", response_class=HTMLResponse)
def order_form(request: Request, user: CurrentUser) -> HTMLResponse:
    """The order form for the granules named by ``granules`` (repeated), or those in the cart (``cart=1``),
    prefilled from the profile, with the estimated size and volumes."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        if refusal := _refusal(request, viewer):
            return refusal
        from_cart = request.query_params.get("cart") == "1"
        urs = [g.ur for g in cart_contents(session, settings, viewer.name, viewer.groups)] if from_cart \
            else request.query_params.getlist("granules")
        values = blank_form(user, viewer.record, urs)
        values["from_cart"] = from_cart
        return show(request, "order_form.html", viewer, values=values, errors={},
                    estimate=_estimate(session, urs, viewer.groups))


def _estimate(session: Session, urs: list[str], groups: set[str] | None) -> Estimate:
    ids = []
    for ur in urs:
        try:
            ids.append(visible_granule(session, ur, groups).id)
        except UserError:
            continue
    return estimate_order(session, ids)


def _refusal(request: Request, viewer: Viewer) -> HTMLResponse | None:
    if not viewer.valid_id:
        return show(request, "message.html", viewer, 403, title="No Ardis account",
                     message=f"Your Airflow username {viewer.name!r} cannot be an Ardis user id (1-32 letters, "
                             "digits, '.', '_' or '-'). Ask an operator for an Airflow account Ardis can use.")
    if not viewer.may_order:
        return show(request, "message.html", viewer, 403, title="You may not order",
                     message="Your Airflow account may not start Ardis's distribution runs, so it cannot place "
                             "orders. Ask an operator for the Airflow role that may run ardis_distribution.")
    return None


@router.post("/order", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def place_order(request: Request, user: CurrentUser) -> Response:
    """Check the form with the domain's rules, create the order once per form, start its runs, show it."""
    posted = await request.form()
    fields: dict[str, Any] = {k: v for k, v in posted.items() if isinstance(v, str)}
    fields["granules"] = [v for v in posted.getlist("granules") if isinstance(v, str)]
    return _place(request, user, fields, load_settings())


def _place(request: Request, user: Any, fields: dict[str, Any], settings: Settings) -> Response:
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        if refusal := _refusal(request, viewer):
            return refusal
        form = read_form(session, user, fields, viewer.groups)
        if not form.errors:
            assert form.contact is not None and form.spec is not None
            try:
                order, made = place_once(session, settings, form.contact, [form.spec], form.source,
                                         operator=viewer.operator)
            except UserError as e:
                form.complain(e)
            else:
                if not made:  # this form was sent before: its order
                    return RedirectResponse(f"{request.scope.get('root_path', '')}{BASE}/orders/{order.order_id}",
                                            status.HTTP_303_SEE_OTHER)
                if form.values.get("from_cart") in ("1", True):  # ordered: out of the cart
                    remove_granules(session, viewer.name, form.spec.granules)
                order_id, request_ids = str(order.order_id), [str(r.request_id) for r in order.requests]
        if form.errors:
            form.values["from_cart"] = form.values.get("from_cart") in ("1", True)
            return show(request, "order_form.html", viewer, 400, values=form.values, errors=form.errors,
                        estimate=_estimate(session, form.values["granules"], viewer.groups))
    for request_id in request_ids:
        try:
            trigger_run(request_id, user)
        except HTTPException:  # not parsed yet: the dispatcher DAG starts it within a minute
            pass
    return RedirectResponse(f"{request.scope.get('root_path', '')}{BASE}/orders/{order_id}?placed=1",
                            status.HTTP_303_SEE_OTHER)


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request, user: CurrentUser, page: int = 1) -> HTMLResponse:
    """My orders, newest first (an operator: everyone's)."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        rows, total = user_orders(session, viewer.owner, max(1, page), 25)
        return show(request, "orders.html", viewer, rows=rows, total=total, page=max(1, page),
                     pages=max(1, -(-total // 25)))


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, user: CurrentUser, order_id: str) -> HTMLResponse:
    """One order: each request's state and progress, files, the notices as sent, the pull area, the run."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        try:
            order = readable_order(session, order_id, viewer.owner)
        except NotFound as e:
            return show(request, "message.html", viewer, 404, title="Order not found", message=str(e))
        order_id = str(order.order_id)
        details = order_details(session, settings, order)
        for shown in details["requests"]:
            shown["run_id"] = run_id = shown["airflow_run_id"] or request_run_id(shown["request_id"])
            shown["run_link"] = f"/dags/{dag_for(shown['media_type'])}/runs/{quote(run_id, safe='')}"
            printed = [r for r in order.requests if str(r.request_id) == shown["request_id"]
                       and packing_list_path(settings, r).is_file()]
            shown["packing_list"] = (f"{request.scope.get('root_path', '')}{BASE}/orders/{order_id}/requests/"
                                     f"{shown['request_id']}/packing-list.pdf") if printed else None
        live = any(r["state"] not in ("complete", "partial", "failed", "cancelled") for r in details["requests"])
        return show(request, "order.html", viewer, order=details, live=live,
                     placed=request.query_params.get("placed") == "1")


@router.post("/orders/{order_id}/cancel", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
def cancel_page(request: Request, user: CurrentUser, order_id: str) -> Response:
    """Cancel the order's requests that have not finished (the owner's or an operator's); back to its page."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        try:
            cancel_readable(session, order_id, viewer.owner)
        except NotFound as e:
            return show(request, "message.html", viewer, 404, title="Order not found", message=str(e))
        except UserError as e:
            return show(request, "message.html", viewer, 409, title="Nothing to cancel", message=str(e))
    return RedirectResponse(f"{request.scope.get('root_path', '')}{BASE}/orders/{order_id}", status.HTTP_303_SEE_OTHER)


@router.get("/static/{name}")
async def static(request: Request, user: CurrentUser, name: str) -> Response:
    """The portal's CSS and JavaScript (behind the login, as every route of the app)."""
    return await _static.get_response(name, request.scope)
