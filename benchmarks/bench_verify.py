"""Verifying two 512 MiB files on two cores vs one at a time (same code, workers=2 vs 1)."""

from __future__ import annotations

from benchmarks.common import DATA_DIR, Result, best_of, make_file
from distribution.checksums import checksum_file
from distribution.verify import FileCheck, verify_files

SIZE = 512 << 20


def run() -> list[Result]:
    paths = [make_file(DATA_DIR / f"half_gib_{i}.bin", SIZE, seed=i) for i in range(2)]
    checks = [FileCheck(p, "MD5", checksum_file(p, "MD5"), SIZE, i) for i, p in enumerate(paths)]
    parallel = best_of(lambda: verify_files(checks, workers=2))
    serial = best_of(lambda: verify_files(checks, workers=1))
    assert all(r.ok for r in verify_files(checks, workers=2))
    return [Result("verify 2 × 512 MiB (MD5), 2 workers", parallel, "same, 1 worker", serial, "throughput",
                   "≥ 1.3×")]
