"""Compressed tar bundles (issue 16 item 7): Ardis's streamed bundle against ``tar`` with the same compressor.

3 files of ``ARDIS_BENCH_BUNDLE_MIB`` MiB each (default 1024: the issue's 3 x 1 GiB), half
pseudo-random and half runs of repeated text (science files compress somewhat), turn
about with the reference, median of ``ARDIS_BENCH_TURNS`` (5) turns each;
``ARDIS_BENCH_BUNDLE_KINDS`` picks ``tar.zst`` and/or ``tar.gz``.

* ``tar.zst``: Ardis (``tarfile`` stream -> ``zstd -T0``, CKSUM of every member and every
  part on the way) against ``tar -I 'zstd -T0' -cf``.
* ``tar.gz``: the same against ``tar czf`` (``tar -I pigz`` where pigz is installed, as
  ``scripts/system-packages.sh`` does; else ``gzip`` on both sides).

The machine may be shared: the detail column gives the 1-minute load average before and after.

Target: >= 0.9x the reference's throughput.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.common import DATA_DIR, Result, run_cmd
from distribution.orders.bundles import BundleMember, write_bundle


def _data(size: int, seed: int) -> Path:
    path = DATA_DIR / "bundles" / f"granule{seed}-{size >> 20}MiB.hdf"
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    noise, text = rng.randbytes(1 << 20), (b"LATITUDE=%d LONGITUDE=%d VALUE=0.000\n" % (seed, seed)) * 28000
    with path.open("wb") as f:
        written = 0
        while written < size:
            block = (noise if (written >> 20) % 2 == 0 else text)[: min(1 << 20, size - written)]
            f.write(block)
            written += len(block)
    return path


def _median(fn_a: object, fn_b: object, turns: int) -> tuple[float, float]:
    a_times, b_times = [], []
    for _ in range(turns):
        for fn, times in ((fn_a, a_times), (fn_b, b_times)):
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
    return statistics.median(a_times), statistics.median(b_times)


def run() -> list[Result]:
    size = int(os.environ.get("ARDIS_BENCH_BUNDLE_MIB", "1024")) << 20
    turns = int(os.environ.get("ARDIS_BENCH_TURNS", "5"))
    files = [_data(size, seed) for seed in (1, 2, 3)]
    out = DATA_DIR / "bundles-out"
    out.mkdir(parents=True, exist_ok=True)
    members = [BundleMember(p, f"{i:05d}/{p.name}") for i, p in enumerate(files, 1)]
    gz = "pigz" if shutil.which("pigz") else "gzip"
    results = []
    kinds = os.environ.get("ARDIS_BENCH_BUNDLE_KINDS", "tar.zst,tar.gz").split(",")
    for kind, tool, reference in (("tar.zst", "zstd -T0", "tar -I 'zstd -T0' -cf"),
                                  ("tar.gz", gz, f"tar -I {gz} -cf (tar czf)")):
        if kind not in kinds:
            continue
        target, ref = out / f"ardis.{kind}", out / f"ref.{kind}"
        cmd = ["tar", "-I", tool, "-cf", str(ref), "-C", str(files[0].parent), *(p.name for p in files)]
        load = os.getloadavg()[0]
        ardis_s, ref_s = _median(lambda: write_bundle(members, target, kind), lambda: run_cmd(cmd), turns)
        results.append(Result(f"bundle {kind} of 3 x {size >> 20} MiB", ardis_s, reference, ref_s, "throughput",
                              ">= 0.9x", f"median of {turns}; {target.stat().st_size:,} B vs "
                                         f"{ref.stat().st_size:,} B; load {load:.1f} -> {os.getloadavg()[0]:.1f}"))
        target.unlink()
        ref.unlink()
    return results
