"""ISO images with pycdlib: ISO 9660 + Rock Ridge 1.09 + Joliet, UDF 2.60 when a file is >= 4 GiB.

Rock Ridge carries the original names, explicit modes and the files' own mtimes;
ISO 9660 gets unique 8.3 names and Joliet names of <= 64 characters (media.isonames
makes and checks them, because pycdlib does not). File data are added by path
(pycdlib opens each file only while writing it, so 100,000 files need no
100,000 open descriptors) and streamed into the image, never held in memory.
Trees deeper than ISO 9660's eight levels are relocated by pycdlib into a hidden
``RR_MOVED`` (``.rr_moved`` in Rock Ridge). Every image is read back and compared.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pycdlib
from pycdlib import dates, rockridge, udf
from pycdlib.pycdlibexception import PyCdlibException

from media.checksum import ChecksumFactory, ChecksumSink, checksum_bytes, checksum_path
from media.errors import MediaError, ReadBackMismatch, VolumeOverCapacity
from media.isonames import Names, NameTable
from media.layout import SECTOR, Entry, mode_of, needs_udf
from media.volumes import VolumePlan

ISO_DEPTH = 8


@dataclass(frozen=True)
class IsoImage:
    """A written image: its path, size, whether it carries UDF, and the names of its entries."""

    path: Path
    size: int
    udf: bool
    names: dict[str, Names]


def volume_ident(media_id: str) -> str:
    """The ISO volume identifier (d-characters, <= 32) from a Media_ID."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in media_id.upper())[:32]


def _names(entries: list[Entry]) -> dict[str, Names]:
    table = NameTable()
    return {e.path: table.add(e.path, e.is_dir) for e in entries}


def _stamp(iso: pycdlib.PyCdlib, names: Names, seconds: float, with_udf: bool) -> None:
    """Give the entry's records in every tree this mtime (pycdlib stamps 'now')."""
    for rec in (iso.get_record(rr_path=names.rr_path), iso.get_record(joliet_path=names.joliet_path)):
        rec.date = dates.DirectoryRecordDate()
        rec.date.new(seconds)
        rr = getattr(rec, "rock_ridge", None)
        if rr is None:
            continue
        for holder in (rr.dr_entries, rr.ce_entries):
            old = getattr(holder, "tf_record", None)
            if old is not None:
                holder.tf_record = rockridge.RRTFRecord()
                holder.tf_record.new(old.time_flags, seconds)
    if with_udf:
        fe = iso.get_record(udf_path=names.rr_path)
        for attr in ("access_time", "mod_time", "attr_time"):
            stamp = udf.UDFTimestamp()
            stamp.new(seconds)
            setattr(fe, attr, stamp)


def _source_stat(entry: Entry) -> os.stat_result | None:
    if entry.source is None:
        return None
    try:
        st = entry.source.stat()
    except OSError as e:
        raise MediaError(f"cannot read {entry.source}: {e.strerror}") from e
    if st.st_size != entry.size:
        raise MediaError(f"{entry.source} is {st.st_size:,} bytes, the plan says {entry.size:,}")
    return st


