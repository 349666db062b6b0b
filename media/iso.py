"""ISO images of volumes: ISO 9660 + Rock Ridge 1.09 + Joliet, UDF 2.60 when a file is >= 4 GiB.

Rock Ridge carries the original names, explicit modes and the files' own mtimes;
ISO 9660 gets unique 8.3 names and Joliet names of <= 64 characters
(``media._isonames`` makes and checks them). Volumes without a 4 GiB file, that is
nearly all, are written by ``media._isowrite`` in memory that does not grow with
the number of files; the others by pycdlib (``media._iso_pycdlib``), which adds the
UDF bridge. Every image is read back: ``media._isoread`` walks the Rock Ridge and
Joliet trees a directory sector at a time, and each file's data are checksummed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from media._checksum import ChecksumFactory, ChecksumSink, check_read_back
from media.errors import ReadBackMismatch
from media._iso_pycdlib import build_with_pycdlib, verify_with_pycdlib
from media._isoread import read_extent, walk_joliet, walk_rock_ridge
from media._isospool import open_spool
from media._isowrite import write_iso
from media.layout import Entry, needs_udf
from media.volumes import VolumePlan


@dataclass(frozen=True)
class IsoImage:
    """A written image: its path, size, and whether it carries UDF."""

    path: Path
    size: int
    udf: bool


def volume_ident(media_id: str) -> str:
    """The ISO volume identifier (d-characters, <= 32) from a Media_ID."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in media_id.upper())[:32]


def build_iso(entries: Iterable[Entry], out: Path, *, capacity: int, volume_id: str,
              udf: bool | None = None) -> IsoImage:
    """Write the entries (parents first) into an image at ``out`` (via ``out.partial``); capacity is checked first.

    ``udf`` says whether a file is >= 4 GiB; None looks (and so holds the entries
    in a list). Raises VolumeOverCapacity before writing data, NameClash/BadName,
    MediaError for a missing or changed source.
    """
    if udf is None:
        entries = list(entries)
        udf = needs_udf(entries)
    if udf:
        size = build_with_pycdlib(list(entries), out, capacity=capacity, volume_id=volume_id)
    else:
        size = write_iso(entries, out, capacity=capacity, volume_id=volume_id)
    return IsoImage(out, size, udf)


def build_volume_iso(plan: VolumePlan, out: Path) -> IsoImage:
    """The image of one planned volume, named by its Media_ID."""
    return build_iso(plan.iter_entries(), out, capacity=plan.medium.capacity,
                     volume_id=volume_ident(plan.media_id), udf=plan.needs_udf)


def verify_volume_iso(plan: VolumePlan, image: Path, factory: ChecksumFactory) -> int:
    """``verify_iso`` of one planned volume's image; returns the files checked."""
    if plan.needs_udf:
        return verify_with_pycdlib(image, plan.entries(), factory)
    return verify_iso(image, plan.iter_entries(), factory)


def verify_iso(image: Path, entries: Iterable[Entry], factory: ChecksumFactory) -> int:
    """Read the image back: the same paths in Rock Ridge, the same files in Joliet, every file's checksum.

    The trees read go to a spool beside the image (SQLite, removed after), so
    that memory stays flat; the files are then read in the order written.
    Returns the files checked; raises ReadBackMismatch naming what differs.
    """
    spool = image.with_name(f".{image.name}.{os.getpid()}.verify")
    db = open_spool(spool)
    try:
        db.execute("CREATE TABLE rr (path TEXT PRIMARY KEY, is_dir INTEGER, extent INTEGER, size INTEGER,"
                   " seen INTEGER DEFAULT 0)")
        db.execute("CREATE TABLE joliet (is_dir INTEGER, extent INTEGER, size INTEGER)")
        db.execute("BEGIN")
        with image.open("rb") as f:
            _read_trees(db, f, image.name)
            return _compare(db, f, image.name, entries, factory)
    finally:
        db.close()
        spool.unlink(missing_ok=True)


def _read_trees(db: sqlite3.Connection, f: object, name: str) -> None:
    try:
        for item in walk_rock_ridge(f):  # type: ignore[arg-type]
            db.execute("INSERT INTO rr (path, is_dir, extent, size) VALUES (?, ?, ?, ?)",
                       (item.path, item.is_dir, item.extent, item.size))
    except sqlite3.IntegrityError as e:
        raise ReadBackMismatch(f"{name}: a path appears twice in the Rock Ridge tree") from e
    db.executemany("INSERT INTO joliet VALUES (?, ?, ?)",
                   ((i.is_dir, i.extent, i.size) for i in walk_joliet(f)))  # type: ignore[arg-type]
    files = "SELECT extent, size, count(*) FROM {} WHERE NOT is_dir GROUP BY extent, size"
    differ = db.execute(f"SELECT count(*) FROM ({files.format('rr')} EXCEPT {files.format('joliet')})").fetchone()[0]
    differ += db.execute(f"SELECT count(*) FROM ({files.format('joliet')} EXCEPT {files.format('rr')})").fetchone()[0]
    dirs = [db.execute(f"SELECT count(*) FROM {t} WHERE is_dir").fetchone()[0] for t in ("rr", "joliet")]
    if differ or dirs[0] != dirs[1]:
        raise ReadBackMismatch(f"{name}: the Joliet tree differs from the Rock Ridge tree "
                               f"({differ} file extents differ; {dirs[0]} vs {dirs[1]} directories)")


def _compare(db: sqlite3.Connection, f: object, name: str, entries: Iterable[Entry], factory: ChecksumFactory) -> int:
    checked = 0
    for e in entries:
        row = db.execute("SELECT is_dir, extent, size FROM rr WHERE path = ?", ("/" + e.path,)).fetchone()
        if row is None:
            raise ReadBackMismatch(f"{name}: {e.path} is missing")
        db.execute("UPDATE rr SET seen = 1 WHERE path = ?", ("/" + e.path,))
        is_dir, extent, size = row
        if bool(is_dir) != e.is_dir:
            raise ReadBackMismatch(f"{name}: {e.path} is a {'directory' if is_dir else 'file'} on the image")
        if e.is_dir:
            continue
        sink = ChecksumSink(factory)
        read_extent(f, extent, size, sink)  # type: ignore[arg-type]
        check_read_back(name, e, sink, factory)
        checked += 1
    extra = [p for p, in db.execute("SELECT path FROM rr WHERE NOT seen ORDER BY path LIMIT 5")]
    if extra:
        raise ReadBackMismatch(f"{name}: unexpected paths on the image: {extra}")
    return checked
