"""The physical media DN, packing list and rejection notice of a request, built from the database.

One notice per request (ICD 4.3.6.5): a section per volume, a row per granule
with its directory number, Completed or Canceled, its short UR and — Completed
only — its file names (with checksums when the user is on the checksum list).
The same text is written onto every volume, printed as the packing list (PDF,
with the Media_ID as a barcode), and mailed when the operator confirms the
shipment. When no granule can go on media the user gets the rejection notice.

All copies carry one Completion Date, fixed by the first of them
(``media_dn_date``) and kept in the request's row; the packing list is printed
again with the notice that is mailed, so the paper on record says what the
request came to (a rejection, not "Completed", when it was cancelled or failed).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.bundles import REQUEST_DIRECTORY, parts_on, request_bundle_name
from distribution.orders.checksum_list import dn_checksum
from distribution.orders.delivery import final_state
from distribution.errors import NotFound
from distribution.identifiers import GranuleRef
from distribution.shipping.drives import media_format
from distribution.models import GranuleStatus, Request, RequestGranule, RequestState, Volume, VolumeState
from distribution.notices.media_dn import (
    CANCELED,
    COMPLETED,
    MediaFile,
    MediaGranule,
    MediaNotice,
    MediaVolume,
    contact_lines,
    media_notice_subject,
    render_media_dn,
)
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.notices.packing_list import write_packing_list
from distribution.orders.placing import get_request
from distribution.paths import under
from distribution.time import utcnow

ON_MEDIA = (GranuleStatus.VERIFIED, GranuleStatus.DELIVERED)


def _short_ur(rg: RequestGranule) -> str:
    c = rg.granule.collection
    return GranuleRef(c.short_name, c.version_id, rg.granule.id).short_ur


def _parts(parts: list[dict[str, Any]]) -> list[MediaFile]:
    return [MediaFile(p["name"], p["checksum_type"], p["checksum"], p["size"]) for p in parts]


def _granule(rg: RequestGranule, checksums: Settings | None, on_media: bool, volume: int = 0) -> MediaGranule:
    """A row of the media DN (its files on ``volume``); ``checksums``: the settings when the user is on the
    checksum list. A granule in the request's one bundle lists no files: they are inside the bundle."""
    if not on_media:
        return MediaGranule(str(rg.directory_number), _short_ur(rg), CANCELED)
    if rg.request.bundle:  # the bundle's parts on this volume and their checksums, on every DN
        return MediaGranule(str(rg.directory_number), _short_ur(rg), COMPLETED,
                            [] if rg.request.bundle_per == "request" else _parts(parts_on(rg, volume)))
    files = []
    for rf in rg.files:
        checksum_type, checksum_value = dn_checksum(checksums, rf, True) if checksums else (None, None)
        files.append(MediaFile(rf.dist_name, checksum_type, checksum_value, rf.size))
    return MediaGranule(str(rg.directory_number), _short_ur(rg), COMPLETED, files)


def _bundle_row(request: Request, holder: RequestGranule, volume: int) -> MediaGranule:
    """The request's one bundle on a volume, as the ICD's volume → granule → files layout can carry it: a
    pseudo-granule in directory ``0`` (no granule's) named by the bundle, listing the parts on this volume
    with their checksums. The granules themselves follow, each as its row without files (their files are
    inside the bundle, under ``<directory number, 5 digits>/``), listed with the first volume."""
    return MediaGranule(REQUEST_DIRECTORY, request_bundle_name(request), COMPLETED, _parts(parts_on(holder, volume)))


def volumes_of(session: Session, request: Request) -> list[Volume]:
    """A media request's volumes, in order."""
    return list(session.scalars(select(Volume).where(Volume.request_pk == request.id).order_by(Volume.number)))


def build_media_notice(settings: Settings, session: Session, request: Request, completed: datetime, *,
                       rejected: bool = False) -> MediaNotice:
    """The notice as the request stands: a rejection when no granule is (or will be) on a volume, or ``rejected``."""
    user = request.order.user
    volumes = volumes_of(session, request)
    kind, fmt = request.media_type.value, media_format(request.media_type)  # the DN's MEDIA TYPE is the type's name
    on_volume: dict[int, list[RequestGranule]] = {}
    canceled: list[RequestGranule] = []
    for rg in request.granules:
        if not rejected and rg.volume_number is not None and rg.status in ON_MEDIA:
            on_volume.setdefault(rg.volume_number, []).append(rg)
        else:
            canceled.append(rg)
    if request.bundle_per != "request":  # a granule's bundle may span volumes: listed on each, with its parts there
        for rg in request.granules:
            for number in sorted({p["volume"] for p in rg.bundle or [] if "volume" in p} - {rg.volume_number}):
                if not rejected and rg.status in ON_MEDIA:
                    on_volume.setdefault(number, []).append(rg)
    if volumes and on_volume:
        sections = []
        holder = next((rg for rg in request.granules if rg.bundle), None) if request.bundle_per == "request" \
            else None
        for v in volumes:
            listed = settings if user.checksum_list else None
            rows = [_bundle_row(request, holder, v.number)] if holder is not None else []
            rows += [_granule(rg, listed, True, v.number) for rg in on_volume.get(v.number, [])]
            if v.number == 1:  # Canceled granules are listed once, with the first volume
                rows += [_granule(rg, None, False) for rg in canceled]
            sections.append(MediaVolume(v.media_id, kind, fmt, rows))
    else:
        sections = [MediaVolume(None, kind, fmt, [_granule(rg, None, False) for rg in request.granules])]
    # "Number of files in the request" (Table 4.3.6-2) counts the files ordered, whatever their packaging: a
    # bundled request counts its granules' files (the bundles' members), not the parts listed, as Figure
    # 4.3.6-4 counts 15 files of granules that list none.
    files = sum(len(rg.files) or len(rg.granule.files) for rg in request.granules)
    return MediaNotice(
        order_id=str(request.order.order_id), request_id=str(request.request_id), completed=completed,
        shipping_address=contact_lines(first_name=user.first_name, last_name=user.last_name, title=user.title,
                                       organization=user.organization, address=user.shipping_address,
                                       phone=user.phone, fax=user.fax, email=user.email),
        count=files, count_unit="files", volumes=sections,
        support_contacts=[line for line in settings.support_contacts.splitlines() if line.strip()],
        checksums=(user.checksum_list or bool(request.bundle)) and bool(on_volume),
    )


