"""Tape volumes: one self-contained tar per tape, written in fixed records, read back before it counts.

The tar stream (PAX format, byte for byte what ``tarfile`` writes for the same
entries, with integer mtimes and explicit modes) is assembled straight into one
preallocated record: headers are packed into it (``layout.tar_header``) and file
data read into it (``os.preadv``), so every byte is copied once on its way to the
drive, and the drive only ever sees writes of exactly ``record_size`` bytes (the
last record zero-padded). A sink that can take data from a file itself (a
file-backed drive: ``copy_file_range``) gets whole records of file data that
way, the kernel copying them. When the tape ends (ENOSPC) in the middle of a
granule, the tape gets a filemark, ``next_tape`` is asked for the next one, and
that granule and the rest are written there as a new, self-contained tar.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from media._checksum import ChecksumFactory, ChecksumSink, check_read_back
from media.errors import EndOfTape, GranuleTooLarge, MediaError, ReadBackMismatch, ToolFailed
from media.layout import TAR_BLOCK, Entry, granule_entries, tar_header, volume_entries
from media._tapedev import RecordSink, TapeDrive
from media.volumes import DEFAULT_RECORD_SIZE, VolumePlan

END_OF_ARCHIVE = bytes(2 * TAR_BLOCK)


class RecordWriter:
    """Assembles the stream in one reused record and hands the sink whole records only.

    The sink gets a view of that record, valid only during the call. ``offset`` is
    the stream length given so far, ``device_bytes`` what the sink accepted.
    """

    def __init__(self, sink: RecordSink, record_size: int = DEFAULT_RECORD_SIZE) -> None:
        if record_size <= 0 or record_size % TAR_BLOCK:
            raise MediaError(f"record size must be a positive multiple of 512, got {record_size}")
        self.sink, self.record_size = sink, record_size
        self.buf = bytearray(record_size)
        self.view = memoryview(self.buf)
        self.fill = 0  # bytes of the current record filled
        self.offset = 0
        self.device_bytes = 0
        self.copy_records: Callable[[int, int, int, int], int] | None = getattr(sink, "copy_records", None)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        n = len(data)
        size, done = self.record_size, 0
        while done < n:
            k = min(size - self.fill, n - done)
            self.view[self.fill:self.fill + k] = data[done:done + k]
            self.fill += k
            done += k
            if self.fill == size:
                self._emit()
        self.offset += n
        return n

    def write_file(self, fd: int, size: int, name: object) -> None:
        """``size`` bytes of an open file, then the zero padding to a whole tar block."""
        rs, pos = self.record_size, 0
        view = self.view
        while pos < size:
            if self.fill == 0 and self.copy_records is not None and size - pos >= rs:
                copied = self.copy_records(fd, pos, (size - pos) // rs, rs)
                pos += copied
                self.device_bytes += copied
                if copied:
                    continue
                self.copy_records = None  # the sink could not copy (or is nearly full): records from here on
            want = min(rs - self.fill, size - pos)
            got = os.preadv(fd, [view[self.fill:self.fill + want]], pos)
            if got <= 0:
                raise MediaError(f"{name} ended after {pos:,} bytes, the plan says {size:,}")
            self.fill += got
            pos += got
            if self.fill == rs:
                self._emit()
        self.offset += size
        if size % TAR_BLOCK:
            self.write(bytes(TAR_BLOCK - size % TAR_BLOCK))

    def _emit(self) -> None:
        self.sink.write_record(self.view)
        self.device_bytes += self.record_size
        self.fill = 0

    def finish(self) -> None:
        """Write the last record, zero-padded to full size."""
        if self.fill:
            self.view[self.fill:] = bytes(self.record_size - self.fill)
            self._emit()


class SegmentEntries:
    """A tape's entries, made again on each pass (texts, then each granule's): no list of 100,000 entries is kept."""

    def __init__(self, texts: list[Entry], granules: list[Granule]) -> None:
        self.texts, self.granules = texts, granules

    def __iter__(self) -> Iterator[Entry]:
        yield from self.texts
        for _key, make in self.granules:
            yield from make()


Granule = tuple[str, Callable[[], Iterable[Entry]]]  # key, and a maker of its entries


@dataclass
class TapeSegment:
    """What one tape of a volume holds: granule keys, bytes, and whether its tar is complete."""

    tape: int
    drive: str
    granules: list[str] = field(default_factory=list)
    entries: Iterable[Entry] = field(default_factory=list)
    bytes: int = 0
    complete: bool = False


def _add(writer: RecordWriter, entry: Entry, now: int) -> None:
    """One entry; directories and texts carry the time of writing, files their own mtime."""
    if entry.is_dir:
        writer.write(tar_header(entry, now))
        return
    if entry.data is not None:
        writer.write(tar_header(entry, now))
        writer.write(entry.data)
        if len(entry.data) % TAR_BLOCK:
            writer.write(bytes(TAR_BLOCK - len(entry.data) % TAR_BLOCK))
        return
    assert entry.source is not None
    try:
        fd = os.open(entry.source, os.O_RDONLY)
    except OSError as e:
        raise MediaError(f"cannot read {entry.source}: {e.strerror}") from e
    try:
        st = os.fstat(fd)
        if st.st_size != entry.size:
            raise MediaError(f"{entry.source} is {st.st_size:,} bytes, the plan says {entry.size:,}")
        writer.write(tar_header(entry, int(st.st_mtime)))
        writer.write_file(fd, entry.size, entry.source)
    except OSError as e:
        raise MediaError(f"cannot read {entry.source}: {e.strerror}") from e
    finally:
        os.close(fd)


def _write(texts: list[Entry], pending: list[Granule], drive: TapeDrive, next_tape: Callable[[int], TapeDrive],
           record_size: int) -> list[TapeSegment]:
    segments: list[TapeSegment] = []
    while True:
        seg = TapeSegment(len(segments) + 1, drive.name)
        segments.append(seg)
        drive.rewind()
        drive.set_block(record_size)
        sink = drive.open_write()
        writer = RecordWriter(sink, record_size)
        ends: list[int] = []
        now = int(time.time())
        try:
            for e in texts:
                _add(writer, e, now)
            for _key, make in pending:
                for e in make():
                    _add(writer, e, now)
                ends.append(writer.offset)
            writer.write(END_OF_ARCHIVE)
            writer.finish()
        except EndOfTape:
            sink.close()
            drive.write_filemark()
            done = sum(1 for end in ends if end <= writer.device_bytes)
            if done == 0:
                key = pending[0][0]
                raise GranuleTooLarge(f"granule {key} does not fit on one empty tape "
                                      f"({writer.device_bytes:,} bytes written before the end)") from None
            _fill(seg, texts, pending[:done], writer.device_bytes, complete=False)
            pending = pending[done:]
            drive = next_tape(seg.tape + 1)
            continue
        sink.close()
        drive.write_filemark()
        _fill(seg, texts, pending, writer.device_bytes, complete=True)
        return segments


def _fill(seg: TapeSegment, texts: list[Entry], granules: list[Granule], n: int, complete: bool) -> None:
    seg.granules = [k for k, _ in granules]
    seg.entries = SegmentEntries(texts, granules)
    seg.bytes, seg.complete = n, complete


def write_volume_tape(plan: VolumePlan, drive: TapeDrive, next_tape: Callable[[int], TapeDrive],
                      record_size: int = DEFAULT_RECORD_SIZE) -> list[TapeSegment]:
    """One planned volume onto tape(s); each granule's entries are made as it is written."""
    granules: list[Granule] = [(item.key, functools.partial(granule_entries, item)) for item in plan.items]
    return _write(volume_entries((), plan.texts), granules, drive, next_tape, record_size)


