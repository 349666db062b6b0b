"""ISO images with UDF 2.60 bridged, by pycdlib: the volumes holding a file of 4 GiB or more.

``media.iso`` sends only those here (``media._isowrite`` writes every other volume in
flat memory; pycdlib keeps ~3.3 KiB of records a file, which such volumes, a few
files of DVD-9 or BD-R size, never feel).

Rock Ridge carries the original names, explicit modes and the files' own mtimes;
ISO 9660 gets unique 8.3 names and Joliet names of <= 64 characters (media._isonames
makes and checks them, because pycdlib does not). File data are added by path
and never held in memory: pycdlib lays the image out and writes its
descriptors, directories and path tables; the files' extents are then filled
by the kernel (``copy_file_range`` from each source, one open descriptor at a
time), which saves pycdlib's read/write copy through Python (the same bytes:
the tests compare both ways).
Trees deeper than ISO 9660's eight levels are relocated by pycdlib into a hidden
``RR_MOVED`` (``.rr_moved`` in Rock Ridge). Every image is read back and compared.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pycdlib
from pycdlib import dates, rockridge, udf
from pycdlib.pycdlibexception import PyCdlibException

from media._checksum import ChecksumFactory, ChecksumSink, check_read_back
from media.errors import MediaError, ReadBackMismatch, VolumeOverCapacity
from media._isonames import Names, NameTable
from media.layout import SECTOR, Entry, mode_of, needs_udf
from media._sources import copy_into, source_stat

ISO_DEPTH = 8
_TF_LONG_FORM = 1 << 7  # Rock Ridge TF flag: 17-byte dates (hundredths) instead of 7-byte ones (seconds)


def _names(entries: list[Entry]) -> dict[str, Names]:
    table = NameTable()
    return {e.path: table.add(e.path, e.is_dir) for e in entries}


class _Stamps:
    """Sets records' times to an entry's mtime (pycdlib stamps 'now'), sharing one date object per second.

    Records only read their date objects when the image is written, so entries
    of the same second share them: 100,000 files of one second cost one set.
    """

    def __init__(self) -> None:
        self._dates: dict[float, dates.DirectoryRecordDate] = {}
        self._tf: dict[tuple[int, float], rockridge.RRTFRecord] = {}
        self._udf: dict[float, udf.UDFTimestamp] = {}

    def record(self, rec: object, seconds: float) -> None:
        if isinstance(rec, udf.UDFFileEntry):
            stamp = self._udf.get(seconds)
            if stamp is None:
                stamp = self._udf[seconds] = udf.UDFTimestamp()
                stamp.new(seconds)
            rec.access_time = rec.mod_time = rec.attr_time = stamp
            return
        whole = float(int(seconds))  # directory record dates hold whole seconds
        date = self._dates.get(whole)
        if date is None:
            date = self._dates[whole] = dates.DirectoryRecordDate()
            date.new(whole)
        rec.date = date  # type: ignore[attr-defined]
        rr = getattr(rec, "rock_ridge", None)
        if rr is None:
            return
        for holder in (rr.dr_entries, rr.ce_entries):
            old = getattr(holder, "tf_record", None)
            if old is not None:
                key = (old.time_flags, seconds if old.time_flags & _TF_LONG_FORM else whole)
                tf = self._tf.get(key)
                if tf is None:
                    tf = self._tf[key] = rockridge.RRTFRecord()
                    tf.new(*key)
                holder.tf_record = tf

    def directory(self, iso: pycdlib.PyCdlib, names: Names, seconds: float, with_udf: bool) -> None:
        """A directory's records in every tree (looked up by path: directories have no inode)."""
        self.record(iso.get_record(rr_path=names.rr_path), seconds)
        self.record(iso.get_record(joliet_path=names.joliet_path), seconds)
        if with_udf:
            self.record(iso.get_record(udf_path=names.rr_path), seconds)

    def files(self, iso: pycdlib.PyCdlib, mtimes: dict[str, float], now: float) -> None:
        """Every file's records, through its inode (one per file, linking its ISO, Joliet and UDF records)."""
        for ino in iso.inodes:
            seconds = mtimes[ino.data_fp] if ino.manage_fp else now  # texts are added from memory
            for rec, _ in ino.linked_records:
                self.record(rec, seconds)


