"""Streaming read-back of ISO 9660 images (Rock Ridge and Joliet trees) in memory flat in the file count.

pycdlib's ``open`` builds the whole tree (~3 KiB per file); a DVD or BD volume
holds 100,000 files. This reader keeps one directory sector per open directory
level and yields entries as it goes, so memory is O(tree depth). It reads any
standard image (xorriso/mkisofs, pycdlib), not only Ardis's own.

Rules worth knowing:

* The root itself is not yielded; parents come before their children
  (depth first, children in on-disc order).
* Deep-directory relocation: a record with ``CL`` is yielded as a directory at
  its original place, with the extent, size, mode and mtime of the relocated
  directory (from its "." record, as Linux does). Records carrying ``RE`` are
  never yielded, and a root child directory holding at least one entry and
  only ``RE`` entries is the relocation directory and is not yielded either:
  it is recognised by content, not name (``rr_moved``, ``.rr_moved``,
  ``_RR_MOVE``... are all in use), so a user directory called ``rr_moved`` stays.
* Cycles: a directory whose extent is one of its open ancestors' is an error;
  the ancestors are a tuple per level (O(depth), not a visited set), and trees
  deeper than ``MAX_DEPTH`` are refused. Two records sharing a directory extent
  without a cycle are not detected (that would need O(directories) memory).
* Every read seeks first, so ``read_extent`` may be called between the items
  of a walk. Malformed images raise ``ReadBackMismatch`` naming what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

from media.errors import ReadBackMismatch

BLOCK = 2048
CHUNK = 1 << 20
MAX_DEPTH = 64
MAX_CE = 32  # continuation areas followed per record (Linux's limit too): a CE chain cannot loop forever
MAX_DESCRIPTORS = 64
JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")  # UCS-2 levels 1, 2 and 3
_DIRECTORY, _ASSOCIATED, _MULTI_EXTENT = 0x02, 0x04, 0x80
_NM_CONTINUE, _NM_CURRENT, _NM_PARENT = 0x01, 0x02, 0x04
_TF_MODIFY, _TF_LONG = 0x02, 0x80
_XA_LENGTH = 14  # CD-ROM XA system use record; SP then says to skip it in every record (Linux: RR_REGARD_XA)


@dataclass(frozen=True, slots=True)
class IsoFile:
    """One entry of a tree as read from the image: enough to compare with what was written."""

    path: str  # absolute, e.g. "/1/MOD09GHK.A2000055.hdf" (no ";1" version)
    is_dir: bool
    extent: int  # logical block (2048 bytes) of the data / directory extent
    size: int  # data length in bytes
    mode: int | None  # Rock Ridge PX st_mode; None without Rock Ridge (and in Joliet)
    mtime: int | None  # Rock Ridge TF modify time, Unix seconds UTC; None when absent


class Sink(Protocol):
    """Where ``read_extent`` copies data: a file, a checksum sink."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, slots=True)
class _Record:
    """One directory record, its System Use field copied out (the sector buffer is reused)."""

    ident: bytes
    flags: int
    extent: int
    size: int
    system_use: bytes
    where: str  # "block B offset O", for messages


@dataclass(slots=True)
class _Rock:
    """What a record's Rock Ridge entries say."""

    raw_name: bytes | None = None  # NM, the parts joined; "." / ".." for the CURRENT / PARENT flags
    continued: bool = False  # the last NM had CONTINUE: another NM must follow
    mode: int | None = None
    mtime: int | None = None
    child: int | None = None  # CL: the extent of the relocated directory
    relocated: bool = False  # RE: this is the relocated copy, listed at its CL place instead


def _both32(data: bytes, at: int, what: str) -> int:
    """A both-endian 32-bit field; the halves must agree (a cheap check against corruption)."""
    little = int.from_bytes(data[at:at + 4], "little")
    if len(data) < at + 8 or little != int.from_bytes(data[at + 4:at + 8], "big"):
        raise ReadBackMismatch(f"{what}: both-endian field at byte {at} is inconsistent")
    return little


