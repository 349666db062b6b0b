"""Subscriptions on the web: the pages the portal's "My subscriptions" and the console's subscriptions share.

A ``Door`` says whose subscriptions a page may touch (``owner``: the user's id in
the portal, None in the console = every one) and how its pages look (the portal's
or the console's ``base.html``: the same templates, found in each one's template
folders). Every change goes through ``distribution.subscriptions.forms`` (the
ICD's rules, the acknowledgment), every read through ``queries`` (the owner rule:
another user's subscription is "not found"). A POST answers 303 to the
subscription's page, which shows the change's acknowledgment (``?ack=<history
row>``); a form with mistakes comes back with each message next to its field.

``GET /ardis/api/subscriptions/qualifier?text=…`` checks a qualifier statement as
it is typed (any logged-in user: it reads nothing of anyone's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow.models.connection import Connection
from airflow.utils.session import create_session
from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from ardis_airflow.web.security import CurrentUser
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.inventory.catalog import FieldErrors, collections
from distribution.orders.destinations import Address
from distribution.subscriptions import forms
from distribution.subscriptions.fields import MEDIA_TYPES
from distribution.subscriptions.models import SubscriptionState
from distribution.subscriptions.queries import list_subscriptions, readable_subscription, recent_firings

__all__ = ["Door", "api", "portal_templates", "push_address"]

PORTAL_TEMPLATES = Path(__file__).resolve().parent / "portal" / "templates"
portal_templates = Jinja2Templates(directory=PORTAL_TEMPLATES)
api = APIRouter(tags=["Ardis subscriptions"])


@api.get("/subscriptions/qualifier")
def qualifier_check(user: CurrentUser, text: str = "") -> dict[str, Any]:
    """Whether ``text`` reads as a qualifier statement: ``ok``, its canonical form, or the error and its column."""
    return forms.check_qualifier(text)


def push_address(conn_id: str) -> Address | None:
    """Host and port of the Airflow connection a push would use (what a destination is checked against)."""
    with create_session() as session:
        row = session.execute(select(Connection.host, Connection.port).where(Connection.conn_id == conn_id)).first()
    return None if row is None else Address(row.host or "", row.port)


async def posted(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@dataclass
class Door:
    """Where a subscription page is and whose subscriptions it may touch."""

    request: Request
    templates: Jinja2Templates
    prefix: str  # "/portal/subscriptions" or "/console/subscriptions", below the app's root
    owner: str | None  # the user whose subscriptions these are; None: an operator's console, every one
    actor: str  # who the history says asked: "portal:alice", "console:olga"
    context: dict[str, Any] = field(default_factory=dict)  # what the page's base.html needs

    @property
    def here(self) -> str:
        return self.request.scope.get("root_path", "") + self.prefix

    def show(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        root = self.request.scope.get("root_path", "")
        return self.templates.TemplateResponse(self.request, name, {
            **self.context, "here": self.here, "console": self.owner is None, "owner": self.owner,
            "qualifier_url": root + "/api/subscriptions/qualifier", "script": root + "/portal/static/subscriptions.js",
            "media_types": MEDIA_TYPES, "methods": [m for m in forms.METHODS if m], **context}, status_code=code)

    def to(self, subscription_id: int, **query: int | str) -> RedirectResponse:
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return RedirectResponse(f"{self.here}/{subscription_id}" + (f"?{tail}" if tail else ""),
                                status.HTTP_303_SEE_OTHER)

    def missing(self, error: NotFound) -> HTMLResponse:
        return self.show("subscription.html", 404, sub=None, problem=str(error))


def list_page(door: Door, user_id: str = "", state: str = "") -> HTMLResponse:
    """The subscriptions the door may show (an operator's: filtered by user and state)."""
    wanted = door.owner if door.owner is not None else (user_id.strip() or None)
    try:
        chosen = SubscriptionState(state) if state else None
    except ValueError:
        chosen = None
    with session_scope(load_settings().database_url) as session:
        rows = list_subscriptions(session, wanted, chosen)
    return door.show("subscriptions.html", rows=rows, where={"user": user_id, "state": state},
                     states=[s.value for s in SubscriptionState])


def new_page(door: Door, values: dict[str, str], errors: dict[str, str] | None = None, code: int = 200,
             refused: str = "") -> HTMLResponse:
    """The form for a new subscription (``values`` prefilled), with its mistakes or the failed acknowledgment."""
    with session_scope(load_settings().database_url) as session:
        esdts = collections(session)
    return door.show("subscription_new.html", code, values=values, errors=errors or {}, esdts=esdts,
                     refused=refused)


def create(door: Door, form: dict[str, str], *, create_user: bool) -> Response:
    """Subscribe as the form asks (the portal: for its user only); its page with the acknowledgment."""
    if door.owner is not None:
        form = {**form, "user_id": door.owner}
    try:
        with session_scope(load_settings().database_url) as session:
            done = forms.subscribe(session, form, actor=door.actor, source=door.prefix.split("/")[1],
                                   create_user=create_user, connections=push_address)
    except FieldErrors as e:
        return new_page(door, {**forms.form_values(), **form}, e.errors, 400)
    except forms.Refused as e:
        return new_page(door, {**forms.form_values(), **form}, {"form": str(e)}, 409, e.acknowledgment)
    return door.to(done.subscription_id, ack=done.history_id)


def _detail(session: Session, door: Door, subscription_id: int, ack: int | None) -> dict[str, Any]:
    sub = readable_subscription(session, subscription_id, door.owner)
    return {"sub": sub, "values": forms.form_values(sub), "firings": recent_firings(session, sub.id),
            "history": list(sub.history), "ack": forms.acknowledgment_of(session, sub, ack) if ack else None}


def detail_page(door: Door, subscription_id: int, ack: int | None = None, code: int = 200,
                **extra: Any) -> HTMLResponse:
    """One subscription: its fields, the acknowledgment of the change just made, the update form, its firings."""
    try:
        with session_scope(load_settings().database_url) as session:
            context = _detail(session, door, subscription_id, ack)
            return door.show("subscription.html", code, errors={}, **{**context, **extra})
    except NotFound as e:
        return door.missing(e)


def update(door: Door, subscription_id: int, form: dict[str, str]) -> Response:
    """Apply the form's changes as an ICD update; the page with the acknowledgment, or with the mistakes."""
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            readable_subscription(session, subscription_id, door.owner)
            done = forms.change(session, subscription_id, form, actor=door.actor, connections=push_address)
    except NotFound as e:
        return door.missing(e)
    except FieldErrors as e:
        return _again(door, subscription_id, form, e.errors, 400)
    except forms.Refused as e:
        return _again(door, subscription_id, form, {"form": str(e)}, 409, refused=e.acknowledgment)
    except UserError as e:  # cancelled already
        return _again(door, subscription_id, form, {"form": str(e)}, 409)
    return door.to(done.subscription_id, ack=done.history_id)


def _again(door: Door, subscription_id: int, form: dict[str, str], errors: dict[str, str], code: int,
           refused: str = "") -> HTMLResponse:
    with session_scope(load_settings().database_url) as session:
        context = _detail(session, door, subscription_id, None)
        context["values"] = {**context["values"], **{k: v for k, v in form.items() if k in forms.FORM_FIELDS}}
        return door.show("subscription.html", code, errors=errors, refused=refused, **{
            k: v for k, v in context.items() if k != "errors"})


def cancel(door: Door, subscription_id: int) -> Response:
    """Cancel (final); its page with the acknowledgment."""
    try:
        with session_scope(load_settings().database_url) as session:
            readable_subscription(session, subscription_id, door.owner)
            done = forms.cancel(session, subscription_id, actor=door.actor)
    except NotFound as e:
        return door.missing(e)
    except UserError as e:
        return detail_page(door, subscription_id, code=409, problem=str(e))
    return door.to(done.subscription_id, ack=done.history_id)
