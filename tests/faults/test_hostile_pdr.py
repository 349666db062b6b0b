"""Hostile PDRs: fuzzed from the corpus and the ICD's figure, never a crash, answered in bounded time,
and ``ardis pdr validate`` says what ingest will do (issue 10, defect 13 and the fault suite).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from distribution.ingest import pan
from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, write_delivery
from distribution.ingest import insert, intake, pull, respond
from distribution.models import IngestFile, PdrRecord, PdrState
from distribution.notices.outbox import OutboxFolder
from distribution.ingest.pdr import FileSpec, Pdr, ValidationPolicy, validate_pdr
from distribution.ingest.pdr import render_pdr
from distribution.ingest.providers import get_provider, validation_policy
from tests.unit.ingest.conftest import local_provider
from tests.unit.ingest.conftest import local_server as _server
from tests.unit.ingest.test_pdr import FIGURE_4_5_3

CORPUS = next((p for p in (Path(os.environ.get("ARDIS_SHARED_DIR", "/nonexistent")) / "corpus" / "pdr",
                           *(d / "shared" / "corpus" / "pdr" for d in Path(__file__).resolve().parents[2:5]))
               if p.is_dir()), None)
SEEDS = [FIGURE_4_5_3.encode(), *(sorted(p.read_bytes() for p in CORPUS.rglob("*.PDR")) if CORPUS else [])]
PDRD_DISPOSITIONS = frozenset({
    pan.INVALID_FILE_COUNT, pan.ECS_INTERNAL_ERROR, pan.DATABASE_FAILURES, pan.INVALID_ORIGINATING_SYSTEM,
    pan.PROVIDER_REQUEST_THRESHOLD, pan.PROVIDER_VOLUME_THRESHOLD, pan.SYSTEM_REQUEST_THRESHOLD,
    pan.SYSTEM_VOLUME_THRESHOLD, pan.INVALID_PVL_STATEMENT, pan.SUCCESSFUL, pan.INVALID_DATA_TYPE,
    pan.INVALID_DIRECTORY, pan.INVALID_FILE_SIZE, pan.INVALID_FILE_ID, pan.INVALID_NODE_NAME, pan.INVALID_FILE_TYPE,
    pan.UNSUPPORTED_CHECKSUM_TYPE, pan.MISSING_CHECKSUM_VALUE, pan.MISSING_CHECKSUM_TYPE, pan.INVALID_CHECKSUM_VALUE,
})
PAN_MAKE_UP = frozenset({pan.DUPLICATE_FILE_NAME, pan.WRONG_METADATA_COUNT, pan.WRONG_SCIENCE_COUNT,
                         pan.WRONG_FILE_COUNT})
FRAGMENTS = [b"OBJECT = FILE_GROUP;\n", b"END_OBJECT = FILE_GROUP;\n", b"OBJECT = FILE_SPEC;\n",
             b"END_OBJECT = FILE_SPEC;\n", b"FILE_ID = a.hdf;\n", b"DIRECTORY_ID = ../..;\n", b"DIRECTORY_ID = /x;\n",
             b"FILE_TYPE = SCIENCE;\n", b"FILE_TYPE = METADATA;\n", b"FILE_SIZE = 99999999999999999999;\n",
             b"TOTAL_FILE_COUNT = 1;\n", b"FILE_CKSUM_TYPE = MD5;\n", b"FILE_CKSUM_VALUE = x;\n", b'"', b"/*", b"*/",
             b"=", b";", b"(", b"\x00", b"\xff\xfe", b"BEGIN_GROUP = PRODUCT_DELIVERY_RECORD;\n", b"END;\n"]
SECONDS_PER_KB = 0.05  # generous: a 1 MB PDR validates in about a second on an idle machine
# Measured in this process's CPU time (time.process_time), so a busy machine does not fail it: a super-linear parser still would.
BASE_SECONDS = 1.0


@st.composite
def mutated_pdrs(draw: st.DrawFn) -> bytes:
    """A seed PDR with spans deleted, lines repeated elsewhere and fragments or bytes inserted."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["delete", "repeat", "insert", "bytes", "flood"]))
        if kind == "delete":
            del data[at:at + draw(st.integers(1, 80))]
        elif kind == "repeat":  # a FILE_SPEC or a statement copied: duplicate FILE_IDs, counts that disagree
            start = draw(st.integers(0, len(data)))
            data[at:at] = data[start:start + draw(st.integers(1, 400))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS))
        elif kind == "bytes":
            data[at:at] = draw(st.binary(max_size=20))
        else:
            data[at:at] = draw(st.sampled_from(FRAGMENTS)) * draw(st.integers(1, 20_000))
    return bytes(data)


