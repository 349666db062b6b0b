"""The portal user's own things: the cart (``/portal/cart``), the profile (``/portal/profile``) and a media
request's packing list PDF (``/portal/orders/{order}/requests/{request}/packing-list.pdf``).

The cart and the profile are Ardis's (``distribution.orders.cart`` / ``.profile``);
here they are read from forms and shown. Every state change is a same-origin POST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ardis_airflow.web.portal.pages import BASE, search_fields, show
from ardis_airflow.web.portal.people import Viewer
from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.inventory.catalog import FieldErrors, parse_search
from distribution.orders import cart
from distribution.orders.profile import profile_values, save_profile
from distribution.orders.queries import readable_order
from distribution.shipping.estimate import estimate_order
from distribution.shipping.paperwork import packing_list_path

__all__ = ["router"]

router = APIRouter(tags=["Ardis portal"], include_in_schema=False)


def _back(request: Request, fallback: str, **flags: Any) -> str:
    """Where to go after a change: the page the form came from (this portal's only), with ``flags`` added."""
    root = request.scope.get("root_path", "") + BASE
    wanted = str(request.query_params.get("next", ""))
    target = wanted if wanted.startswith(root + "/") and not urlsplit(wanted).netloc else root + fallback
    extra = "&".join(f"{k}={v}" for k, v in flags.items())
    return target + (("&" if "?" in target else "?") + extra if extra else "")


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """The cart: its granules, their size, and how many discs or tapes they would take."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        granules = cart.cart_contents(session, settings, viewer.name, viewer.groups) if viewer.valid_id else []
        estimate = estimate_order(session, [int(g.ur.rsplit(":", 1)[1]) for g in granules])
        return show(request, "cart.html", viewer, granules=granules, estimate=estimate, limit=cart.CART_LIMIT,
                    notice=request.query_params.get("added") or request.query_params.get("removed"))


@router.post("/cart/add", dependencies=[Depends(same_origin)])
async def cart_add(request: Request, user: CurrentUser) -> Response:
    """Add the chosen granules (``granules``), a page of them (``what=page``: ``page_granules``) or every result
    of the search in the form's fields (``what=all``, up to the cart's limit); back where the form was."""
    posted = await request.form()
    what = str(posted.get("what", "chosen"))
    name = {"page": "page_granules"}.get(what, "granules")
    urs = [v for v in posted.getlist(name) if isinstance(v, str)]
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        try:
            if not viewer.valid_id:
                raise UserError(f"your Airflow username {viewer.name!r} cannot be an Ardis user id")
            if what == "all":
                query = parse_search({k: str(v) for k, v in posted.items() if k in search_fields})
                added = cart.add_search(session, viewer.name, query, viewer.groups)
            else:
                added = cart.add_granules(session, viewer.name, urs, viewer.groups)
        except FieldErrors as e:
            return show(request, "message.html", viewer, 400, title="Search not understood", message=str(e))
        except UserError as e:
            return show(request, "message.html", viewer, 409, title="Not added to the cart", message=str(e))
    return RedirectResponse(_back(request, "/cart", added=added), status.HTTP_303_SEE_OTHER)


@router.post("/cart/remove", dependencies=[Depends(same_origin)])
async def cart_remove(request: Request, user: CurrentUser) -> Response:
    """Take the chosen granules out of the cart, or every one (``what=all``)."""
    posted = await request.form()
    urs = None if posted.get("what") == "all" else [v for v in posted.getlist("granules") if isinstance(v, str)]
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        removed = cart.remove_granules(session, Viewer(user, session).name, urs)
    return RedirectResponse(_back(request, "/cart", removed=removed), status.HTTP_303_SEE_OTHER)


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Your details as orders use them (prefilled into the order form)."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        return show(request, "profile.html", viewer, values=profile_values(viewer.record), errors={},
                    saved=request.query_params.get("saved") == "1")


@router.post("/profile", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def profile_save(request: Request, user: CurrentUser) -> Response:
    """Check every field, save them all, or show the form again with each message next to its field."""
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        if not viewer.valid_id:
            return show(request, "message.html", viewer, 403, title="No Ardis account",
                        message=f"Your Airflow username {viewer.name!r} cannot be an Ardis user id.")
        try:
            save_profile(session, viewer.name, posted)
        except FieldErrors as e:
            values = {**profile_values(None), **posted, "checksum_list": posted.get("checksum_list") == "on"}
            return show(request, "profile.html", viewer, 400, values=values, errors=e.errors, saved=False)
    return RedirectResponse(f"{request.scope.get('root_path', '')}{BASE}/profile?saved=1", status.HTTP_303_SEE_OTHER)


@router.get("/orders/{order_id}/requests/{request_id}/packing-list.pdf")
def packing_list(request: Request, user: CurrentUser, order_id: str, request_id: str) -> Response:
    """The packing list PDF of a media request of your order (an operator: any), once it is printed."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        viewer = Viewer(user, session)
        try:
            order = readable_order(session, order_id, viewer.owner)
            [wanted] = [r for r in order.requests if str(r.request_id) == request_id] or [None]
            path = packing_list_path(settings, wanted) if wanted is not None else None
            if path is None or not path.is_file():
                raise NotFound(f"no packing list for request {request_id} of order {order_id}")
        except NotFound as e:
            return show(request, "message.html", viewer, 404, title="No packing list", message=str(e))
    return FileResponse(path, media_type="application/pdf", filename=f"packing-list-{request_id}.pdf")