def _write_data(iso: pycdlib.PyCdlib, partial: Path) -> None:
    """pycdlib writes everything but the files' data; then each extent is copied in, in image order."""
    inodes, iso.inodes = iso.inodes, []
    try:
        iso.write(str(partial))
    finally:
        iso.inodes = inodes
    block = iso.logical_block_size
    with partial.open("r+b") as out:
        for ino in sorted((i for i in inodes if i.get_data_length() > 0), key=lambda i: i.extent_location()):
            _copy_extent(ino, out.fileno(), ino.extent_location() * block)


def _copy_extent(ino: pycdlib.inode.Inode, out: int, at: int) -> None:
    length = ino.get_data_length()
    if not ino.manage_fp:  # a text added from memory
        ino.data_fp.seek(ino.fp_offset)
        data = ino.data_fp.read(length)
        if os.pwrite(out, data, at) != length:
            raise MediaError(f"short write into the image at {at:,}")
        return
    copy_into(Path(ino.data_fp), length, out, at)


def build_with_pycdlib(entries: list[Entry], out: Path, *, capacity: int, volume_id: str,
                       kernel_copy: bool = True) -> int:
    """Write the entries into an image at ``out`` (via ``out.partial``); check capacity first.

    Raises VolumeOverCapacity before writing anything when the image would exceed
    ``capacity``; MediaError when a source file is missing or changed size.
    ``kernel_copy=False`` lets pycdlib copy the file data itself (same bytes, slower).
    Returns the image's size in bytes.
    """
    with_udf = needs_udf(entries)
    names = _names(entries)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3 if with_udf else 1, vol_ident=volume_id, rock_ridge="1.09",
            joliet=3, udf="2.60" if with_udf else None)
    now = time.time()
    relocated = False
    dirs: list[Names] = []
    mtimes: dict[str, float] = {}  # source path -> mtime (a source used twice has one mtime)
    try:
        iso.set_relocated_name("RR_MOVED", ".rr_moved")
        for e in entries:
            n = names[e.path]
            common = {"iso_path": n.iso_path, "rr_name": n.rr_name, "joliet_path": n.joliet_path,
                      "file_mode": mode_of(e), "udf_path": n.rr_path if with_udf else None}
            if e.is_dir:
                iso.add_directory(**common)
                dirs.append(n)
                relocated = relocated or e.path.count("/") + 1 >= ISO_DEPTH
            elif e.data is not None:
                iso.add_fp(io.BytesIO(e.data), len(e.data), **common)
            else:
                source = str(e.source)
                mtimes[source] = source_stat(e).st_mtime
                iso.add_file(source, **common)
        iso.force_consistency()  # one layout pass; record lookups below would each redo it after an add
        stamps = _Stamps()
        for n in dirs:
            stamps.directory(iso, n, now, with_udf)
        stamps.files(iso, mtimes, now)
        if relocated:
            iso.set_hidden(iso_path="/RR_MOVED")
            iso.force_consistency()  # times change no extent: only hiding needs a new layout
        size = iso.pvd.space_size * SECTOR
        if size > capacity:
            raise VolumeOverCapacity(f"image {out.name} would be {size:,} bytes, the medium holds {capacity:,}")
        partial = out.with_name(out.name + ".partial")
        if kernel_copy:
            _write_data(iso, partial)
        else:
            iso.write(str(partial), blocksize=1 << 20)
    except PyCdlibException as e:
        raise MediaError(f"pycdlib cannot build {out.name}: {e}") from e
    finally:
        iso.close()
    os.replace(partial, out)
    return size


def _listed(iso: pycdlib.PyCdlib) -> Iterator[str]:
    for root, dirs, files in iso.walk(rr_path="/"):
        for name in dirs + files:
            yield f"{root.rstrip('/')}/{name}"


def verify_with_pycdlib(image: Path, entries: list[Entry], factory: ChecksumFactory) -> int:
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
            check_read_back(image.name, e, sink, factory)
            if iso.get_record(iso_path=n.iso_path).get_data_length() != e.size:
                raise ReadBackMismatch(f"{image.name}: ISO 9660 name {n.iso_path} has the wrong length")
            checked += 1
        return checked
    except PyCdlibException as e:
        raise ReadBackMismatch(f"{image.name}: read-back failed: {e}") from e
    finally:
        iso.close()
