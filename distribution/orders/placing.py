"""Orders and requests: placing, showing and cancelling them.

An order holds one or more requests; each request has one delivery method and
destination and goes through its own DAG run (``request-<RequestID>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distribution.inventory.archive import find_granule, granule_ur
from distribution.inventory.rights import check_access
from distribution.config import Settings, metadata_format
from distribution.errors import NotFound, UserError
from distribution.identifiers import check_user_id, format_id
from distribution.models import GranuleStatus, MediaType, Order, Request, RequestGranule, RequestState, User
from distribution.time import utcnow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a line break or another control character (tab is fine)
_CONN_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")  # what Airflow accepts as a connection id
PUSH_METHODS = (MediaType.FTP_PUSH, MediaType.SCP, MediaType.SMB_PUSH)


@dataclass
class Contact:
    """Who orders: found by user_id, created or updated from these fields."""

    user_id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    organization: str = ""
    shipping_address: str = ""
    checksum_list: bool | None = None
    metadata_format: str | None = None  # xml | met; None keeps the user's setting


@dataclass
class Destination:
    """Where a push goes; credentials stay in the named Airflow Connection."""

    host: str = ""
    port: int | None = None
    directory: str = ""
    conn_id: str = ""


@dataclass
class RequestSpec:
    media_type: MediaType
    granules: list[str]
    destination: Destination = field(default_factory=Destination)
    userstring: str = ""
    notify_email: str = ""
    linked: tuple[str, ...] = ()  # BROWSE, QA, PH: the linked granules that go with each science granule
    bundle: str = ""  # tar.gz or tar.zst: the data as compressed tar bundles (every method)
    bundle_per: str = "granule"  # granule: a bundle per granule; request: one bundle for the whole request


#: What one bundle holds: a granule's files, or the whole request's.
BUNDLE_PER = ("granule", "request")

#: The granules linked to a science granule at ingest that an order can ask to go with it.
LINK_TYPES = ("BROWSE", "QA", "PH")


def linked_types(asked: tuple[str, ...] | list[str]) -> str:
    """The stored form of the linked granules asked (``BROWSE,QA,PH`` order, no repeats); UserError if unknown.

    Orders and subscriptions keep the same form, so a subscription's choice passes to its orders unchanged."""
    wanted = {t.strip().upper() for t in asked if t.strip()}
    unknown = sorted(wanted - set(LINK_TYPES))
    if unknown:
        raise UserError(f"linked granules are {', '.join(LINK_TYPES)}, not {', '.join(unknown)}")
    return ",".join(t for t in LINK_TYPES if t in wanted)


def parse_media_type(text: str) -> MediaType:
    wanted = text.strip().lower().replace("_", "").replace("-", "")
    for m in MediaType:
        if m.value.lower() == wanted:
            return m
    raise UserError(f"unknown delivery method {text!r}; use one of {', '.join(m.value for m in MediaType)}")


def _insert_user_once(session: Session, user_id: str, email: str) -> User:
    """Create the user unless another process just did: INSERT … ON CONFLICT DO NOTHING, then read it.

    Two orders of one new user placed at once must not fail on the unique user id.
    """
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    session.execute(insert(User).values(user_id=user_id, email=email).on_conflict_do_nothing(
        index_elements=[User.user_id]))
    user = session.scalar(select(User).where(User.user_id == user_id))
    assert user is not None  # inserted now or by the other process, which has committed
    return user


def upsert_user(session: Session, contact: Contact) -> User:
    check_user_id(contact.user_id)
    user = session.scalar(select(User).where(User.user_id == contact.user_id))
    if user is None:
        if not _EMAIL.match(contact.email or ""):
            raise UserError(f"a new user needs a valid e-mail address, not {contact.email!r}")
        user = _insert_user_once(session, contact.user_id, contact.email)
    if contact.email:
        if not _EMAIL.match(contact.email):
            raise UserError(f"not a valid e-mail address: {contact.email!r}")
        user.email = contact.email
    for name in ("first_name", "last_name", "phone", "organization", "shipping_address"):
        value = getattr(contact, name)
        if value:
            setattr(user, name, value)
    if contact.checksum_list is not None:
        user.checksum_list = contact.checksum_list
    if contact.metadata_format is not None:
        try:
            user.metadata_format = metadata_format(contact.metadata_format)
        except ValueError as e:
            raise UserError(str(e)) from e
    session.flush()
    return user


