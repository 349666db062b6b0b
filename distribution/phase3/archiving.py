"""Seed 000, "10. Archive Release" and "11. Publish Release": a release becomes ordinary archive content.

Archiving puts every science file, with the ancillary files associated with it,
into Ardis's archive as one granule of the collection's Ardis collection
(LocalGranuleID = the science file's name, MD5 for the science file and an
internal checksum for every file, through ``distribution.archive.add_granule``
as PDR ingest does) and raises one INSERT event per granule, so subscriptions
fire and every delivery method can order it. The granules belong to the
program's group (``Granule.owner_group``) until published; publishing sets
their public release date (the release's date, or today).

An ``update`` release ("updating or superseding a release") makes new versions:
a granule whose science file or ancillary files were replaced or deleted is
archived again (the files not sent again come from the archive) as version
n+1; the old granule stays, flagged superseded in ``phase3_release_files`` and
in its attributes. Nothing is deleted.

The release's ``release-description.tar`` (seed: "description") is archived with
it as a granule of its own (LocalGranuleID ``<release>.release-description.tar``,
category ``DESCRIPTION``), orderable like the data and downloadable by the PI and
CoIs (:func:`description_path`); it is not a line of ``CONTENT.ESO``. Once the
release is archived its upload area is removed (:func:`clean_upload_area`): the
archive holds copies of every file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.inventory.archive import NewFile, add_granule
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import PermanentError
from distribution.models import Granule, GranuleEvent, GranuleFile
from distribution.phase3.areas import upload_area, upload_root
from distribution.phase3.content import DESCRIPTION_NAME, ContentLine, render_content
from distribution.phase3.models import Phase3Collection, Phase3Release, Phase3ReleaseFile, ReleaseState
from distribution.phase3.programs import Actor
from distribution.phase3.releases import get_release, move
from distribution.phase3.validator import Report, validate_release
from distribution.time import utcnow

#: The category of a release's ``release-description.tar`` in ``phase3_release_files``.
DESCRIPTION = "DESCRIPTION"


@dataclass(frozen=True)
class Archived:
    """What archiving a release did."""

    release_id: int
    granule_ids: list[int]
    superseded: list[str]


def current_files(session: Session, collection: Phase3Collection) -> dict[str, Phase3ReleaseFile]:
    """The collection's archived data files not superseded, by name (each release's description is its own)."""
    rows = session.scalars(select(Phase3ReleaseFile).where(Phase3ReleaseFile.collection_id == collection.id,
                                                           Phase3ReleaseFile.superseded_by.is_(None),
                                                           Phase3ReleaseFile.category != DESCRIPTION))
    return {r.name: r for r in rows}


def content_lines(session: Session, collection: Phase3Collection) -> list[ContentLine]:
    names = {r.id: r.name for r in session.scalars(select(Phase3Release).where(
        Phase3Release.collection_id == collection.id))}
    return [ContentLine(r.name, r.category, r.size, r.checksum, r.science_name, names[r.release_id])
            for r in sorted(current_files(session, collection).values(), key=lambda r: r.name)]


def content_eso(session: Session, release: Phase3Release) -> str:
    """The release description file ``CONTENT.ESO`` of an archived release: its collection's current files."""
    if release.state not in (ReleaseState.ARCHIVED, ReleaseState.PUBLISHED):
        raise PermanentError(f"release {release.path} is {release.state.value}: CONTENT.ESO exists for "
                             "archived releases only")
    return render_content(f"{release.collection.program.code}/{release.collection.name} after {release.name}",
                          content_lines(session, release.collection))


def in_archive(settings: Settings) -> object:
    """A PROVi lookup: is a file of this name in the archive?"""
    def lookup(name: str) -> bool:
        with session_scope(settings.database_url) as session:
            return session.scalar(select(GranuleFile.id).where(GranuleFile.name == name).limit(1)) is not None
    return lookup


