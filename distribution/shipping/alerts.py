"""Operations told by e-mail when a volume waits for a blank medium too long (``ARDIS_BLANK_MEDIA_ALERT_MINUTES``).

A built volume waits for an operator to load a blank disc or tape. When it has
waited longer than the threshold (since ``volumes.built_at``), one e-mail goes to
``ARDIS_OPERATIONS_EMAIL``. Once per wait: the outbox key
``ops-blank-media:<Media_ID>:<rewrites>`` is unique, so the hourly check never tells
twice about the same wait, and a volume marked bad and built again waits anew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import Notice, Request, RequestState, Volume, VolumeState
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.time import utcnow

__all__ = ["LongWait", "alert_blank_media_waits", "long_waits"]


@dataclass(frozen=True)
class LongWait:
    """A volume that has waited for a blank medium since ``since``; ``key``: its wait's outbox key."""

    media_id: str
    request_id: str
    medium: str
    number: int
    count: int
    since: datetime
    key: str
    request_pk: int


def long_waits(session: Session, minutes: int, now: datetime | None = None) -> list[LongWait]:
    """The built volumes of requests still on their way that have waited more than ``minutes``, longest first."""
    cutoff = (now or utcnow()) - timedelta(minutes=minutes)
    rows = session.scalars(
        select(Volume).join(Volume.request).options(joinedload(Volume.request))
        .where(Volume.state == VolumeState.BUILT, Volume.built_at.is_not(None), Volume.built_at < cutoff,
               Request.shipped_at.is_(None), Request.state != RequestState.CANCELLED)
        .order_by(Volume.built_at, Volume.id))
    return [LongWait(v.media_id, str(v.request.request_id), v.medium, v.number, v.count, v.built_at,
                     f"ops-blank-media:{v.media_id}:{v.rewrites}", v.request.id)
            for v in rows if v.built_at is not None]


def _body(settings: Settings, wait: LongWait, now: datetime) -> str:
    minutes = int((now - wait.since).total_seconds() // 60)
    return (f"Volume {wait.media_id} ({wait.medium}, volume {wait.number} of {wait.count}) of request "
            f"{wait.request_id} has waited {minutes} minutes for a blank medium (since {wait.since:%Y-%m-%d %H:%M}"
            f" UTC; the limit is {settings.blank_media_alert_minutes}).\n"
            "Load one in a drive and answer its step in the operator console.\n")


def alert_blank_media_waits(settings: Settings, transport: Callable[[], Transport],
                            now: datetime | None = None) -> list[str]:
    """Tell operations about each volume newly past the limit (one e-mail per wait); their Media_IDs.

    The rows are written first (the outbox), then sent; a relay that is down leaves them
    pending for housekeeping's resend, never to be written twice.
    """
    if settings.blank_media_alert_minutes <= 0:
        return []
    now = now or utcnow()
    told: list[tuple[str, int]] = []
    with session_scope(settings.database_url) as session:
        waits = long_waits(session, settings.blank_media_alert_minutes, now)
        known = set(session.scalars(select(Notice.dedupe_key).where(Notice.dedupe_key.in_([w.key for w in waits]))))
        for wait in (w for w in waits if w.key not in known):
            notice = enqueue_notice(
                session, dedupe_key=wait.key, kind="ops", recipient=settings.operations_email or settings.mail_from,
                subject=f"{settings.archive_name}: volume {wait.media_id} waits for a blank medium",
                body=_body(settings, wait, now), request_pk=wait.request_pk)
            told.append((wait.media_id, notice.id))
    if told:
        send_pending(settings.database_url, transport(), notice_ids=[i for _, i in told], mail_from=settings.mail_from)
    return [media_id for media_id, _ in told]
