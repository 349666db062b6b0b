"""Every order as the operator sees it: requests filtered, and the counts per state at the top.

Read-only (no Airflow). "Today" is the UTC day of ``now``. Counts:

* ``waiting``: requests not started (``new``);
* ``running``: staging, verifying, delivering or notifying;
* ``failed_today``: finished today as ``failed`` or ``partial`` (some granule needs a look);
* ``delivered_today``: finished today as ``complete``;
* ``bytes_today``: bytes of the files delivered today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from distribution.models import (
    Collection, Granule, GranuleFile, MediaType, Order, Request, RequestFile, RequestGranule, RequestState, User,
)
from distribution.time import utcnow

RUNNING = (RequestState.STAGING, RequestState.VERIFYING, RequestState.DELIVERING, RequestState.NOTIFYING)
FAILED = (RequestState.FAILED, RequestState.PARTIAL)


@dataclass(frozen=True)
class OrderFilter:
    """What the operator narrows the list to; empty fields do not filter."""

    state: RequestState | None = None
    method: MediaType | None = None
    user_id: str = ""
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    collection: str = ""  # a short name
    limit: int = 200


@dataclass(frozen=True)
class RequestLine:
    request_id: str
    order_id: str
    user_id: str
    method: str
    state: str
    created_at: datetime
    finished_at: datetime | None
    granules: int
    failure: str
    airflow_run_id: str


@dataclass(frozen=True)
class Counts:
    waiting: int
    running: int
    failed_today: int
    delivered_today: int
    bytes_today: int


def list_requests(session: Session, where: OrderFilter) -> list[RequestLine]:
    """The requests ``where`` selects, newest first."""
    query = select(Request).join(Request.order).join(Order.user).options(
        joinedload(Request.order).joinedload(Order.user))
    if where.state is not None:
        query = query.where(Request.state == where.state)
    if where.method is not None:
        query = query.where(Request.media_type == where.method)
    if where.user_id:
        query = query.where(User.user_id == where.user_id)
    if where.since is not None:
        query = query.where(Request.created_at >= where.since)
    if where.until is not None:
        query = query.where(Request.created_at < where.until)
    if where.collection:
        query = query.where(Request.id.in_(
            select(RequestGranule.request_pk).join(Granule, Granule.id == RequestGranule.granule_id)
            .join(Collection, Collection.id == Granule.collection_id).where(Collection.short_name == where.collection)
        ))
    requests = list(session.scalars(query.order_by(Request.created_at.desc(), Request.id.desc()).limit(where.limit)))
    sizes: dict[int, int] = dict(session.execute(  # type: ignore[arg-type]
        select(RequestGranule.request_pk, func.count()).where(RequestGranule.request_pk.in_([r.id for r in requests]))
        .group_by(RequestGranule.request_pk)
    ).all()) if requests else {}
    return [RequestLine(
        request_id=str(r.request_id), order_id=str(r.order.order_id), user_id=r.order.user.user_id,
        method=r.media_type.value, state=r.state.value, created_at=r.created_at, finished_at=r.finished_at,
        granules=sizes.get(r.id, 0), failure=r.failure or "", airflow_run_id=r.airflow_run_id or "",
    ) for r in requests]


def counts(session: Session, now: datetime | None = None) -> Counts:
    """The numbers at the top of the orders page."""
    today = datetime.combine((now or utcnow()).date(), time.min)
    by_state: dict[RequestState, int] = dict(session.execute(  # type: ignore[arg-type]
        select(Request.state, func.count()).group_by(Request.state)).all())
    finished: dict[RequestState, int] = dict(session.execute(  # type: ignore[arg-type]
        select(Request.state, func.count()).where(Request.finished_at >= today).group_by(Request.state)
    ).all())
    delivered_bytes = session.scalar(
        select(func.coalesce(func.sum(GranuleFile.size), 0))
        .join(RequestFile, RequestFile.granule_file_id == GranuleFile.id).where(RequestFile.delivered_at >= today)
    )
    return Counts(
        waiting=by_state.get(RequestState.NEW, 0),
        running=sum(by_state.get(s, 0) for s in RUNNING),
        failed_today=sum(finished.get(s, 0) for s in FAILED),
        delivered_today=finished.get(RequestState.COMPLETE, 0),
        bytes_today=int(delivered_bytes or 0),
    )
