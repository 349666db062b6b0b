"""Archiving a PDR's groups: a failed PGE is archived as such; a duplicated linkage pointer is reported."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from devkit.sample_data import SAMPLES, write_granule_files
from distribution.config import Settings
from distribution.db import session_scope
from distribution.ingest import insert, intake, pan, pull, respond
from distribution.ingest.pdr import FileGroup, FileSpec, GroupKind, Pdr, render_pdr
from distribution.models import Granule
from distribution.notices.outbox import OutboxFolder
from tests.unit.ingest.conftest import local_server as _server


def _ingest(settings: Settings, pdr_id: int) -> None:
    intake.validate(settings, pdr_id)
    pull.pull_files(settings, pdr_id, _server)
    insert.archive_files(settings, pdr_id)
    respond.respond(settings, pdr_id, _server, OutboxFolder(settings.outbox_dir))


def test_failed_pge_is_archived_as_such_and_a_duplicated_pointer_is_reported(
        settings: Settings, local_provider: Path) -> None:
    paths = write_granule_files(local_provider / "PGE", SAMPLES[0], seed=3, scale=1 / 256)
    tar, met = paths[0], paths[-1]
    failed = FileGroup("FAILPGE", "001", None, (FileSpec("/PGE", tar.name, "SCIENCE", tar.stat().st_size),
                                                 FileSpec("/PGE", met.name, "METADATA", met.stat().st_size)),
                       GroupKind.FAILED_PGE)
    (local_provider / "PGE" / "b.jpg").write_bytes(b"browse")
    short, version = SAMPLES[0].esdt.split(".")
    pointer = f'"LGID:FAILPGE:001:{SAMPLES[0].lgid}"'
    (local_provider / "PGE" / "b.lnk").write_text(f"GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 2\n"
                                                  f"GRANULE_POINTER_001 = {pointer}\nGRANULE_POINTER_002 = {pointer}\n"
                                                  "END_GROUP = LINKAGE_POINTERS\nEND\n")
    link = FileGroup("Browse", "001", None, (FileSpec("/PGE", "b.jpg", "BROWSE", 6),
                                             FileSpec("/PGE", "b.lnk", "LINKAGE",
                                                      (local_provider / "PGE" / "b.lnk").stat().st_size)),
                     GroupKind.LINKAGE)
    (local_provider / "PDR" / "PGE.PDR").write_text(render_pdr(Pdr("P", 4, None, (failed, link))))
    [found] = intake.poll_provider(settings, "P", _server)
    _ingest(settings, found.pdr_id)
    answer = pan.parse_pan((local_provider / "PDR" / "PGE.PAN").read_text())
    assert isinstance(answer, pan.LongPan)
    assert [f.disposition for f in answer.files] == [pan.SUCCESSFUL] * 2 + [pan.REFERENCED_GRANULE_DUPLICATED] * 2
    with session_scope(settings.database_url) as session:
        [granule] = session.scalars(select(Granule)).all()
        assert granule.collection.esdt == "FAILPGE.001" and granule.local_granule_id == SAMPLES[0].lgid
        assert [f.file_type for f in granule.files] == ["SCIENCE", "METADATA"]
        assert granule.total_size == tar.stat().st_size + met.stat().st_size  # the portal's size sort reads it


def test_metadata_that_does_not_conform_to_the_collections_mcf_fails_its_group(
        settings: Settings, local_provider: Path) -> None:
    """ICD 5.2.1: the MCF is the template; a granule whose metadata leaves it gets METADATA PREPROCESSING ERROR."""
    from distribution.inventory.archive import get_or_create_collection
    from devkit.sample_data import SAMPLE_MCF

    sample = SAMPLES[0]
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, sample.esdt).mcf = SAMPLE_MCF
    groups = []
    for seed, where in ((5, "GOOD"), (6, "BAD")):
        paths = write_granule_files(local_provider / where, sample, seed=seed, scale=1 / 256)
        if where == "BAD":
            met = paths[-1]
            met.write_text(met.read_text().replace("= LOCALGRANULEID", "= LOCALGRANULE_ID")
                           .replace(sample.lgid, sample.lgid + ".bad"))
        short, version = sample.esdt.split(".")
        groups.append(FileGroup(short, version, None, tuple(
            FileSpec(f"/{where}", p.name, "METADATA" if p.suffix == ".met" else "SCIENCE", p.stat().st_size)
            for p in paths)))
    (local_provider / "PDR" / "MCF.PDR").write_text(render_pdr(Pdr("P", 4, None, tuple(groups))))
    [found] = intake.poll_provider(settings, "P", _server)
    _ingest(settings, found.pdr_id)
    answer = pan.parse_pan((local_provider / "PDR" / "MCF.PAN").read_text())
    assert isinstance(answer, pan.LongPan)
    assert [f.disposition for f in answer.files] == [pan.SUCCESSFUL] * 2 + [pan.METADATA_PREPROCESSING_ERROR] * 2
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(Granule)).all()) == 1
