"""Streaming checksums of the ICD (4.3.6.3, 4.5.3 d): CKSUM and MD5, and room for more.

CKSUM is the POSIX ``cksum`` CRC-32 (poly 0x04C11DB7, not reflected, init 0), run
over the data and then over the file length as minimal little-endian bytes, and
complemented; its value is the decimal number ``cksum`` prints. MD5 is 32
lower-case hex digits. Every type updates block by block, so a copy can checksum
what it writes in the same pass (``copy_with_checksum``).

Speed (see benchmarks/README.md): the CRC is fastcrc's CRC-32/CKSUM (Rust; it
releases the GIL, anycrc does not and is slower); hashlib releases the GIL for large
buffers. ``checksum_file`` hashes regular files straight from the page cache through
mmap windows, which saves the copy into a read buffer: that copy alone made CKSUM
about as slow as coreutils ``cksum``. The price: a file truncated *in place* by
another process while it is mapped kills this process with SIGBUS. The archive only
creates new files, so this needs someone rewriting a file under the archive.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import mmap
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import fastcrc

from distribution.errors import FileVanished, PermanentError

#: Read buffer of the read-based paths: small enough to stay in L2 between the
#: kernel's copy and the checksum (1 MiB measured faster than 4 and 8 MiB).
BLOCK_SIZE = 1 << 20
#: Length of each mmap window, a multiple of mmap.ALLOCATIONGRANULARITY.
WINDOW_SIZE = 64 << 20

Buffer = bytes | bytearray | memoryview

_cksum_crc = fastcrc.crc32.cksum

#: The archive's own checksum of a file that has no checksum Ardis computed (``.met`` files,
#: ``--checksum none``, a provider's unverified value): the fastest one here.
INTERNAL_CHECKSUM_TYPE = "CKSUM"


class UnsupportedChecksumType(PermanentError, ValueError):
    """A checksum type Ardis cannot compute: the ICD's ECS type (see ``ECS_REFUSED``)."""


#: Why the ECS checksum type is accepted and recorded but never computed or verified.
#: ICD 4.3.6.3 names it ("produced by the internal ECS checksum algorithm") and says only
#: that "a standalone JAVA ECS checksum utility is available from the DAAC"; it does not
#: define the algorithm. Searched on 2026-12-07 (public documentation pages, source code,
#: web pages and GitHub issues: "ECS checksum algorithm", "EcUtChecksum", the S4PA and
#: Cumulus code that handles ECS PDRs): no public definition was found — S4PA's
#: s4pm_checksum.pl computes CKSUM with the ``cksum`` utility for loading into ECS.
#: A guessed algorithm would verify wrongly, so ECS stays refused with this reason.
ECS_REFUSED = ("the ECS checksum algorithm is not publicly defined (ICD 4.3.6.3 points to a Java utility "
               "available only from the DAAC); Ardis records an ECS value but cannot compute or verify it")


