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
