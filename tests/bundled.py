"""Reading a bundle back in tests: its parts joined, decompressed by the system tool, its members' bytes."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


def unbundle(parts: list[Path], kind: str) -> dict[str, bytes]:
    """Each file member of the bundle whose parts (in order) are ``parts``, by its name inside."""
    joined = b"".join(p.read_bytes() for p in parts)
    tool = ["zstd", "-d", "-c"] if kind == "tar.zst" else ["gzip", "-d", "-c"]
    data = subprocess.run(tool, input=joined, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
