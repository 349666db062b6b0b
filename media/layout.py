"""What a volume holds, as paths: the one layout both the ISO and the tape writers use.

A volume is one directory per granule, named by its directory number, holding the
granule's files (a file name may itself contain sub-directories), plus text files
(the DN / packing list) at the top. The size models here are what volume planning
charges for each entry, so that a plan that fits really fits.
"""

from __future__ import annotations

import itertools
import stat
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from media.errors import BadName, NameClash

SECTOR = 2048
TAR_BLOCK = 512
FILE_MODE = 0o444
DIR_MODE = 0o555
UDF_FILE_LIMIT = 1 << 32  # ISO 9660 extents hold < 4 GiB; such a file needs UDF
ISO_MAX_DIRECTORIES = 0xFFFF  # a path table record names its parent directory in 16 bits (ECMA-119 9.4.5)

# ISO cost model (bytes): fixed descriptors/path tables/UDF anchors, and per entry
# the directory records of the ISO 9660 + Rock Ridge and the Joliet trees.
ISO_FIXED = 1 << 20
ISO_PER_FILE = 512
ISO_PER_DIR = 3 * SECTOR * 2
UDF_PER_ENTRY = SECTOR + 256


@dataclass(frozen=True, slots=True)
class VolumeFile:
    """One file of a granule: where it is read from, its name on the volume, its size."""

    source: Path
    name: str
    size: int
    checksum: str | None = None  # known value (caller's checksum type) for read-back; computed when None


