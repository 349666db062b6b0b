"""CKSUM and MD5 of a 1 GiB file: Ardis vs coreutils ``cksum`` and ``md5sum``, page cache warm.

Ardis and the tool take turns, and each side keeps its best time, so load from
other work on the machine falls on both alike. The data file is removed afterwards.
"""

from __future__ import annotations

import subprocess
from functools import partial
from importlib.metadata import version

from benchmarks.common import DATA_DIR, Result, best_of, make_file, run_cmd
from distribution.checksums import checksum_file

SIZE = 1 << 30
ROUNDS = 5


def run() -> list[Result]:
    path = make_file(DATA_DIR / "checksums_1gib.bin", SIZE)
    try:
        results = []
        for kind, tool, target in (("CKSUM", "cksum", "≥ 1.0×"), ("MD5", "md5sum", "≥ 0.95×")):
            out = subprocess.run([tool, str(path)], check=True, capture_output=True, text=True).stdout
            assert checksum_file(path, kind) == out.split()[0], f"{kind} differs from {tool}"  # also warms the cache
            ardis, reference = [], []
            for _ in range(ROUNDS):
                ardis.append(best_of(partial(checksum_file, path, kind), repeat=1))
                reference.append(best_of(partial(run_cmd, [tool, str(path)]), repeat=1))
            how = f"fastcrc {version('fastcrc')} over mmap windows" if kind == "CKSUM" else "hashlib over mmap windows"
            results.append(Result(f"{kind} of 1 GiB", min(ardis), f"coreutils {tool}", min(reference), "throughput",
                                  target, f"{how}; best of {ROUNDS}, taking turns"))
        return results
    finally:
        path.unlink(missing_ok=True)
