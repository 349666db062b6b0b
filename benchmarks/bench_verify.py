"""Verifying two 512 MiB files on two cores vs one at a time (same code, workers=2 vs 1).

Both types run in threads (fastcrc and hashlib release the GIL). Each side keeps
its best time of turns taken in alternation; the data files are removed afterwards.
"""

from __future__ import annotations

from functools import partial

from benchmarks.common import DATA_DIR, Result, best_of, make_file
from distribution.checksums import checksum_file
from distribution.orders.verify import FileCheck, verify_files

SIZE = 512 << 20
ROUNDS = 5


def run() -> list[Result]:
    paths = [make_file(DATA_DIR / f"verify_half_gib_{i}.bin", SIZE, seed=i) for i in range(2)]
    try:
        results = []
        for kind in ("MD5", "CKSUM"):
            checks = [FileCheck(p, kind, checksum_file(p, kind), SIZE, i) for i, p in enumerate(paths)]  # warms
            assert all(r.ok for r in verify_files(checks, workers=2))
            parallel, serial = [], []
            for _ in range(ROUNDS):
                parallel.append(best_of(partial(verify_files, checks, workers=2), repeat=1))
                serial.append(best_of(partial(verify_files, checks, workers=1), repeat=1))
            results.append(Result(f"verify 2 × 512 MiB ({kind}), 2 workers", min(parallel), "same, 1 worker",
                                  min(serial), "throughput", "≥ 1.3×", f"threads; best of {ROUNDS}, taking turns"))
        return results
    finally:
        for p in paths:
            p.unlink(missing_ok=True)