@dataclass(frozen=True)
class GranuleItem:
    """A granule to place: its key (e.g. ``SC:MOD09GHK.003:1``), directory number and files."""

    key: str
    directory: str
    files: tuple[VolumeFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class TextFile:
    """A small text file put at the top of every volume (DN, packing list)."""

    name: str
    text: str

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Entry:
    """One path on a volume: a directory, a file from disk, or a text file."""

    path: str
    is_dir: bool
    size: int = 0
    source: Path | None = None
    data: bytes | None = None
    granule: str | None = None
    checksum: str | None = None


def _checked(name: str) -> str:
    """A relative name on a volume: no empty parts, no '.', '..', NUL or leading '/'; raises BadName."""
    parts = name.split("/")
    if not name or name[0] == "/" or "\0" in name or any(
            p in ("", ".", "..") or len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        raise BadName(f"invalid name on volume: {name!r}")
    return name


def granule_entries(item: GranuleItem) -> Iterator[Entry]:
    """The directories and files of one granule, parents before children.

    Plain string work (no pathlib): this runs once per file for planning and for
    every write, and pathlib cost ~40 µs a file.
    """
    top = _checked(item.directory)
    if "/" in top:
        raise BadName(f"directory number {item.directory!r} must be one path component")
    key = item.key
    made = {top}
    yield Entry(top, True, granule=key)
    for f in item.files:
        name = _checked(f.name)
        if "/" in name:
            parts = name.split("/")
            for i in range(1, len(parts)):
                parent = top + "/" + "/".join(parts[:i])
                if parent not in made:
                    made.add(parent)
                    yield Entry(parent, True, granule=key)
        yield Entry(top + "/" + name, False, f.size, source=f.source, granule=key, checksum=f.checksum)


def fixed_entries(texts: Iterable[TextFile]) -> list[Entry]:
    """The text files put on every volume, as entries."""
    return [Entry(_checked(t.name), False, len(t.data), data=t.data) for t in texts]


def volume_entries(items: tuple[GranuleItem, ...], texts: tuple[TextFile, ...]) -> list[Entry]:
    """Every entry of a volume in writing order; raises NameClash on a path used twice."""
    entries = fixed_entries(texts)
    for item in items:
        entries.extend(granule_entries(item))
    _unique(e.path for e in entries)
    return entries


def check_volume(items: tuple[GranuleItem, ...], texts: tuple[TextFile, ...]) -> None:
    """``volume_entries``' checks, one granule at a time: paths of two granules differ in their directory.

    Raises NameClash or BadName; keeps no more than one granule's entries.
    """
    names = [_checked(t.name) for t in texts]
    _unique(names + [_checked(item.directory) for item in items])
    for item in items:
        inside = [n for n in names if n.startswith(item.directory + "/")]  # a text may sit in a granule's directory
        _unique(itertools.chain(inside, (e.path for e in granule_entries(item))))


def _unique(paths: Iterable[str]) -> None:
    seen: set[str] = set()  # a file and a directory of one name also meet here (parents are entries)
    for path in paths:
        if path in seen:
            raise NameClash(f"{path!r} appears twice on the volume")
        seen.add(path)


def tar_info(entry: Entry, mtime: int = 0) -> tarfile.TarInfo:
    """The tar header of an entry: explicit modes, integer mtime, no owner names."""
    info = tarfile.TarInfo(entry.path + ("/" if entry.is_dir else ""))
    info.type = tarfile.DIRTYPE if entry.is_dir else tarfile.REGTYPE
    info.mode = DIR_MODE if entry.is_dir else FILE_MODE
    info.size = 0 if entry.is_dir else entry.size
    info.mtime = int(mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_header(entry: Entry, mtime: int = 0) -> bytes:
    """The entry's header block(s), byte for byte what ``TarInfo.tobuf(PAX_FORMAT)`` gives.

    The common case (ASCII name of <= 100 characters, size and mtime in 11 octal
    digits) needs no PAX header and is packed here directly, ~10x faster than
    tarfile; everything else goes through tarfile.
    """
    name = entry.path + "/" if entry.is_dir else entry.path
    size = 0 if entry.is_dir else entry.size
    if len(name) > 100 or not name.isascii() or not 0 <= size < _OCTAL_11 or not 0 <= mtime < _OCTAL_11:
        return tar_info(entry, mtime).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    tail, tail_sum = _USTAR_TAIL[entry.is_dir]
    head = name.encode("ascii").ljust(100, b"\0") + b"%07o\0%s%011o\0%011o\0" % (
        DIR_MODE if entry.is_dir else FILE_MODE, _ZERO_IDS, size, int(mtime))
    return head + b"%06o\0 " % (sum(head) + tail_sum + 256) + tail


def _ustar_tail(typ: bytes) -> tuple[bytes, int]:
    """Header bytes after the checksum field (type, empty link name, magic, no owner names), and their sum."""
    tail = (typ + bytes(100) + tarfile.POSIX_MAGIC + bytes(32 + 32 + 8 + 8 + 155 + 12))
    return tail, sum(tail)


_OCTAL_11 = 8 ** 11
_ZERO_IDS = b"0000000\0" * 2
_USTAR_TAIL = {True: _ustar_tail(tarfile.DIRTYPE), False: _ustar_tail(tarfile.REGTYPE)}


def tar_entry_bytes(entry: Entry) -> int:
    """Exact bytes an entry takes in the tar stream (header(s) and padded data)."""
    return len(tar_header(entry)) + _round_up(0 if entry.is_dir else entry.size, TAR_BLOCK)


def tar_stream_bytes(entries_bytes: int, record_size: int) -> int:
    """Exact stream length: entries, the two zero end blocks, padded to whole records."""
    return _round_up(entries_bytes + 2 * TAR_BLOCK, record_size)


def iso_entry_bytes(entry: Entry) -> tuple[int, int]:
    """(ISO 9660 + Joliet + Rock Ridge cost, extra cost if the volume carries UDF) of an entry."""
    if entry.is_dir:
        return ISO_PER_DIR, UDF_PER_ENTRY + SECTOR
    name_bytes = 2 * len(PurePosixPath(entry.path).name)
    return _round_up(entry.size, SECTOR) + ISO_PER_FILE + name_bytes, UDF_PER_ENTRY


def needs_udf(entries: list[Entry]) -> bool:
    return any(not e.is_dir and e.size >= UDF_FILE_LIMIT for e in entries)


def mode_of(entry: Entry) -> int:
    return (stat.S_IFDIR | DIR_MODE) if entry.is_dir else (stat.S_IFREG | FILE_MODE)


def _round_up(n: int, unit: int) -> int:
    return -(-n // unit) * unit