def _record(data: bytes, pos: int, end: int, where: str) -> _Record:
    length = data[pos]
    if length < 34 or pos + length > end:
        raise ReadBackMismatch(f"directory record at {where} has length {length}, "
                               f"{'shorter than 34' if length < 34 else f'past the sector ({end - pos} bytes left)'}")
    rec = data[pos:pos + length]
    name_len = rec[32]
    su_start = 33 + name_len + (1 - name_len % 2)  # a pad byte follows an even-length identifier
    if 33 + name_len > length:
        raise ReadBackMismatch(f"directory record at {where}: identifier of {name_len} bytes overruns the record")
    extent = _both32(rec, 2, where) + rec[1]  # data follow the extended attribute record, if any
    return _Record(bytes(rec[33:33 + name_len]), rec[25], extent, _both32(rec, 10, where),
                   bytes(rec[su_start:]), where)


def _unix(fields: tuple[int, int, int, int, int, int], offset: int, where: str) -> int:
    """A recorded local time and its GMT offset (15-minute units, signed) as Unix seconds."""
    try:
        local = datetime(*fields, tzinfo=UTC)
    except ValueError as e:
        raise ReadBackMismatch(f"bad Rock Ridge TF date {fields} at {where}") from e
    return int(local.timestamp()) - (offset - 256 if offset > 127 else offset) * 900


def _tf_time(stamp: bytes, long_form: bool, where: str) -> int | None:
    """A TF time: 7 bytes (year since 1900 .. second, offset) or 17 (ISO digits, hundredths, offset)."""
    if long_form:
        digits = stamp[:16]
        if digits.strip(b"0") == b"" or not any(digits):
            return None  # "not specified"
        if not digits.isdigit():
            raise ReadBackMismatch(f"bad Rock Ridge TF date {digits!r} at {where}")
        y, mo, d, h, mi, s = (int(digits[i:i + w]) for i, w in ((0, 4), (4, 2), (6, 2), (8, 2), (10, 2), (12, 2)))
        return _unix((y, mo, d, h, mi, s), stamp[16], where)
    if not any(stamp[:6]):
        return None
    return _unix((1900 + stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], stamp[5]), stamp[6], where)


