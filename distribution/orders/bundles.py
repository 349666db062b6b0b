"""Compressed tar bundles (ISDC archive, seed 001): ``tar.gz`` or ``tar.zst``, streamed, checksummed.

A bundle is made in one pass and never as a full copy on disk first: Python's ``tarfile``
streams each member into the compressor's standard input (``zstd -T0``, or ``pigz`` where
it is installed, else ``gzip``). Unsplit, the compressor writes the bundle file itself and
its checksum is taken from the page cache after; with ``split_bytes``, a thread reads the
compressed stream and cuts it into parts of at most that size (``name.tar.zst.001``,
``.002``, … like ``split -b``; a stream that fits keeps the plain name), checksumming each. Each member's checksum is computed while
it is read and written inside the bundle as its last member (``CHECKSUMS.<type>``, one
``value  name`` line each, as ``md5sum``/``cksum`` print them); each part's checksum is
computed while it is written, for the DN. CKSUM by default: it costs almost nothing next
to the compression (benchmarks/README.md).
"""

from __future__ import annotations

import fcntl
import io
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from distribution.checksums import StreamingChecksum, checksum_file
from distribution.errors import FileVanished, PermanentError

KINDS = ("tar.gz", "tar.zst")
COPY_BUFFER = 1 << 20


def compressor(kind: str) -> list[str]:
    """The command that compresses standard input to standard output for a bundle of this kind."""
    if kind == "tar.zst":
        return ["zstd", "-T0", "-q", "-c"]
    if kind == "tar.gz":
        return ["pigz", "-c"] if shutil.which("pigz") else ["gzip", "-c"]
    raise PermanentError(f"a bundle is {' or '.join(KINDS)}, not {kind!r}")


@dataclass(frozen=True)
class BundleMember:
    """A file to put in the bundle and its name inside it (``<directory>/<distribution name>``)."""

    source: Path
    name: str


@dataclass
class BundlePart:
    path: Path
    size: int = 0
    checksum: str = ""


@dataclass
class Bundle:
    """What was written: the parts in order (each with its checksum) and every member's checksum."""

    checksum_type: str
    parts: list[BundlePart] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)


class _Parts:
    """Writes the compressed stream into parts of at most ``limit`` bytes, checksumming each."""

    def __init__(self, target: Path, limit: int | None, checksum_type: str) -> None:
        self.target, self.limit, self.checksum_type = target, limit, checksum_type
        self.parts: list[BundlePart] = []
        self._out: BinaryIO | None = None
        self._sum: StreamingChecksum | None = None

    def _next(self) -> None:
        self._close()
        part = BundlePart(self.target.with_name(f"{self.target.name}.{len(self.parts) + 1:03d}"))
        self.parts.append(part)
        self._out, self._sum = part.path.open("wb"), StreamingChecksum.new(self.checksum_type)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._out is None or (self.limit and self.parts[-1].size >= self.limit):
                self._next()
            assert self._out is not None and self._sum is not None
            room = len(view) if not self.limit else min(len(view), self.limit - self.parts[-1].size)
            self._out.write(view[:room])
            self._sum.update(view[:room])
            self.parts[-1].size += room
            view = view[room:]

    def _close(self) -> None:
        if self._out is not None and self._sum is not None:
            self._out.close()
            self.parts[-1].checksum = self._sum.value()
            self._out = None

    def finish(self) -> list[BundlePart]:
        if not self.parts:
            self._next()  # an empty stream is still one (empty) part
        self._close()
        if len(self.parts) == 1:  # not split: the plain name
            self.parts[0].path = self.parts[0].path.replace(self.target)
        return self.parts


class _Summed:
    """A member file read by tarfile, checksummed on the way."""

    def __init__(self, f: BinaryIO, checksum_type: str) -> None:
        self.f, self.sum = f, StreamingChecksum.new(checksum_type)

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.sum.update(data)
        return data


def write_bundle(members: Sequence[BundleMember], target: Path, kind: str, *, split_bytes: int | None = None,
                 checksum_type: str = "CKSUM") -> Bundle:
    """Write ``members`` as one compressed tar at ``target`` (or its parts); see the module docstring."""
    command = compressor(kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f"{target.name}*"):  # an earlier, interrupted try
        stale.unlink()
    bundle = Bundle(checksum_type)
    if split_bytes is None:  # one part: the compressor writes the file itself, checksummed after (page cache)
        with target.open("wb") as out:
            _stream(members, command, out, None, bundle)
        bundle.parts = [BundlePart(target, target.stat().st_size, checksum_file(target, checksum_type))]
        return bundle
    parts = _Parts(target, split_bytes, checksum_type)
    _stream(members, command, subprocess.PIPE, parts, bundle)
    bundle.parts = parts.finish()
    return bundle


def _stream(members: Sequence[BundleMember], command: list[str], stdout: BinaryIO | int, parts: _Parts | None,
            bundle: Bundle) -> None:
    """tar the members into the compressor; its output goes to ``stdout`` (a file) or through ``parts``."""
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=stdout)
    assert proc.stdin is not None
    _widen(proc.stdin)
    errors: list[BaseException] = []
    reader = None
    if parts is not None:
        assert proc.stdout is not None
        _widen(proc.stdout)
        source = proc.stdout

        def drain() -> None:
            try:
                while chunk := source.read(COPY_BUFFER):
                    parts.write(chunk)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                errors.append(e)

        reader = threading.Thread(target=drain, name="bundle-writer", daemon=True)
        reader.start()
    checksum_type = bundle.checksum_type
    try:
        with tarfile.open(fileobj=proc.stdin, mode="w|", format=tarfile.PAX_FORMAT, bufsize=COPY_BUFFER,
                          copybufsize=COPY_BUFFER) as tar:
            for m in members:
                try:
                    info = tar.gettarinfo(str(m.source), arcname=m.name)
                    with m.source.open("rb") as f:
                        summed = _Summed(f, checksum_type)
                        tar.addfile(info, summed)  # type: ignore[arg-type]
                except FileNotFoundError as e:
                    raise FileVanished(f"archive file is missing: {m.source}") from e
                bundle.members[m.name] = summed.sum.value()
            listing = "".join(f"{value}  {name}\n" for name, value in bundle.members.items()).encode()
            info = tarfile.TarInfo(f"CHECKSUMS.{checksum_type.lower()}")
            info.size = len(listing)
            tar.addfile(info, io.BytesIO(listing))
    finally:
        proc.stdin.close()
        code = proc.wait()
        if reader is not None:
            reader.join()
    if errors:
        raise errors[0]
    if code != 0:
        raise PermanentError(f"{command[0]} failed with exit status {code}")


def _widen(pipe: BinaryIO) -> None:
    """A 1 MiB pipe (Linux F_SETPIPE_SZ) instead of 64 KiB: fewer, larger reads and writes."""
    try:
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), COPY_BUFFER)
    except OSError:
        pass  # over /proc/sys/fs/pipe-max-size: the default pipe works, slower

