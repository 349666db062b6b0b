"""The spool of an image being written: one SQLite row per entry, so that memory stays flat.

A 100,000-file volume as Python objects costs hundreds of MiB (pycdlib: ~3.3 KiB a
file). Here each entry is a row in a temporary SQLite file beside the image, with
a small page cache: unique indexes keep names unique per directory (the granule
being added is also checked in memory, for speed), ordered indexes give the ISO
9660 (ECMA-119 9.3) and Joliet orders, and each row carries its record lengths so
that ``media._isowrite`` lays the image out with a few ordered scans.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from media import _isofs
from media.errors import BadName, NameClash
from media._isonames import (
    CANDIDATES,
    check_iso_name,
    check_joliet_name,
    iso_candidate,
    iso_parts,
    joliet_candidate,
    joliet_parts,
)
from media.layout import DIR_MODE, FILE_MODE, Entry
from media._sources import source_stat

ISO_LEVELS = 8  # ECMA-119 6.8.2.1: the root is level 1, no directory below level 8
FILE, DIR, PLACEHOLDER, RELOCATION = 0, 1, 2, 3
ROOT = 1
DIR_PX, FILE_PX = 0o040000 | DIR_MODE, 0o100000 | FILE_MODE

_SCHEMA = """
CREATE TABLE node (
    id INTEGER PRIMARY KEY,
    parent INTEGER NOT NULL,      -- in the Rock Ridge and Joliet trees
    iso_parent INTEGER NOT NULL,  -- in the ISO 9660 tree (RR_MOVED for a relocated directory)
    kind INTEGER NOT NULL,        -- FILE, DIR, PLACEHOLDER (CL record of a relocated DIR), RELOCATION
    target INTEGER,               -- PLACEHOLDER: the relocated directory
    rr BLOB,                      -- NULL for the root and placeholders (a placeholder shows its target's)
    iso TEXT,                     -- NULL for the root
    iso_key TEXT,                 -- ECMA-119 9.3 order: name, then extension, space-padded
    joliet BLOB,                  -- UCS-2 big-endian, also the Joliet order
    joliet_key TEXT,              -- Joliet names are unique ignoring case
    level INTEGER NOT NULL, jlevel INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0, rel INTEGER NOT NULL DEFAULT 0, mtime INTEGER NOT NULL,
    source TEXT, data BLOB,
    subdirs INTEGER NOT NULL DEFAULT 0,
    reclen INTEGER NOT NULL DEFAULT 0, ce INTEGER NOT NULL DEFAULT 0, jreclen INTEGER NOT NULL DEFAULT 0,
    num INTEGER, jnum INTEGER, loc INTEGER, dsize INTEGER, jloc INTEGER, jdsize INTEGER
);
CREATE UNIQUE INDEX node_rr ON node (parent, rr);
CREATE UNIQUE INDEX node_iso ON node (iso_parent, iso_key);
CREATE UNIQUE INDEX node_joliet ON node (parent, joliet_key);
CREATE INDEX node_joliet_order ON node (parent, joliet);
CREATE INDEX node_dirs ON node (level, kind);
"""


def open_spool(path: Path) -> sqlite3.Connection:
    """A throw-away SQLite file: no journal, no syncs, a 1 MiB page cache and temporary b-trees on disk.

    The cache bounds what the spool costs in memory whatever the volume's size;
    the operating system's page cache keeps the file's pages near anyway.
    """
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1024", "temp_store=FILE"):
        db.execute(f"PRAGMA {pragma}")
    return db


def _iso_key(iso: str) -> str:
    name, _, ext = iso.partition(";")[0].partition(".")
    return name.ljust(8) + ext.ljust(3)


class Spool:
    """The entries of one image as rows, added in writing order; names made unique per directory."""

    def __init__(self, path: Path, now: int) -> None:
        self.db = open_spool(path)
        self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")
        self.now = now
        self.db.execute("INSERT INTO node (id, parent, iso_parent, kind, rr, iso, iso_key, level, jlevel, mtime)"
                        " VALUES (1, 1, 1, 1, NULL, NULL, NULL, 1, 1, ?)", (now,))
        self.rel = 0  # data sectors so far
        self.relocation: int | None = None
        self._top = ""
        self._dirs: dict[str, tuple[int, int, int]] = {"": (ROOT, 1, 1)}  # path -> id, level, jlevel
        self._names: dict[int, _DirNames] = {}  # the directories of the granule being added
        self._counters: dict[tuple[int, int, str], int] = {}  # other directories: (dir, tree, first) -> suffix

    def close(self) -> None:
        self.db.close()

    def add(self, entry: Entry) -> None:
        parent_path, _, name = entry.path.rpartition("/")
        top = entry.path.partition("/")[0]
        if top != self._top:  # a new granule: forget the last one's directories and names
            self._dirs = {"": self._dirs[""]}
            self._names = {}
            self._top = top
        parent, level, jlevel = self._parent(parent_path, entry.path)
        rr = name.encode("utf-8", "surrogateescape")
        joliet = check_joliet_name(self._unique(parent, 1, name, entry.is_dir))
        if entry.is_dir:
            self._add_dir(entry, parent, level, jlevel, rr, name, joliet)
            return
        size, mtime, source = self._file_facts(entry)
        iso = check_iso_name(self._iso_name(parent, name, False), False)
        self._insert(parent=parent, iso_parent=parent, kind=FILE, rr=rr, iso=iso, joliet=joliet, level=level + 1,
                     jlevel=jlevel + 1, size=size, rel=self.rel, mtime=mtime, source=source, data=entry.data,
                     path=entry.path)
        self.rel += _isofs.sectors(size)

    def _file_facts(self, entry: Entry) -> tuple[int, int, str | None]:
        if entry.data is not None:
            return len(entry.data), self.now, None
        return entry.size, int(source_stat(entry).st_mtime), str(entry.source)

    def _add_dir(self, entry: Entry, parent: int, level: int, jlevel: int, rr: bytes, name: str, joliet: str) -> None:
        """A directory row; one too deep for ISO 9660 moves to RR_MOVED and leaves a CL placeholder here."""
        deep = level + 1 > ISO_LEVELS
        iso_parent, iso_level = (self._relocation_dir(), 3) if deep else (parent, level + 1)
        iso = check_iso_name(self._iso_name(iso_parent, name, True), True)
        node = self._insert(parent=parent, iso_parent=iso_parent, kind=DIR, rr=rr, iso=iso, joliet=joliet,
                            level=iso_level, jlevel=jlevel + 1, mtime=self.now, path=entry.path)
        if deep:
            here = check_iso_name(self._iso_name(parent, name, True), True)
            reclen, ce = iso_lengths(here, rr, PLACEHOLDER, False)
            self.db.execute("INSERT INTO node (parent, iso_parent, kind, target, rr, iso, iso_key, level, jlevel,"
                            " mtime, reclen, ce) VALUES (?, ?, 2, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                            (parent, parent, node, here, _iso_key(here), level + 1, jlevel + 1, self.now, reclen, ce))
            self.db.execute("UPDATE node SET subdirs = subdirs + 1 WHERE id = ?", (iso_parent,))
        self.db.execute("UPDATE node SET subdirs = subdirs + 1 WHERE id = ?", (parent,))
        self._dirs[entry.path] = (node, iso_level, jlevel + 1)
        self._names[node] = _DirNames()

    def _relocation_dir(self) -> int:
        if self.relocation is None:
            iso = self._iso_name(ROOT, "RR_MOVED", True)
            reclen, ce = iso_lengths(iso, b".rr_moved", RELOCATION, False)
            try:
                self.relocation = self.db.execute(
                    "INSERT INTO node (parent, iso_parent, kind, rr, iso, iso_key, level, jlevel, mtime, reclen, ce)"
                    " VALUES (1, 1, 3, ?, ?, ?, 2, 2, ?, ?, ?)",
                    (b".rr_moved", iso, _iso_key(iso), self.now, reclen, ce)).lastrowid
            except sqlite3.IntegrityError as e:
                raise NameClash("'.rr_moved' is taken at the top of the volume; deep directories need it") from e
            self.db.execute("UPDATE node SET subdirs = subdirs + 1 WHERE id = 1")
        return self.relocation

    def _insert(self, *, parent: int, iso_parent: int, kind: int, rr: bytes, iso: str, joliet: str, level: int,
                jlevel: int, mtime: int, path: str, size: int = 0, rel: int = 0, source: str | None = None,
                data: bytes | None = None) -> int:
        reclen, ce = iso_lengths(iso, rr, kind, parent != iso_parent)
        ucs2 = joliet.encode("utf-16-be")
        try:
            cur = self.db.execute(
                "INSERT INTO node (parent, iso_parent, kind, rr, iso, iso_key, joliet, joliet_key, level, jlevel,"
                " size, rel, mtime, source, data, reclen, ce, jreclen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (parent, iso_parent, kind, rr, iso, _iso_key(iso), ucs2, joliet.upper(), level, jlevel, size, rel,
                 mtime, source, data, reclen, ce, _isofs.record_length(len(ucs2), 0)))
        except sqlite3.IntegrityError as e:
            raise NameClash(f"{path!r} appears twice on the volume") from e
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _parent(self, parent_path: str, path: str) -> tuple[int, int, int]:
        """The parent directory's row (cached for the granule being added, else looked up by name)."""
        found = self._dirs.get(parent_path)
        if found is not None:
            return found
        node, level, jlevel = ROOT, 1, 1
        for part in parent_path.split("/"):
            row = self.db.execute("SELECT id, level, jlevel FROM node WHERE parent = ? AND rr = ? AND kind = 1"
                                  " AND id != 1", (node, part.encode("utf-8", "surrogateescape"))).fetchone()
            if row is None:
                raise BadName(f"{path!r}: its directory was not added first")
            node, level, jlevel = row
        self._dirs[parent_path] = (node, level, jlevel)
        return node, level, jlevel

    def _iso_name(self, iso_parent: int, name: str, is_dir: bool) -> str:
        return self._unique(iso_parent, 0, name, is_dir)

    def _unique(self, directory: int, tree: int, name: str, is_dir: bool) -> str:
        """The first candidate name (tree 0: ISO 9660, 1: Joliet) free in ``directory``.

        A counter per clashing name keeps 100,000 clashes linear. The granule's own
        directories are checked in memory; the top, RR_MOVED and any directory met
        again later are checked in the spool (its unique indexes back both).
        """
        if tree == 0:
            iso = iso_parts(name, is_dir)
            key: Callable[[str], str] = _iso_key

            def candidate(n: int) -> str:
                return iso_candidate(iso, n)
        else:
            joliet = joliet_parts(name)
            key = str.upper

            def candidate(n: int) -> str:
                return joliet_candidate(joliet, n)
        names = self._names.get(directory)
        used = names.used[tree] if names is not None else None
        first = candidate(0)
        k = key(first)
        if not self._taken(directory, tree, used, k):
            if used is not None:
                used.add(k)
            return first
        counters = names.counters if names is not None else self._counters
        counter = (directory, tree, first)
        for n in range(counters.get(counter, 1), CANDIDATES):
            c = candidate(n)
            k = key(c)
            if not self._taken(directory, tree, used, k):
                counters[counter] = n + 1
                if used is not None:
                    used.add(k)
                return c
        raise NameClash(f"no free name left for {first!r}")

    def _taken(self, directory: int, tree: int, used: set[str] | None, key: str) -> bool:
        if used is not None:
            return key in used
        query = ("SELECT 1 FROM node WHERE iso_parent = ? AND iso_key = ? LIMIT 1" if tree == 0 else
                 "SELECT 1 FROM node WHERE parent = ? AND joliet_key = ? LIMIT 1")
        return self.db.execute(query, (directory, key)).fetchone() is not None


class _DirNames:
    """The ISO 9660 and Joliet names taken in one directory of the granule being added."""

    __slots__ = ("counters", "used")

    def __init__(self) -> None:
        self.used: tuple[set[str], set[str]] = (set(), set())
        self.counters: dict[tuple[int, int, str], int] = {}


def iso_lengths(iso: str, rr: bytes, kind: int, relocated: bool) -> tuple[int, int]:
    """(record length, continuation-area bytes or 0) of a child's ISO 9660 record with its Rock Ridge entries.

    The name goes inline when the record stays within 255 bytes, else into a
    continuation area (split into NM entries of <= 250 bytes).
    """
    extra = _isofs.CL_LEN if kind == PLACEHOLDER else _isofs.RE_LEN if relocated else 0
    fixed = _isofs.RR_LEN + _isofs.PX_LEN + _isofs.TF_LEN + extra
    names = len(rr) + 5 * max(1, -(-len(rr) // (_isofs.MAX_ENTRY - 5)))
    inline = _isofs.record_length(len(iso), fixed + names)
    if inline <= _isofs.MAX_RECORD:
        return inline, 0
    return _isofs.record_length(len(iso), fixed + _isofs.CE_LEN), names
