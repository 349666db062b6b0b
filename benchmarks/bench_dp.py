"""ELT data product merge: 200 keywords and two 100 MiB extensions into a 2 GiB target with header room.

Ardis (``merge_product(in_place=True)``: the primary header rewritten within its
blocks, the extensions appended with ``copy_file_range``) beside astropy's
plain path (``fits.open(target, mode='update')``, the keywords set, the
extension HDUs appended, ``close()``), each on its own copy of the same target,
page cache warm, taking turns; each side keeps its best time. Between rounds
the target is put back (its header restored, the file cut to its old length).
``ARDIS_BENCH_DP_GIB`` makes the target smaller where the disk is short.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
from astropy.io import fits

from benchmarks.common import DATA_DIR, Result
from distribution.products import merge_product, verify_product
from distribution.products.spec import spec_from_dict

GIB = int(os.environ.get("ARDIS_BENCH_DP_GIB", "2"))
EXT_MIB = 100
KEYWORDS = 200
ROUNDS = 3


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


def _astropy(target: Path, sources: list[Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(target, mode="update") as hdul:
            for i in range(KEYWORDS):
                hdul[0].header[f"HIERARCH ESO INS BENCH K{i}"] = float(i)
            for s in sources:
                with fits.open(s) as src:
                    hdul.append(fits.ImageHDU(src[1].data, src[1].header))


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
    reference = work / "reference.fits"
    out = work / "product.fits"
    try:
        ardis, astro, written = [], [], 0
        for _ in range(ROUNDS):
            begin = time.perf_counter()
            result = merge_product(spec, {"dcs": target, "s0": sources[0], "s1": sources[1]}, out, verify=False,
                                   in_place=True)
            ardis.append(time.perf_counter() - begin)
            assert result.write.in_place and result.extensions == 2
            written = result.write.header_bytes_written
            verify_product(out)
            out.replace(target)
            _restore(target, header, size)
            shutil.copyfile(target, reference)
            begin = time.perf_counter()
            _astropy(reference, sources)
            astro.append(time.perf_counter() - begin)
        with fits.open(reference) as ref:
            assert len(ref) == 3 and ref[0].header["HIERARCH ESO INS BENCH K199"] == 199.0
        detail = (f"{GIB} GiB target, {KEYWORDS} ESO keywords, 2 x {EXT_MIB} MiB extensions; Ardis wrote "
                  f"{written} header bytes + the extensions (copy_file_range); best of {ROUNDS}, taking turns")
        reference_name = f"astropy {version('astropy')} open(mode='update')"
        return [Result(f"DP merge into {GIB} GiB target", min(ardis), reference_name, min(astro), "time",
                       "< 1 s and ≤ 0.5×", detail)]
    finally:
        for p in (target, reference, out, *sources):
            p.unlink(missing_ok=True)
