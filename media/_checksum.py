"""Checksums on read-back, computed with the caller's implementation.

``media`` keeps no checksum code of its own: the caller passes a factory (a
callable returning an object with ``update(bytes)`` and ``value() -> str``), e.g.
``lambda: StreamingChecksum.new("MD5")`` from ``distribution``, or, in tests, a
hashlib wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from media.errors import ReadBackMismatch
from media.layout import Entry

BLOCK = 1 << 20


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def value(self) -> str: ...


ChecksumFactory = Callable[[], Checksum]


class ChecksumSink:
    """A write-only file object that checksums and counts what is written to it."""

    def __init__(self, factory: ChecksumFactory) -> None:
        self.state = factory()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.state.update(data)
        self.size += len(data)
        return len(data)

    def value(self) -> str:
        return self.state.value()


def checksum_path(path: Path, factory: ChecksumFactory, block: int = BLOCK) -> tuple[int, str]:
    """(size, checksum) of a file, read in blocks."""
    sink = ChecksumSink(factory)
    with path.open("rb", buffering=0) as f:
        while chunk := f.read(block):
            sink.write(chunk)
    return sink.size, sink.value()


def checksum_bytes(data: bytes, factory: ChecksumFactory) -> str:
    state = factory()
    state.update(data)
    return state.value()


def expected_checksum(entry: Entry, factory: ChecksumFactory) -> str:
    """The entry's known checksum, or one computed from its source or text."""
    if entry.checksum is not None:
        return entry.checksum
    if entry.data is not None:
        return checksum_bytes(entry.data, factory)
    assert entry.source is not None
    return checksum_path(entry.source, factory)[1]


def check_read_back(where: str, entry: Entry, sink: ChecksumSink, factory: ChecksumFactory) -> None:
    """Raise ReadBackMismatch unless what ``sink`` was given has the entry's size and checksum."""
    want = expected_checksum(entry, factory)
    if sink.size != entry.size or sink.value() != want:
        raise ReadBackMismatch(f"{where}: {entry.path} read back {sink.size:,} bytes {sink.value()}, "
                               f"expected {entry.size:,} bytes {want}")
