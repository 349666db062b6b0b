"""Ingest pieces: linkage files (Figure 4.5-4), the PDR writer's round trip, racing polls, failed PGEs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import assume, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from distribution import pan
from distribution.archive import get_or_create_collection
from distribution.config import Settings
from distribution.db import session_scope
from distribution.demo_data import SAMPLES, write_delivery, write_granule_files
from distribution.ingest import insert, intake, pull, respond
from distribution.ingest.linkage import LinkageProblem, Pointer, parse_linkage
from distribution.models import Granule, PdrRecord, Provider
from distribution.notices.outbox import OutboxFolder
from distribution.pdr import FileGroup, FileSpec, GroupKind, Pdr, validate_pdr
from distribution.pdr_writer import render_pdr
from distribution.providers import ProviderSpec, add_provider, open_server

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pdr"


def test_linkage_file_of_figure_4_5_4() -> None:
    pointers = parse_linkage((GOLDEN / "linkage_example.txt").read_bytes())
    assert pointers == [Pointer("CERES01", 1, "ceres0110010119.122357001.dat"),
                        Pointer("CERES01", 2, "ceres0120010119.122357001.dat"),
                        Pointer("CERES01", 3, "ceres0130010119.122357001.dat")]
    assert str(pointers[1]) == "LGID:CERES01:002:ceres0120010119.122357001.dat"


@pytest.mark.parametrize("text, why", [
    ("GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 2\nGRANULE_POINTER_001 = \"LGID:A:001:x\"\n"
     "END_GROUP = LINKAGE_POINTERS\nEND\n", "NUM_POINTERS is 2"),
    ("GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 1\nGRANULE_POINTER_001 = \"UR:10:DsShESDTUR\"\n"
     "END_GROUP = LINKAGE_POINTERS\nEND\n", "is not a pointer"),
    ("NUM_POINTERS = 1\n", "one GROUP = LINKAGE_POINTERS"),
    ("GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 1\n", "never closed"),
    ("\x00\x01", "not PVL"),
])
def test_bad_linkage_files_are_preprocessing_errors(text: str, why: str) -> None:
    with pytest.raises(LinkageProblem) as caught:
        parse_linkage(text)
    assert caught.value.disposition == pan.LINKAGE_PREPROCESSING_ERROR and why in str(caught.value)


_NAME = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
_SPEC = st.builds(FileSpec, st.from_regex(r"/[A-Za-z0-9_]{1,8}(/[A-Za-z0-9_]{1,8}){0,2}", fullmatch=True), _NAME,
                  st.just("SCIENCE"), st.integers(1, 2**31 - 2),
                  st.just("MD5"), st.from_regex(r"[0-9a-f]{32}", fullmatch=True))


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True).filter(
    lambda t: t not in ("BROWSE", "QA", "PH", "FAILPGE")),  # generic types make other kinds of group
                          st.from_regex(r"[0-9]{3}", fullmatch=True), st.lists(_SPEC, min_size=1, max_size=3, unique_by=lambda f: f.file_id)),
                min_size=1, max_size=4), _NAME)
def test_pdr_writer_round_trip(groups: list[tuple[str, str, list[FileSpec]]], origin: str) -> None:
    # a FILE_ID appears once per file group (ICD 4.5: DUPLICATE FILE NAME IN GRANULE), the .met included
    assume(all(f.file_id != f"{dt}.met" for dt, _, specs in groups for f in specs))
    made = tuple(FileGroup(dt, ver, None, (*specs, FileSpec("/meta-data", f"{dt}.met", "METADATA", 10)))
                 for dt, ver, specs in groups)
    pdr = Pdr(origin, sum(len(g.files) for g in made), None, made)
    assert validate_pdr(render_pdr(pdr)) == pdr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus/pdr not present")
@pytest.mark.parametrize("name", ["cumulus/MOD09GQ.PDR", "cumulus/MYD13A1_5_grans.PDR",
                                  "cumulus/MOD09GQ-with-NODE_NAME.PDR"])
def test_pdr_writer_rewrites_real_pdrs_to_the_same_model(name: str) -> None:
    pdr = validate_pdr((CORPUS / name).read_bytes())
    assert isinstance(pdr, Pdr)
    assert validate_pdr(render_pdr(pdr)) == pdr


@pytest.fixture
def local_provider(settings: Settings, tmp_path: Path) -> Path:
    area = tmp_path / "area"
    (area / "PDR").mkdir(parents=True)
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="P", root_directory=str(area), polling_directory="/PDR"))
        for esdt in {s.esdt for s in SAMPLES}:
            get_or_create_collection(session, esdt)
    return area


def _server(p: Provider):  # type: ignore[no-untyped-def]
    return open_server(p, None)


def test_overlapping_polls_take_each_pdr_once(settings: Settings, local_provider: Path) -> None:
    for i in range(5):
        pdr = write_delivery(local_provider, f"D{i}", SAMPLES[:1], scale=1 / 256, first_seed=i + 1)
        (local_provider / "PDR" / f"P{i}.PDR").write_text(render_pdr(pdr))
    results: list[list[intake.Discovered]] = []
    barrier = threading.Barrier(3)

    def poll() -> None:
        barrier.wait()
        results.append(intake.poll_provider(settings, "P", _server))

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = sorted(d.name for found in results for d in found)
    assert taken == [f"P{i}.PDR" for i in range(5)]  # each by exactly one of the three polls
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(PdrRecord)) == 5


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