def _preamble(settings: Settings, notice: MediaNotice) -> str:
    return settings.media_rejection_preamble if notice.rejected else settings.media_preamble


def media_dn_date(settings: Settings, request_id: str) -> datetime:
    """The request's Completion Date: set by the first caller in its own transaction, read by every later one.

    A conditional UPDATE, so that volumes built at the same time agree and a
    retried step (whose transaction was rolled back) finds the date already given.
    """
    with session_scope(settings.database_url) as session:
        session.execute(update(Request).where(Request.request_id == request_id, Request.media_dn_date.is_(None))
                        .values(media_dn_date=utcnow()).execution_options(synchronize_session=False))
        date = session.scalar(select(Request.media_dn_date).where(Request.request_id == request_id))
    if date is None:
        raise NotFound(f"no request {request_id}")
    return date


def volume_text(settings: Settings, request: Request) -> str:
    """The DN text written onto each volume (fixed when its image is built, with the request's one date)."""
    session = Session.object_session(request)
    assert session is not None
    notice = build_media_notice(settings, session, request, media_dn_date(settings, str(request.request_id)))
    return render_media_dn(notice, _preamble(settings, notice))


def packing_list_path(settings: Settings, request: Request) -> Path:
    return under(settings.home / "packing_lists", f"{request.request_id}.pdf")


def packing_list_file(settings: Settings, request_id: str) -> Path | None:
    """The request's printed packing list, None while it has none (printed once every volume is verified)."""
    with session_scope(settings.database_url) as session:
        path = packing_list_path(settings, get_request(session, request_id))
    return path if path.is_file() else None


def _print(settings: Settings, request: Request, notice: MediaNotice) -> str:
    path = packing_list_path(settings, request)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    write_packing_list(notice, partial, _preamble(settings, notice), archive_name=settings.archive_name)
    partial.replace(path)  # never a half-written list where the operator prints from
    return str(path)


def print_packing_list(settings: Settings, request_id: str) -> str:
    """The packing list PDF (paginated, ``Media k of n`` and the Media_ID barcode on every page).

    A request that ended without shipping (cancelled, failed) prints as its rejection.
    """
    completed = media_dn_date(settings, request_id)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        ended = request.shipped_at is None and request.state.is_terminal
        return _print(settings, request, build_media_notice(settings, session, request, completed, rejected=ended))


def notify_media_request(settings: Settings, request_id: str, transport: Transport) -> dict[str, str | int | None]:
    """Close the request and send its notice once: the shipment DN, or the rejection when nothing shipped.

    A volume marked bad leaves the request open: the rewrite run writes it and closes the request.
    """
    completed = media_dn_date(settings, request_id)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        bad = [v.media_id for v in volumes_of(session, request) if v.state is VolumeState.BAD]
        if bad and request.shipped_at is None and request.state is not RequestState.CANCELLED:
            return {"state": "rewriting", "notice_id": None, "bad": ", ".join(bad)}  # the rewrite run closes it
        for rg in request.granules:
            if rg.status not in (GranuleStatus.DELIVERED, GranuleStatus.FAILED, GranuleStatus.CANCELLED):
                if request.shipped_at is None:
                    rg.status = GranuleStatus.CANCELLED if request.state is RequestState.CANCELLED \
                        else GranuleStatus.FAILED
                    rg.failure_explanation = rg.failure_explanation or "not produced on media"
        state = final_state(request)
        if request.shipped_at is None and state is not RequestState.CANCELLED:
            state = RequestState.FAILED
        notice = build_media_notice(settings, session, request, completed, rejected=request.shipped_at is None)
        _print(settings, request, notice)  # the list on record says what was mailed
        dn = enqueue_notice(
            session, dedupe_key=f"media-dn:{request.request_id}", kind="media-rejection" if notice.rejected
            else "media-dn", recipient=request.notify_email or request.order.user.email,
            subject=media_notice_subject(settings.archive_name, notice),
            body=render_media_dn(notice, _preamble(settings, notice)), request_pk=request.id)
        request.state, request.finished_at = state, request.finished_at or utcnow()
        notice_id = dn.id
    send_pending(settings.database_url, transport, notice_ids=[notice_id], mail_from=settings.mail_from)
    return {"state": state.value, "notice_id": notice_id}

