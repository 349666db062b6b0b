"""Seed 000, "prepare data release": science data carry ``PRODCATG``; ``scientific meta-data: FITS keywords``.

The seed names the keywords (PRODCATG, ASSONi/ASSOCi, PROVi) and points to the
Phase 3 User Documentation for the rest. The categories and the mandatory
keywords per category below follow the ESO Science Data Products Standard
that documentation refers to, kept to the keywords every product of a category
must carry (the standard's conditional ones are not checked).
"""

from __future__ import annotations

#: Keywords every science file carries, whatever its category.
COMMON = ("PRODCATG", "ORIGIN", "TELESCOP", "INSTRUME", "PROG_ID", "PROCSOFT")
_POINTED = ("OBJECT", "RA", "DEC", "EXPTIME", "MJD-OBS", "MJD-END")
_SPECTRAL = ("WAVELMIN", "WAVELMAX")

#: Science categories (``PRODCATG``) and the keywords each needs beyond COMMON.
SCIENCE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "SCIENCE.IMAGE": (*_POINTED, "FILTER", "BUNIT", "PROV1"),
    "SCIENCE.IMAGE.FLUXMAP": (*_POINTED, "FILTER", "BUNIT", "PROV1"),
    "SCIENCE.MEFIMAGE": (*_POINTED, "FILTER", "PROV1"),
    "SCIENCE.SPECTRUM": (*_POINTED, *_SPECTRAL, "SPEC_RES", "PROV1"),
    "SCIENCE.CUBE.IFS": (*_POINTED, *_SPECTRAL, "PROV1"),
    "SCIENCE.SRCTBL": ("RA", "DEC", "PROV1"),
    "SCIENCE.VISIBILITY": ("OBJECT", "RA", "DEC", "MJD-OBS", "MJD-END", "PROV1"),
    "SCIENCE.CATALOG": (),
    "SCIENCE.CATALOGTILE": (),
    "SCIENCE.MCATALOG": (),
}

#: What ``ASSOCi`` (and an ancillary FITS file's own PRODCATG) may say.
ANCILLARY_CATEGORIES = frozenset({
    "ANCILLARY.WEIGHTMAP", "ANCILLARY.VARMAP", "ANCILLARY.RMSMAP", "ANCILLARY.EXPMAP", "ANCILLARY.MASK",
    "ANCILLARY.OBJMAP", "ANCILLARY.PREVIEW", "ANCILLARY.IMAGE", "ANCILLARY.SPECTRUM", "ANCILLARY.CATALOG",
    "ANCILLARY.README", "ANCILLARY.FLUXMAP", "ANCILLARY.OTHER",
})

#: Keywords whose value must be a number when present.
NUMERIC = frozenset({"RA", "DEC", "EXPTIME", "MJD-OBS", "MJD-END", "WAVELMIN", "WAVELMAX", "SPEC_RES"})

#: Science files are these; any other file of a release is ancillary (or the description).
SCIENCE_SUFFIXES = (".fits", ".fits.fz")


def is_fits_name(name: str) -> bool:
    return name.lower().endswith(SCIENCE_SUFFIXES)


def mandatory(category: str) -> tuple[str, ...]:
    """Every keyword a science file of ``category`` must carry (COMMON first)."""
    return (*COMMON, *SCIENCE_CATEGORIES[category])
