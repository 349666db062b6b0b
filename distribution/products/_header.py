"""Writing a product's primary header in place, within its 2,880-byte blocks, and appending HDU extensions.

The DPS (``target`` / ``source``): "The target source file should have enough
space to hold all additional keywords being merged into it to avoid possible
and likely expensive relocation of data arrays and HDU extensions." So: when
the new header fits in the blocks the old one occupies (cards and the blank cards
kept as room before ``END``), only those bytes are rewritten and the data unit is never
touched; extensions are copied byte for byte onto the end (``copy_file_range``).
When it does not fit, the header grows once (plus ``reserve_blocks`` of spare
room) into a new file and :class:`HeaderWrite` says so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

BLOCK = 2880
CARD = 80


class FitsLayoutError(ValueError):
    """A file that is not FITS as far as the HDU structure goes."""


@dataclass(frozen=True)
class HduSpan:
    """Where one HDU is in a file: header and (padded) data unit."""

    offset: int
    header_size: int
    data_size: int

    @property
    def data_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        return self.offset + self.header_size + self.data_size


@dataclass(frozen=True)
class HeaderWrite:
    """What writing a product did: in place or grown, and how many bytes were written or moved."""

    in_place: bool
    old_header_size: int
    new_header_size: int
    header_bytes_written: int
    extension_bytes: int
    bytes_moved: int = 0


def _padded(n: int) -> int:
    return -(-n // BLOCK) * BLOCK


_INT = re.compile(r"^\s*([+-]?\d+)")


def _int(cards: dict[str, str], key: str, default: int | None = None) -> int:
    raw = cards.get(key)
    m = _INT.match(raw) if raw is not None else None
    if m is None:
        if default is not None:
            return default
        raise FitsLayoutError(f"header has no integer {key}")
    return int(m.group(1))


def _data_size(cards: dict[str, str], primary: bool) -> int:
    bitpix = abs(_int(cards, "BITPIX"))
    naxis = _int(cards, "NAXIS")
    if naxis == 0:
        return 0
    dims = [_int(cards, f"NAXIS{i}") for i in range(1, naxis + 1)]
    groups = primary and dims[0] == 0 and cards.get("GROUPS", "").strip().startswith("T")
    if primary and dims[0] == 0 and not groups:
        return 0
    count = 1
    for d in dims[1:] if groups else dims:
        count *= d
    pcount = _int(cards, "PCOUNT", 0)
    gcount = _int(cards, "GCOUNT", 1)
    return _padded(bitpix // 8 * gcount * (pcount + count))


def _read_header(fd: int, offset: int) -> tuple[bytes, dict[str, str]]:
    """The header bytes at ``offset`` (whole blocks up to the one with END) and its value fields by keyword."""
    chunks = []
    values: dict[str, str] = {}
    pos = offset
    while True:
        block = os.pread(fd, BLOCK, pos)
        if len(block) < BLOCK:
            raise FitsLayoutError(f"header at byte {offset} has no END card before the end of the file")
        chunks.append(block)
        pos += BLOCK
        for i in range(0, BLOCK, CARD):
            card = block[i:i + CARD].decode("ascii", errors="replace")
            key = card[:8].rstrip()
            if key == "END":
                return b"".join(chunks), values
            if card[8:10] == "= " and key not in values:
                values[key] = card[10:].split("/", 1)[0]


def scan_hdus(path: Path) -> list[HduSpan]:
    """Every HDU of a FITS file, from its headers alone (no data is read)."""
    spans = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if not os.pread(fd, 9, 0).startswith(b"SIMPLE  ="):
            raise FitsLayoutError(f"{path.name} is not a FITS file (no SIMPLE card)")
        offset = 0
        while offset < size:
            header, cards = _read_header(fd, offset)
            if offset and "XTENSION" not in cards:
                break  # special records after the last extension are not HDUs
            span = HduSpan(offset, len(header), _data_size(cards, primary=offset == 0))
            if span.end > size:
                raise FitsLayoutError(f"{path.name}: HDU {len(spans)} ends at byte {span.end}, file has {size}")
            spans.append(span)
            offset = span.end
    finally:
        os.close(fd)
    return spans


def primary_header(path: Path) -> bytes:
    """The primary header's bytes (whole blocks)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return _read_header(fd, 0)[0]
    finally:
        os.close(fd)


def pad_header(cards: bytes, size: int = 0) -> bytes:
    """Card images, blank cards, END: whole blocks, at least ``size`` bytes.

    The END card closes the last block (the blank room is in front of it), so a
    reader finds the data unit right after the block holding END.
    """
    if len(cards) % CARD:
        raise ValueError("card images must be 80 bytes each")
    total = max(_padded(len(cards) + CARD), _padded(size))
    return cards + b" " * (total - len(cards) - CARD) + b"END".ljust(CARD)


def _copy_range(src_fd: int, dst_fd: int, offset: int, length: int, dst_offset: int) -> None:
    done = 0
    while done < length:
        n = os.copy_file_range(src_fd, dst_fd, length - done, offset + done, dst_offset + done)
        if n == 0:
            raise FitsLayoutError(f"source ended {length - done} bytes early")
        done += n


def _append_extensions(dst_fd: int, at: int, extensions: list[tuple[Path, HduSpan]]) -> int:
    for path, span in extensions:
        src = os.open(path, os.O_RDONLY)
        try:
            length = span.end - span.offset
            _copy_range(src, dst_fd, span.offset, length, at)
            at += length
        finally:
            os.close(src)
    return at


def write_product(target: Path, out: Path, cards: bytes, extensions: list[tuple[Path, HduSpan]],
                  reserve_blocks: int = 1) -> HeaderWrite:
    """Give ``target`` the header ``cards`` and append ``extensions``; the result is at ``out``.

    In place when the header fits: ``target`` is changed where it is (header
    blocks rewritten, extensions appended after its last HDU) and renamed to
    ``out``. Otherwise a new file ``out`` is written with a header grown once
    (with ``reserve_blocks`` of spare room) and ``target`` is left as it was.
    """
    spans = scan_hdus(target)
    primary, last_end = spans[0], spans[-1].end
    header = pad_header(cards, primary.header_size)
    ext_bytes = sum(s.end - s.offset for _, s in extensions)
    if len(header) == primary.header_size:
        fd = os.open(target, os.O_RDWR)
        try:
            os.truncate(fd, last_end)  # anything after the last HDU is not FITS
            end = _append_extensions(fd, last_end, extensions)
            os.pwrite(fd, header, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(target, out)
        return HeaderWrite(True, primary.header_size, len(header), len(header), end - last_end)
    header = pad_header(cards, len(header) + reserve_blocks * BLOCK)
    tmp = out.with_name(out.name + ".grow")
    src = os.open(target, os.O_RDONLY)
    dst = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.pwrite(dst, header, 0)
        moved = last_end - primary.header_size
        _copy_range(src, dst, primary.header_size, moved, len(header))
        _append_extensions(dst, len(header) + moved, extensions)
        os.fsync(dst)
    except BaseException:
        os.close(dst)
        tmp.unlink(missing_ok=True)
        raise
    else:
        os.close(dst)
    finally:
        os.close(src)
    os.replace(tmp, out)
    return HeaderWrite(False, primary.header_size, len(header), len(header), ext_bytes, moved)
