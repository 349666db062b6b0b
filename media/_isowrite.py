"""A streaming ISO 9660 + Rock Ridge 1.09 + Joliet writer whose memory does not grow with the files.

pycdlib keeps every directory record of an image as Python objects (~3.3 KiB a
file: 470 MiB for a 100,000-file volume). Here each entry becomes one row of a
spool (SQLite in a temporary file beside the image, with a small page cache):
the spool's unique indexes keep names unique per directory, its ordered indexes
give the ISO 9660 and Joliet sort orders, and the layout and writing passes read
it back row by row. Python holds one directory sector, one record and the names
of the granule being added, whatever the volume's size.

Image layout: system area, primary and Joliet volume descriptors, terminator;
L and M path tables of both trees; ISO 9660 directories in path-table order,
then Joliet directories; Rock Ridge continuation areas (the ``ER`` entry, names
too long for their record); then the file data, each file from a sector
boundary in the order added, copied by the kernel (``copy_file_range``).

Directories deeper than ISO 9660's eight levels move into a hidden ``RR_MOVED``
(Rock Ridge ``.rr_moved``), with ``CL``/``PL``/``RE`` entries so that Rock Ridge
readers see them in place; the Joliet tree keeps them in place.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from media import _isofs
from media.errors import MediaError, StagingFull, VolumeOverCapacity
from media._isofs import SECTOR
from media._isospool import DIR_PX, FILE, FILE_PX, PLACEHOLDER, RELOCATION, ROOT, Spool
from media.layout import ISO_MAX_DIRECTORIES, Entry
from media._sources import DISK_FULL, copy_into


class _Layout:
    """Directory numbers, extents and sizes of both trees, and where the continuation areas go."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.directories = db.execute("SELECT count(*) FROM node WHERE kind IN (1, 3)").fetchone()[0]
        if self.directories > ISO_MAX_DIRECTORIES:
            raise VolumeOverCapacity(f"{self.directories:,} directories; an ISO 9660 volume holds at most "
                                     f"{ISO_MAX_DIRECTORIES:,}")
        self.iso_table = self._number("num", "level", "iso_parent", "iso_key", "n.kind IN (1, 3)", "iso")
        self.joliet_table = self._number("jnum", "jlevel", "parent", "joliet", "n.kind = 1", "joliet")
        table_sectors = 2 * _isofs.sectors(self.iso_table) + 2 * _isofs.sectors(self.joliet_table)
        self.tables_at = _isofs.SYSTEM_AREA + 3
        start = self.tables_at + table_sectors
        # Both trees' directories in path-table order (at most 65,535 ids): layout and writing follow it.
        self.iso_order = [n for n, in db.execute("SELECT id FROM node WHERE kind IN (1, 3) ORDER BY num")]
        self.joliet_order = [n for n, in db.execute("SELECT id FROM node WHERE kind = 1 ORDER BY jnum")]
        iso_sizes = [(self._iso_dir_size(node), node) for node in self.iso_order]
        self.iso_dirs_at, after_iso = start, self._place(iso_sizes, start, "loc", "dsize")
        joliet_sizes = [(self._joliet_dir_size(node), node) for node in self.joliet_order]
        self.joliet_dirs_at, self.ce_at = after_iso, self._place(joliet_sizes, after_iso, "jloc", "jdsize")
        self.data_at = self.ce_at + self._continuation_sectors()
        self.data_sectors = db.execute("SELECT coalesce(max(rel + (size + 2047) / 2048), 0) FROM node"
                                       " WHERE kind = 0").fetchone()[0]
        self.space = self.data_at + self.data_sectors

    def _number(self, column: str, level: str, parent: str, order: str, where: str, ident: str) -> int:
        """Path table numbers, level by level in parent-number then name order (ECMA-119 9.4); the table's size."""
        self.db.execute(f"UPDATE node SET {column} = 1 WHERE id = 1")
        size, number = _isofs.path_record_length(1), 1
        deepest = self.db.execute(f"SELECT max(n.{level}) FROM node n WHERE {where}").fetchone()[0]
        for depth in range(2, deepest + 1):
            rows = self.db.execute(
                f"SELECT n.id, length(n.{ident}) FROM node n JOIN node p ON p.id = n.{parent} "
                f"WHERE {where} AND n.{level} = ? ORDER BY p.{column}, n.{order}",
                (depth,)).fetchall()
            numbered = []
            for node, ident_len in rows:
                number += 1
                numbered.append((number, node))
                size += _isofs.path_record_length(ident_len)
            self.db.executemany(f"UPDATE node SET {column} = ? WHERE id = ?", numbered)
        return size

    def _place(self, sizes: list[tuple[int, int]], at: int, loc: str, dsize: str) -> int:
        placed = []
        for size, node in sizes:
            placed.append((at, size, node))
            at += size // SECTOR
        self.db.executemany(f"UPDATE node SET {loc} = ?, {dsize} = ? WHERE id = ?", placed)
        return at

    def iso_children(self, node: int) -> Iterator[tuple]:  # type: ignore[type-arg]
        return self.db.execute(
            "SELECT n.kind, n.iso, coalesce(n.rr, t.rr), n.size, n.rel, n.mtime, n.subdirs, n.loc, n.dsize, n.parent != n.iso_parent,"
            " t.loc, t.subdirs, t.mtime FROM node n LEFT JOIN node t ON t.id = n.target"
            " WHERE n.iso_parent = ? AND n.id != 1 ORDER BY n.iso_key", (node,))

    def joliet_children(self, node: int) -> Iterator[tuple]:  # type: ignore[type-arg]
        return self.db.execute(
            "SELECT kind, joliet, size, rel, mtime, jloc, jdsize FROM node"
            " WHERE parent = ? AND kind IN (0, 1) AND id != 1 ORDER BY joliet", (node,))

    def _iso_dir_size(self, node: int) -> int:
        fill = _Filler()
        fill.add(self.dot_lengths(node))
        for reclen, in self.db.execute("SELECT reclen FROM node WHERE iso_parent = ? AND id != 1 ORDER BY iso_key",
                                       (node,)):
            fill.add(reclen)
        return fill.size()

    def dot_lengths(self, node: int) -> int:
        """'.' and '..' of a directory (the root's '.' adds SP and a CE for the ER; '..' of a relocated one PL)."""
        dot = _isofs.record_length(1, _isofs.RR_LEN + _isofs.PX_LEN + _isofs.TF_LEN
                                  + (_isofs.SP_LEN + _isofs.CE_LEN if node == ROOT else 0))
        relocated = self.db.execute("SELECT parent != iso_parent FROM node WHERE id = ?", (node,)).fetchone()[0]
        dotdot = _isofs.record_length(1, _isofs.RR_LEN + _isofs.PX_LEN + _isofs.TF_LEN + (_isofs.PL_LEN if relocated else 0))
        return dot + dotdot

    def _joliet_dir_size(self, node: int) -> int:
        fill = _Filler()
        fill.add(2 * _isofs.record_length(1, 0))
        for reclen, in self.db.execute("SELECT jreclen FROM node WHERE parent = ? AND kind IN (0, 1) AND id != 1"
                                       " ORDER BY joliet", (node,)):
            fill.add(reclen)
        return fill.size()

    def _continuation_sectors(self) -> int:
        """Continuation areas in the order the ISO directories are written (the ER first)."""
        areas = _Filler()
        areas.add(len(_isofs.er()))
        for node in self.iso_order:
            for ce, in self.db.execute("SELECT ce FROM node WHERE iso_parent = ? AND id != 1 AND ce > 0"
                                       " ORDER BY iso_key", (node,)):
                areas.add(ce)
        return areas.size() // SECTOR


