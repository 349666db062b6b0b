"""Small FITS files for the Data Product tests: the seed's Listing 3 sources (dcs, fcs) made on the fly."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

DATA = Path(__file__).resolve().parent / "data"
LISTING3_FIXED = (DATA / "listing3.json").read_text().replace('somefile.fits",\n    }', 'somefile.fits"\n    }')


def write_fits(path: Path, primary: fits.PrimaryHDU, *extensions: Any, blank_cards: int = 0) -> Path:
    """Write a FITS file; ``blank_cards`` reserves header room as blank cards before END."""
    for _ in range(blank_cards):
        primary.header.append(fits.Card("", ""), useblanks=False, bottom=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits.HDUList([primary, *extensions]).writeto(path, overwrite=True)
    return path


def dcs_file(path: Path, blank_cards: int = 72) -> Path:
    """The in-place target: a data unit, its own keywords and one extension."""
    hdu = fits.PrimaryHDU(np.arange(200, dtype=np.int16).reshape(10, 20))
    hdu.header["ORIGIN"] = ("ESO-DCS", "written by the detector")
    hdu.header["OBJECT"] = ("DCS-OBJECT", "from DCS")
    hdu.header["HIERARCH ESO DET DIT"] = (1.5, "integration time")
    hdu.header["COMMENT"] = "dcs comment"
    ext = fits.ImageHDU(np.ones((4, 4), dtype=np.float32), name="DCS-EXT")
    return write_fits(path, hdu, ext, blank_cards=blank_cards)


def fcs_file(path: Path) -> Path:
    """FCS: INS keywords (two of them excluded by the seed's filter) and two extensions, no primary data."""
    hdu = fits.PrimaryHDU()
    for key, value in (("HIERARCH ESO INS MODE", "IMG"), ("HIERARCH ESO INS TEMP1 VAL", 10.5),
                       ("HIERARCH ESO INS TEMP2 VAL", 11.5), ("HIERARCH ESO INS TEMP3 VAL", 12.5),
                       ("HIERARCH ESO DET NDIT", 3), ("VALUEKW", "kept"), ("OTHERKW", "dropped")):
        hdu.header[key] = value
    hdu.header["COMMENT"] = "fcs comment, not selected"
    one = fits.ImageHDU(np.full((3, 5), 7, dtype=np.int32), name="FCS1")
    two = fits.BinTableHDU.from_columns([fits.Column(name="X", format="D", array=np.array([1.0, 2.0]))], name="FCS2")
    return write_fits(path, hdu, one, two)


def listing3(tmp: Path, **overrides: Any) -> tuple[dict[str, Any], Path, Path]:
    """The seed's Listing 3 (without its trailing comma) with its locations on local files made here."""
    dcs, fcs = dcs_file(tmp / "dcs.fits", **overrides), fcs_file(tmp / "fcs.fits")
    doc = json.loads(LISTING3_FIXED)
    doc["target"]["source"]["location"] = f"localhost:{dcs}"
    doc["sources"][2]["location"] = str(fcs)
    doc["keywordDictionaries"] = []
    return doc, dcs, fcs
