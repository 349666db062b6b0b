"""PDR ingest without Airflow: a local provider's directory, every step, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distribution.ingest import pan
from distribution.inventory.archive import get_or_create_collection
from distribution.checksums import checksum_file
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, write_delivery
from distribution.errors import RetryableError
from distribution.ingest import insert, intake, pull, respond
from distribution.models import (
    Granule,
    GranuleEvent,
    GranuleLink,
    IngestFile,
    PdrRecord,
    PdrState,
    Provider,
)
from distribution.notices.outbox import OutboxFolder
from distribution.ingest.pdr import FileGroup, FileSpec, GroupKind, Pdr
from distribution.ingest.pdr import render_pdr
from distribution.ingest.providers import ProviderSpec, add_provider, open_server

SCALE = 1 / 64


@pytest.fixture
def area(tmp_path: Path) -> Path:
    (tmp_path / "provider" / "PDR").mkdir(parents=True)
    return tmp_path / "provider"


@pytest.fixture
def provider(settings: Settings, area: Path) -> str:
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="SIPS1", root_directory=str(area), polling_directory="/PDR",
                                           response_email="sips1-ops@example.org"))
        for esdt in {s.esdt for s in SAMPLES}:
            get_or_create_collection(session, esdt)
    return "SIPS1"


def server_for(p: Provider):  # type: ignore[no-untyped-def]
    return open_server(p, None)


def run_all(settings: Settings) -> list[int]:
    """One poll and every step for each PDR it took, as the DAGs run them."""
    with session_scope(settings.database_url) as session:
        for p in session.scalars(select(Provider)):
            p.last_polled_at = None  # due now, whatever its interval
    found, problems = intake.discover(settings, server_for)
    assert problems == []
    for d in found:
        intake.validate(settings, d.pdr_id)
        try:
            pull.pull_files(settings, d.pdr_id, server_for)
        except RetryableError:
            pass
        insert.archive_files(settings, d.pdr_id)
        respond.respond(settings, d.pdr_id, server_for, OutboxFolder(settings.outbox_dir))
    return [d.pdr_id for d in found]


def deliver(area: Path, name: str, pdr: Pdr) -> Path:
    path = area / "PDR" / name
    path.write_text(render_pdr(pdr))
    return path


def test_good_pdr_is_archived_and_answered_with_a_short_pan(settings: Settings, area: Path, provider: str) -> None:
    pdr = write_delivery(area, "DATA", scale=SCALE)
    deliver(area, "SIPS1_20261201.PDR", pdr)
    [pdr_id] = run_all(settings)
    answer = (area / "PDR" / "SIPS1_20261201.PAN").read_text()
    parsed = pan.parse_pan(answer)
    assert isinstance(parsed, pan.ShortPan) and parsed.disposition == pan.SUCCESSFUL
    assert parsed.time_stamp is not None
    with session_scope(settings.database_url) as session:
        granules = list(session.scalars(select(Granule).where(Granule.source_pdr_id == pdr_id).order_by(Granule.id)))
        assert [g.local_granule_id for g in granules] == [s.lgid for s in SAMPLES]
        for g, group in zip(granules, pdr.groups, strict=True):
            assert [f.name for f in g.files] == [f.file_id for f in group.files]
            for gf, spec in zip(g.files, group.files, strict=True):
                assert Path(gf.archive_path).read_bytes() == (area / spec.path.lstrip("/")).read_bytes()
                assert gf.size == spec.size
                if spec.checksum_type:  # verified while copying, stored as such
                    assert (gf.checksum_type, gf.checksum_value) == ("MD5", spec.checksum_value)
                    assert gf.checksum_origin == "PROVIDER (verified)"
                else:  # none given: the agreement says compute a CKSUM
                    assert gf.checksum_type == "CKSUM" and gf.checksum_origin == "ARDIS"
                # the archive's own checksum, computed by Ardis from the bytes it archived (issue 10, defect 5)
                assert gf.internal_checksum_origin == "archive" and gf.internal_checksum_type
                assert gf.internal_checksum_value == checksum_file(Path(gf.archive_path), gf.internal_checksum_type)
        assert granules[0].begin_time is not None and granules[0].west is not None
        events = session.scalar(select(func.count()).select_from(GranuleEvent)
                                .where(GranuleEvent.granule_id.in_([g.id for g in granules])))
        assert events == len(granules)
        record = session.get(PdrRecord, pdr_id)
        assert record.state is PdrState.RESPONDED and record.response_written_at is not None
    mail = list(settings.outbox_dir.glob("*.eml"))
    assert len(mail) == 1 and "Subject: SIPS1_20261201.PAN" in mail[0].read_text()
    assert not (settings.ingest_root / str(pdr_id)).exists()  # staging removed once answered


def test_same_pdr_twice_is_ingested_once_and_a_redelivery_is_a_new_version(
        settings: Settings, area: Path, provider: str) -> None:
    pdr = write_delivery(area, "DATA", SAMPLES[:1], scale=SCALE)
    deliver(area, "A.PDR", pdr)
    assert len(run_all(settings)) == 1
    assert run_all(settings) == []  # seen again at the next tick: nothing new
    (area / "PDR" / "A.PDR").touch()  # the same bytes with a new time: still the same PDR
    assert run_all(settings) == []
    deliver(area, "B.PDR", pdr)  # the same granule delivered again under another PDR
    assert len(run_all(settings)) == 1
    with session_scope(settings.database_url) as session:
        versions = list(session.scalars(select(Granule.granule_version).where(
            Granule.local_granule_id == SAMPLES[0].lgid).order_by(Granule.granule_version)))
        assert versions == [1, 2]
        paths = list(session.scalars(select(Granule.id)))
        assert len(paths) == 2


def test_missing_file_wrong_size_and_wrong_checksum_give_a_long_pan(
        settings: Settings, area: Path, provider: str) -> None:
    pdr = write_delivery(area, "DATA", SAMPLES[:4], scale=SCALE)
    g0, g1, g2, g3 = pdr.groups
    (area / g0.files[0].path.lstrip("/")).unlink()  # missing
    g1 = dataclasses.replace(g1, files=(dataclasses.replace(g1.files[0], size=g1.files[0].size + 1), *g1.files[1:]))
    bad_md5 = "0" * 32
    g2 = dataclasses.replace(g2, files=(dataclasses.replace(g2.files[0], checksum_value=bad_md5), *g2.files[1:]))
    deliver(area, "MIXED.PDR", dataclasses.replace(pdr, groups=(g0, g1, g2, g3)))
    [pdr_id] = run_all(settings)
    parsed = pan.parse_pan((area / "PDR" / "MIXED.PAN").read_text())
    assert isinstance(parsed, pan.LongPan)
    by_name = {f.name: f for f in parsed.files}
    assert by_name[g0.files[0].file_id].disposition == pan.FILES_NOT_FOUND
    assert by_name[g0.files[0].file_id].time_stamp is None
    assert by_name[g0.files[-1].file_id].disposition == pan.FILES_NOT_FOUND  # the granule is all or nothing
    assert by_name[g1.files[0].file_id].disposition == pan.SIZE_CHECK_FAILURE
    assert by_name[g2.files[0].file_id].disposition == pan.CHECKSUM_VERIFICATION_FAILURE
    assert by_name[g2.files[0].file_id].time_stamp is not None  # footnote 4
    assert {by_name[f.file_id].disposition for f in g3.files} == {pan.SUCCESSFUL}
    assert [f.name for f in parsed.files] == [f.file_id for f in pdr.files]
    with session_scope(settings.database_url) as session:
        archived = list(session.scalars(select(Granule.local_granule_id).where(Granule.source_pdr_id == pdr_id)))
        assert archived == [SAMPLES[3].lgid]


def test_invalid_pdr_gets_a_pdrd_and_nothing_is_pulled(settings: Settings, area: Path, provider: str) -> None:
    pdr = write_delivery(area, "DATA", SAMPLES[:2], scale=SCALE)
    unknown = dataclasses.replace(pdr.groups[1], data_type="NOSUCH")
    deliver(area, "BAD.PDR", dataclasses.replace(pdr, groups=(pdr.groups[0], unknown)))
    (area / "PDR" / "JUNK.PDR").write_bytes(b"\x00\x01 not pvl")
    (area / "PDR" / "HUGE.PDR").write_bytes(b"/*" + b" " * (1 << 20) + b"*/")
    ids = run_all(settings)
    assert len(ids) == 3
    long = pan.parse_pdrd((area / "PDR" / "BAD.PDRD").read_text())
    assert isinstance(long, pan.LongPdrd)
    assert [g.disposition for g in long.groups] == [pan.SUCCESSFUL, pan.INVALID_DATA_TYPE]
    assert pan.parse_pdrd((area / "PDR" / "JUNK.PDRD").read_text()) == pan.ShortPdrd(pan.INVALID_PVL_STATEMENT)
    assert pan.parse_pdrd((area / "PDR" / "HUGE.PDRD").read_text()) == pan.ShortPdrd(pan.INVALID_PVL_STATEMENT)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Granule)) == 0
        assert session.scalar(select(func.count()).select_from(IngestFile)) == 0


def test_unreachable_files_are_retried_then_reported(settings: Settings, area: Path, provider: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from distribution.ingest.pdrserver import ProviderNetworkFailure

    pdr = write_delivery(area, "DATA", SAMPLES[:1], scale=SCALE)
    deliver(area, "NET.PDR", pdr)
    [found], _ = intake.discover(settings, server_for)
    intake.validate(settings, found.pdr_id)
    real = server_for

    class Flaky:
        def __init__(self, p: Provider) -> None:
            self.inner = real(p)

        def __enter__(self):  # type: ignore[no-untyped-def]
            self.inner.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.__exit__(*exc)

        def fetch(self, *args: object) -> object:
            raise ProviderNetworkFailure("connection reset by peer")

    with pytest.raises(RetryableError):
        pull.pull_files(settings, found.pdr_id, Flaky)
    with pytest.raises(RetryableError):  # the retry takes the same files again
        pull.pull_files(settings, found.pdr_id, Flaky)
    insert.archive_files(settings, found.pdr_id)  # retries ran out
    respond.respond(settings, found.pdr_id, server_for, OutboxFolder(settings.outbox_dir))
    parsed = pan.parse_pan((area / "PDR" / "NET.PAN").read_text())
    assert parsed == pan.ShortPan(pan.NETWORK_FAILURE, None)


def test_linkage_group_links_a_browse_granule_or_reports_the_pointer(
        settings: Settings, area: Path, provider: str) -> None:
    pdr = write_delivery(area, "DATA", SAMPLES[:1], scale=SCALE)
    deliver(area, "SCI.PDR", pdr)
    run_all(settings)
    short, version = SAMPLES[0].esdt.split(".")
    browse_dir = area / "BROWSE"
    browse_dir.mkdir()
    (browse_dir / "b1.jpg").write_bytes(b"\xff\xd8 a browse image")
    good = f'GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 1\nGRANULE_POINTER_001 = "LGID:{short}:{version}:{SAMPLES[0].lgid}"\n'
    (browse_dir / "b1.lnk").write_text(good + "END_GROUP = LINKAGE_POINTERS\nEND\n")
    (browse_dir / "b2.jpg").write_bytes(b"\xff\xd8 another")
    (browse_dir / "b2.lnk").write_text('GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 1\n'
                                       f'GRANULE_POINTER_001 = "LGID:{short}:{version}:NOT_THERE"\n'
                                       'END_GROUP = LINKAGE_POINTERS\nEND\n')

    def group(stem: str) -> FileGroup:
        files = (FileSpec("/BROWSE", f"{stem}.jpg", "BROWSE", (browse_dir / f"{stem}.jpg").stat().st_size),
                 FileSpec("/BROWSE", f"{stem}.lnk", "LINKAGE", (browse_dir / f"{stem}.lnk").stat().st_size))
        return FileGroup("Browse", "001", None, files, GroupKind.LINKAGE)

    deliver(area, "BRW.PDR", Pdr("SIPS1", 4, None, (group("b1"), group("b2"))))
    [pdr_id] = run_all(settings)
    parsed = pan.parse_pan((area / "PDR" / "BRW.PAN").read_text())
    assert isinstance(parsed, pan.LongPan)
    assert [f.disposition for f in parsed.files] == [pan.SUCCESSFUL] * 2 + [pan.REFERENCED_GRANULE_NOT_FOUND] * 2
    with session_scope(settings.database_url) as session:
        [link] = session.scalars(select(GranuleLink)).all()
        science = session.scalar(select(Granule).where(Granule.local_granule_id == SAMPLES[0].lgid))
        assert link.granule_id == science.id and link.link_type == "Browse"
        browse = session.get(Granule, link.linked_granule_id)
        assert browse.collection.esdt == "Browse.001" and browse.source_pdr_id == pdr_id


def test_answer_goes_by_mail_even_when_the_server_is_down(settings: Settings, area: Path, provider: str) -> None:
    from distribution.ingest.pdrserver import ProviderUnreachable

    pdr = write_delivery(area, "DATA", SAMPLES[:1], scale=SCALE)
    deliver(area, "DOWN.PDR", pdr)
    [found], _ = intake.discover(settings, server_for)
    intake.validate(settings, found.pdr_id)
    pull.pull_files(settings, found.pdr_id, server_for)
    insert.archive_files(settings, found.pdr_id)

    def down(p: Provider):  # type: ignore[no-untyped-def]
        raise ProviderUnreachable("connection refused")

    with pytest.raises(RetryableError, match="DOWN.PAN not delivered everywhere"):
        respond.respond(settings, found.pdr_id, down, OutboxFolder(settings.outbox_dir))
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1  # mailed at once
    assert not (area / "PDR" / "DOWN.PAN").exists()
    respond.respond(settings, found.pdr_id, server_for, OutboxFolder(settings.outbox_dir))  # the retry
    assert (area / "PDR" / "DOWN.PAN").exists() and len(list(settings.outbox_dir.glob("*.eml"))) == 1


def test_housekeeping_delivers_answers_still_owed_when_the_run_gave_up(
        settings: Settings, area: Path, provider: str) -> None:
    """A PAN and a PDRD whose runs gave up (the server down for their 3 hours) reach the server on a later hour."""
    from distribution.orders.housekeeping import resend_owed_answers
    from distribution.ingest.pdrserver import ProviderUnreachable

    def down(p: Provider):  # type: ignore[no-untyped-def]
        raise ProviderUnreachable("connection refused")

    deliver(area, "GOOD.PDR", write_delivery(area, "DATA", SAMPLES[:1], scale=SCALE))
    (area / "PDR" / "BAD.PDR").write_text("ORIGINATING_SYSTEM = X;\nTOTAL_FILE_COUNT = 1;\n")
    found, _ = intake.discover(settings, server_for)
    assert len(found) == 2
    for d in found:
        intake.validate(settings, d.pdr_id)
        with session_scope(settings.database_url) as session:
            rejected = session.get(PdrRecord, d.pdr_id).state is PdrState.REJECTED  # type: ignore[union-attr]
        if not rejected:
            pull.pull_files(settings, d.pdr_id, server_for)
            insert.archive_files(settings, d.pdr_id)
        with pytest.raises(RetryableError):
            respond.respond(settings, d.pdr_id, down, OutboxFolder(settings.outbox_dir))
    outbox = OutboxFolder(settings.outbox_dir)
    assert resend_owed_answers(settings, server_for, outbox) == [], "a run may still be retrying: not yet"
    with session_scope(settings.database_url) as session:
        states = {r.name: r.state for r in session.scalars(select(PdrRecord))}
        assert states == {"GOOD.PDR": PdrState.ANSWERING, "BAD.PDR": PdrState.REJECTED}
        for r in session.scalars(select(PdrRecord)):
            r.discovered_at -= timedelta(hours=5)
    assert resend_owed_answers(settings, down, outbox) == [], "still down: owed, nothing lost"
    assert sorted(resend_owed_answers(settings, server_for, outbox)) == ["BAD.PDRD", "GOOD.PAN"]
    assert (area / "PDR" / "GOOD.PAN").read_text().startswith("MESSAGE_TYPE = SHORTPAN;")
    assert "MESSAGE_TYPE = SHORTPDRD;" in (area / "PDR" / "BAD.PDRD").read_text()
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 2, "each answer mailed once, not again"
    assert resend_owed_answers(settings, server_for, outbox) == []
