"""The portal's "My subscriptions" (``/portal/subscriptions``): a user's own standing orders, nobody else's.

A user lists, creates, updates and cancels their own subscriptions (an operator
too: everyone's are in the console). The ICD's User ID is the Airflow username,
so it must be 1-8 letters and digits; creating or changing one needs the right to
order (``people.may_order``), since each firing places an order. Another user's
subscription is "not found" (404). POSTs check Origin and answer 303.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ardis_airflow.web.portal.pages import BASE, show
from ardis_airflow.web.portal.people import Viewer
from ardis_airflow.web.security import CurrentUser, same_origin
from ardis_airflow.web.subscribing import Door, cancel, create, detail_page, list_page, new_page, portal_templates, \
    posted, update
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.subscriptions.fields import check
from distribution.subscriptions.forms import form_values

__all__ = ["router"]

router = APIRouter(prefix="/subscriptions", tags=["Ardis portal"], include_in_schema=False)


def _door(request: Request, user: Any) -> tuple[Door, Viewer]:
    with session_scope(load_settings().database_url) as session:
        viewer = Viewer(user, session)
    root = request.scope.get("root_path", "")
    door = Door(request, portal_templates, BASE + "/subscriptions", viewer.name, f"portal:{viewer.name}",
                {"viewer": viewer, "base": root + BASE, "root": root, "nav": "subscriptions"})
    return door, viewer


def _refusal(request: Request, viewer: Viewer, changing: bool) -> HTMLResponse | None:
    if check("user_id", viewer.name):
        return show(request, "message.html", viewer, 403, title="No subscriber id",
                    message=f"Subscriptions name their subscriber by an ICD User ID (1-8 letters and digits); "
                            f"your Airflow username {viewer.name!r} is not one. Ask an operator to subscribe "
                            "for you from the console.")
    if changing and not viewer.may_order:
        return show(request, "message.html", viewer, 403, title="You may not subscribe",
                    message="A subscription places orders, and your Airflow account may not start Ardis's "
                            "distribution runs. Ask an operator for the Airflow role that may run ardis_distribution.")
    return None


@router.get("", response_class=HTMLResponse)
def my_subscriptions(request: Request, user: CurrentUser) -> HTMLResponse:
    """Your subscriptions, with how often each fired."""
    door, viewer = _door(request, user)
    return _refusal(request, viewer, False) or list_page(door)


@router.get("/new", response_class=HTMLResponse)
def new_subscription(request: Request, user: CurrentUser) -> HTMLResponse:
    """The form, prefilled from your profile."""
    door, viewer = _door(request, user)
    if refusal := _refusal(request, viewer, True):
        return refusal
    r = viewer.record
    return new_page(door, form_values(user_id=viewer.name, email=r.email if r else "",
                                      first_name=r.first_name if r else "", last_name=r.last_name if r else "",
                                      telephone=r.phone if r else ""))


@router.post("", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def subscribe(request: Request, user: CurrentUser) -> Response:
    """Create the subscription (yours: the form's User ID is ignored)."""
    door, viewer = _door(request, user)
    return _refusal(request, viewer, True) or create(door, await posted(request), create_user=True)


@router.get("/{subscription_id}", response_class=HTMLResponse)
def my_subscription(request: Request, user: CurrentUser, subscription_id: int, ack: int | None = None
                    ) -> HTMLResponse:
    """One of your subscriptions: the acknowledgment of what you just did, the update form, its recent firings."""
    door, viewer = _door(request, user)
    return _refusal(request, viewer, False) or detail_page(door, subscription_id, ack)


@router.post("/{subscription_id}", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
async def change(request: Request, user: CurrentUser, subscription_id: int) -> Response:
    """Update your subscription (the ICD's update: telephone, e-mail, text, dates, qualifier, destination)."""
    door, viewer = _door(request, user)
    return _refusal(request, viewer, True) or update(door, subscription_id, await posted(request))


@router.post("/{subscription_id}/cancel", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
def cancel_mine(request: Request, user: CurrentUser, subscription_id: int) -> Response:
    """Cancel your subscription (final)."""
    door, viewer = _door(request, user)
    return _refusal(request, viewer, False) or cancel(door, subscription_id)
