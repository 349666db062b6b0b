"""Reading orders for the people who placed them: "my orders", one order's page, the notices as sent.

``owner`` is the Ardis user id whose orders may be read; ``None`` means every
order (an operator). An order of someone else is NotFound, exactly as a missing
one, so an id cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from distribution.config import Settings
from distribution.errors import NotFound
from distribution.models import GranuleStatus, Notice, Order, Request, RequestGranule, User, Volume
from distribution.orders.placing import cancel_order, describe_order, order_by_token

__all__ = ["OrderRow", "cancel_readable", "find_user", "order_by_token", "order_details", "readable_order",
           "user_orders"]


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    user_id: str
    created: datetime
    requests: list[tuple[str, str, str]]  # (request id, media type, state)


def find_user(session: Session, user_id: str) -> User | None:
    """The Ardis user of that id (ids compare case-insensitively, as the subscription store's do)."""
    return session.scalar(select(User).where(func.lower(User.user_id) == user_id.strip().lower()))


def user_orders(session: Session, owner: str | None, page: int = 1, page_size: int = 25) -> tuple[list[OrderRow], int]:
    """One page of orders, newest first, and how many there are: ``owner``'s, or all (``owner=None``)."""
    stmt = select(Order).join(User).where(Order.order_id.is_not(None))
    if owner is not None:
        stmt = stmt.where(func.lower(User.user_id) == owner.strip().lower())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    orders = session.scalars(stmt.options(selectinload(Order.requests), selectinload(Order.user))
                             .order_by(Order.id.desc()).offset((max(1, page) - 1) * page_size).limit(page_size))
    rows = [OrderRow(str(o.order_id), o.user.user_id, o.created_at,
                     [(str(r.request_id), r.media_type.value, r.state.value) for r in o.requests]) for o in orders]
    return rows, total


def readable_order(session: Session, order_id: str, owner: str | None) -> Order:
    """The order, if ``owner`` placed it (or ``owner`` is None); NotFound otherwise."""
    order = session.scalar(select(Order).where(Order.order_id == order_id.strip()))
    if order is None or (owner is not None and order.user.user_id.lower() != owner.strip().lower()):
        raise NotFound(f"no order {order_id.strip()}")
    return order


def cancel_readable(session: Session, order_id: str, owner: str | None) -> list[str]:
    """Cancel the unfinished requests of an order ``owner`` may read (``cancel_order``); their RequestIDs.
    NotFound for someone else's order, UserError when nothing is left to cancel."""
    order = readable_order(session, order_id, owner)
    return [str(r.request_id) for r in cancel_order(session, str(order.order_id))]


def _notices(session: Session, request: Request) -> list[dict[str, Any]]:
    rows = session.scalars(select(Notice).where(Notice.request_pk == request.id).order_by(Notice.id))
    return [{"kind": n.kind, "recipient": n.recipient, "subject": n.subject, "state": n.state.value,
             "sent": n.sent_at.isoformat(sep=" ", timespec="seconds") if n.sent_at else None, "body": n.body}
            for n in rows]


def _volumes(session: Session, request: Request) -> list[dict[str, Any]]:
    """A media request's discs or tapes as planned, with their state (none before planning)."""
    rows = session.scalars(select(Volume).where(Volume.request_pk == request.id).order_by(Volume.number))
    return [{"media_id": v.media_id, "label": f"Media {v.number} of {v.count}", "medium": v.medium,
             "state": v.state.value, "bytes": v.planned_bytes} for v in rows]


def _progress(request: Request) -> dict[str, int]:
    granules: list[RequestGranule] = list(request.granules)
    done = [rg for rg in granules if rg.status == GranuleStatus.DELIVERED]
    files = [rf for rg in granules for rf in rg.files]
    return {"granules": len(granules), "delivered": len(done),
            "files": len(files), "files_delivered": sum(1 for f in files if f.delivered_at),
            "bytes": sum(f.size for rg in granules for f in rg.granule.files),
            "bytes_delivered": sum(f.size for rg in done for f in rg.granule.files)}


def order_details(session: Session, settings: Settings, order: Order) -> dict[str, Any]:
    """``describe_order`` plus, per request, its progress, files, failure, pull area and notices as sent."""
    summary = describe_order(settings, order)
    for shown, request in zip(summary["requests"], order.requests):
        shown["progress"] = _progress(request)
        shown["failure"] = request.failure
        shown["conn_id"] = request.conn_id
        shown["carrier"], shown["tracking_number"] = request.carrier, request.tracking_number
        shown["pull"] = None if not request.ftp_dir else {
            "host": settings.ftp_host, "port": settings.ftp_port, "directory": request.ftp_dir,
            "expires": request.ftp_expires_at.isoformat(sep=" ", timespec="minutes") if request.ftp_expires_at
            else None, "purged": request.pull_purged_at is not None,
            "url": f"ftp://{settings.ftp_host}:{settings.ftp_port}/{request.ftp_dir.strip('/')}/"}
        shown["notices"] = _notices(session, request)
        shown["volumes"] = _volumes(session, request)
        by_granule = {rg.directory_number: rg for rg in request.granules}
        for granule in shown["granules"]:
            rg = by_granule[granule["directory"]]
            granule["local_granule_id"] = rg.granule.local_granule_id
            granule["files"] = [{"name": rf.dist_name, "delivered": rf.delivered_at is not None} for rf in rg.files] \
                or [{"name": f.name, "delivered": False} for f in rg.granule.files]
    return summary
