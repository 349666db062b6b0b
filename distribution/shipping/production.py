"""Physical media requests: plan volumes, build images, write, read back — one function per DAG step.

What goes on a volume is decided here from the request's staged and verified
granules; ``media`` plans, builds and writes it. The state of every volume is a
``volumes`` row, so a retried step, or a rewrite run after the operator marked a
volume bad, does only what is left:

* plan — once per request: one directory per granule named by its directory
  number, whole granules only; a granule larger than a volume is Canceled with the
  reason (the rest still ship). A bundled request's bundles are made here, cut into
  parts by the configured split size and so that each part fits a volume alone; the
  parts are placed one by one (a granule's bundle, or the request's one bundle in
  directory ``0``, may span volumes; each part is a file on one volume, its volume kept
  in the part's record). The DN text goes on every volume as ``<RequestID>.txt``;
* build — the ISO image (CD-ROM, DVD); tapes are written straight from the files;
* write — the image burned (or the tar stream written, spanning cartridges at end
  of tape) on the drive the operator loaded;
* verify — read back from the medium, every file's MD5 against the archive's (a bundle: against the
  bundle as made).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.shipping import drives as site_drives
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.bundles import REQUEST_DIRECTORY, make_bundle, parts_on
from distribution.orders.delivery import RETRIEVAL_FAILED, staging_directory
from distribution.errors import FileVanished, NotFound, PermanentError, RetryableError, UserError
from distribution.shipping.drives import OPTICAL, TAPE, drive_kind, medium_for
from distribution.shipping.paperwork import volume_text, volumes_of
from distribution.models import GranuleStatus, MediaType, Request, RequestGranule, RequestState, Volume, VolumeState
from distribution.orders.placing import get_request
from distribution.time import utcnow
import media
from media import GranuleItem, TextFile, VolumeFile, VolumePlan, granule_entries, plan_volumes

log = logging.getLogger(__name__)
MEDIA_TYPES = (MediaType.CDROM, MediaType.DVD, MediaType.DLT)
TO_WRITE = (VolumeState.PLANNED, VolumeState.BUILT, VolumeState.LOADED, VolumeState.WRITTEN, VolumeState.BAD)
#: Room kept for the DN text on each volume while planning (the text itself is written later):
#: its header, and a line or three per file (the checksum lines where the user is on the list).
TEXT_HEADER_RESERVE = 8 << 10
#: How long a drive may take to report the blank disc (udev monitor) or the tape (mt status) the operator loaded.
BLANK_DISC_WAIT = 120.0
TEXT_FILE_RESERVE = 512


def _mapped(e: media.MediaError | media.MediaRetryable) -> Exception:
    """media's errors as the error types that decide retry or fail."""
    if isinstance(e, media.MediaRetryable):
        return RetryableError(str(e))
    return PermanentError(str(e))


def text_name(request: Request) -> str:
    return f"{request.request_id}.txt"


def bundle_directory(settings: Settings, request: Request) -> Path:
    """Where a media request's bundles are made (beside its staged files; the volumes are made from them)."""
    return staging_directory(settings, request) / "bundles"


def _item(settings: Settings, rg: RequestGranule) -> GranuleItem:
    files = tuple(
        VolumeFile(Path(str(rf.staged_path)), rf.dist_name, rf.size,
                   rf.granule_file.checksum_value if rf.granule_file.checksum_type == "MD5" and not rf.written
                   else None)
        for rf in rg.files
    )
    return GranuleItem(str(rg.id), str(rg.directory_number), files)


def _directory(rg: RequestGranule) -> str:
    """Where a granule's bundle parts go on a volume: its directory, or the request bundle's."""
    return REQUEST_DIRECTORY if rg.request.bundle_per == "request" else str(rg.directory_number)


def _pieces(settings: Settings, rg: RequestGranule, parts: list[dict[str, Any]]) -> list[GranuleItem]:
    """Bundle parts as pieces of the granule (one item each, read back against themselves)."""
    target = bundle_directory(settings, rg.request)
    return [GranuleItem(str(rg.id), _directory(rg), (VolumeFile(target / p["name"], p["name"], p["size"]),))
            for p in parts]


def _on_volume(settings: Settings, rg: RequestGranule, number: int) -> GranuleItem | None:
    """What of the granule is on volume ``number``: its files, or its bundle parts there (None: nothing)."""
    if not rg.request.bundle:
        return _item(settings, rg) if rg.volume_number == number else None
    pieces = _pieces(settings, rg, parts_on(rg, number))
    if not pieces:
        return None
    return GranuleItem(pieces[0].key, pieces[0].directory, tuple(f for p in pieces for f in p.files))


def _volume(session: Session, media_id: str) -> Volume:
    volume = session.scalar(select(Volume).where(Volume.media_id == media_id))
    if volume is None:
        raise NotFound(f"no volume {media_id}")
    return volume