def _check_line(label: str, value: str, limit: int) -> None:
    """A value the DN writes on one ``KEYWORD: value`` line (Table 4.3.6-1): refused now, not at notify time."""
    if _CONTROL.search(value):
        raise UserError(f"{label} must be one line without control characters: {value[:60]!r}")
    if len(value) > limit:
        raise UserError(f"{label} is limited to {limit} characters (Table 4.3.6-1)")


def check_spec(spec: RequestSpec) -> None:
    """Refuse a request the archive could not carry out or announce (UserError); no database needed."""
    if not spec.granules:
        raise UserError("a request needs at least one granule")
    _check_line("USERSTRING", spec.userstring, 255)
    dest = spec.destination
    if dest.conn_id and not _CONN_ID.fullmatch(dest.conn_id):
        raise UserError(f"not an Airflow connection id (letters, digits, '_', '.', '-'): {dest.conn_id[:60]!r}")
    if spec.media_type in PUSH_METHODS:
        if not (dest.host or dest.conn_id):
            raise UserError(f"{spec.media_type.value} needs a destination host or an Airflow connection id")
        if not dest.directory:
            raise UserError(f"{spec.media_type.value} needs a destination directory")
        _check_line("host name (FTPHOST)", dest.host, 64)
        if dest.host != dest.host.strip() or " " in dest.host or "\t" in dest.host:
            raise UserError(f"a host name has no blanks: {dest.host!r}")
        _check_line("destination directory (FTPDIR)", dest.directory, 255)
    if dest.port is not None and not 0 < dest.port < 65536:
        raise UserError(f"port out of range: {dest.port}")
    if spec.notify_email and not _EMAIL.match(spec.notify_email):
        raise UserError(f"not a valid e-mail address: {spec.notify_email!r}")
    if spec.bundle and spec.bundle not in ("tar.gz", "tar.zst"):
        raise UserError(f"a bundle is tar.gz or tar.zst, not {spec.bundle!r}")
    if spec.bundle_per not in BUNDLE_PER:
        raise UserError(f"a bundle is made per {' or per '.join(BUNDLE_PER)}, not per {spec.bundle_per!r}")
    if spec.bundle_per != "granule" and not spec.bundle:
        raise UserError("one bundle per request needs a bundle kind (tar.gz or tar.zst)")
    linked_types(spec.linked)


def create_order(
    session: Session, settings: Settings, contact: Contact, specs: list[RequestSpec], source: str = "cli",
    *, operator: bool = False,
) -> Order:
    """Create an order with one request per spec; ids are assigned on flush.

    Data rights: every granule must be one the user may have now (``check_access``:
    NotEntitled names the first that is not); ``operator`` is an operator's own
    order, which may hold any granule.
    """
    if not specs:
        raise UserError("an order needs at least one request")
    for spec in specs:
        check_spec(spec)
    user = upsert_user(session, contact)
    if any(not spec.media_type.is_electronic for spec in specs) and not user.shipping_address.strip():
        raise UserError("physical media are shipped: the user needs a shipping address")
    now = utcnow()
    order = Order(user=user, source=source, rights_waived=operator)
    session.add(order)
    session.flush()
    order.order_id = format_id(settings.id_prefix, order.id)
    for spec in specs:
        request = Request(
            order=order,
            media_type=spec.media_type,
            host=spec.destination.host,
            port=spec.destination.port,
            directory=spec.destination.directory,
            conn_id=spec.destination.conn_id,
            userstring=spec.userstring,
            notify_email=spec.notify_email,
            linked=linked_types(spec.linked),
            bundle=spec.bundle,
            bundle_per=spec.bundle_per,
        )
        session.add(request)
        seen: set[int] = set()
        for number, ref in enumerate(spec.granules, start=1):
            granule = find_granule(session, ref)
            check_access(user, granule, ref, now, operator=operator)
            if granule.id in seen:
                raise UserError(f"granule listed twice in one request: {ref}")
            seen.add(granule.id)
            request.granules.append(RequestGranule(granule=granule, directory_number=number))
        session.flush()
        request.request_id = format_id(settings.id_prefix, request.id)
    session.flush()
    return order