def _members(stream: io.BufferedIOBase | io.RawIOBase, record_size: int) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    tar = tarfile.open(fileobj=stream, mode="r|", bufsize=record_size)  # type: ignore[call-overload]
    try:
        yield from ((m, tar) for m in tar)
    except (tarfile.ReadError, EOFError) as e:
        raise ReadBackMismatch(f"tape read-back stopped: {e}") from e


def tar_listing(drive: TapeDrive, record_size: int) -> tuple[list[str], int, str]:
    """Names ``tar -t`` lists from the tape (GNU tar), its exit status and messages."""
    cmd = ["tar", "-t", *drive.tar_list_args(record_size)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as e:
        raise ToolFailed("tar not found") from e
    return [n.rstrip("/") for n in done.stdout.splitlines()], done.returncode, done.stderr.strip()


def verify_tape(segment: TapeSegment, drive: TapeDrive, factory: ChecksumFactory,
                record_size: int = DEFAULT_RECORD_SIZE) -> int:
    """Read one tape back: ``tar -t`` lists every entry, and every file's size and checksum match.

    A tape cut by end of tape has a truncated last member after its complete
    granules; only those granules are expected there. Returns files checked.
    """
    drive.rewind()
    names, status, message = tar_listing(drive, record_size)
    wanted = [e.path for e in segment.entries]
    missing = sorted(set(wanted) - set(names))
    if missing or (segment.complete and status != 0):
        raise ReadBackMismatch(f"tape {segment.tape} on {drive.name}: tar -t exit {status} {message!r}, "
                               f"missing {missing[:5]}")
    files = {e.path: e for e in segment.entries if not e.is_dir}
    seen = 0
    drive.rewind()
    with drive.open_read() as stream:
        for member, tar in _members(stream, record_size):
            e = files.get(member.name)
            if e is None:
                continue
            f = tar.extractfile(member)
            assert f is not None
            sink = ChecksumSink(factory)
            shutil.copyfileobj(f, sink, 1 << 20)
            check_read_back(f"tape {segment.tape}", e, sink, factory)
            seen += 1
            if seen == len(files):
                break
    if seen != len(files):
        raise ReadBackMismatch(f"tape {segment.tape}: {len(files) - seen} files not found on read-back")
    return seen
