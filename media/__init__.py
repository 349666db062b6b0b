"""Ardis physical media: volume planning, ISO images, tape streams, drives.

Knows nothing of orders (never imports ``distribution``) and never imports Airflow.
``distribution`` decides what goes on a volume and maps the errors; the media DAG
calls one function per task. Public API:

Planning (``media.volumes``, ``media.layout``)
    ``VolumeFile(source: Path, name: str, size: int, checksum: str | None = None)`` —
    ``name`` is the path inside the granule directory (may contain ``/``);
    ``checksum`` (caller's type) skips re-reading the source on read-back.
    ``GranuleItem(key: str, directory: str, files: tuple[VolumeFile, ...])`` — one
    directory per granule, named by its directory number (ICD: ``Directory``).
    ``TextFile(name: str, text: str)`` — the DN / packing list put on every volume.
    ``CD, DVD, DVD9, BD: Medium``; ``MEDIA[name]``; ``tape(capacity, name="DLT")``.
    ``plan_volumes(request_id, granules, medium, *, headroom=0.01, texts=(),
    record_size=131072) -> list[VolumePlan]`` — first fit in order, whole granules;
    raises ``GranuleTooLarge`` / ``NameClash`` / ``BadName``; items of one key and
    directory are pieces of a granule (bundle parts) that may go on several volumes.
    ``largest_file(medium, directory, name, *, headroom, texts, record_size) -> int`` —
    the largest file that fits a volume alone (what a bundle's parts are cut to).
    ``VolumePlan``: ``number``, ``count``, ``media_id`` (``<RequestID>_<VolumeID>``,
    e.g. ``0300018199_001``), ``label`` (``Media k of n``), ``items``, ``texts``,
    ``planned_bytes`` (upper bound; exact for tape), ``entries() -> list[Entry]``,
    ``iter_entries()`` (one at a time), ``needs_udf``. An optical volume holds at most
    65,535 directories (ISO 9660 path tables); planning starts a new volume before.

ISO images (``media.iso``)
    ``build_volume_iso(plan, out: Path) -> IsoImage`` (or ``build_iso(entries, out, *,
    capacity, volume_id, udf=None)``): ISO 9660 + Rock Ridge 1.09 + Joliet, written by
    ``media._isowrite`` in flat memory (a spool beside the image); UDF 2.60 (pycdlib,
    ``media._iso_pycdlib``) when a file is >= 4 GiB; raises ``VolumeOverCapacity`` before
    writing. File data go in by ``copy_file_range``.
    ``verify_volume_iso(plan, image, factory)`` / ``verify_iso(image, entries, factory)
    -> int`` (files checked) or ``ReadBackMismatch``: ``media._isoread`` walks the trees.

Tape (``media.tape``, ``media._tapedev``)
    ``write_volume_tape(plan, drive, next_tape, record_size=131072) -> list[TapeSegment]``
    — ``next_tape(n) -> TapeDrive`` is called on end of tape (ask the operator);
    each ``TapeSegment`` has ``tape``, ``drive``, ``granules`` (keys), ``bytes``,
    ``complete`` (and ``entries``, made again on each pass).
    ``verify_tape(segment, drive, factory, record_size) -> int``.
    Drives: ``MtTapeDrive(device="/dev/nst0")`` (real, via ``mt``),
    ``FileTapeDrive(path, capacity=None, kernel_copy=True)`` (virtual; ENOSPC after
    ``capacity``; whole records of file data by ``copy_file_range`` unless switched off).

Optical drives (``media.drives``, ``media.burn``)
    ``find_optical_drives() -> list[OpticalDriveInfo]`` (``device``, ``writes``,
    ``media``, ``media_state``, ``blank``), ``find_tape_drives() -> list[TapeDriveInfo]``,
    ``wait_for_blank(device, kind="CD"|"DVD"|"BD", timeout) -> OpticalDriveInfo`` or
    ``NoMediaLoaded``. Burners (``Burner``: ``burn(image, factory) -> BurnResult``,
    ``eject()``): ``XorrisoBurner("/dev/sr0")`` (``xorriso -as cdrecord``, then read
    back) and ``VirtualOpticalDrive(folder)``.

Checksums: every read-back takes ``factory`` — a callable returning an object with
``update(bytes)`` and ``value() -> str`` (``lambda: StreamingChecksum.new("MD5")``).

Errors (``media.errors``): ``MediaError`` (permanent: ``GranuleTooLarge``,
``VolumeOverCapacity``, ``NameClash``, ``BadName``, ``ReadBackMismatch``,
``ToolFailed``) and ``MediaRetryable`` (``DeviceError``, ``NoMediaLoaded``, ``EndOfTape``).

The modules named above are where each part lives; callers import from ``media`` itself (``__all__``).
Modules with a leading underscore are internals.
"""

from __future__ import annotations

from media._checksum import Checksum, ChecksumFactory
from media._tapedev import FileTapeDrive, MtTapeDrive, TapeDrive
from media.burn import BurnResult, Burner, VirtualOpticalDrive, XorrisoBurner
from media.drives import OpticalDriveInfo, TapeDriveInfo, find_optical_drives, find_tape_drives, wait_for_blank
from media.errors import BadName, DeviceError, EndOfTape, GranuleTooLarge, MediaError, MediaRetryable, NameClash, NoMediaLoaded, ReadBackMismatch, StagingFull, ToolFailed, VolumeOverCapacity
from media.iso import IsoImage, build_iso, build_volume_iso, verify_iso, verify_volume_iso
from media.layout import Entry, GranuleItem, TextFile, VolumeFile, granule_entries
from media.tape import TapeSegment, verify_tape, write_volume_tape
from media.volumes import (BD, CD, DVD, DVD9, MEDIA, Medium, VolumePlan, largest_file, media_id, plan_volumes,
                           tape)

__all__ = [
    "BD",
    "BadName",
    "BurnResult",
    "Burner",
    "CD",
    "Checksum",
    "ChecksumFactory",
    "DVD",
    "DVD9",
    "DeviceError",
    "EndOfTape",
    "Entry",
    "FileTapeDrive",
    "GranuleItem",
    "GranuleTooLarge",
    "IsoImage",
    "MEDIA",
    "MediaError",
    "MediaRetryable",
    "Medium",
    "largest_file",
    "MtTapeDrive",
    "NameClash",
    "NoMediaLoaded",
    "OpticalDriveInfo",
    "ReadBackMismatch",
    "StagingFull",
    "TapeDrive",
    "TapeDriveInfo",
    "TapeSegment",
    "TextFile",
    "ToolFailed",
    "VirtualOpticalDrive",
    "VolumeFile",
    "VolumeOverCapacity",
    "VolumePlan",
    "XorrisoBurner",
    "build_iso",
    "build_volume_iso",
    "find_optical_drives",
    "find_tape_drives",
    "granule_entries",
    "media_id",
    "plan_volumes",
    "tape",
    "verify_iso",
    "verify_tape",
    "verify_volume_iso",
    "wait_for_blank",
    "write_volume_tape",
]
