"""ELT data product merge: 200 keywords and two 100 MiB extensions into a 2 GiB target with header room.

Ardis (``merge_product(in_place=True)``: the primary header rewritten within its
blocks, the extensions appended with ``copy_file_range``) beside astropy's two
plain paths: ``fits.open(target, mode='update')`` (the keywords set, the
extension HDUs appended, ``close()``) on its own copy of the same target, and
``writeto`` of a new file from the same HDUs. Page cache warm, taking turns,
``ARDIS_BENCH_DP_TURNS`` (at least 5) turns each; each side reports the median
time and the median bytes written (the kernel's ``write_bytes`` of this process
across the call, ``sync`` before it: every way of writing counts, ``write()``,
``mmap`` and ``copy_file_range``). Between turns the target is put back (its
header restored, the file cut to its old length).
``ARDIS_BENCH_DP_GIB`` makes the target smaller where the disk is short.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from statistics import median

import numpy as np
from astropy.io import fits

from benchmarks.common import DATA_DIR, Result
from distribution.products import MergeResult, merge_product, verify_product
from distribution.products.spec import spec_from_dict

GIB = int(os.environ.get("ARDIS_BENCH_DP_GIB", "2"))
EXT_MIB = 100
KEYWORDS = 200
TURNS = max(5, int(os.environ.get("ARDIS_BENCH_DP_TURNS", "5")))


def _target(path: Path) -> Path:
    """A primary HDU of GIB GiB (BITPIX 8) with 300 blank cards of header room."""
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8", "NAXIS   =                    2",
             "NAXIS1  =                65536", f"NAXIS2  = {GIB * 16384:>20}", "EXTEND  =                    T",
             "ORIGIN  = 'ESO-DCS '"]
    header = "".join(c.ljust(80) for c in cards) + " " * 80 * 300
    header += " " * (-(len(header) + 80) % 2880) + "END".ljust(80)
    block = os.urandom(1 << 20)
    with path.open("wb") as f:
        f.write(header.encode())
        for _ in range(GIB * 1024):
            f.write(block)
        f.write(b"\0" * (-(GIB << 30) % 2880))
    return path


def _source(path: Path, name: str) -> Path:
    ext = fits.ImageHDU(np.frombuffer(os.urandom(EXT_MIB << 20), dtype=np.uint8).reshape(EXT_MIB * 16, 65536),
                        name=name)
    fits.HDUList([fits.PrimaryHDU(), ext]).writeto(path, overwrite=True)
    return path


def _spec(sources: list[Path]) -> dict[str, object]:
    keywords = [{"type": "esoKeyword", "name": f"INS BENCH K{i}", "value": float(i)} for i in range(KEYWORDS)]
    return {"id": "BENCH.2026-12-05T00:00:00.000", "target": {"fileId": "BENCH", "source": {
        "type": "fitsFile", "sourceName": "dcs", "location": "/bench/target.fits"}},
        "sources": [{"type": "fitsKeywords", "sourceName": "ocm", "keywords": keywords}] + [
            {"type": "fitsFile", "sourceName": f"s{i}", "location": str(p)} for i, p in enumerate(sources)]}


def _restore(path: Path, header: bytes, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)
        f.write(header)


def _astropy_update(target: Path, sources: list[Path]) -> None:
    """astropy's plain in-place path: open(mode='update'), set the keywords, append the extensions, close."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(target, mode="update") as hdul:
            for i in range(KEYWORDS):
                hdul[0].header[f"HIERARCH ESO INS BENCH K{i}"] = float(i)
            for s in sources:
                with fits.open(s) as src:
                    hdul.append(fits.ImageHDU(src[1].data, src[1].header))


