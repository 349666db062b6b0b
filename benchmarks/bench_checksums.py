"""CKSUM and MD5 of a 1 GiB file: Ardis vs coreutils ``cksum`` and ``md5sum``, page cache warm."""

from __future__ import annotations

from benchmarks.common import DATA_DIR, Result, best_of, make_file, run_cmd
from distribution.checksums import checksum_file

SIZE = 1 << 30


def run() -> list[Result]:
    path = make_file(DATA_DIR / "one_gib.bin", SIZE)
    checksum_file(path, "MD5")  # warm the page cache for both sides
    results = []
    for kind, tool, target in (("CKSUM", "cksum", "≥ 1.0×"), ("MD5", "md5sum", "≥ 0.95×")):
        ardis = best_of(lambda k=kind: checksum_file(path, k))
        reference = best_of(lambda t=tool: run_cmd([t, str(path)]))
        results.append(Result(f"{kind} of 1 GiB", ardis, f"coreutils {tool}", reference, "throughput", target))
    return results
