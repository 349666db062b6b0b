"""ESO Phase 3 validation of a release of 1,000 files (500 science images with checksums, 500 weight maps) and of
one 2 GiB science file.

Ardis (``validate_release``: headers only, then CHECKSUM/DATASUM where present)
beside the plain astropy loop that reads every file's header
(``fits.getheader``), the least any validator does; and the 2 GiB file with
and without its checksum verified (header only: its data are not read). The
2 GiB file is sparse: reading its data costs the page copies, not the disk.
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path

from astropy.io import fits

from benchmarks.common import DATA_DIR, Result, best_of
from distribution.phase3.validator import validate_release
from tests.unit.phase3.fits_files import IMAGE_KEYWORDS, description, science_image, weight_map

FILES = 1000


def _release(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(FILES // 2):
        science_image(directory / f"img{i:04d}.fits", ASSON1=f"img{i:04d}.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                      PROV1="img0000.fits" if i else "img0001.fits", checksum=True, seed=i + 1)
        weight_map(directory / f"img{i:04d}.weight.fits")
    description(directory / "release-description.tar")
    return directory


def _big(directory: Path, gib: int = 2) -> Path:
    """A SCIENCE.IMAGE whose data unit is ``gib`` GiB (a sparse file), every mandatory keyword, PROV1 in the release."""
    directory.mkdir(parents=True, exist_ok=True)
    header = fits.Header()
    for key, value in (("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", 65536), ("NAXIS2", gib * 16384)):
        header[key] = value
    for key, value in {**IMAGE_KEYWORDS, "PROV1": "release-description.tar"}.items():
        header[key] = value
    path = directory / "big.fits"
    with path.open("wb") as f:
        f.write(header.tostring().encode())
        f.truncate(len(header.tostring()) + (gib << 30) + (-(gib << 30) % 2880))
    description(directory / "release-description.tar")
    return path


def run() -> list[Result]:
    work = DATA_DIR / "phase3"
    release = work / "release"
    if not (release / "release-description.tar").exists():
        _release(release)
    names = sorted(p for p in release.iterdir() if p.name.endswith(".fits"))
    headers = best_of(lambda: [fits.getheader(p) for p in names])
    report = validate_release(release)
    assert report.ok, report.problems[:3]
    full = best_of(lambda: validate_release(release))
    quick = best_of(lambda: validate_release(release, verify_checksums=False))
    big = _big(work / "big")
    try:
        assert validate_release(big.parent).ok
        big_header = best_of(lambda: validate_release(big.parent, verify_checksums=False))
        big_read = best_of(lambda: [h.data.sum() for h in fits.open(big, memmap=True)][:1], repeat=1)
    finally:
        big.unlink()
    reference = f"astropy {version('astropy')} getheader of every FITS file"
    return [
        Result(f"Phase 3 validate {FILES} files, CHECKSUM/DATASUM verified", full, reference, headers, "time",
               "< 10 s", f"{FILES // 2} science images (with checksums) + {FILES // 2} weight maps"),
        Result(f"Phase 3 validate {FILES} files, headers only", quick, reference, headers, "time", "< 5 s",
               "the same release, --no-checksums"),
        Result("Phase 3 validate one 2 GiB science file (no checksum keywords)", big_header,
               "astropy reading its data (memmap, sum)", big_read, "time", "< 1 s",
               f"the data unit is not read (header only); the reference reads all of it"),
    ]