def place_once(session: Session, settings: Settings, contact: Contact, specs: list[RequestSpec], source: str,
               *, operator: bool = False) -> tuple[Order, bool]:
    """``create_order`` for a form's one-time token (``source``): (the order, whether this call made it).

    A form sent twice — a double click, the back button, two posts at once — makes one
    order: the unique index on (user, ``portal:`` source) refuses the second insert,
    which then finds the first order (its transaction has committed by then).
    """
    if session.get_bind().dialect.name == "sqlite":
        # A writer from the first statement (waiting its turn): a transaction that read first and wrote after
        # another's commit would fail with "database is locked" (its snapshot is stale), not find the order.
        session.execute(update(User).where(false()).values(id=User.id))
    if (done := order_by_token(session, contact.user_id, source)) is not None:
        return done, False
    try:
        with session.begin_nested():
            return create_order(session, settings, contact, specs, source, operator=operator), True
    except IntegrityError:
        if (done := order_by_token(session, contact.user_id, source)) is None:
            raise
        return done, False


def order_by_token(session: Session, owner: str, source: str) -> Order | None:
    """The order ``owner`` placed with ``source`` (a form's one-time token): a resubmitted form finds it."""
    return session.scalar(select(Order).join(User).where(func.lower(User.user_id) == owner.strip().lower(),
                                                         Order.source == source))


def get_order(session: Session, order_id: str) -> Order:
    order = session.scalar(select(Order).where(Order.order_id == order_id.strip()))
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def get_request(session: Session, request_id: str) -> Request:
    request = session.scalar(select(Request).where(Request.request_id == request_id.strip()))
    if request is None:
        raise NotFound(f"no request {request_id}")
    return request


def cancel_order(session: Session, order_id: str) -> list[Request]:
    """Cancel every request of the order that has not finished; returns them.

    Granules already delivered stay delivered; the rest are marked cancelled and
    the request's DAG run sends the cancellation DN.
    """
    order = get_order(session, order_id)
    open_requests = [r for r in order.requests if not r.state.is_terminal]
    if not open_requests:
        raise UserError(f"order {order_id} has no request left to cancel")
    return cancel_requests(session, open_requests)


def cancel_requests(session: Session, requests: list[Request]) -> list[Request]:
    """Mark these unfinished requests cancelled: delivered granules stay, the rest are cancelled."""
    for request in requests:
        request.state = RequestState.CANCELLED
        request.failure = "The request was cancelled"
        for rg in request.granules:
            if rg.status not in (GranuleStatus.DELIVERED, GranuleStatus.FAILED):
                rg.status = GranuleStatus.CANCELLED
                rg.failure_explanation = "Request Canceled"
        request.updated_at = utcnow()
    session.flush()
    return requests


def describe_order(settings: Settings, order: Order) -> dict[str, Any]:
    """A plain summary of an order for the CLI and the web pages."""
    return {
        "order_id": order.order_id,
        "user": order.user.user_id,
        "created": order.created_at.isoformat(sep=" "),
        "requests": [
            {
                "request_id": r.request_id,
                "media_type": r.media_type.value,
                "state": r.state.value,
                "destination": f"{r.host}{':' + str(r.port) if r.port else ''}:{r.directory}"
                if r.host
                else r.directory,
                "ftp_dir": r.ftp_dir,
                "ftp_expires": r.ftp_expires_at.isoformat(sep=" ") if r.ftp_expires_at else None,
                "finished": r.finished_at.isoformat(sep=" ") if r.finished_at else None,
                "airflow_run_id": r.airflow_run_id,
                "granules": [
                    {
                        "directory": rg.directory_number,
                        "ur": granule_ur(rg.granule, settings),
                        "status": rg.status.value,
                        "explanation": rg.failure_explanation,
                    }
                    for rg in r.granules
                ],
            }
            for r in order.requests
        ],
    }
