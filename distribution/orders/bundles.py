"""Compressed tar bundles (ISDC archive, seed 001): ``tar.gz`` or ``tar.zst``, streamed, checksummed.

A bundle is made in one pass and never as a full copy on disk first: Ardis writes the tar
headers (``tarfile.TarInfo``, PAX) and sends each member's data by ``sendfile`` into the
standard input of the compressor (``zstd -T0``, or ``pigz`` where it is installed, else
``gzip``). Unsplit, the compressor writes the bundle file itself and its checksum is taken
from the page cache after; with ``split_bytes``, a thread reads the compressed stream and
cuts it into parts of at most that size (``name.tar.zst.001``, ``.002``, … like ``split -b``;
a stream that fits keeps the plain name), checksumming each part as it is written. Each
member's checksum is computed from the page cache in a thread beside the stream and
written inside the bundle as its last member (``CHECKSUMS.<type>``, one ``value  name``
line each, as ``md5sum`` prints them). CKSUM by default: it costs almost nothing next to
the compression (benchmarks/README.md).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from distribution.checksums import StreamingChecksum, checksum_file
from distribution.errors import FileVanished, PermanentError
from distribution.models import Request, RequestGranule

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
        out = proc.stdin.fileno()
        written = 0
        sums = ThreadPoolExecutor(max_workers=1)  # members' checksums beside the stream (fastcrc frees the GIL)
        pending: dict[str, Future[str]] = {}
        for m in members:
            try:
                with m.source.open("rb") as f:
                    info = tarfile.TarInfo(m.name)
                    st = os.fstat(f.fileno())
                    info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
                    written += _write_all(out, info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
                    _send(out, f.fileno(), info.size)  # the kernel copies the data into the pipe, as tar does
                    written += info.size + _write_all(out, b"\0" * (-info.size % tarfile.BLOCKSIZE))
                pending[m.name] = sums.submit(checksum_file, m.source, checksum_type)  # from the page cache
            except FileNotFoundError as e:
                sums.shutdown(cancel_futures=True)
                raise FileVanished(f"archive file is missing: {m.source}") from e
        bundle.members = {name: future.result() for name, future in pending.items()}
        sums.shutdown()
        listing = "".join(f"{value}  {name}\n" for name, value in bundle.members.items()).encode()
        info = tarfile.TarInfo(f"CHECKSUMS.{checksum_type.lower()}")
        info.size, info.mode = len(listing), 0o644
        written += _write_all(out, info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + listing
                              + b"\0" * (-len(listing) % tarfile.BLOCKSIZE))
        end = written + 2 * tarfile.BLOCKSIZE  # two zero blocks end the archive, padded to a whole record
        _write_all(out, b"\0" * (end - written + (-end % tarfile.RECORDSIZE)))
    finally:
        proc.stdin.close()
        code = proc.wait()
        if reader is not None:
            reader.join()
    if errors:
        raise errors[0]
    if code != 0:
        raise PermanentError(f"{command[0]} failed with exit status {code}")


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def _send(out: int, source: int, size: int) -> None:
    """``size`` bytes of ``source`` into ``out`` by sendfile (no copy through Python)."""
    offset = 0
    while offset < size:
        sent = os.sendfile(out, source, offset, min(size - offset, 1 << 30))
        if sent == 0:
            raise FileVanished("archive file shrank while it was bundled")
        offset += sent


def _widen(pipe: BinaryIO) -> None:
    """A 1 MiB pipe (Linux F_SETPIPE_SZ) instead of 64 KiB: fewer, larger reads and writes."""
    try:
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), COPY_BUFFER)
    except OSError:
        pass  # over /proc/sys/fs/pipe-max-size: the default pipe works, slower


#: The directory of a volume that holds a request's one bundle (its parts): granule directories are numbered
#: from 1, so 0 is never a granule's. The media DN lists it as the pseudo-granule of that directory.
REQUEST_DIRECTORY = "0"


def request_bundle_name(request: Request) -> str:
    """The file name of the request's one bundle (its parts add ``.001``, ``.002``, …)."""
    return f"{request.request_id}.{request.bundle}"


def parts_on(rg: RequestGranule, volume: int) -> list[dict[str, Any]]:
    """The granule's bundle parts on media volume ``volume`` (a part planned before parts were placed one
    by one carries no ``volume``: it is on the granule's volume)."""
    return [p for p in rg.bundle or [] if p.get("volume", rg.volume_number) == volume]


def bundle_groups(request: Request, granules: Sequence[RequestGranule]) -> list[list[RequestGranule]]:
    """The granules that go in one bundle together: each alone, or all of them (one bundle per request)."""
    if request.bundle_per == "request":
        return [list(granules)] if granules else []
    return [[rg] for rg in granules]


def bundle_paths(group: Sequence[RequestGranule], target: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The parts recorded for the group (on its first granule) with where each is in ``target``."""
    return [(target / p["name"], p) for p in group[0].bundle or []]


def make_bundle(request: Request, group: Sequence[RequestGranule], target: Path,
                split_bytes: int | None) -> list[tuple[Path, dict[str, Any]]]:
    """The group's bundle (or its parts) in ``target``, recorded on its first granule for the DN (the
    others get ``[]``: they are in that bundle, under their directory number). Parts an earlier try
    recorded and left whole (each there, of its recorded size) are kept, not made again."""
    made = bundle_paths(group, target)
    if made and all(path.is_file() and path.stat().st_size == p["size"] for path, p in made):
        return made
    if request.bundle_per == "request":
        members = [BundleMember(Path(str(rf.staged_path)), f"{rg.directory_number:05d}/{rf.dist_name}")
                   for rg in group for rf in rg.files]
        name = request_bundle_name(request)
    else:
        members = [BundleMember(Path(str(rf.staged_path)), rf.dist_name) for rf in group[0].files]
        name = f"{request.request_id}_{group[0].directory_number:05d}.{request.bundle}"
    bundle = write_bundle(members, target / name, request.bundle, split_bytes=split_bytes)
    parts = [{"name": p.path.name, "size": p.size, "checksum_type": bundle.checksum_type, "checksum": p.checksum}
             for p in bundle.parts]
    for i, rg in enumerate(group):
        rg.bundle = parts if i == 0 else []
    return bundle_paths(group, target)
