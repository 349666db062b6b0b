"""The archive: collections, granules and their files on disk.

Until PDR ingest exists this is how data enters: files already on disk are
registered as a granule of a collection, copied into the archive repository
(``<archive_root>/<ShortName>.<VVV>/<granule id>/``) with their checksum computed in
the same pass. The archive never overwrites: a granule directory is new each time.
Every file gets an internal checksum (the archive's own, verified before every
delivery, never shown in a DN): the checksum computed for the DN where there is
one, else CKSUM — so a ``.met`` file or a granule added with ``--checksum none``
is still checked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from distribution.checksums import INTERNAL_CHECKSUM_TYPE, checksum_file, checksum_types, copy_with_checksum
from distribution.config import Settings
from distribution.errors import NotFound, UserError
from distribution.identifiers import GranuleRef, long_ur, parse_esdt, parse_ur
from distribution.inventory.metadata import GranuleMetadata, is_metadata_name, read_metadata
from distribution.models import Collection, Granule, GranuleFile, GranuleLink

CHECKSUM_TYPES = ("CKSUM", "MD5")
# ICD 4.3.6.3: checksums are applied only to these file types.
CHECKSUMMED_TYPES = ("SCIENCE", "HDF-EOS", "HDF")


@dataclass(frozen=True)
class NewFile:
    """A file to register: where it is now and what it is (Table 4.5-4 file type)."""

    path: Path
    file_type: str = "SCIENCE"


def get_or_create_collection(session: Session, esdt: str, description: str = "") -> Collection:
    short, version = parse_esdt(esdt)
    found = session.scalar(select(Collection).where(Collection.short_name == short, Collection.version_id == version))
    if found:
        return found
    collection = Collection(short_name=short, version_id=version, description=description)
    session.add(collection)
    session.flush()
    return collection


def _place(src: Path, dst: Path, checksum_type: str, mode: str) -> tuple[int, str]:
    """Copy (checksumming in the same pass), hard-link, or leave a file where it is."""
    if mode == "copy":
        return copy_with_checksum(src, dst, checksum_type)
    if mode == "link":
        os.link(src, dst)
    return src.stat().st_size, checksum_file(src, checksum_type)


def add_granule(
    session: Session,
    settings: Settings,
    esdt: str,
    files: list[NewFile],
    *,
    local_granule_id: str | None = None,
    checksum_type: str | None = "MD5",
    mode: str = "copy",
    owner_group: str | None = None,
) -> Granule:
    """Register files as one granule; returns the new granule (flushed, with its id).

    ``mode``: ``copy`` into the archive (default), ``link`` (hard link, same
    filesystem) or ``in-place`` (the archive points at the files where they are).
    """
    parse_esdt(esdt)  # a bad collection name is the first thing to say
    if not files:
        raise UserError("a granule needs at least one file")
    if checksum_type and checksum_type not in CHECKSUM_TYPES:
        raise UserError(f"checksum type must be one of {', '.join(CHECKSUM_TYPES)}, not {checksum_type!r}")
    if mode not in ("copy", "link", "in-place"):
        raise UserError(f"mode must be copy, link or in-place, not {mode!r}")
    names = [f.path.name for f in files]
    if len(set(names)) != len(names):
        raise UserError("two files of one granule have the same name")
    for f in files:
        if not f.path.is_file():
            raise UserError(f"no such file: {f.path}")
    meta = GranuleMetadata()
    met_files = [f for f in files if f.file_type == "METADATA" or is_metadata_name(f.path.name)]
    if met_files:
        meta = read_metadata(met_files[0].path)
    lgid = local_granule_id or meta.local_granule_id
    if lgid is not None:
        check_lgid(lgid)
    collection = get_or_create_collection(session, esdt)
    granule = new_granule(session, collection, lgid, meta, owner_group=owner_group)
    target = granule_directory(settings, granule)
    if mode != "in-place":
        target.mkdir(parents=True, exist_ok=False)
    for seq, f in enumerate(files, start=1):
        file_type = "METADATA" if f in met_files else f.file_type
        ctype = checksum_type if file_type in CHECKSUMMED_TYPES else None
        dst = f.path.resolve() if mode == "in-place" else target / f.path.name
        # One pass: the checksum the DN may show is also the internal one; any other file gets CKSUM.
        internal = ctype or INTERNAL_CHECKSUM_TYPE
        size, value = _place(f.path, dst, internal, mode)
        granule.files.append(
            GranuleFile(
                seq=seq,
                name=f.path.name,
                file_type=file_type,
                size=size,
                checksum_type=ctype,
                checksum_value=value if ctype else None,
                checksum_origin="ARDIS" if ctype else None,
                archive_path=str(dst),
                internal_checksum_type=internal,
                internal_checksum_value=value,
                internal_checksum_origin="archive",
            )
        )
    granule.total_size = sum(f.size for f in granule.files)
    session.flush()
    return granule


def first_internal_type(gf: GranuleFile) -> str:
    """The internal checksum a file archived before they existed gets at its first verification.

    Its stored checksum's type when it has one (one pass checks it and gives the
    internal value), else INTERNAL_CHECKSUM_TYPE.
    """
    stored = (gf.checksum_type or "").strip().upper()
    return stored if gf.checksum_value and stored in checksum_types() else INTERNAL_CHECKSUM_TYPE


def new_granule(session: Session, collection: Collection, lgid: str | None, meta: GranuleMetadata, *,
                owner_group: str | None = None, source_pdr_id: int | None = None) -> Granule:
    """A new granule row (flushed, with its id): the next version when the LocalGranuleID is known.

    The archive never replaces a granule: a re-delivery is version n+1 and the
    older versions stay (the ISDC rule).
    """
    version = 1
    if lgid:
        latest = session.scalar(
            select(func.max(Granule.granule_version)).where(
                Granule.collection_id == collection.id, Granule.local_granule_id == lgid
            )
        )
        version = (latest or 0) + 1
    granule = Granule(
        collection=collection,
        local_granule_id=lgid,
        granule_version=version,
        begin_time=meta.begin_time,
        end_time=meta.end_time,
        west=meta.west,
        east=meta.east,
        north=meta.north,
        south=meta.south,
        attributes=meta.attributes,
        owner_group=owner_group,
        source_pdr_id=source_pdr_id,
    )
    session.add(granule)
    session.flush()
    return granule


def granule_directory(settings: Settings, granule: Granule) -> Path:
    """``<archive_root>/<ShortName>.<VVV>/<granule id>``: one directory per granule, never reused."""
    return settings.archive_root / granule.collection.esdt / str(granule.id)


def check_lgid(lgid: str) -> None:
    """ICD 5.3.1: a valid Unix/Windows file name, no directory part, ≤ 80 characters."""
    if not lgid or len(lgid) > 80:
        raise UserError(f"LocalGranuleID must be 1 to 80 characters: {lgid!r}")
    if any(c in lgid for c in '/\\:*?"<>|') or lgid in (".", "..") or any(ord(c) < 32 for c in lgid):
        raise UserError(f"LocalGranuleID is not a valid file name: {lgid!r}")


def granule_ur(granule: Granule, settings: Settings) -> str:
    c = granule.collection
    return long_ur(GranuleRef(c.short_name, c.version_id, granule.id), settings.site_name)


def find_granule(session: Session, reference: str) -> Granule:
    """A granule by UR (long or short form), by ``ESDT:LocalGranuleID`` (its newest version) or by
    ``ESDT:LocalGranuleID:N`` (version N; a LocalGranuleID holds no ``:``)."""
    reference = reference.strip()
    if reference.startswith(("UR:", "SC:")):
        ref = parse_ur(reference)
        granule = session.get(Granule, ref.db_id)
        if granule is None or (granule.collection.short_name, granule.collection.version_id) != (
            ref.short_name,
            ref.version_id,
        ):
            raise NotFound(f"no granule {reference}")
        return granule
    esdt, sep, lgid = reference.partition(":")
    if not sep:
        raise UserError(f"name a granule by its UR or as ESDT:LocalGranuleID, not {reference!r}")
    lgid, sep, wanted = lgid.rpartition(":") if lgid.rpartition(":")[2].isdigit() else (lgid, "", "")
    versions = granule_versions(session, esdt, lgid)
    granule = next((g for g in versions if g.granule_version == int(wanted)), None) if sep else next(
        iter(versions), None)
    if granule is None:
        raise NotFound(f"no granule {reference}")
    return granule


def granule_versions(session: Session, esdt: str, lgid: str) -> list[Granule]:
    """Every version of a granule the archive holds (none is ever deleted), newest first."""
    short, version = parse_esdt(esdt)
    return list(session.scalars(
        select(Granule)
        .join(Collection)
        .where(Collection.short_name == short, Collection.version_id == version, Granule.local_granule_id == lgid)
        .order_by(Granule.granule_version.desc())
    ))


def superseded(session: Session, granule_ids: Sequence[int]) -> set[int]:
    """Which of these granules have a newer version of their LocalGranuleID: one query per 500 ids (a request
    of 10,000 granules asks 20 times, not 10,000)."""
    newer = aliased(Granule)
    found: set[int] = set()
    ids = list(granule_ids)
    for start in range(0, len(ids), 500):
        found.update(session.scalars(
            select(Granule.id).where(Granule.id.in_(ids[start:start + 500]),
                                     Granule.local_granule_id.is_not(None))
            .where(select(newer.id).where(newer.collection_id == Granule.collection_id,
                                          newer.local_granule_id == Granule.local_granule_id,
                                          newer.granule_version > Granule.granule_version).exists())))
    return found


def linked_granules(session: Session, granule_id: int, link_types: list[str]) -> list[Granule]:
    """The browse, QA or production-history granules linked to a science granule at ingest (Table 4.5-3),
    of the given link types (``BROWSE``, ``QA``, ``PH``; any case), oldest link first."""
    wanted = {t.upper() for t in link_types}
    if not wanted:
        return []
    links = session.scalars(select(GranuleLink).where(GranuleLink.granule_id == granule_id)
                            .order_by(GranuleLink.id))
    return [session.get_one(Granule, link.linked_granule_id) for link in links if link.link_type.upper() in wanted]
