"""What the media operator sees: the queue of volumes per drive kind, and the drives with their state.

Read-only views of the ``volumes`` rows (no Airflow): a volume's state says which
stage of the queue it waits in —

* ``to_build``: planned, or marked bad and waiting for its rewrite;
* ``blank_media``: its image is built, the step waits for a blank disc or tape;
* ``writing``: loaded in a drive, being written;
* ``read_back``: written, being read back;
* ``shipment``: verified, the request not shipped yet.

Shipped requests, and cancelled ones, have left the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from distribution.config import Settings
from distribution.models import Request, RequestState, Volume, VolumeState
from distribution.shipping.drives import DriveSpec, configured_drives
from distribution.time import utcnow

#: The queue's stages, in the order a volume goes through them.
STAGES = ("to_build", "blank_media", "writing", "read_back", "shipment")
_STAGE = {
    VolumeState.PLANNED: "to_build",
    VolumeState.BAD: "to_build",
    VolumeState.BUILT: "blank_media",
    VolumeState.LOADED: "writing",
    VolumeState.WRITTEN: "read_back",
    VolumeState.VERIFIED: "shipment",
}


@dataclass(frozen=True)
class QueuedVolume:
    """One line of the media queue."""

    stage: str
    request_id: str
    media_id: str
    medium: str
    number: int  # volume k ...
    count: int  # ... of n
    size: int  # planned bytes
    age_seconds: int  # since the request was made
    drive: str
    media_serial: str
    rewrites: int
    detail: str


@dataclass(frozen=True)
class DriveStatus:
    """A configured drive and what it holds: ``idle``, ``loaded`` (serial, volume) or ``failed`` (why)."""

    name: str
    kind: str
    device: str
    state: str
    media_id: str = ""
    media_serial: str = ""
    detail: str = ""


def media_queue(session: Session, kind: str, now: datetime | None = None) -> dict[str, list[QueuedVolume]]:
    """Every volume of ``kind`` (optical | tape) still on its way out, by stage, oldest request first."""
    now = now or utcnow()
    queue: dict[str, list[QueuedVolume]] = {stage: [] for stage in STAGES}
    rows = session.scalars(
        select(Volume).join(Volume.request).options(joinedload(Volume.request))
        .where(Request.shipped_at.is_(None), Request.state != RequestState.CANCELLED)
        .order_by(Request.created_at, Request.id, Volume.number)
    )
    for volume in rows:
        request = volume.request
        if request.media_type.drive_kind != kind:
            continue
        stage = _STAGE[volume.state]
        queue[stage].append(QueuedVolume(
            stage=stage, request_id=str(request.request_id), media_id=volume.media_id, medium=volume.medium,
            number=volume.number, count=volume.count, size=volume.planned_bytes,
            age_seconds=max(0, int((now - request.created_at).total_seconds())),
            drive=volume.drive, media_serial=volume.media_serial, rewrites=volume.rewrites,
            detail=volume.detail or "",
        ))
    return queue


def _device_missing(spec: DriveSpec) -> bool:
    return not spec.virtual and not Path(spec.device).exists()


def drive_states(session: Session, settings: Settings, kind: str) -> list[DriveStatus]:
    """The configured drives of ``kind``: a drive whose loaded volume is not written yet holds it."""
    loaded = {
        v.drive: v for v in session.scalars(
            select(Volume).where(Volume.state == VolumeState.LOADED).order_by(Volume.id))
    }
    states = []
    for spec in configured_drives(settings, kind):
        volume = loaded.get(spec.name)
        if _device_missing(spec):
            states.append(DriveStatus(spec.name, kind, spec.device, "failed", detail=f"{spec.device} is not there"))
        elif volume is not None:
            states.append(DriveStatus(spec.name, kind, spec.device, "loaded", volume.media_id, volume.media_serial))
        else:
            states.append(DriveStatus(spec.name, kind, spec.device, "idle"))
    return states


def volume_ids(session: Session, request_id: str) -> list[str]:
    """The Media_IDs of a request's volumes, in order (an operator names one of them to rewrite)."""
    return list(session.scalars(select(Volume.media_id).join(Volume.request)
                                .where(Request.request_id == request_id).order_by(Volume.number)))


def load_step_volumes(session: Session, run_ids: list[str]) -> dict[tuple[str, int], str]:
    """The volume each load step of these runs asks a blank medium for: (run id, map index) → Media_ID."""
    if not run_ids:
        return {}
    rows = session.execute(select(Volume.load_run_id, Volume.load_map_index, Volume.media_id)
                           .where(Volume.load_run_id.in_(run_ids)))
    return {(str(run), int(index)): media_id for run, index, media_id in rows if index is not None}
