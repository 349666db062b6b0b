"""The archive's media drives, as configured: real burners and tape drives, or virtual ones.

``ARDIS_OPTICAL_DRIVES`` and ``ARDIS_TAPE_DRIVES`` list drives as
``name=device`` separated by commas; a device is a path (``/dev/sr0``,
``/dev/nst0``) or ``virtual:<path>``: a folder that receives burned images, or a
file that receives the tape stream (``ARDIS_VIRTUAL_TAPE_BYTES`` makes it fill
up, to show tape spanning). Without them, one virtual drive of each kind lives
under ``ARDIS_HOME/drives`` — the embedded default and the demo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from distribution.checksums import StreamingChecksum
from distribution.config import Settings
from distribution.errors import UserError
from distribution.models import MediaType
import media
from media import Checksum

OPTICAL = "optical"
TAPE = "tape"
#: DLT-IV native capacity; a site sets ARDIS_TAPE_CAPACITY for its cartridges (LTO-8: 12 TB).
DEFAULT_TAPE_CAPACITY = 40_000_000_000


@dataclass(frozen=True)
class DriveSpec:
    name: str
    kind: str  # optical | tape
    device: str  # a device path, or virtual:<path>

    @property
    def virtual(self) -> bool:
        return self.device.startswith("virtual:")

    @property
    def path(self) -> Path:
        return Path(self.device.removeprefix("virtual:"))


def drive_kind(media_type: MediaType) -> str:
    """``OPTICAL`` or ``TAPE``: the drives (and the pool) a physical media request needs."""
    kind = media_type.drive_kind
    if kind is None:
        raise UserError(f"{media_type.value} is not a physical medium")
    return kind


def medium_for(media_type: MediaType) -> media.Medium:
    """The capacity a request's volumes are planned for."""
    if media_type is MediaType.CDROM:
        return media.CD
    if media_type is MediaType.DVD:
        return media.DVD
    if media_type is MediaType.DLT:
        raw = os.environ.get("ARDIS_TAPE_CAPACITY", "").strip()
        return media.tape(int(raw) if raw else DEFAULT_TAPE_CAPACITY, "DLT")
    raise UserError(f"{media_type.value} is not a physical medium")


def media_format(media_type: MediaType) -> str:
    """The DN's MEDIA FORMAT (Table 4.3.6-2): Rock Ridge ISO images, tar on tape."""
    return "TARFORMAT" if media_type is MediaType.DLT else "RockRidge"


def _parse(text: str, kind: str) -> list[DriveSpec]:
    drives = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, device = item.partition("=")
        if not sep or not name.strip() or not device.strip():
            raise UserError(f"a drive is NAME=DEVICE (or NAME=virtual:PATH), not {item!r}")
        drives.append(DriveSpec(name.strip(), kind, device.strip()))
    return drives


def configured_drives(settings: Settings, kind: str) -> list[DriveSpec]:
    """The drives of one kind, in the configured order."""
    variable = "ARDIS_OPTICAL_DRIVES" if kind == OPTICAL else "ARDIS_TAPE_DRIVES"
    text = os.environ.get(variable, "").strip()
    if text:
        return _parse(text, kind)
    base = settings.home / "drives"
    return [DriveSpec("burner-1", OPTICAL, f"virtual:{base / 'burner-1'}")] if kind == OPTICAL else \
        [DriveSpec("tape-1", TAPE, f"virtual:{base / 'tape-1.tape'}")]


def find_drive(settings: Settings, kind: str, name: str) -> DriveSpec:
    for drive in configured_drives(settings, kind):
        if drive.name == name:
            return drive
    names = ", ".join(d.name for d in configured_drives(settings, kind))
    raise UserError(f"no {kind} drive {name!r} (configured: {names})")


def burner(spec: DriveSpec) -> media.Burner:
    return media.VirtualOpticalDrive(spec.path) if spec.virtual else media.XorrisoBurner(spec.device)


def tape_drive(spec: DriveSpec, cartridge: int = 1) -> media.TapeDrive:
    """The drive holding cartridge ``cartridge`` of a volume (virtual: one file per cartridge)."""
    if not spec.virtual:
        return media.MtTapeDrive(spec.device)
    raw = os.environ.get("ARDIS_VIRTUAL_TAPE_BYTES", "").strip()
    path = spec.path if cartridge == 1 else spec.path.with_name(f"{spec.path.name}.{cartridge}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return media.FileTapeDrive(path, int(raw) if raw else None)


def md5() -> Checksum:
    return StreamingChecksum.new("MD5")  # type: ignore[return-value]