def validate_area(settings: Settings, release: Phase3Release, session: Session, verify_checksums: bool = True
                  ) -> Report:
    """The validator on a release's upload area; an update is checked against the collection's CONTENT.ESO."""
    area = upload_area(settings, release)
    if release.mode == "update":
        (area / "CONTENT.ESO").write_text(render_content(release.path, content_lines(session, release.collection)),
                                          encoding="utf-8")
    return validate_release(area, release.mode, in_archive=in_archive(settings),  # type: ignore[arg-type]
                            verify_checksums=verify_checksums)


def _groups(session: Session, settings: Settings, release: Phase3Release, report: Report
            ) -> tuple[dict[str, list[tuple[str, Path, str]]], set[str]]:
    """Science file → [(name, path, category)] of the granules to make; and the archived names they supersede."""
    area = upload_area(settings, release)
    current = current_files(session, release.collection)
    sent = {e.name: e for e in report.entries if e.category != "DESCRIPTION"}
    gone = set(report.deleted) | set(report.replaced)
    touched: set[str] = set()  # the science files whose granule is made (again)
    for name in [*report.deleted, *report.replaced, *sent]:
        science = sent[name].science if name in sent else None
        touched.add(science or (current[name].science_name if name in current else None) or name)
    groups: dict[str, list[tuple[str, Path, str]]] = {}
    for science in sorted(touched):
        if science in report.deleted:
            continue
        members = [science, *sorted(n for n, e in sent.items() if e.science == science),
                   *sorted(n for n, r in current.items() if r.science_name == science and n not in sent
                           and n not in report.deleted)]
        files = []
        for name in members:
            if name in sent:
                files.append((name, area / name, sent[name].category))
            else:
                row = current[name]
                files.append((name, Path(session.get(GranuleFile, row.granule_file_id).archive_path), row.category))
        groups[science] = files
    superseded = {n for n, r in current.items() if n in gone or r.science_name in touched or n in touched}
    return groups, superseded


def archive_release(settings: Settings, release_id: int, actor: Actor | None = None) -> Archived:
    """ToBeArchived → Archived: every granule, its files, INSERT events and the move, in one transaction.

    Idempotent: an Archived (or Published) release returns what it archived. Either way the upload area is
    removed afterwards (the archive has copies), so a retry after a crash between the two finishes the job.
    """
    actor = actor or Actor.archive_system()
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        if release.state in (ReleaseState.ARCHIVED, ReleaseState.PUBLISHED):
            rows = session.scalars(select(Phase3ReleaseFile).where(Phase3ReleaseFile.release_id == release_id))
            done = Archived(release_id, sorted({r.granule_id for r in rows}), [])
        else:
            done = _archive(session, settings, release, actor)
    clean_upload_area(settings, release_id)
    return done


def _archive(session: Session, settings: Settings, release: Phase3Release, actor: Actor) -> Archived:
    """The archiving itself, in the caller's transaction."""
    if release.state is not ReleaseState.TO_BE_ARCHIVED:
        raise PermanentError(f"release {release.path} is {release.state.value}, not ToBeArchived")
    report = validate_area(settings, release, session, verify_checksums=False)
    if not report.ok:
        raise PermanentError(f"release {release.path} no longer validates: {report.problems[0].render()}")
    groups, superseded = _groups(session, settings, release, report)
    current = current_files(session, release.collection)
    old_granules = {current[n].granule_id for n in superseded}
    for name in sorted(superseded):
        row = current[name]
        row.superseded_by = release.id
        row.superseded_how = "DELETE" if name in report.deleted else "REPLACE"
    for granule_id in old_granules:
        granule = session.get(Granule, granule_id)
        assert granule is not None
        granule.attributes = {**(granule.attributes or {}), "phase3_superseded_by": release.path}
    granule_ids = []
    for science, files in groups.items():
        kinds = [NewFile(path, "SCIENCE" if i == 0 else "ANCILLARY") for i, (_, path, _) in enumerate(files)]
        granule = add_granule(session, settings, release.collection.esdt, kinds, local_granule_id=science,
                              checksum_type="MD5", owner_group=release.collection.program.group)
        granule.attributes = {**(granule.attributes or {}), "phase3_release": release.path,
                              "PRODCATG": files[0][2]}
        session.add(GranuleEvent(granule_id=granule.id, event="INSERT"))
        for gf, (name, _, category) in zip(granule.files, files, strict=True):
            session.add(Phase3ReleaseFile(
                release_id=release.id, collection_id=release.collection_id, name=name, category=category,
                science_name=None if name == science else science, granule_id=granule.id, granule_file_id=gf.id,
                size=gf.size, checksum=f"{gf.internal_checksum_type}:{gf.internal_checksum_value}"))
        granule_ids.append(granule.id)
    if any(e.category == DESCRIPTION for e in report.entries):
        granule_ids.append(_archive_description(session, settings, release))
    move(session, release, ReleaseState.ARCHIVED, actor,
         f"{len(granule_ids)} granules archived" + (f", {len(superseded)} files superseded" if superseded else ""))
    return Archived(release.id, granule_ids, sorted(superseded))