def _astropy_writeto(target: Path, sources: list[Path], out: Path) -> None:
    """astropy's other plain path: read the target, set the keywords, append the extensions, writeto a new file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(target) as hdul:
            for i in range(KEYWORDS):
                hdul[0].header[f"HIERARCH ESO INS BENCH K{i}"] = float(i)
            opened = [fits.open(s) for s in sources]
            try:
                fits.HDUList([hdul[0], *(fits.ImageHDU(o[1].data, o[1].header) for o in opened)]).writeto(
                    out, overwrite=True)
            finally:
                for o in opened:
                    o.close()


def _written() -> int:
    """Bytes this process has caused to be written to storage so far (``write_bytes`` of /proc/self/io).

    Counted when a page is dirtied, whatever the way: write(), mmap, copy_file_range.
    """
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def _timed(fn: Callable[[], object]) -> tuple[float, int, object]:
    """Wall time and bytes written of one call (``sync`` first, so that earlier writes are not counted)."""
    os.sync()
    before, begin = _written(), time.perf_counter()
    value = fn()
    return time.perf_counter() - begin, _written() - before, value


@dataclass
class _Side:
    seconds: list[float] = field(default_factory=list)
    written: list[int] = field(default_factory=list)

    def add(self, measured: tuple[float, int, object]) -> None:
        self.seconds.append(measured[0])
        self.written.append(measured[1])

    def summary(self) -> str:
        return (f"{median(self.seconds):.3f} s median of {len(self.seconds)} "
                f"(min {min(self.seconds):.3f}, max {max(self.seconds):.3f}), "
                f"{_mib(int(median(self.written)))} written")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.2f} MiB"


def run() -> list[Result]:
    work = DATA_DIR / "dp"
    work.mkdir(parents=True, exist_ok=True)
    target = _target(work / "target.fits")
    size = target.stat().st_size
    with target.open("rb") as f:
        header = f.read(2880 * 10)
    header = header[: (header.index(b"END".ljust(80)) // 2880 + 1) * 2880]
    sources = [_source(work / f"s{i}.fits", f"EXT{i}") for i in range(2)]
    spec = spec_from_dict(_spec(sources))
    reference, rewritten, out = work / "reference.fits", work / "rewritten.fits", work / "product.fits"
    fetched = {"dcs": target, "s0": sources[0], "s1": sources[1]}
    ardis, update, writeto = _Side(), _Side(), _Side()
    header_bytes = extension_bytes = 0
    try:
        for _ in range(TURNS):  # taking turns, each on the same target put back as it was
            measured = _timed(lambda: merge_product(spec, fetched, out, verify=False, in_place=True))
            result = measured[2]
            assert isinstance(result, MergeResult) and result.write.in_place and result.extensions == 2
            ardis.add(measured)
            header_bytes, extension_bytes = result.write.header_bytes_written, result.write.extension_bytes
            verify_product(out)
            out.replace(target)
            _restore(target, header, size)
            shutil.copyfile(target, reference)
            update.add(_timed(lambda: _astropy_update(reference, sources)))
            writeto.add(_timed(lambda: _astropy_writeto(target, sources, rewritten)))
        for made in (reference, rewritten):
            with fits.open(made) as ref:
                assert len(ref) == 3 and ref[0].header["HIERARCH ESO INS BENCH K199"] == 199.0
        common = (f"{GIB} GiB target, {KEYWORDS} ESO keywords, 2 x {EXT_MIB} MiB extensions, {TURNS} turns each "
                  f"taking turns, medians. Ardis: {ardis.summary()} ({_mib(header_bytes)} of header, "
                  f"{_mib(extension_bytes)} of extensions by copy_file_range, no data moved)")
        print(f"DP merge: Ardis {ardis.summary()}; astropy update {update.summary()}; "
              f"astropy writeto {writeto.summary()}", flush=True)
        astropy = f"astropy {version('astropy')}"
        return [
            Result(f"DP merge into {GIB} GiB target", median(ardis.seconds), f"{astropy} open(mode='update')",
                   median(update.seconds), "time", "< 1 s", f"{common}; astropy: {update.summary()}"),
            Result(f"DP merge into {GIB} GiB target, new file", median(ardis.seconds), f"{astropy} writeto",
                   median(writeto.seconds), "time", "< 1 s", f"{common}; astropy: {writeto.summary()}"),
        ]
    finally:
        for p in (target, reference, rewritten, out, *sources):
            p.unlink(missing_ok=True)
