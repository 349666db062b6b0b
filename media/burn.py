"""Burning images onto discs with ``xorriso -as cdrecord``, and a virtual burner for the embedded default.

Both read the disc back after burning and compare its first ``image size`` bytes
with the image (checksums from the caller's factory); a disc counts as written only
then. ``xorriso`` also writes to ``stdio:<file>`` pseudo-drives, which is how the
real burn path runs in the tests.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from media._checksum import BLOCK, ChecksumFactory, ChecksumSink, checksum_path
from media.errors import DeviceError, ReadBackMismatch
from media._tools import run_tool

BURN_TIMEOUT = 4 * 3600


@dataclass(frozen=True)
class BurnResult:
    """A burned and read-back disc."""

    device: str
    image: Path
    size: int
    checksum: str


class Burner(Protocol):
    """What the media DAG needs from an optical drive, real or virtual."""

    name: str

    def burn(self, image: Path, factory: ChecksumFactory) -> BurnResult: ...

    def eject(self) -> None: ...


def read_back(source: Path, size: int, factory: ChecksumFactory) -> str:
    """The checksum of the first ``size`` bytes of a disc or file (a disc holds padding after the image)."""
    sink = ChecksumSink(factory)
    try:
        with source.open("rb", buffering=0) as f:
            while sink.size < size:
                chunk = f.read(min(BLOCK, size - sink.size))
                if not chunk:
                    break
                sink.write(chunk)
    except OSError as e:
        raise DeviceError(f"cannot read back {source}: {e.strerror}") from e
    if sink.size != size:
        raise ReadBackMismatch(f"{source}: read back {sink.size:,} of {size:,} bytes")
    return sink.value()


def _compare(device: str, readable: Path, image: Path, factory: ChecksumFactory) -> BurnResult:
    size, want = checksum_path(image, factory)
    got = read_back(readable, size, factory)
    if got != want:
        raise ReadBackMismatch(f"{device}: disc reads {got}, image {image.name} is {want}")
    return BurnResult(device, image, size, want)


class XorrisoBurner:
    """A real drive (``/dev/sr0``) or an xorriso pseudo-drive (``stdio:/path``)."""

    def __init__(self, device: str, xorriso: str = "xorriso", speed: str | None = None) -> None:
        self.name, self.xorriso, self.speed = device, xorriso, speed

    def _run(self, args: list[str]) -> str:
        return run_tool([self.xorriso, *args], BURN_TIMEOUT, "install xorriso")

    def burn_command(self, image: Path) -> list[str]:
        cmd = ["-as", "cdrecord", "-v", f"dev={self.name}", "-dao"]
        if self.speed:
            cmd.append(f"speed={self.speed}")
        return [*cmd, str(image)]

    def burn(self, image: Path, factory: ChecksumFactory) -> BurnResult:
        self._run(self.burn_command(image))
        return _compare(self.name, Path(self.name.removeprefix("stdio:")), image, factory)

    def eject(self) -> None:
        if not self.name.startswith("stdio:"):
            self._run(["-outdev", self.name, "-eject", "all"])


class VirtualOpticalDrive:
    """A folder that receives 'burned' images: copied in, then read back like a disc."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.name = f"virtual:{self.folder}"
        self.ejected = 0

    def burn(self, image: Path, factory: ChecksumFactory) -> BurnResult:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / image.name
        partial = target.with_name(target.name + ".partial")
        try:
            shutil.copyfile(image, partial)
            partial.replace(target)
        except OSError as e:
            raise DeviceError(f"cannot write {target}: {e.strerror}") from e
        return _compare(self.name, target, image, factory)

    def eject(self) -> None:
        self.ejected += 1