def _archive_description(session: Session, settings: Settings, release: Phase3Release) -> int:
    """``release-description.tar`` as a granule of its own, the release's description; its granule id."""
    lgid = f"{release.name[:56]}.{DESCRIPTION_NAME}"
    granule = add_granule(session, settings, release.collection.esdt,
                          [NewFile(upload_area(settings, release) / DESCRIPTION_NAME, "ANCILLARY")],
                          local_granule_id=lgid, checksum_type="MD5", owner_group=release.collection.program.group)
    granule.attributes = {**(granule.attributes or {}), "phase3_release": release.path, "PRODCATG": DESCRIPTION}
    session.add(GranuleEvent(granule_id=granule.id, event="INSERT"))
    gf = granule.files[0]
    session.add(Phase3ReleaseFile(
        release_id=release.id, collection_id=release.collection_id, name=DESCRIPTION_NAME, category=DESCRIPTION,
        science_name=None, granule_id=granule.id, granule_file_id=gf.id, size=gf.size,
        checksum=f"{gf.internal_checksum_type}:{gf.internal_checksum_value}"))
    return granule.id


def clean_upload_area(settings: Settings, release_id: int) -> bool:
    """Remove an archived release's upload area (the archive has its files); False when there was none.

    Idempotent, and a no-op for a release not archived yet: its area is still the PI's or the validator's.
    """
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        if release.state not in (ReleaseState.ARCHIVED, ReleaseState.PUBLISHED):
            return False
        area = upload_root(settings) / release.path
    if not area.exists():
        return False
    shutil.rmtree(area)
    return True


def publish_release(settings: Settings, release_id: int, actor: Actor | None = None) -> date:
    """Archived → Published: the release's granules get their public release date (the release's, or today).

    Until that date they stay the program group's (``owner_group``); the date is what the data-rights rule reads.
    """
    actor = actor or Actor.archive_system()
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        when = release.release_date or utcnow().date()
        if release.state is ReleaseState.PUBLISHED:
            return when
        granule_ids = set(session.scalars(select(Phase3ReleaseFile.granule_id).where(
            Phase3ReleaseFile.release_id == release_id)))
        for granule_id in granule_ids:
            granule = session.get(Granule, granule_id)
            assert granule is not None
            granule.public_release_date = when
        move(session, release, ReleaseState.PUBLISHED, actor, f"public from {when.isoformat()}")
        return when


def description_path(session: Session, release: Phase3Release) -> Path | None:
    """The archived ``release-description.tar`` of the release (None before archiving, or when it had none)."""
    row = session.scalar(select(Phase3ReleaseFile).where(Phase3ReleaseFile.release_id == release.id,
                                                         Phase3ReleaseFile.category == DESCRIPTION))
    if row is None:
        return None
    gf = session.get(GranuleFile, row.granule_file_id)
    return Path(gf.archive_path) if gf is not None else None


def granules_of(session: Session, release: Phase3Release) -> list[Granule]:
    ids = sorted(set(session.scalars(select(Phase3ReleaseFile.granule_id).where(
        Phase3ReleaseFile.release_id == release.id))))
    return [g for g in (session.get(Granule, i) for i in ids) if g is not None]