class _Filler:
    """Bytes packed so that none crosses a sector: directory records (ECMA-119 6.8.1.1), continuation areas."""

    def __init__(self) -> None:
        self.used = 0

    def add(self, length: int) -> int:
        """Where the piece goes, as an offset from the start."""
        if self.used % SECTOR + length > SECTOR:
            self.used += SECTOR - self.used % SECTOR
        at = self.used
        self.used += length
        return at

    def size(self) -> int:
        return _isofs.sectors(self.used) * SECTOR


class _Out:
    """Sequential writes from a position, in ~256 KiB ``pwrite`` calls."""

    def __init__(self, fd: int, sector: int) -> None:
        self.fd, self.at, self.buf = fd, sector * SECTOR, bytearray()

    def write(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= 1 << 18:
            self.flush()

    def flush(self) -> None:
        view = memoryview(self.buf)
        while view:
            n = os.pwrite(self.fd, view, self.at)
            view, self.at = view[n:], self.at + n
        self.buf = bytearray()


class _Writer:
    """Writes the laid-out spool: descriptors, path tables, directories, continuation areas, data."""

    def __init__(self, layout: _Layout, fd: int, volume_id: str, now: int) -> None:
        self.db, self.layout, self.fd, self.volume_id, self.now = layout.db, layout, fd, volume_id, now

    def write(self) -> None:
        lay = self.layout
        self._descriptors()
        self._path_tables()
        dirs, ce = _Out(self.fd, lay.iso_dirs_at), _Out(self.fd, lay.ce_at)
        areas = _Filler()  # the same packing as _Layout._continuation_sectors, in the same order
        self._put(ce, areas, _isofs.er())
        for node in lay.iso_order:
            self._iso_directory(node, dirs, ce, areas)
        for node in lay.joliet_order:
            self._joliet_directory(node, dirs)
        dirs.flush()
        ce.flush()  # the image is padded to its full size at the end
        self._data()
        os.ftruncate(self.fd, lay.space * SECTOR)

    def _descriptors(self) -> None:
        lay = self.layout
        lay_at = lay.tables_at
        iso_sectors, joliet_sectors = _isofs.sectors(lay.iso_table), _isofs.sectors(lay.joliet_table)
        root = self.db.execute("SELECT loc, dsize, jloc, jdsize FROM node WHERE id = 1").fetchone()
        primary = _isofs.Tables(lay.iso_table, lay_at, lay_at + iso_sectors, root[0], root[1])
        joliet_at = lay_at + 2 * iso_sectors
        joliet = _isofs.Tables(lay.joliet_table, joliet_at, joliet_at + joliet_sectors, root[2], root[3])
        descriptors = (bytes(_isofs.SYSTEM_AREA * SECTOR)
                       + _isofs.volume_descriptor(1, self.volume_id, lay.space, primary, self.now)
                       + _isofs.volume_descriptor(2, self.volume_id[:16], lay.space, joliet, self.now, joliet=True)
                       + _isofs.terminator())
        os.pwrite(self.fd, descriptors, 0)

    def _path_tables(self) -> None:
        lay = self.layout
        at = lay.tables_at
        for number, loc, parent, ident, size, joliet in (("num", "loc", "iso_parent", "iso", lay.iso_table, False),
                                                         ("jnum", "jloc", "parent", "joliet", lay.joliet_table, True)):
            little, big = _Out(self.fd, at), _Out(self.fd, at + _isofs.sectors(size))
            where = "n.kind = 1" if joliet else "n.kind IN (1, 3)"
            for name, extent, parent_number, node in self.db.execute(
                    f"SELECT n.{ident}, n.{loc}, p.{number}, n.id FROM node n JOIN node p ON p.id = n.{parent}"
                    f" WHERE {where} ORDER BY n.{number}"):
                ident_bytes = b"\0" if node == ROOT else (name if joliet else name.encode("ascii"))
                little.write(_isofs.path_table_record(ident_bytes, extent, parent_number, False))
                big.write(_isofs.path_table_record(ident_bytes, extent, parent_number, True))
            little.flush()  # the rest of their sectors stays zero: the file is written from empty
            big.flush()
            at += 2 * _isofs.sectors(size)

    def _iso_directory(self, node: int, out: _Out, ce: _Out, areas: _Filler) -> None:
        me = self.db.execute("SELECT n.loc, n.dsize, n.subdirs, n.mtime, n.parent != n.iso_parent, p.loc, p.dsize,"
                             " p.subdirs, p.mtime, o.loc FROM node n JOIN node p ON p.id = n.iso_parent"
                             " JOIN node o ON o.id = n.parent WHERE n.id = ?", (node,)).fetchone()
        loc, dsize, subdirs, mtime, relocated, p_loc, p_dsize, p_subdirs, p_mtime, original_parent = me
        fill = _Filler()
        root = node == ROOT
        dot_su = ((_isofs.sp() if root else b"") + _isofs.rr(_isofs.RR_PX | _isofs.RR_TF) + _isofs.px(DIR_PX, 2 + subdirs)
                  + _isofs.tf(mtime) + (_isofs.ce(self.layout.ce_at, 0, len(_isofs.er())) if root else b""))
        records = [_isofs.directory_record(b"\0", loc, dsize, mtime, _isofs.FLAG_DIR, dot_su)]
        dotdot_su = (_isofs.rr(_isofs.RR_PX | _isofs.RR_TF | (_isofs.RR_PL if relocated else 0))
                     + _isofs.px(DIR_PX, 2 + p_subdirs) + _isofs.tf(p_mtime)
                     + (_isofs.pl(original_parent) if relocated else b""))
        records.append(_isofs.directory_record(b"\1", p_loc, p_dsize, p_mtime, _isofs.FLAG_DIR, dotdot_su))
        start = out.at + len(out.buf)
        for record in records:
            self._put(out, fill, record)
        for row in self.layout.iso_children(node):
            self._put(out, fill, self._iso_record(row, ce, areas))
        written = out.at + len(out.buf) - start
        if written > dsize:
            raise MediaError(f"internal layout error: a directory took {written:,} bytes, {dsize:,} planned")
        out.write(bytes(dsize - written))

    @staticmethod
    def _put(out: _Out, fill: _Filler, record: bytes) -> int:
        """Write ``record`` where ``fill`` packs it (zeros up to there); returns its offset."""
        before = fill.used
        at = fill.add(len(record))
        out.write(bytes(at - before) + record)
        return at

    def _iso_record(self, row: tuple, ce: _Out, areas: _Filler) -> bytes:  # type: ignore[type-arg]
        kind, iso, rr, size, rel, mtime, subdirs, loc, dsize, relocated, t_loc, t_subdirs, t_mtime = row
        ident = iso.encode("ascii")
        if kind == FILE:
            extent, length, flags, px, seconds = self.layout.data_at + rel, size, 0, _isofs.px(FILE_PX, 1), mtime
        elif kind == PLACEHOLDER:
            extent, length, flags, px, seconds = t_loc, 0, 0, _isofs.px(DIR_PX, 2 + t_subdirs), t_mtime
        else:
            extent, length, px, seconds = loc, dsize, _isofs.px(DIR_PX, 2 + subdirs), mtime
            flags = _isofs.FLAG_DIR | (_isofs.FLAG_HIDDEN if kind == RELOCATION else 0)
        tail = _isofs.cl(t_loc) if kind == PLACEHOLDER else _isofs.re_() if relocated else b""
        rr_flags = (_isofs.RR_PX | _isofs.RR_NM | _isofs.RR_TF
                    | (_isofs.RR_CL if kind == PLACEHOLDER else _isofs.RR_RE if relocated else 0))
        fixed = _isofs.rr(rr_flags) + px + _isofs.tf(seconds) + tail
        names = b"".join(_isofs.nm_entries(rr))
        if _isofs.record_length(len(ident), len(fixed) + len(names)) <= _isofs.MAX_RECORD:
            su = fixed + names
        else:
            block, offset = divmod(self._put(ce, areas, names), SECTOR)
            su = fixed + _isofs.ce(self.layout.ce_at + block, offset, len(names))
        return _isofs.directory_record(ident, extent, length, seconds, flags, su)

    def _joliet_directory(self, node: int, out: _Out) -> None:
        me = self.db.execute("SELECT n.jloc, n.jdsize, n.mtime, p.jloc, p.jdsize, p.mtime FROM node n"
                             " JOIN node p ON p.id = n.parent WHERE n.id = ?", (node,)).fetchone()
        fill = _Filler()
        start = out.at + len(out.buf)
        self._put(out, fill, _isofs.directory_record(b"\0", me[0], me[1], me[2], _isofs.FLAG_DIR))
        self._put(out, fill, _isofs.directory_record(b"\1", me[3], me[4], me[5], _isofs.FLAG_DIR))
        for kind, joliet, size, rel, mtime, jloc, jdsize in self.layout.joliet_children(node):
            if kind == FILE:
                record = _isofs.directory_record(joliet, self.layout.data_at + rel, size, mtime, 0)
            else:
                record = _isofs.directory_record(joliet, jloc, jdsize, mtime, _isofs.FLAG_DIR)
            self._put(out, fill, record)
        out.write(bytes(me[1] - (out.at + len(out.buf) - start)))

    def _data(self) -> None:
        base = self.layout.data_at * SECTOR
        for rel, size, source, data in self.db.execute(
                "SELECT rel, size, source, data FROM node WHERE kind = 0 AND size > 0 ORDER BY id"):
            at = base + rel * SECTOR
            if data is not None:
                if os.pwrite(self.fd, data, at) != len(data):
                    raise MediaError(f"short write into the image at {at:,}")
            else:
                copy_into(Path(source), size, self.fd, at)


def write_iso(entries: Iterable[Entry], out: Path, *, capacity: int, volume_id: str) -> int:
    """Write the entries (parents before children) as an image at ``out``; returns its size in bytes.

    Raises VolumeOverCapacity before any data is written when the image would not
    fit the medium, StagingFull (retryable) when it would not fit the disk or the
    disk fills up while writing, NameClash/BadName for names, MediaError for a
    missing or changed source.
    Writes ``out.partial`` and renames it; the spool is removed whatever happens.
    """
    now = int(time.time())
    for stale in out.parent.glob(f".{out.name}.*.spool"):  # left by a killed build of the same volume
        stale.unlink(missing_ok=True)
    spool_path = out.with_name(f".{out.name}.{os.getpid()}.spool")
    partial = out.with_name(out.name + ".partial")
    spool: Spool | None = None
    try:
        spool = Spool(spool_path, now)  # inside: a disk too full for the spool's schema is StagingFull too
        for entry in entries:
            spool.add(entry)
        layout = _Layout(spool.db)
        size = layout.space * SECTOR
        if size > capacity:
            raise VolumeOverCapacity(f"image {out.name} would be {size:,} bytes, the medium holds {capacity:,}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # a stale partial frees its space
        try:
            free = shutil.disk_usage(out.parent).free
            if size > free:
                raise StagingFull(f"image {out.name} needs {size:,} bytes, {free:,} are free in {out.parent}")
            _Writer(layout, fd, volume_id, now).write()
        except OSError as e:
            partial.unlink(missing_ok=True)
            if e.errno in DISK_FULL:
                raise StagingFull(f"the disk filled up writing {out.name} ({size:,} bytes)") from e
            raise MediaError(f"cannot write {partial}: {e.strerror}") from e
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
    except sqlite3.Error as e:  # the spool's disk
        if "full" in str(e):
            raise StagingFull(f"no room for the spool of {out.name} in {out.parent}: {e}") from e
        raise MediaError(f"the spool of {out.name} failed: {e}") from e
    finally:
        if spool is not None:
            spool.close()
        spool_path.unlink(missing_ok=True)
    os.replace(partial, out)
    return size
