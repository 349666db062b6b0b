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
    raises ``GranuleTooLarge`` / ``NameClash`` / ``BadName``.
    ``VolumePlan``: ``number``, ``count``, ``media_id`` (``<RequestID>_<VolumeID>``,
    e.g. ``0300018199_001``), ``label`` (``Media k of n``), ``items``, ``texts``,
    ``planned_bytes`` (upper bound; exact for tape), ``entries() -> list[Entry]``,
    ``iter_entries()`` (one at a time), ``needs_udf``. An optical volume holds at most
    65,535 directories (ISO 9660 path tables); planning starts a new volume before.

ISO images (``media.iso``)
    ``build_volume_iso(plan, out: Path) -> IsoImage`` (or ``build_iso(entries, out, *,
    capacity, volume_id, udf=None)``): ISO 9660 + Rock Ridge 1.09 + Joliet, written by
    ``media.isowrite`` in flat memory (a spool beside the image); UDF 2.60 (pycdlib,
    ``media.iso_pycdlib``) when a file is >= 4 GiB; raises ``VolumeOverCapacity`` before
    writing. File data go in by ``copy_file_range``.
    ``verify_volume_iso(plan, image, factory)`` / ``verify_iso(image, entries, factory)
    -> int`` (files checked) or ``ReadBackMismatch``: ``media.isoread`` walks the trees.

Tape (``media.tape``, ``media.tapedev``)
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
"""
