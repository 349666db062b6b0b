"""Tape devices behind one small interface: a real drive driven with ``mt``, and a file-backed one.

A sink takes whole records only (``write_record``); ENOSPC becomes EndOfTape, so
the tape writer can close the tape with a filemark and ask for the next one.
The virtual drive writes the stream into a file, with an optional capacity after
which it answers ENOSPC like a full tape (the embedded default and the tests).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from media.errors import DeviceError, EndOfTape, NoMediaLoaded
from media._tools import run_tool

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


class FileSink(FdSink):
    """A sink on a regular file: whole records of file data may also come by ``copy_file_range``.

    A file has no records, so the kernel may copy many at once; the stream is the
    same bytes, and ``sizes`` counts such a copy as that many records.
    """

    def copy_records(self, src: int, offset: int, records: int, record_size: int) -> int:
        """Copy up to ``records`` whole records of ``src`` from ``offset``; returns bytes copied (0: cannot)."""
        n = records * record_size
        if self.limit is not None:
            room = self.limit - self.written
            n = min(n, room - room % record_size)
        done = 0
        while done < n:
            try:
                k = os.copy_file_range(src, self.fd, n - done, offset + done)
            except OSError as e:
                if done == 0 and e.errno in _NO_COPY:
                    return 0
                self._keep(done - done % record_size, record_size)
                if e.errno == errno.ENOSPC:
                    raise EndOfTape(f"end of tape after {self.written:,} bytes") from e
                raise DeviceError(f"tape write failed after {self.written:,} bytes: {e.strerror}") from e
            if k == 0:
                break  # the source is shorter than said: the writer's reads find out
            done += k
        self._keep(done - done % record_size, record_size)
        return done - done % record_size

    def _keep(self, n: int, record_size: int) -> None:
        """Count ``n`` bytes (whole records) as written; cut off a partial record past them."""
        self.written += n
        if self.sizes is not None:
            self.sizes.extend([record_size] * (n // record_size))
        if os.lseek(self.fd, 0, os.SEEK_CUR) != self.written:
            os.ftruncate(self.fd, self.written)
            os.lseek(self.fd, self.written, os.SEEK_SET)


_NO_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


class MtTapeDrive:
    """A SCSI tape drive (``/dev/nst0``, non-rewinding) driven with ``mt`` (mt-st or cpio's)."""

    def __init__(self, device: str = "/dev/nst0", mt: str = "mt") -> None:
        self.name = device
        self.mt = mt

    def _mt(self, *args: str) -> str:
        return run_tool([self.mt, "-f", self.name, *args], MT_TIMEOUT, "install mt-st")

    def status(self) -> str:
        return self._mt("status")

    def wait_loaded(self, timeout: float, interval: float = 5.0) -> str:
        """Until the drive reports a cartridge (``ONLINE`` in ``mt status``); NoMediaLoaded after ``timeout``.

        The st driver sends no udev event when a cartridge is loaded, so the drive
        is asked: ``mt status`` shows ONLINE once a tape is in and ready.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.status()
            except DeviceError as e:  # mt fails on an empty drive (No medium found): not loaded yet
                status = str(e)
            if re.search(r"\bONLINE\b", status):
                return status
            if time.monotonic() >= deadline:
                raise NoMediaLoaded(f"no tape loaded in {self.name} after {timeout:.0f} s: {status.strip()[-200:]}")
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def rewind(self) -> None:
        self._mt("rewind")

    def set_block(self, size: int) -> None:
        self._mt("setblk", str(size))

    def write_filemark(self) -> None:
        self._mt("weof", "1")

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
    length of every record, so tests see that the drive never got a short one.
    On a regular file, ``kernel_copy`` lets whole records of file data go by
    ``copy_file_range`` (no copy through Python); off, it takes records as a real
    drive does.
    """

    def __init__(self, path: Path, capacity: int | None = None, kernel_copy: bool = True) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.capacity = capacity
        self.kernel_copy = kernel_copy
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
            fd = os.open(self.path, flags, 0o644)
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError as e:
            raise DeviceError(f"cannot open {self.path}: {e.strerror}") from e
        sink = (FileSink if regular and self.kernel_copy else FdSink)(fd, self.record_sizes)
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