def picked(key: str, percent: float, secret: bytes = b"") -> bool:
    """Whether ``key`` falls in a ``percent`` % share (to 0.01 %: a 1 TiB archive is sampled at 0.1 %): the
    same answer every time for the same key and secret, and, with a secret the user does not know, not
    predictable from the key (HMAC-SHA256)."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    digest = hmac.new(secret, key.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < round(percent * 100)


class InvalidChecksumValue(PermanentError, ValueError):
    """A stored or announced checksum value that is not well formed for its type."""


class StreamingChecksum(ABC):
    """A checksum fed block by block; ``value()`` is its text as the ICD writes it."""

    name: str

    @staticmethod
    def new(checksum_type: str) -> StreamingChecksum:
        """A fresh checksum of the given type (case and surrounding blanks ignored)."""
        return _kind(checksum_type).factory()

    @abstractmethod
    def update(self, data: Buffer) -> None:
        """Feed the next bytes."""

    @abstractmethod
    def value(self) -> str:
        """The value of everything fed so far; more updates may follow."""


class Cksum(StreamingChecksum):
    """POSIX ``cksum``: CRC-32 of the data, then of the length, complemented."""

    name = "CKSUM"

    def __init__(self) -> None:
        self._crc: int | None = None  # fastcrc's running value (already complemented)
        self._length = 0

    def update(self, data: Buffer) -> None:
        if len(data):
            self._crc = _cksum_crc(data) if self._crc is None else _cksum_crc(data, self._crc)
            self._length += len(data)

    def value(self) -> str:
        tail = self._length.to_bytes((self._length.bit_length() + 7) // 8, "little")
        return str(_cksum_crc(tail) if self._crc is None else _cksum_crc(tail, self._crc))


class HashlibChecksum(StreamingChecksum):
    """A hashlib digest as lower-case hex (MD5, SHA-1, SHA-2)."""

    def __init__(self, name: str, algorithm: str) -> None:
        self.name = name
        self._hash = hashlib.new(algorithm)

    def update(self, data: Buffer) -> None:
        self._hash.update(data)

    def value(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True)
class ChecksumKind:
    """A registered checksum type: how to compute it and how its values are written."""

    name: str
    factory: Callable[[], StreamingChecksum]
    normalize: Callable[[str], str | None]  # canonical text, or None when malformed


_KINDS: dict[str, ChecksumKind] = {}


def register(kind: ChecksumKind) -> None:
    """The extension point: make another checksum type known to every function here."""
    _KINDS[kind.name.upper()] = kind


def checksum_types() -> tuple[str, ...]:
    return tuple(_KINDS)


def _kind(checksum_type: str) -> ChecksumKind:
    kind = _KINDS.get(checksum_type.strip().upper())
    if kind is None:
        if checksum_type.strip().upper() == "ECS":
            raise UnsupportedChecksumType(ECS_REFUSED)
        raise UnsupportedChecksumType(
            f"unsupported checksum type {checksum_type!r} (supported: {', '.join(_KINDS)})")
    return kind


def _unsigned32(text: str) -> str | None:
    return str(int(text)) if text.isascii() and text.isdigit() and int(text) <= 0xFFFFFFFF else None


def _hex_digits(length: int) -> Callable[[str], str | None]:
    def normalize(text: str) -> str | None:
        lowered = text.lower()
        ok = len(lowered) == length and all(c in "0123456789abcdef" for c in lowered)
        return lowered if ok else None
    return normalize


def _hashlib_kind(name: str, algorithm: str) -> ChecksumKind:
    digits = 2 * hashlib.new(algorithm).digest_size
    return ChecksumKind(name, lambda: HashlibChecksum(name, algorithm), _hex_digits(digits))


register(ChecksumKind("CKSUM", Cksum, _unsigned32))
for _name, _algorithm in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256"), ("SHA512", "sha512")):
    register(_hashlib_kind(_name, _algorithm))
del _name, _algorithm

new = StreamingChecksum.new


def normalize_checksum_value(checksum_type: str, value: str) -> str:
    """The canonical text of a checksum value: decimal for CKSUM, lower-case hex for MD5.

    Stored and announced values are compared as text, so both sides pass through
    here. Providers send MD5 values made only of digits; they are still hex strings.
    """
    kind = _kind(checksum_type)
    canonical = kind.normalize(str(value).strip())
    if canonical is None:
        raise InvalidChecksumValue(f"{value!r} is not a {kind.name} value")
    return canonical


@contextmanager
def _open_source(path: Path) -> Iterator[io.FileIO]:
    """Open a file to read; a missing file is FileVanished, not a bare OSError."""
    try:
        f = io.FileIO(path, "rb")
    except FileNotFoundError as e:
        raise FileVanished(f"file not found: {path}") from e
    with f:
        yield f


def _feed_mapped(state: StreamingChecksum, fd: int, size: int, window: int) -> None:
    for offset in range(0, size, window):
        length = min(window, size - offset)
        with mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ, offset=offset) as mapped:
            view = memoryview(mapped)
            try:
                state.update(view)
            finally:
                view.release()


def _feed_read(state: StreamingChecksum, f: io.FileIO, block_size: int) -> None:
    buf = bytearray(block_size)
    view = memoryview(buf)
    while n := f.readinto(buf):
        state.update(view[:n])


class _Fanout(StreamingChecksum):
    """Several checksums fed from the same blocks: one pass over the data for all of them."""

    name = "+"

    def __init__(self, states: list[StreamingChecksum]) -> None:
        self.states = states

    def update(self, data: Buffer) -> None:
        for state in self.states:
            state.update(data)

    def value(self) -> str:
        return " ".join(s.value() for s in self.states)


def checksum_file(path: Path, checksum_type: str, block_size: int = WINDOW_SIZE) -> str:
    """The checksum of a file, the same value ``cksum``/``md5sum`` give.

    Regular files are hashed through mmap windows of ``block_size`` (rounded up to
    the allocation granularity); anything else (pipes, /proc) is read in blocks.
    """
    return _checksum_into(path, new(checksum_type), block_size)


def checksum_file_types(path: Path, checksum_types: Sequence[str], block_size: int = WINDOW_SIZE) -> dict[str, str]:
    """Several checksums of a file in one pass, by canonical type name (e.g. ``{"MD5": …, "CKSUM": …}``)."""
    names = list(dict.fromkeys(_kind(t).name for t in checksum_types))
    states = [new(name) for name in names]
    _checksum_into(path, _Fanout(states), block_size)
    return {name: state.value() for name, state in zip(names, states, strict=True)}


def _checksum_into(path: Path, state: StreamingChecksum, block_size: int) -> str:
    with _open_source(path) as f:
        info = os.fstat(f.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > 0:
            grain = mmap.ALLOCATIONGRANULARITY
            _feed_mapped(state, f.fileno(), info.st_size, -(-block_size // grain) * grain)
        else:
            _feed_read(state, f, min(block_size, BLOCK_SIZE))
    return state.value()


def copy_with_checksum(src: Path, dst: Path, checksum_type: str, block_size: int = BLOCK_SIZE) -> tuple[int, str]:
    """Copy ``src`` to ``dst`` checksumming in the same pass; (size, checksum).

    ``dst`` is fsynced before this returns, so a recorded checksum never describes
    bytes that a crash could still lose.
    """
    state = new(checksum_type)
    buf = bytearray(block_size)
    view = memoryview(buf)
    size = 0
    with _open_source(src) as fin, open(dst, "wb", buffering=0) as fout:
        while n := fin.readinto(buf):
            chunk = view[:n]
            state.update(chunk)
            written = 0
            while written < n:
                written += fout.write(chunk[written:]) or 0
            size += n
        os.fsync(fout.fileno())
    return size, state.value()
