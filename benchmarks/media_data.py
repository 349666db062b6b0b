"""Data for the media benchmarks: granules of big or many small files in a temp dir (removed after)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
import subprocess
import sys
from pathlib import Path

from benchmarks.common import make_file
from media import GranuleItem, VolumeFile

GIB = 1 << 30


def big_granules(root: Path, count: int = 3, size: int = GIB) -> list[GranuleItem]:
    """``count`` granules of one pseudo-random file each, laid out as granule directories."""
    items = []
    for n in range(1, count + 1):
        path = make_file(root / "tree" / str(n) / f"GRANULE{n}.hdf", size, seed=0)
        items.append(GranuleItem(f"G:{n}", str(n), (VolumeFile(path, path.name, size),)))
    return items


def small_granules(root: Path, files: int, per_granule: int = 100, size: int = 4096) -> list[GranuleItem]:
    """``files`` small files, ``per_granule`` per granule directory."""
    items = []
    block = os.urandom(size)
    for g in range(files // per_granule):
        d = root / "tree" / str(g + 1)
        d.mkdir(parents=True, exist_ok=True)
        vfs = []
        for i in range(per_granule):
            p = d / f"MOD09GHK.A2000{i:03d}.h15v05.hdf"
            p.write_bytes(block)
            vfs.append(VolumeFile(p, p.name, size))
        items.append(GranuleItem(f"G:{g + 1}", str(g + 1), tuple(vfs)))
    return items


_RSS_HEAD = """
import tempfile, pathlib, resource
now = lambda: print(int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024, flush=True)
peak = lambda: print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
from benchmarks.media_data import small_granules
"""
_RSS_INPUT = """
with tempfile.TemporaryDirectory(dir={dir!r}) as t:
    root = pathlib.Path(t)
    items = small_granules(root, {n}, per_granule=1000, size=16)
    now()
"""


def rss_script(imports: str, body: str) -> str:
    """The script ``child_peak_rss_mib`` runs: ``imports``, {n} 16-byte files as granules, then ``body``.

    ``body`` sees ``items`` and ``root``; imports come before the input is counted.
    Both are formatted with ``dir`` and ``n`` too.
    """
    lines = body.strip().splitlines()
    return (_RSS_HEAD + imports.strip() + "\n" + _RSS_INPUT + "".join(f"    {line}\n" for line in lines)
            + "    peak()\n")


def child_peak_rss_mib(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh Python: its peak RSS and its RSS once the input (the granules) is made, MiB.

    ``code`` prints its resident size (KiB) when the input is made and its ``ru_maxrss`` at the end.
    """
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True)
    input_kib, peak_kib = (int(v) for v in done.stdout.split()[-2:])
    return peak_kib / 1024, input_kib / 1024


def run_suite(side_by_side, big: tuple[str, str, str], small: tuple[str, str, str], rss_code: str,  # type: ignore[no-untyped-def]
              rss_name: str, extra: tuple | None = None) -> list:  # type: ignore[type-arg]
    """The media rows: big files (and ``extra``, another way on them), 2,000 small files, peak RSS.

    Data in a temp dir, removed after.
    """
    from benchmarks.common import Result

    base = os.environ.get("ARDIS_BENCH_DIR")
    results = []
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        root = Path(tmp)
        granules = big_granules(root)
        results.append(side_by_side(big[0], root, granules, big[1], big[2]))
        if extra is not None:
            results.append(extra[0](extra[1], root, granules, extra[2], extra[3]))
        shutil.rmtree(root / "tree")
        results.append(side_by_side(small[0], root, small_granules(root, 2000), small[1], small[2], 3))
    rss = {n: child_peak_rss_mib(rss_code.format(dir=base, n=n)) for n in (10_000, 100_000)}
    (big_peak, big_input), (small_peak, small_input) = rss[100_000], rss[10_000]
    results.append(Result(rss_name, big_peak, "same, 10,000 files", small_peak, "time", "flat",
                          f"{big_peak:.0f} MiB vs {small_peak:.0f} MiB; resident with the input granules made "
                          f"{big_input:.0f} vs {small_input:.0f} MiB, media adds {big_peak - big_input:.0f} "
                          f"vs {small_peak - small_input:.0f} MiB"))
    return results


def turn_about(ardis: Callable[[], object], reference: Callable[[], object], out: Path, ref: Path,
               repeat: int) -> tuple[float, float, int, int]:
    """Ardis and the reference in turns; best times and output sizes (outputs removed each time).

    Each turn starts after ``sync``, so that neither pays for writing back the
    other's dirty pages (3 GiB of them change a turn's time by 2-4x here).
    """
    times: tuple[list[float], list[float]] = ([], [])
    sizes = [0, 0]
    for _ in range(repeat):
        for i, (fn, path) in enumerate(((ardis, out), (reference, ref))):
            os.sync()
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
            sizes[i] = path.stat().st_size
            path.unlink()
    return min(times[0]), min(times[1]), sizes[0], sizes[1]