def check_granule(item: GranuleItem) -> None:
    """BadName for a file name no volume can hold (the names are checked as the entries are made)."""
    for _ in granule_entries(item):
        pass


def volume_plan(settings: Settings, session: Session, volume: Volume) -> VolumePlan:
    """The volume as planned, rebuilt from the database, with its DN text on it."""
    request = volume.request
    text = volume.text or ""
    items = tuple(item for rg in request.granules if rg.status is not GranuleStatus.FAILED
                  and (item := _on_volume(settings, rg, volume.number)) is not None)
    return VolumePlan(volume.number, volume.count, volume.media_id, medium_for(request.media_type), items,
                      (TextFile(text_name(request), text),), volume.planned_bytes)


def _reserve(request: Request, entries: int) -> tuple[TextFile, ...]:
    """Room for the DN text while planning: its header and a few lines per file or bundle part."""
    return (TextFile(text_name(request), " " * (TEXT_HEADER_RESERVE + TEXT_FILE_RESERVE * entries)),)


def _bundled(settings: Settings, request: Request, granules: list[RequestGranule], medium: media.Medium
             ) -> tuple[list[tuple[RequestGranule, list[GranuleItem]]], int]:
    """Make the bundles of a media request, each cut into parts by the configured split size and so that
    every part fits a volume alone; (each bundle's holder with its parts as pieces, DN lines to reserve).

    One bundle per request is made of the granules whose staged files are all there (the others fail)."""
    files = sum(len(rg.files) for rg in granules)
    staged = sum(rf.size for rg in granules for rf in rg.files)
    configured = settings.bundle_split_bytes or None
    room = media.largest_file(medium, REQUEST_DIRECTORY, "x" * 64, texts=_reserve(request, files + len(granules)))
    bound = staged + staged // 100 + 1024 * files + (1 << 16)  # a compressed tar is never much larger than its data
    entries = files + len(granules) + -(-bound // min(configured or room, room))
    split = min(configured or room, media.largest_file(medium, REQUEST_DIRECTORY, "x" * 64,
                                                       texts=_reserve(request, entries)))
    if request.bundle_per == "request":
        missing = [rg for rg in granules if not all(Path(str(rf.staged_path)).is_file() for rf in rg.files)]
        for rg in missing:
            rg.status, rg.failure_explanation = GranuleStatus.FAILED, RETRIEVAL_FAILED
        groups = [[rg for rg in granules if rg not in missing]] if len(missing) < len(granules) else []
    else:
        groups = [[rg] for rg in granules]
    made = []
    for group in groups:
        try:
            make_bundle(request, group, bundle_directory(settings, request), split)
        except FileVanished:
            if len(group) > 1:
                raise
            group[0].status, group[0].failure_explanation = GranuleStatus.FAILED, RETRIEVAL_FAILED
            continue
        made.append((group[0], _pieces(settings, group[0], list(group[0].bundle or []))))
    return made, entries


def plan_request(settings: Settings, request_id: str) -> list[str]:
    """Plan the request's volumes once; the Media_IDs still to write (all of them, or the bad ones)."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if request.media_type not in MEDIA_TYPES:
            raise UserError(f"request {request_id} is {request.media_type.value}, not physical media")
        existing = volumes_of(session, request)
        if existing or request.state.is_terminal:
            return [v.media_id for v in existing if v.state in TO_WRITE]
        medium = medium_for(request.media_type)
        verified = [rg for rg in request.granules if rg.status is GranuleStatus.VERIFIED]
        entries = sum(len(rg.files) for rg in request.granules)
        if request.bundle:  # volumes are planned by the bundles' parts, a piece each
            made, entries = _bundled(settings, request, verified, medium)
            candidates = [(rg, pieces) for rg, pieces in made]
        else:
            candidates = [(rg, [_item(settings, rg)]) for rg in verified]
        ready: dict[str, RequestGranule] = {}
        items = []
        for rg, pieces in candidates:
            try:
                for piece in pieces:
                    check_granule(piece)  # a name no volume can hold fails that granule, not the request
            except media.MediaError as e:
                rg.status, rg.failure_explanation = GranuleStatus.FAILED, str(e)
                continue
            ready[pieces[0].key] = rg
            items += pieces
        too_large: list[media.GranuleTooLarge] = []
        try:
            plans = plan_volumes(str(request.request_id), items, medium, texts=_reserve(request, entries),
                                 rejected=too_large)
        except media.MediaError as e:
            raise _mapped(e) from e
        for e in too_large:  # Canceled in the DN with the reason; the rest still ships
            rg = ready[str(e.key)]
            rg.status, rg.failure_explanation = GranuleStatus.FAILED, f"too large for one {medium.name}: {e}"
        for plan in plans:
            session.add(Volume(request_pk=request.id, number=plan.number, count=plan.count, media_id=plan.media_id,
                               medium=medium.name, state=VolumeState.PLANNED, planned_bytes=plan.planned_bytes))
        _place(request, ready, plans)
        request.state = RequestState.DELIVERING
        session.flush()
        log.info("request %s: %d volumes of %s", request_id, len(plans), medium.name)
        return [p.media_id for p in plans]


def _place(request: Request, ready: dict[str, RequestGranule], plans: list[VolumePlan]) -> None:
    """Record where each granule went: its (first) volume and, for a bundle, each part's volume."""
    for plan in reversed(plans):  # the first volume a granule is on is the last one set
        for item in plan.items:
            rg = ready[item.key]
            if rg.status is GranuleStatus.FAILED:
                continue
            rg.volume_number = plan.number
            if request.bundle:
                names = {f.name for f in item.files}
                rg.bundle = [dict(p, volume=plan.number) if p["name"] in names else p for p in rg.bundle or []]
    if request.bundle_per == "request":  # every granule in the bundle is on the volume of its first part
        holder = next((rg for rg in request.granules if rg.bundle), None)
        for rg in request.granules:
            if holder is not None and rg.bundle == [] and rg.status is GranuleStatus.VERIFIED:
                rg.volume_number = holder.volume_number


def build_volume(settings: Settings, media_id: str) -> str:
    """The volume's ISO image (optical; built once); for tape nothing to build. Returns the image path or ''."""
    with session_scope(settings.database_url) as session:
        volume = _volume(session, media_id)
        request = volume.request
        built = volume.state not in (VolumeState.PLANNED, VolumeState.BAD)
        if built and (volume.image_path is None or Path(volume.image_path).exists()):
            return volume.image_path or ""
        if volume.text is None:  # fixed once: read-back compares it with what the medium holds
            volume.text = volume_text(settings, request)
        if drive_kind(request.media_type) == TAPE:
            volume.state, volume.built_at = VolumeState.BUILT, utcnow()
            return ""
        plan = volume_plan(settings, session, volume)
        out = staging_directory(settings, request) / "volumes" / f"{media_id}.iso"
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            image = media.build_volume_iso(plan, out)
        except (media.MediaError, media.MediaRetryable) as e:
            raise _mapped(e) from e
        volume.image_path, volume.state, volume.built_at = str(image.path), VolumeState.BUILT, utcnow()
        return str(image.path)


def load_prompt(settings: Settings, media_id: str, step: tuple[str, int] | None = None) -> dict[str, Any]:
    """What the operator is asked: subject and body of the "load a blank medium" step.

    ``step``: the run and map index of the step that will ask, kept on the volume so the
    console knows which volume a waiting step is about without reading its text.
    """
    with session_scope(settings.database_url) as session:
        volume = _volume(session, media_id)
        if step is not None:
            volume.load_run_id, volume.load_map_index = step
        request = volume.request
        kind = drive_kind(request.media_type)
        drives = [d.name for d in site_drives.configured_drives(settings, kind)]
        what = "tape" if kind == TAPE else f"{volume.medium} disc"
        again = " again (the last one was marked bad)" if volume.rewrites else ""
        return {
            "subject": f"Load a blank {what} in {' or '.join(drives)} for request {request.request_id}, "
                       f"volume {volume.number} of {volume.count}{again}",
            "body": f"Media_ID **{media_id}** ({volume.planned_bytes:,} bytes planned). Pick the drive you loaded "
                    "and enter the media serial number if the medium has one.",
        }


def record_load(settings: Settings, media_id: str, drive: str, serial: str = "") -> str:
    """The operator's answer: which drive holds the blank medium, and its serial."""
    with session_scope(settings.database_url) as session:
        volume = _volume(session, media_id)
        kind = drive_kind(volume.request.media_type)
        site_drives.find_drive(settings, kind, drive)
        if volume.state in (VolumeState.WRITTEN, VolumeState.VERIFIED):
            return volume.state.value
        volume.drive, volume.media_serial, volume.state = drive, serial.strip()[:64], VolumeState.LOADED
        return volume.state.value


def write_volume(settings: Settings, media_id: str) -> list[dict[str, Any]]:
    """Burn the image or write the tape on the loaded drive; where the bytes went."""
    with session_scope(settings.database_url) as session:
        volume = _volume(session, media_id)
        if volume.state in (VolumeState.WRITTEN, VolumeState.VERIFIED):
            return list(volume.written_to)
        if volume.state is not VolumeState.LOADED:
            raise PermanentError(f"volume {media_id} is {volume.state.value}: load a blank medium first")
        request = volume.request
        kind = drive_kind(request.media_type)
        spec = site_drives.find_drive(settings, kind, volume.drive)
        try:
            if kind == OPTICAL:
                if not spec.virtual:  # the operator says it is loaded: udev must see a blank disc of the kind
                    media.wait_for_blank(spec.device, _disc_kind(request.media_type), BLANK_DISC_WAIT)
                result = site_drives.burner(spec).burn(Path(str(volume.image_path)), site_drives.md5)
                where = str(spec.path / Path(str(volume.image_path)).name) if spec.virtual else result.device
                written = [{"disc": where}]
            else:
                plan = volume_plan(settings, session, volume)
                first = site_drives.tape_drive(spec)
                if isinstance(first, media.MtTapeDrive):  # the operator says it is loaded: the drive must agree
                    first.wait_loaded(BLANK_DISC_WAIT)
                segments = media.write_volume_tape(plan, first,
                                                  lambda n: site_drives.tape_drive(spec, n))
                written = [{"tape": s.tape, "drive": s.drive, "granules": list(s.granules), "complete": s.complete}
                           for s in segments]
        except (media.MediaError, media.MediaRetryable) as e:
            volume.detail = str(e)
            raise _mapped(e) from e
        volume.written_to, volume.state, volume.written_at = written, VolumeState.WRITTEN, utcnow()
        return written


def _disc_kind(media_type: MediaType) -> str:
    return "CD" if media_type is MediaType.CDROM else "DVD"


def verify_volume(settings: Settings, media_id: str) -> int:
    """Read the volume back from the medium; every file against the archive's checksum. Files checked."""
    with session_scope(settings.database_url) as session:
        volume = _volume(session, media_id)
        if volume.state is VolumeState.VERIFIED:
            return volume.files_checked
        if volume.state is not VolumeState.WRITTEN:
            raise PermanentError(f"volume {media_id} is {volume.state.value}: nothing written to read back")
        request = volume.request
        plan = volume_plan(settings, session, volume)
        try:
            if drive_kind(request.media_type) == OPTICAL:
                checked = media.verify_volume_iso(plan, Path(volume.written_to[0]["disc"]), site_drives.md5)
            else:
                checked = _verify_tapes(settings, volume, plan)
        except (media.MediaError, media.MediaRetryable) as e:
            volume.state, volume.detail = VolumeState.BAD, f"read-back failed: {e}"
            session.commit()
            raise _mapped(e) from e
        volume.state, volume.verified_at, volume.files_checked = VolumeState.VERIFIED, utcnow(), checked
        return checked


def _verify_tapes(settings: Settings, volume: Volume, plan: VolumePlan) -> int:
    spec = site_drives.find_drive(settings, TAPE, volume.drive)
    checked = 0
    for cartridge in volume.written_to:
        wanted = set(cartridge["granules"])
        items = tuple(i for i in plan.items if i.key in wanted)
        entries = dataclasses.replace(plan, items=items).entries()
        segment = media.TapeSegment(cartridge["tape"], cartridge["drive"], sorted(wanted), entries, 0,
                                   cartridge["complete"])
        checked += media.verify_tape(segment, site_drives.tape_drive(spec, cartridge["tape"]), site_drives.md5)
    return checked


def mark_bad(settings: Settings, media_id: str, why: str = "marked bad by the operator") -> str:
    """The operator says a volume is bad: it is written again (a new blank medium) by the next run."""
    with session_scope(settings.database_url) as session:
        volume = _volume(session, media_id)
        if volume.request.shipped_at is not None:
            raise UserError(f"request {volume.request.request_id} has shipped; {media_id} cannot be rewritten")
        volume.state, volume.detail, volume.rewrites = VolumeState.BAD, why, volume.rewrites + 1
        volume.drive, volume.media_serial, volume.written_to = "", "", []
        return str(volume.request.request_id)


def all_verified(settings: Settings, request_id: str) -> bool:
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        vols = volumes_of(session, request)
        return bool(vols) and all(v.state is VolumeState.VERIFIED for v in vols)


def shipped(settings: Settings, request_id: str, carrier: str, tracking: str, when: datetime | None = None) -> None:
    """The operator confirmed the shipment: every granule on a verified volume is delivered."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if request.shipped_at is not None:
            return
        vols = {v.number: v for v in volumes_of(session, request)}
        if not vols or any(v.state is not VolumeState.VERIFIED for v in vols.values()):
            raise UserError(f"request {request_id}: every volume must be verified before it ships")
        for rg in request.granules:
            if rg.volume_number in vols and rg.status is GranuleStatus.VERIFIED:
                rg.status = GranuleStatus.DELIVERED
        request.carrier, request.tracking_number = carrier.strip()[:64], tracking.strip()[:64]
        request.shipped_at = when or utcnow()
