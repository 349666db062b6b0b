"""Linkage files (ICD Table 4.5-3, Figure 4.5-4) and LGID pointers (section 5.4).

A linkage file names the granules already in the archive that a browse, QA or
production-history file belongs to::

    GROUP = LINKAGE_POINTERS
    NUM_POINTERS = 2
    GRANULE_POINTER_001 = "LGID:CERES01:001:ceres0110010119.122357001.dat"
    GRANULE_POINTER_002 = "LGID:CERES01:002:ceres0120010119.122357001.dat"
    END_GROUP = LINKAGE_POINTERS
    END

A pointer resolves to the newest version of the granule with that LocalGranuleID
in that collection (older versions stay archived, but a link is meant for the
current one). A pointer to no granule is REFERENCED GRANULE NOT FOUND; two pointers
to the same granule are REFERENCED GRANULE DUPLICATED (the file would be linked
twice); a file that is not such a list is LINKAGE FILE PREPROCESSING ERROR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.ingest import pan
from distribution.models import Collection, Granule
from distribution.ingest.pvl import PvlError, parse

_POINTER_KEY = re.compile(r"GRANULE_POINTER_(\d{3,4})")
_POINTER = re.compile(r"LGID:([^:\s]+):(\d{1,3}):(.+)")


@dataclass(frozen=True)
class Pointer:
    """``LGID:ShortName:VersionID:Identifier``."""

    short_name: str
    version_id: int
    local_granule_id: str

    def __str__(self) -> str:
        return f"LGID:{self.short_name}:{self.version_id:03d}:{self.local_granule_id}"


class LinkageProblem(Exception):
    """Why a linkage group cannot be archived; ``disposition`` goes into the PAN."""

    def __init__(self, disposition: str, detail: str) -> None:
        super().__init__(detail)
        self.disposition = disposition


def parse_pointer(text: str) -> Pointer:
    m = _POINTER.fullmatch(text.strip())
    if not m:
        raise LinkageProblem(pan.LINKAGE_PREPROCESSING_ERROR,
                             f"{text!r} is not a pointer LGID:ShortName:VersionID:Identifier")
    return Pointer(m.group(1), int(m.group(2)), m.group(3))


def parse_linkage(source: bytes | str) -> list[Pointer]:
    """The pointers of a linkage file, in order; LinkageProblem when it is not one."""
    try:
        root = parse(source)
    except PvlError as e:
        raise LinkageProblem(pan.LINKAGE_PREPROCESSING_ERROR, f"the linkage file is not PVL: {e}") from e
    groups = [b for b in root.blocks() if b.name.upper() == "LINKAGE_POINTERS"]
    if len(groups) != 1 or list(root.statements()):
        raise LinkageProblem(pan.LINKAGE_PREPROCESSING_ERROR, "a linkage file is one GROUP = LINKAGE_POINTERS")
    values = {st.name: st.value.text.strip() if st.value else "" for st in groups[0].statements()}
    count = values.pop("NUM_POINTERS", "")
    pointers = {int(m.group(1)): text for key, text in values.items() if (m := _POINTER_KEY.fullmatch(key))}
    if not count.isdigit() or not 1 <= int(count) <= 9999:
        raise LinkageProblem(pan.LINKAGE_PREPROCESSING_ERROR, f"NUM_POINTERS {count!r} is not from 1 to 9999")
    if sorted(pointers) != list(range(1, int(count) + 1)):
        raise LinkageProblem(pan.LINKAGE_PREPROCESSING_ERROR,
                             f"NUM_POINTERS is {count} but the pointers are numbered {sorted(pointers)}")
    return [parse_pointer(pointers[n]) for n in sorted(pointers)]


def render_linkage(pointers: list[Pointer], comment: str | None = None) -> str:
    """A linkage file (ICD Figure 4.5-4) for ``parse_linkage``: 3-digit keys up to 999 pointers, 4 beyond."""
    if not 1 <= len(pointers) <= 9999:
        raise ValueError(f"a linkage file holds 1 to 9999 pointers, not {len(pointers)}")
    width = 3 if len(pointers) <= 999 else 4
    head = [f"/*{comment}*/"] if comment is not None else []
    lines = [*head, "GROUP = LINKAGE_POINTERS", f"NUM_POINTERS = {len(pointers)}",
             *(f'GRANULE_POINTER_{n:0{width}d} = "{pointer}"' for n, pointer in enumerate(pointers, 1)),
             "END_GROUP = LINKAGE_POINTERS", "END"]
    return "\n".join(lines) + "\n"


def resolve(session: Session, pointers: list[Pointer]) -> list[Granule]:
    """The granules the pointers name (newest version each), or LinkageProblem."""
    found: list[Granule] = []
    for pointer in pointers:
        granule = session.scalars(
            select(Granule).join(Collection).where(
                Collection.short_name == pointer.short_name, Collection.version_id == pointer.version_id,
                Granule.local_granule_id == pointer.local_granule_id,
            ).order_by(Granule.granule_version.desc())
        ).first()
        if granule is None:
            raise LinkageProblem(pan.REFERENCED_GRANULE_NOT_FOUND, f"no granule {pointer} in the archive")
        if any(g.id == granule.id for g in found):
            raise LinkageProblem(pan.REFERENCED_GRANULE_DUPLICATED, f"{pointer} is named twice")
        found.append(granule)
    return found
