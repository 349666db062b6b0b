"""Periodic chores: requests left without a run, expired pull areas, stale staging, unsent notices and answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.delivery import pull_directory, staging_directory
from distribution.errors import ArdisError
from distribution.ingest import respond
from distribution.ingest.intake import ServerFor
from distribution.models import MediaType, Notice, NoticeState, Order, PdrRecord, PdrState, Request, RequestState
from distribution.notices.outbox import Transport, send_pending
from distribution.paths import PathEscape
from distribution.orders.staging import remove_tree
from distribution.time import utcnow

MAX_DISPATCH = 500  # stays well under Airflow's max_map_length (1024)
# An ingest run retries its answer for the ICD's 3 hours; after that the PAN or PDRD is
# still owed, and housekeeping tries again every hour.
ANSWER_OWED_AFTER = timedelta(hours=4)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestRef:
    request_id: str
    order_id: str
    media_type: str


def requests_without_run(settings: Settings, limit: int = MAX_DISPATCH) -> list[RequestRef]:
    """New requests whose DAG run has not begun (its trigger was lost or never made)."""
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Request.request_id, Order.order_id, Request.media_type)
            .join(Order, Request.order_pk == Order.id)
            .where(Request.state == RequestState.NEW, Request.airflow_run_id.is_(None))
            .order_by(Request.id)
            .limit(limit)
        ).all()
    return [RequestRef(str(r[0]), str(r[1]), MediaType(r[2]).value) for r in rows]


def purge_expired_pull_areas(settings: Settings) -> list[str]:
    """Remove pull directories past their FTPEXPR; returns the RequestIDs purged."""
    purged = []
    with session_scope(settings.database_url) as session:
        expired = session.scalars(
            select(Request).where(
                Request.media_type == MediaType.FTP_PULL,
                Request.ftp_expires_at.is_not(None),
                Request.ftp_expires_at < utcnow(),
                Request.pull_purged_at.is_(None),
            )
        ).all()
        for request in expired:
            try:
                remove_tree(pull_directory(settings, request), settings.pull_root)
            except PathEscape as e:  # a user id from before ids were checked: never remove outside the root
                log.error("request %s: pull directory not removed: %s", request.request_id, e)
            request.pull_purged_at = utcnow()
            purged.append(str(request.request_id))
    return purged


def purge_finished_staging(settings: Settings) -> list[str]:
    """Staging of finished requests is no longer needed (the archive keeps the data)."""
    # Ask only about the staging folders that exist, not about every request ever finished.
    staged = sorted(p.name for p in settings.staging_root.iterdir() if p.is_dir()) if settings.staging_root.is_dir() \
        else []
    if not staged:
        return []
    purged = []
    with session_scope(settings.database_url) as session:
        terminal = [s for s in RequestState if s.is_terminal]
        finished = session.scalars(
            select(Request).where(Request.request_id.in_(staged), Request.state.in_(terminal)).order_by(Request.id)
        )
        for request in finished:
            if remove_tree(staging_directory(settings, request), settings.staging_root):
                purged.append(str(request.request_id))
    return purged


def send_pending_notices(settings: Settings, transport: Transport) -> list[int]:
    """Send notices still pending (their first send failed); each is sent once."""
    with session_scope(settings.database_url) as session:
        ids = list(session.scalars(select(Notice.id).where(Notice.state == NoticeState.PENDING)))
    if not ids:
        return []
    return send_pending(settings.database_url, transport, notice_ids=ids, mail_from=settings.mail_from)


def resend_owed_answers(settings: Settings, server_for: ServerFor, transport: Transport,
                        owed_after: timedelta = ANSWER_OWED_AFTER) -> list[str]:
    """Deliver again the PANs and PDRDs built but not delivered everywhere; returns the answers delivered.

    Only PDRs taken longer ago than ``owed_after``, so that a run still retrying
    its own answer is left to it (were both to try, the answer is still written
    and mailed once: ``respond`` records each way as done). One provider still
    down never keeps the others' answers back.
    """
    cutoff = utcnow() - owed_after
    with session_scope(settings.database_url) as session:
        owed = list(session.scalars(
            select(PdrRecord.id)
            .where(PdrRecord.state.in_([PdrState.ANSWERING, PdrState.REJECTED]),
                   PdrRecord.response_text.is_not(None), PdrRecord.discovered_at < cutoff)
            .order_by(PdrRecord.id)))
    delivered = []
    for pdr_id in owed:
        try:
            delivered.append(respond.respond(settings, pdr_id, server_for, transport))
        except ArdisError as e:
            log.warning("ingest %s: answer still not delivered: %s", pdr_id, e)
    return delivered
