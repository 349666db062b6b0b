"""Streaming checksums of the ICD (4.3.6.3, 4.5.3 d): CKSUM and MD5.

CKSUM is the POSIX ``cksum`` CRC-32 (poly 0x04C11DB7, not reflected, init 0), run
over the data and then over the file length as minimal little-endian bytes, and
complemented; its value is the decimal number ``cksum`` prints. MD5 is 32
lower-case hex digits. Both update in one pass, so a copy can checksum what it
writes (``copy_with_checksum``). The CRC comes from fastcrc (Rust, releases the
GIL); hashlib releases it for large buffers too, so files verify in parallel threads.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path
from typing import Protocol

import fastcrc

BLOCK_SIZE = 4 << 20
MMAP_STEP = 64 << 20
CHECKSUM_TYPES = ("CKSUM", "MD5", "SHA256")

_cksum_crc = fastcrc.crc32.cksum


class StreamingChecksum(Protocol):
    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def value(self) -> str: ...


class Cksum:
    """POSIX ``cksum``: CRC-32 of the data, then of the length, complemented."""

    def __init__(self) -> None:
        self._crc: int | None = None
        self._length = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if len(data):
            self._crc = _cksum_crc(data) if self._crc is None else _cksum_crc(data, self._crc)
            self._length += len(data)

    def value(self) -> str:
        length = self._length
        tail = bytearray()
        while length:
            tail.append(length & 0xFF)
            length >>= 8
        if self._crc is None:
            crc = _cksum_crc(bytes(tail)) if tail else 0xFFFFFFFF
        else:
            crc = _cksum_crc(bytes(tail), self._crc) if tail else self._crc
        return str(crc)


class _Hashlib:
    def __init__(self, name: str) -> None:
        self._h = hashlib.new(name)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)

    def value(self) -> str:
        return self._h.hexdigest()


def new(checksum_type: str) -> StreamingChecksum:
    """A fresh streaming checksum of the given ICD type."""
    kind = checksum_type.strip().upper()
    if kind == "CKSUM":
        return Cksum()
    if kind == "MD5":
        return _Hashlib("md5")
    if kind == "SHA256":
        return _Hashlib("sha256")
    raise ValueError(f"unknown checksum type {checksum_type!r} (known: {', '.join(CHECKSUM_TYPES)})")


def checksum_file(path: Path, checksum_type: str, block_size: int = BLOCK_SIZE) -> str:
    """The checksum of a file, hashed straight from the page cache through mmap.

    mmap saves the copy into a buffer that ``read`` makes (CKSUM runs ~1.5x
    faster); files that cannot be mapped (empty, pipes) are read in blocks.
    """
    state = new(checksum_type)
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size > 0 and os.path.isfile(path):
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                mapped.madvise(mmap.MADV_SEQUENTIAL)
                view = memoryview(mapped)
                try:
                    for start in range(0, len(mapped), MMAP_STEP):
                        state.update(view[start : start + MMAP_STEP])
                finally:
                    view.release()
            return state.value()
        buf = bytearray(block_size)
        chunk = memoryview(buf)
        while n := f.readinto(buf):
            state.update(chunk[:n])
    return state.value()


def copy_with_checksum(src: Path, dst: Path, checksum_type: str, block_size: int = BLOCK_SIZE) -> tuple[int, str]:
    """Copy ``src`` to ``dst`` checksumming in the same pass; (size, checksum). ``dst`` is fsynced."""
    state = new(checksum_type)
    buf = bytearray(block_size)
    view = memoryview(buf)
    size = 0
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        while n := fin.readinto(buf):
            chunk = view[:n]
            state.update(chunk)
            written = 0
            while written < n:
                written += fout.write(chunk[written:]) or 0
            size += n
        os.fsync(fout.fileno())
    return size, state.value()


def normalize_checksum_value(checksum_type: str, value: str) -> str:
    """The canonical text of a stored checksum: decimal for CKSUM, lower-case hex for MD5.

    Providers send MD5 values made only of digits; they are still hex strings.
    """
    text = str(value).strip()
    kind = checksum_type.strip().upper()
    if kind == "CKSUM":
        if not text.isdigit() or int(text) > 0xFFFFFFFF:
            raise ValueError(f"CKSUM value must be a 32-bit unsigned decimal number, not {value!r}")
        return str(int(text))
    if kind in ("MD5", "SHA256"):
        lowered = text.lower()
        want = 32 if kind == "MD5" else 64
        if len(lowered) != want or any(c not in "0123456789abcdef" for c in lowered):
            raise ValueError(f"{kind} value must be {want} hex digits, not {value!r}")
        return lowered
    raise ValueError(f"unknown checksum type {checksum_type!r}")
