"""Shared helpers of the media tests: an MD5 checksum factory (hashlib) and granule files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from media.layout import GranuleItem, VolumeFile


class Md5:
    """The checksum factory the tests pass to media (distribution passes StreamingChecksum)."""

    def __init__(self) -> None:
        self.h = hashlib.md5()

    def update(self, data: bytes) -> None:
        self.h.update(data)

    def value(self) -> str:
        return self.h.hexdigest()


def make_granule(root: Path, key: str, directory: str, names_sizes: list[tuple[str, int]]) -> GranuleItem:
    """A granule whose files are real random-byte files under ``root``."""
    files = []
    for i, (name, size) in enumerate(names_sizes):
        src = root / f"{directory}-{i}.bin"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(os.urandom(size))
        files.append(VolumeFile(src, name, size))
    return GranuleItem(key, directory, tuple(files))
