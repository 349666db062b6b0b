"""Every order for the operator: filters and the counts at the top, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import (
    Collection, Granule, GranuleFile, MediaType, Order, Request, RequestFile, RequestGranule, RequestState, User,
)
from distribution.orders.overview import OrderFilter, counts, list_requests

NOW = datetime(2026, 12, 7, 12, 0, 0)
YESTERDAY = NOW - timedelta(days=1)


def _add(session: Session, n: int, user: User, method: MediaType, state: RequestState, created: datetime,
         granule: Granule, finished: datetime | None = None, delivered: datetime | None = None) -> None:
    order = Order(order_id=f"O{n:09d}", user=user, created_at=created)
    request = Request(request_id=f"R{n:09d}", order=order, media_type=method, state=state, created_at=created,
                      finished_at=finished, failure="host unreachable" if state is RequestState.FAILED else None)
    rg = RequestGranule(request=request, granule=granule, directory_number=1)
    RequestFile(request_granule=rg, granule_file=granule.files[0], dist_name="a.hdf", delivered_at=delivered)
    session.add(order)


def _fill(session: Session) -> None:
    ann, bob = User(user_id="ann", email="a@example.org"), User(user_id="bob", email="b@example.org")
    granules = {}
    for short_name in ("MOD09", "AST_L1B"):
        collection = Collection(short_name=short_name, version_id=1)
        granule = Granule(collection=collection)
        GranuleFile(granule=granule, seq=1, name="a.hdf", size=1000 if short_name == "MOD09" else 7, archive_path="/x")
        granules[short_name] = granule
    mod, ast = granules["MOD09"], granules["AST_L1B"]
    _add(session, 1, ann, MediaType.FTP_PULL, RequestState.NEW, NOW, mod)
    _add(session, 2, ann, MediaType.DVD, RequestState.DELIVERING, NOW, ast)
    _add(session, 3, bob, MediaType.FTP_PUSH, RequestState.STAGING, YESTERDAY, mod)
    _add(session, 4, bob, MediaType.FTP_PUSH, RequestState.FAILED, YESTERDAY, mod, finished=NOW)
    _add(session, 5, bob, MediaType.FTP_PULL, RequestState.PARTIAL, YESTERDAY, mod, finished=NOW, delivered=NOW)
    _add(session, 6, ann, MediaType.FTP_PULL, RequestState.COMPLETE, YESTERDAY, ast, finished=NOW, delivered=NOW)
    _add(session, 7, ann, MediaType.FTP_PULL, RequestState.COMPLETE, YESTERDAY, mod, finished=YESTERDAY,
         delivered=YESTERDAY)


def test_counts(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        _fill(session)
    with session_scope(settings.database_url) as session:
        got = counts(session, NOW)
    assert (got.waiting, got.running, got.failed_today, got.delivered_today) == (1, 2, 2, 1)
    assert got.bytes_today == 1000 + 7  # request 5's and 6's files; request 7 delivered yesterday


def test_filters(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        _fill(session)
    with session_scope(settings.database_url) as session:
        def ids(**where: object) -> list[str]:
            return [line.request_id[-1] for line in list_requests(session, OrderFilter(**where))]  # type: ignore[arg-type]

        assert ids() == ["2", "1", "7", "6", "5", "4", "3"]
        assert ids(state=RequestState.FAILED) == ["4"]
        assert ids(method=MediaType.DVD) == ["2"]
        assert ids(user_id="bob") == ["5", "4", "3"]
        assert ids(since=NOW - timedelta(hours=1)) == ["2", "1"]
        assert ids(until=NOW - timedelta(hours=1)) == ["7", "6", "5", "4", "3"]
        assert ids(collection="AST_L1B") == ["2", "6"]
        assert ids(user_id="ann", collection="MOD09", state=RequestState.COMPLETE) == ["7"]
        assert ids(limit=2) == ["2", "1"]
        failed = list_requests(session, OrderFilter(state=RequestState.FAILED))[0]
        assert (failed.user_id, failed.method, failed.failure, failed.granules) == ("bob", "FtpPush", "host unreachable", 1)