def _check_answer(result: Pdr | pan.ShortPdrd | pan.LongPdrd) -> None:
    if isinstance(result, Pdr):
        assert all(g.problem is None or g.problem in PAN_MAKE_UP for g in result.groups), result
    elif isinstance(result, pan.ShortPdrd):
        assert result.disposition in PDRD_DISPOSITIONS
    else:
        assert isinstance(result, pan.LongPdrd)
        assert {g.disposition for g in result.groups} <= PDRD_DISPOSITIONS
    if not isinstance(result, Pdr):
        assert pan.parse_pdrd(pan.render_pdrd(result)) == result


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_pdrs())
def test_fuzzed_pdrs_are_valid_or_a_pdrd_in_bounded_time(data: bytes) -> None:
    policy = ValidationPolicy(known_collections=lambda name: "006")
    start = time.process_time()
    result = validate_pdr(data, policy)
    elapsed = time.process_time() - start
    _check_answer(result)
    assert elapsed < BASE_SECONDS + SECONDS_PER_KB * len(data) / 1024, f"{len(data)} bytes took {elapsed:.2f} s"


# The provider "P" on a local directory (``area``), with the sample collections.
area = local_provider


_names = itertools.count()


@hsettings(max_examples=20, deadline=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=mutated_pdrs())
def test_fuzzed_pdrs_validate_and_ingest_agree(settings: Settings, area: Path, data: bytes,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """What ``ardis pdr validate --provider`` says is what ingest records: the same PDRD, or the same groups."""
    path = area / "PDR" / f"F{next(_names)}.PDR"
    path.write_bytes(data)
    try:
        [found] = intake.poll_provider(settings, "P", _server)
    finally:
        path.unlink()
    intake.validate(settings, found.pdr_id)
    with session_scope(settings.database_url) as session:
        expected = validate_pdr(data, validation_policy(session, get_provider(session, "P"), settings))
        record = session.get(PdrRecord, found.pdr_id)
        assert record is not None
        if isinstance(expected, Pdr):
            assert record.state is PdrState.PULLING
            assert [(f.file_id, f.disposition) for f in record.files] == [
                (spec.file_id, g.problem) for g in expected.groups for spec in g.files]
        else:
            assert record.state is PdrState.REJECTED and record.response_text == pan.render_pdrd(expected)
    capsys.readouterr()
    path.write_bytes(data)
    try:
        status = main(["pdr", "validate", "--provider", "P", str(path)])
    finally:
        path.unlink()
    clean = isinstance(expected, Pdr) and not any(g.problem for g in expected.groups)
    assert status == (0 if clean else 1), capsys.readouterr().out


def test_a_file_id_twice_in_a_group_is_refused_alike_by_validate_and_ingest(
        settings: Settings, area: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10, defect 13: the same FILE_ID in two directories of one group. ``pdr validate`` once said VALID,
    and ingest then pulled both and failed the granule with DUPLICATE FILE NAME IN GRANULE."""
    pdr = write_delivery(area, "DATA", SAMPLES[:2], scale=1 / 256)
    science = pdr.groups[0].files[0]
    (area / "DATA" / "copy").mkdir()
    shutil.copy(area / science.path.lstrip("/"), area / "DATA" / "copy" / science.file_id)
    twice = dataclasses.replace(pdr.groups[0], files=(*pdr.groups[0].files,
                                                      FileSpec("/DATA/copy", science.file_id, "SCIENCE", science.size)))
    pdr = dataclasses.replace(pdr, groups=(twice, pdr.groups[1]), total_file_count=pdr.total_file_count + 1)
    (area / "PDR" / "DUP.PDR").write_text(render_pdr(pdr))

    assert main(["pdr", "validate", "--provider", "P", str(area / "PDR" / "DUP.PDR")]) == 1
    out = capsys.readouterr().out
    assert f"file group 1 will not be archived: PAN {pan.DUPLICATE_FILE_NAME}" in out
    assert f"{science.file_id} is listed twice" in out

    [found] = intake.poll_provider(settings, "P", _server)
    intake.validate(settings, found.pdr_id)
    pull.pull_files(settings, found.pdr_id, _server)
    insert.archive_files(settings, found.pdr_id)
    respond.respond(settings, found.pdr_id, _server, OutboxFolder(settings.outbox_dir))
    answer = pan.parse_pan((area / "PDR" / "DUP.PAN").read_text())
    assert isinstance(answer, pan.LongPan)
    assert [f.disposition for f in answer.files] == (
        [pan.DUPLICATE_FILE_NAME] * len(twice.files) + [pan.SUCCESSFUL] * len(pdr.groups[1].files))
    assert all(f.time_stamp is None for f in answer.files[:len(twice.files)])  # footnote 5: never pulled
    with session_scope(settings.database_url) as session:
        pulled = session.scalars(select(IngestFile.file_id).where(IngestFile.pdr_id == found.pdr_id,
                                                                  IngestFile.staged_path.is_not(None))).all()
        assert science.file_id not in pulled
