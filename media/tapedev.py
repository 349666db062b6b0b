"""Tape devices behind one small interface: a real drive driven with ``mt``, and a file-backed one.

A sink takes whole records only (``write_record``); ENOSPC becomes EndOfTape, so
the tape writer can close the tape with a filemark and ask for the next one.
The virtual drive writes the stream into a file, with an optional capacity after
which it answers ENOSPC like a full tape (the embedded default and the tests).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import BinaryIO, Protocol

from media.errors import DeviceError, EndOfTape
from media.tools import run_tool

MT_TIMEOUT = 600  # rewinding an LTO cartridge can take minutes


class RecordSink(Protocol):
    def write_record(self, record: bytes | memoryview) -> None: ...

    def close(self) -> None: ...


class TapeDrive(Protocol):
    """What the tape writer needs from a drive."""

    name: str

    def status(self) -> str: ...

    def rewind(self) -> None: ...

    def set_block(self, size: int) -> None: ...

    def open_write(self) -> RecordSink: ...

    def write_filemark(self) -> None: ...

    def open_read(self) -> BinaryIO: ...

    def tar_list_args(self, record_size: int) -> list[str]: ...

    def eject(self) -> None: ...


class FdSink:
    """Writes records to a file descriptor; a short write or ENOSPC ends the tape."""

    def __init__(self, fd: int, on_write: list[int] | None = None) -> None:
        self.fd = fd
        self.written = 0
        self.limit: int | None = None
        self.sizes = on_write  # lengths of every write, when the caller wants to see them

    def write_record(self, record: bytes | memoryview) -> None:
        if self.limit is not None and self.written + len(record) > self.limit:
            raise EndOfTape(f"end of tape after {self.written:,} bytes")
        try:
            n = os.write(self.fd, record)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise EndOfTape(f"end of tape after {self.written:,} bytes") from e
            raise DeviceError(f"tape write failed after {self.written:,} bytes: {e.strerror}") from e
        if self.sizes is not None:
            self.sizes.append(n)
        if n != len(record):
            raise EndOfTape(f"short write ({n} of {len(record)} bytes) after {self.written:,} bytes")
        self.written += n

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class MtTapeDrive:
    """A SCSI tape drive (``/dev/nst0``, non-rewinding) driven with ``mt`` (mt-st or cpio's)."""

    def __init__(self, device: str = "/dev/nst0", mt: str = "mt") -> None:
        self.name = device
        self.mt = mt

    def _mt(self, *args: str) -> str:
        return run_tool([self.mt, "-f", self.name, *args], MT_TIMEOUT, "install mt-st")

    def status(self) -> str:
        return self._mt("status")

    def rewind(self) -> None:
        self._mt("rewind")

    def set_block(self, size: int) -> None:
        self._mt("setblk", str(size))

    def write_filemark(self) -> None:
        self._mt("weof", "1")

    def end_of_data(self) -> None:
        self._mt("eod")

    def eject(self) -> None:
        self._mt("eject")

    def open_write(self) -> RecordSink:
        try:
            return FdSink(os.open(self.name, os.O_WRONLY))
        except OSError as e:
            raise DeviceError(f"cannot open {self.name} for writing: {e.strerror}") from e

    def open_read(self) -> BinaryIO:
        try:
            return open(self.name, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
        except OSError as e:
            raise DeviceError(f"cannot open {self.name} for reading: {e.strerror}") from e

    def tar_list_args(self, record_size: int) -> list[str]:
        return ["-b", str(record_size // 512), "-f", self.name]


class FileTapeDrive:
    """A virtual tape: the stream goes into a file; ``capacity`` bytes make it 'full' (ENOSPC).

    Filemarks are kept as byte offsets in ``filemarks``; ``record_sizes`` lists the
    length of every write, so tests see that the drive never got a short one.
    """

    def __init__(self, path: Path, capacity: int | None = None) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.capacity = capacity
        self.filemarks: list[int] = []
        self.record_sizes: list[int] = []
        self.block_size = 0
        self.ejected = False
        self._sink: FdSink | None = None

    def status(self) -> str:
        return f"virtual tape {self.path}: {self.path.stat().st_size if self.path.exists() else 0} bytes"

    def rewind(self) -> None:
        self._close_sink()

    def set_block(self, size: int) -> None:
        self.block_size = size

    def _close_sink(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def open_write(self) -> RecordSink:
        self._close_sink()
        self.filemarks.clear()
        self.record_sizes.clear()
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if not self.path.is_char_device() else 0)
        try:
            sink = FdSink(os.open(self.path, flags, 0o644), self.record_sizes)
        except OSError as e:
            raise DeviceError(f"cannot open {self.path}: {e.strerror}") from e
        sink.limit = self.capacity
        self._sink = sink
        return sink

    def write_filemark(self) -> None:
        self.filemarks.append(self._sink.written if self._sink else 0)

    def open_read(self) -> BinaryIO:
        return self.path.open("rb")

    def tar_list_args(self, record_size: int) -> list[str]:
        return ["-b", str(record_size // 512), "-f", str(self.path)]

    def eject(self) -> None:
        self._close_sink()
        self.ejected = True