def build_iso(entries: list[Entry], out: Path, *, capacity: int, volume_id: str) -> IsoImage:
    """Write the entries into an image at ``out`` (via ``out.partial``); check capacity first.

    Raises VolumeOverCapacity before writing anything when the image would exceed
    ``capacity``; MediaError when a source file is missing or changed size.
    """
    with_udf = needs_udf(entries)
    names = _names(entries)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3 if with_udf else 1, vol_ident=volume_id, rock_ridge="1.09",
            joliet=3, udf="2.60" if with_udf else None)
    now = time.time()
    relocated = False
    stamps: list[tuple[Names, float]] = []
    try:
        iso.set_relocated_name("RR_MOVED", ".rr_moved")
        for e in entries:
            n = names[e.path]
            st = _source_stat(e)
            common = {"iso_path": n.iso_path, "rr_name": n.rr_name, "joliet_path": n.joliet_path,
                      "file_mode": mode_of(e), "udf_path": n.rr_path if with_udf else None}
            if e.is_dir:
                iso.add_directory(**common)
                relocated = relocated or len(PurePosixPath(e.path).parts) >= ISO_DEPTH
            elif e.data is not None:
                iso.add_fp(io.BytesIO(e.data), len(e.data), **common)
            else:
                iso.add_file(str(e.source), **common)
            stamps.append((n, st.st_mtime if st else now))
        iso.force_consistency()  # one layout pass; record lookups below would each redo it after an add
        for n, seconds in stamps:
            _stamp(iso, n, seconds, with_udf)
        if relocated:
            iso.set_hidden(iso_path="/RR_MOVED")
        iso.force_consistency()
        size = iso.pvd.space_size * SECTOR
        if size > capacity:
            raise VolumeOverCapacity(f"image {out.name} would be {size:,} bytes, the medium holds {capacity:,}")
        partial = out.with_name(out.name + ".partial")
        iso.write(str(partial), blocksize=1 << 20)
    except PyCdlibException as e:
        raise MediaError(f"pycdlib cannot build {out.name}: {e}") from e
    finally:
        iso.close()
    os.replace(partial, out)
    return IsoImage(out, out.stat().st_size, with_udf, names)


def build_volume_iso(plan: VolumePlan, out: Path) -> IsoImage:
    """The image of one planned volume, named by its Media_ID."""
    return build_iso(plan.entries(), out, capacity=plan.medium.capacity, volume_id=volume_ident(plan.media_id))


def expected_checksum(entry: Entry, factory: ChecksumFactory) -> str:
    """The entry's known checksum, or one computed from its source or text."""
    if entry.checksum is not None:
        return entry.checksum
    if entry.data is not None:
        return checksum_bytes(entry.data, factory)
    assert entry.source is not None
    return checksum_path(entry.source, factory)[1]


def _listed(iso: pycdlib.PyCdlib) -> Iterator[str]:
    for root, dirs, files in iso.walk(rr_path="/"):
        for name in dirs + files:
            yield f"{root.rstrip('/')}/{name}"


def verify_iso(image: Path, entries: list[Entry], factory: ChecksumFactory) -> int:
    """Read the image back with pycdlib: same paths, every file's size and checksum; returns files checked.

    Compares the Rock Ridge tree (the hidden ``.rr_moved`` aside) and, per file,
    the ISO 9660 and Joliet names resolve to the same data. Raises ReadBackMismatch.
    """
    names = _names(entries)
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(image))
    except PyCdlibException as e:
        raise ReadBackMismatch(f"{image.name} cannot be read back: {e}") from e
    try:
        listed = {p for p in _listed(iso) if not p.startswith("/.rr_moved")}
        wanted = {names[e.path].rr_path for e in entries}
        if listed != wanted:
            missing, extra = sorted(wanted - listed)[:5], sorted(listed - wanted)[:5]
            raise ReadBackMismatch(f"{image.name}: paths differ (missing {missing}, unexpected {extra})")
        checked = 0
        for e in entries:
            if e.is_dir:
                continue
            n = names[e.path]
            sink = ChecksumSink(factory)
            iso.get_file_from_iso_fp(sink, rr_path=n.rr_path)
            want = expected_checksum(e, factory)
            if sink.size != e.size or sink.value() != want:
                raise ReadBackMismatch(f"{image.name}: {e.path} read back {sink.size:,} bytes {sink.value()}, "
                                       f"expected {e.size:,} bytes {want}")
            if iso.get_record(iso_path=n.iso_path).get_data_length() != e.size:
                raise ReadBackMismatch(f"{image.name}: ISO 9660 name {n.iso_path} has the wrong length")
            checked += 1
        return checked
    except PyCdlibException as e:
        raise ReadBackMismatch(f"{image.name}: read-back failed: {e}") from e
    finally:
        iso.close()
