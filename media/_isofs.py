"""The bytes of ISO 9660 (ECMA-119), Rock Ridge 1.09 (RRIP over SUSP) and Joliet structures.

Pure encoders, no I/O: ``media._isowrite`` lays an image out and calls these for
every descriptor, directory record and path table record. Field offsets follow
ECMA-119 section 8.4 (volume descriptors), 9.1 (directory records) and 9.4 (path
table records); Rock Ridge entries follow RRIP 1.09 (IEEE P1282 draft) as pycdlib
and mkisofs write them (PX of 36 bytes, an ``RR`` entry naming what follows).
"""

from __future__ import annotations

import functools
import struct
import time
from dataclasses import dataclass

SECTOR = 2048
SYSTEM_AREA = 16  # sectors before the first volume descriptor
MAX_RECORD = 255  # a directory record's length is one byte
MAX_ENTRY = 255  # so is a SUSP entry's

FLAG_HIDDEN = 0x01
FLAG_DIR = 0x02

# RRIP 1.09 "RR" entry flags: which Rock Ridge entries the record carries.
RR_PX, RR_NM, RR_CL, RR_PL, RR_RE, RR_TF = 0x01, 0x08, 0x10, 0x20, 0x40, 0x80
NM_CONTINUE = 0x01
TF_MODIFY_ACCESS_ATTRIBUTES = 0x0E

ER_ID = b"RRIP_1991A"
ER_DESCRIPTOR = b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
ER_SOURCE = (b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN "
             b"PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.")
JOLIET_LEVEL_3 = b"%/E"

PX_LEN, TF_LEN, RR_LEN, CE_LEN, SP_LEN, CL_LEN, PL_LEN, RE_LEN = 36, 26, 5, 28, 7, 12, 12, 4


_LE16, _BE16, _LE32, _BE32 = struct.Struct("<H"), struct.Struct(">H"), struct.Struct("<I"), struct.Struct(">I")


