"""Small Phase 3 releases made by the tests with astropy: science files, ancillary files, the description."""

from __future__ import annotations

import io
import tarfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

IMAGE_KEYWORDS: dict[str, Any] = {
    "PRODCATG": "SCIENCE.IMAGE", "ORIGIN": "ESO", "TELESCOP": "ESO-VISTA", "INSTRUME": "VIRCAM",
    "PROG_ID": "196.B-0001(A)", "PROCSOFT": "survey-pipe 1.0", "OBJECT": "FIELD-1", "RA": 150.1, "DEC": 2.2,
    "EXPTIME": 300.0, "MJD-OBS": 57000.1, "MJD-END": 57000.2, "FILTER": "Ks", "BUNIT": "adu",
}


def write(path: Path, hdus: list[Any], checksum: bool = False) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits.HDUList(hdus).writeto(path, overwrite=True, checksum=checksum)
    return path


def science_image(path: Path, *, drop: tuple[str, ...] = (), compressed: bool = False, checksum: bool = False,
                  seed: int = 1, **extra: Any) -> Path:
    """A SCIENCE.IMAGE with every mandatory keyword (minus ``drop``), plus ``extra`` (ASSON1=…, PROV1=…)."""
    data = np.arange(64, dtype=np.float32).reshape(8, 8) * seed
    keywords = {k: v for k, v in {**IMAGE_KEYWORDS, **extra}.items() if k not in drop}
    if compressed:
        image = fits.CompImageHDU(data)
        for k, v in keywords.items():
            image.header[k] = v
        return write(path, [fits.PrimaryHDU(), image], checksum)
    primary = fits.PrimaryHDU(data)
    for k, v in keywords.items():
        primary.header[k] = v
    return write(path, [primary], checksum)


def weight_map(path: Path, category: str | None = "ANCILLARY.WEIGHTMAP") -> Path:
    primary = fits.PrimaryHDU(np.ones((8, 8), dtype=np.float32))
    if category:
        primary.header["PRODCATG"] = category
    return write(path, [primary])


def description(path: Path) -> Path:
    with tarfile.open(path, "w") as tar:
        text = b"Survey DR1: images of field 1 in Ks.\n"
        info = tarfile.TarInfo("release-description.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return path


def good_release(directory: Path) -> Path:
    """Two science images (one tile-compressed), a weight map and a PNG preview associated, the description."""
    directory.mkdir(parents=True, exist_ok=True)
    science_image(directory / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                  ASSON2="img1.png", ASSOC2="ANCILLARY.PREVIEW", PROV1="raw1.fits", checksum=True)
    science_image(directory / "img2.fits.fz", compressed=True, seed=2, PROV1="img1.fits")
    weight_map(directory / "img1.weight.fits")
    (directory / "img1.png").write_bytes(b"\x89PNG\r\n\x1a\n preview")
    description(directory / "release-description.tar")
    return directory