class _Tree:
    """One tree of an image (the primary one or Joliet): its file, size and naming rules."""

    __slots__ = ("blocks", "f", "joliet", "root", "skip")

    def __init__(self, f: BinaryIO, joliet: bool) -> None:
        self.f, self.joliet, self.skip = f, joliet, -1  # skip >= 0: SUSP found, entries begin there
        self.blocks = 1 << 32  # until the descriptor says; reads check against it
        vd = self._descriptor()
        if int.from_bytes(vd[128:130], "little") != BLOCK:
            raise ReadBackMismatch(f"logical block size {int.from_bytes(vd[128:130], 'little')} is not supported")
        self.blocks = _both32(vd, 80, "volume space size")
        have = f.seek(0, os.SEEK_END)
        if have < self.blocks * BLOCK:
            raise ReadBackMismatch(f"image is truncated: {have:,} bytes, its volume descriptor says "
                                   f"{self.blocks * BLOCK:,}")
        self.root = _record(vd, 156, 190, "the root directory record")
        self.check(self.root.extent, max(self.root.size, 1), "/")
        if not joliet:
            su = self.first(self.root.extent, "/").system_use
            for at in (0, _XA_LENGTH):  # SP opens the root's "." System Use, or follows a CD-ROM XA record
                if su[at:at + 6] == b"SP\x07\x01\xbe\xef" and len(su) > at + 6:
                    self.skip = su[at + 6]
                    break

    def _descriptor(self) -> bytes:
        want = "Joliet supplementary volume descriptor" if self.joliet else "primary volume descriptor"
        for block in range(16, 16 + MAX_DESCRIPTORS):
            vd = self.read(block, BLOCK, "the volume descriptors")
            if vd[1:6] != b"CD001":
                raise ReadBackMismatch(f"block {block} is not an ISO 9660 volume descriptor")
            if vd[0] == 255:
                break
            if (vd[0] == 2 and self.joliet and vd[88:91] in JOLIET_ESCAPES) or (vd[0] == 1 and not self.joliet):
                return vd
        raise ReadBackMismatch(f"the image has no {want}")

    def read(self, block: int, length: int, what: str) -> bytes:
        if block >= self.blocks:
            raise ReadBackMismatch(f"{what} at block {block} lies past the image end (block {self.blocks})")
        self.f.seek(block * BLOCK)
        data = self.f.read(length)
        if len(data) != length:
            raise ReadBackMismatch(f"the image ends inside {what} at block {block}")
        return data

    def check(self, extent: int, size: int, path: str) -> None:
        if size and extent + (size + BLOCK - 1) // BLOCK > self.blocks:
            raise ReadBackMismatch(f"{path}: extent at block {extent} of {size:,} bytes runs past the image end "
                                   f"(block {self.blocks})")

    def records(self, extent: int, size: int) -> Iterator[_Record]:
        """A directory's records, one sector read at a time; a zero length byte ends a sector's records."""
        for n in range((size + BLOCK - 1) // BLOCK):
            block, end = extent + n, min(BLOCK, size - n * BLOCK)
            sector, pos = self.read(block, BLOCK, "a directory"), 0
            while pos < end and sector[pos]:
                rec = _record(sector, pos, end, f"block {block} offset {pos}")
                pos += sector[pos]
                yield rec

    def first(self, extent: int, path: str) -> _Record:
        """A directory's "." record, which describes the directory itself."""
        dot = next(self.records(extent, BLOCK), None)
        if dot is None or dot.ident != b"\0" or not dot.flags & _DIRECTORY:
            raise ReadBackMismatch(f"{path}: block {extent} does not begin a directory")
        return dot

    def rock(self, rec: _Record) -> _Rock:
        """Rock Ridge entries of a record, following CE continuation areas (empty without SUSP)."""
        rock = _Rock()
        if self.skip < 0 or self.joliet:
            return rock
        area = rec.system_use[self.skip:]
        for _ in range(MAX_CE + 1):
            ce = self._entries(area, rec.where, rock)
            if ce is None:
                break
            block, offset, length = ce
            if offset + length > BLOCK or block >= self.blocks:
                raise ReadBackMismatch(f"CE at {rec.where} points outside the image or past a block "
                                       f"(block {block}, offset {offset}, length {length})")
            area = self.read(block, BLOCK, "a continuation area")[offset:offset + length]
        else:
            raise ReadBackMismatch(f"more than {MAX_CE} chained CE areas at {rec.where}")
        if rock.continued:
            raise ReadBackMismatch(f"NM name at {rec.where} is continued but no NM follows")
        return rock

    def _entries(self, area: bytes, where: str, rock: _Rock) -> tuple[int, int, int] | None:
        """Read one System Use area into ``rock``; return its CE (block, offset, length), if any."""
        ce, pos = None, 0
        while pos + 4 <= len(area):
            sig, length = area[pos:pos + 2], area[pos + 2]
            if sig == b"\0\0" and length == 0:
                break  # padding
            if length < 4 or pos + length > len(area):
                raise ReadBackMismatch(f"SUSP entry {sig!r} at {where} has length {length}, past its area")
            data, pos = area[pos + 4:pos + length], pos + length
            if sig == b"ST":
                break
            if sig == b"CE" and length == 28:
                ce = (_both32(data, 0, where), _both32(data, 8, where), _both32(data, 16, where))
            elif sig == b"NM" and length >= 5:
                if rock.raw_name is not None and not rock.continued:
                    raise ReadBackMismatch(f"second NM name at {where}")
                flags = data[0]
                if flags & (_NM_CURRENT | _NM_PARENT):
                    rock.raw_name, rock.continued = (b"." if flags & _NM_CURRENT else b".."), False
                else:
                    rock.raw_name = (rock.raw_name or b"") + data[1:]
                    rock.continued = bool(flags & _NM_CONTINUE)
            elif sig == b"PX":
                if length not in (36, 44):
                    raise ReadBackMismatch(f"PX entry at {where} has length {length}, not 36 or 44")
                rock.mode = _both32(data, 0, where)
            elif sig == b"TF" and length >= 5:
                rock.mtime = self._tf(data, where)
            elif sig == b"CL" and length == 12:
                rock.child = _both32(data, 0, where)
            elif sig == b"RE":
                rock.relocated = True
        return ce

    @staticmethod
    def _tf(data: bytes, where: str) -> int | None:
        flags, width = data[0], 17 if data[0] & _TF_LONG else 7
        if len(data) < 1 + (flags & 0x7F).bit_count() * width:
            raise ReadBackMismatch(f"TF entry at {where} is shorter than its flags say")
        if not flags & _TF_MODIFY:
            return None
        at = 1 + width * (flags & 1)  # CREATION, when recorded, comes first
        return _tf_time(data[at:at + width], bool(flags & _TF_LONG), where)

    def name(self, rec: _Record, rock: _Rock, parent: str) -> str:
        """The Rock Ridge name, else the Joliet (UCS-2) or ISO 9660 name without version and trailing dot."""
        if rec.ident in (b"\0", b"\1"):
            return "." if rec.ident == b"\0" else ".."
        if rock.raw_name is not None:
            name = rock.raw_name.decode("utf-8", "surrogateescape")
        else:
            try:
                name = rec.ident.decode("utf-16-be") if self.joliet else rec.ident.decode("utf-8", "surrogateescape")
            except UnicodeDecodeError as e:
                raise ReadBackMismatch(f"Joliet name {rec.ident!r} at {rec.where} is not UCS-2") from e
            base, sep, version = name.rpartition(";")
            if sep and version.isdigit():
                name = base
            if not self.joliet:
                name = name.removesuffix(".")
        if not name or "/" in name or "\0" in name:
            raise ReadBackMismatch(f"bad name {name!r} in {parent or '/'} at {rec.where}")
        return name

    def entry(self, rec: _Record, rock: _Rock, path: str) -> IsoFile:
        """The entry a record stands for; a CL placeholder becomes the relocated directory."""
        if rec.flags & _MULTI_EXTENT:
            raise ReadBackMismatch(f"{path}: multi-extent files are not supported")
        if rock.child is not None:
            self.check(rock.child, 1, path)
            dot = self.first(rock.child, path)
            moved = self.rock(dot)
            return IsoFile(path, True, rock.child, dot.size, rock.mode if moved.mode is None else moved.mode,
                           rock.mtime if moved.mtime is None else moved.mtime)
        self.check(rec.extent, rec.size, path)
        return IsoFile(path, bool(rec.flags & _DIRECTORY), rec.extent, rec.size, rock.mode, rock.mtime)

    def only_relocated(self, d: IsoFile) -> bool:
        """Whether a directory holds entries and all carry RE: the relocation directory."""
        seen = False
        for rec in self.records(d.extent, d.size):
            if rec.ident not in (b"\0", b"\1"):
                if not self.rock(rec).relocated:
                    return False
                seen = True
        return seen

    def walk(self, extent: int, size: int, prefix: str, ancestors: tuple[int, ...]) -> Iterator[IsoFile]:
        if len(ancestors) > MAX_DEPTH:
            raise ReadBackMismatch(f"{prefix}: the tree is deeper than {MAX_DEPTH} levels")
        for rec in self.records(extent, size):
            if rec.ident in (b"\0", b"\1") or rec.flags & _ASSOCIATED:
                continue
            rock = self.rock(rec)
            name = self.name(rec, rock, prefix)
            if rock.relocated or name in (".", ".."):
                continue
            item = self.entry(rec, rock, f"{prefix}/{name}")
            if not item.is_dir:
                yield item
                continue
            if item.extent in ancestors:
                raise ReadBackMismatch(f"{item.path}: directory cycle (its extent {item.extent} is an ancestor's)")
            if not prefix and self.skip >= 0 and self.only_relocated(item):
                continue
            yield item
            yield from self.walk(item.extent, item.size, item.path, ancestors + (item.extent,))


def walk_rock_ridge(f: BinaryIO) -> Iterator[IsoFile]:
    """The primary tree with Rock Ridge names, modes and mtimes (ISO 9660 names where there is no Rock Ridge)."""
    tree = _Tree(f, joliet=False)
    yield from tree.walk(tree.root.extent, tree.root.size, "", (tree.root.extent,))


def walk_joliet(f: BinaryIO) -> Iterator[IsoFile]:
    """The Joliet tree (UCS-2 names; no modes or mtimes): the names Windows shows."""
    tree = _Tree(f, joliet=True)
    yield from tree.walk(tree.root.extent, tree.root.size, "", (tree.root.extent,))


def read_extent(f: BinaryIO, extent: int, size: int, sink: Sink) -> int:
    """Copy ``size`` bytes from block ``extent`` to ``sink.write`` in chunks of <= 1 MiB; returns the bytes copied."""
    f.seek(extent * BLOCK)
    done = 0
    while done < size:
        chunk = f.read(min(CHUNK, size - done))
        if not chunk:
            raise ReadBackMismatch(f"the image ends {done:,} bytes into the extent at block {extent} "
                                   f"({size:,} bytes)")
        sink.write(chunk)
        done += len(chunk)
    return done