def sectors(n: int) -> int:
    """Sectors that ``n`` bytes take."""
    return -(-n // SECTOR)


def both16(n: int) -> bytes:
    """ECMA-119 7.2.3: little-endian then big-endian."""
    return _LE16.pack(n) + _BE16.pack(n)


def both32(n: int) -> bytes:
    """ECMA-119 7.3.3."""
    return _LE32.pack(n) + _BE32.pack(n)


@functools.lru_cache(maxsize=4096)  # a volume's files share a few thousand distinct times at most
def record_date(seconds: int) -> bytes:
    """ECMA-119 9.1.5: 7 bytes, years since 1900 .. second, GMT offset 0 (times are UTC)."""
    t = time.gmtime(seconds)
    return bytes((t.tm_year - 1900, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0))


def descriptor_date(seconds: int | None) -> bytes:
    """ECMA-119 8.4.26.1: 16 digits and a GMT offset byte; all zeros means 'not specified'."""
    if seconds is None:
        return b"0" * 16 + b"\0"
    return time.strftime("%Y%m%d%H%M%S00", time.gmtime(seconds)).encode("ascii") + b"\0"


def record_length(ident_len: int, su_len: int) -> int:
    """A directory record's length: 33 bytes, the identifier, a pad byte to even, system use."""
    return 33 + ident_len + (1 - ident_len % 2) + su_len


def directory_record(ident: bytes, extent: int, size: int, seconds: int, flags: int, su: bytes = b"") -> bytes:
    """ECMA-119 9.1: one directory record (``ident`` b'\\0' is '.', b'\\1' is '..')."""
    length = record_length(len(ident), len(su))
    if length > MAX_RECORD:
        raise ValueError(f"directory record of {length} bytes (at most {MAX_RECORD})")
    pad = b"" if len(ident) % 2 else b"\0"
    return (bytes((length, 0)) + both32(extent) + both32(size) + record_date(seconds)
            + _TAIL[flags] + bytes((len(ident),)) + ident + pad + su)


_TAIL = {f: bytes((f, 0, 0)) + both16(1) for f in (0, FLAG_DIR, FLAG_DIR | FLAG_HIDDEN)}  # flags, unit, gap, volume 1


def path_table_record(ident: bytes, extent: int, parent: int, big_endian: bool) -> bytes:
    """ECMA-119 9.4: the L (little-endian) or M (big-endian) table's record of one directory."""
    fmt = ">BBIH" if big_endian else "<BBIH"
    return struct.pack(fmt, len(ident), 0, extent, parent) + ident + (b"\0" if len(ident) % 2 else b"")


def path_record_length(ident_len: int) -> int:
    return 8 + ident_len + ident_len % 2


# --- SUSP / Rock Ridge entries ---------------------------------------------------------------

def sp() -> bytes:
    """SUSP 'SP': the root '.' record says SUSP is in use, skipping no bytes."""
    return b"SP\x07\x01\xbe\xef\x00"


def rr(flags: int) -> bytes:
    return b"RR\x05\x01" + bytes((flags,))


@functools.lru_cache(maxsize=1024)
def px(mode: int, links: int) -> bytes:
    """RRIP 1.09 'PX': mode, links, uid 0, gid 0 (36 bytes; 1.12 adds a serial number)."""
    return b"PX\x24\x01" + both32(mode) + both32(links) + both32(0) + both32(0)


@functools.lru_cache(maxsize=4096)
def tf(seconds: int) -> bytes:
    """'TF': modify, access and attribute-change times, all the entry's mtime, short form."""
    stamp = record_date(seconds)
    return b"TF\x1a\x01" + bytes((TF_MODIFY_ACCESS_ATTRIBUTES,)) + stamp * 3


def nm(name: bytes, flags: int = 0) -> bytes:
    return b"NM" + bytes((5 + len(name), 1, flags)) + name


def nm_entries(name: bytes, room: int = MAX_ENTRY - 5) -> list[bytes]:
    """A name as NM entries of at most ``room`` name bytes, every one but the last marked CONTINUE."""
    parts = [name[i:i + room] for i in range(0, len(name), room)] or [b""]
    return [nm(p, NM_CONTINUE if i < len(parts) - 1 else 0) for i, p in enumerate(parts)]


def ce(block: int, offset: int, length: int) -> bytes:
    """SUSP 'CE': the rest of this record's system use is ``length`` bytes at block/offset."""
    return b"CE\x1c\x01" + both32(block) + both32(offset) + both32(length)


def er() -> bytes:
    """SUSP 'ER' naming RRIP 1.09; it lives in the root '.' record's continuation area."""
    body = bytes((len(ER_ID), len(ER_DESCRIPTOR), len(ER_SOURCE), 1)) + ER_ID + ER_DESCRIPTOR + ER_SOURCE
    return b"ER" + bytes((4 + len(body), 1)) + body


def cl(location: int) -> bytes:
    """RRIP 'CL': this placeholder stands for a directory relocated to ``location``."""
    return b"CL\x0c\x01" + both32(location)


def pl(location: int) -> bytes:
    """RRIP 'PL': in a relocated directory's '..', its original parent's extent."""
    return b"PL\x0c\x01" + both32(location)


def re_() -> bytes:
    """RRIP 'RE': this record is a relocated directory (readers hide it where it sits)."""
    return b"RE\x04\x01"


# --- volume descriptors ----------------------------------------------------------------------

@dataclass(frozen=True)
class Tables:
    """Where one tree's path tables and root directory are."""

    path_table_size: int
    l_table: int
    m_table: int
    root_extent: int
    root_size: int


def _text(value: str, size: int, joliet: bool) -> bytes:
    data = value.encode("utf-16-be") if joliet else value.encode("ascii")
    fill = b"\x00\x20" if joliet else b" "
    return (data + fill * size)[:size]


def volume_descriptor(kind: int, volume_id: str, space: int, tables: Tables, seconds: int,
                      joliet: bool = False) -> bytes:
    """ECMA-119 8.4: the primary (``kind`` 1) or the Joliet supplementary (2) volume descriptor."""
    root = directory_record(b"\0", tables.root_extent, tables.root_size, seconds, FLAG_DIR)
    now = descriptor_date(seconds)
    head = (bytes((kind,)) + b"CD001\x01\x00" + _text("", 32, joliet) + _text(volume_id, 32, joliet)
            + bytes(8) + both32(space) + (JOLIET_LEVEL_3.ljust(32, b"\0") if joliet else bytes(32))
            + both16(1) + both16(1) + both16(SECTOR) + both32(tables.path_table_size)
            + struct.pack("<II", tables.l_table, 0) + struct.pack(">II", tables.m_table, 0) + root
            + _text("", 128, joliet) * 3 + _text("ARDIS", 128, joliet)
            + _text("", 37, joliet) * 3 + now + now + descriptor_date(None) + now + b"\x01\x00")
    assert len(head) == 883, len(head)
    return head + bytes(SECTOR - len(head))


def terminator() -> bytes:
    """ECMA-119 8.3: the volume descriptor set terminator."""
    return (b"\xffCD001\x01").ljust(SECTOR, b"\0")
