"""ESO Phase 3 through real ``dag.test()`` runs: a release uploaded over SFTP by curl, closed, validated, approved
through the REST API (the scientific validation), archived, published, then ordered by FtpPull; an update release
makes version 2 and keeps the old versions; an invalid one goes back to the PI."""

from __future__ import annotations

import email
import hashlib
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import PHASE3_POLL_DAG, PHASE3_RELEASE_DAG, phase3_run_id

from devkit.operator import Operator, Waiting
from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import Granule
from distribution.orders.placing import Contact
from distribution.phase3 import workflow
from distribution.phase3.upload import UploadServer
from distribution.phase3.archiving import archive_release, content_eso, in_archive, publish_release
from distribution.phase3.content import parse_content
from distribution.phase3.releases import create_release, get_release
from distribution.phase3.validator import validate_release
from tests.dags.conftest import run_dag, task_states
from tests.ftp_pull import order_and_pull
from tests.unit.phase3.conftest import PI, World, make_world
from tests.unit.phase3.fits_files import good_release, science_image
from tests.unit.phase3.test_archiving import archive_raw, in_upload_area, to_be_archived
from tests.unit.phase3.test_upload import curl_upload

pytestmark = pytest.mark.dags
STEPS = ["begin", "validate", "valid", "scientific_validation", "record_scientific", "archive", "publish",
         "notify", "outcome"]


def _scientist(step: Waiting) -> tuple[list[str], dict[str, Any]] | None:
    return (["Approve"], {"reason": "looks right"}) if step.task_id == "scientific_validation" else None


def test_a_closed_release_through_every_state_then_ordered(dagbag: Any, sqlite_settings: Settings,
                                                           airflow_api: Any, tmp_path: Path) -> None:
    world = make_world(sqlite_settings)
    settings = world.settings
    archive_raw(world)
    prepared = good_release(tmp_path / "prepared")
    server = UploadServer(settings).start()  # the PI and the CoI upload over SFTP with a real client
    try:
        for i, path in enumerate(sorted(prepared.iterdir())):
            sent = curl_upload(world, server, ["pi1", "coi1"][i % 2], path, "196.B-0001/SURVEY1/DR1/")
            assert sent.returncode == 0, sent.stderr
    finally:
        server.close()
    area = in_upload_area(world, world.release_id, lambda _area: None)
    assert sorted(p.name for p in area.iterdir()) == sorted(p.name for p in prepared.iterdir())
    workflow.close_release(settings, "196.B-0001/SURVEY1/DR1", PI)
    assert workflow.closed_without_run(settings) == [(world.release_id, 1)]
    operator = Operator(airflow_api.api_url, [PHASE3_RELEASE_DAG], _scientist, interval=0.5, login=airflow_api.login)
    operator.start()
    try:
        run = run_dag(dagbag, PHASE3_RELEASE_DAG, {"release_id": world.release_id})
    finally:
        operator.stop()
    assert task_states(run) == dict.fromkeys(STEPS, "success")
    assert [step.subject for step, _, _ in operator.answered] == [
        f"Scientific validation of Phase 3 release {world.release_id}"]
    with session_scope(settings.database_url) as session:
        release = get_release(session, world.release_id)
        assert [e.to_state.value for e in release.history] == [
            "Open", "Closed", "Valid", "ToBeArchived", "Archived", "Published"]
        assert release.airflow_run_id == run.run_id and workflow.closed_without_run(settings) == []
        img1 = session.query(Granule).filter_by(local_granule_id="img1.fits").one()
        ur, md5 = granule_ur(img1, settings), img1.files[0].checksum_value
    got = order_and_pull(dagbag, settings, ur, Contact(user_id="user9", email="u9@example.org", checksum_list=True))
    assert hashlib.md5(got["img1.fits.1"]).hexdigest() == md5
    assert got["img1.fits.1"] == (prepared / "img1.fits").read_bytes()
    assert not area.exists()  # archived: the upload area is gone, the archive has the files


def _upload(world: World, files: list[Path], target: str) -> None:
    server = UploadServer(world.settings).start()
    try:
        for path in files:
            sent = curl_upload(world, server, "pi1", path, target)
            assert sent.returncode == 0, sent.stderr
    finally:
        server.close()


def test_an_update_run_makes_version_two_and_keeps_the_old_versions(dagbag: Any, sqlite_settings: Settings,
                                                                     airflow_api: Any, tmp_path: Path) -> None:
    """Seed "updating or superseding a release": download CONTENT.ESO, write CHANGES.USER, validate -m update,
    upload the new img1.fits and CHANGES.USER over SFTP, close; a real run archives img1.fits as version 2
    (REPLACE) and drops img2.fits.fz (DELETE); both old granules stay in the archive and can still be ordered."""
    world = make_world(sqlite_settings)
    settings = world.settings
    archive_raw(world)
    in_upload_area(world, world.release_id, good_release)
    to_be_archived(world, world.release_id)  # the first release by domain steps (its run is the test above)
    archive_release(settings, world.release_id)
    publish_release(settings, world.release_id)
    with session_scope(settings.database_url) as session:
        update_id = create_release(session, PI, "196.B-0001", "SURVEY1", "DR1.1", mode="update").id
        content = content_eso(session, get_release(session, world.release_id))
        old = {g.local_granule_id: (g.id, granule_ur(g, settings), g.files[0].checksum_value)
               for g in session.query(Granule).filter(Granule.local_granule_id.in_(["img1.fits", "img2.fits.fz"]))}
    work = tmp_path / "update"
    work.mkdir()
    (work / "CONTENT.ESO").write_text(content)
    science_image(work / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP", ASSON2="img1.png",
                  ASSOC2="ANCILLARY.PREVIEW", PROV1="raw1.fits", seed=7)
    (work / "CHANGES.USER").write_text("REPLACE img1.fits\nDELETE img2.fits.fz\n")
    assert validate_release(work, "update", in_archive=in_archive(settings)).ok  # the PI's own check first
    _upload(world, [work / "img1.fits", work / "CHANGES.USER"], "196.B-0001/SURVEY1/DR1.1/")
    workflow.close_release(settings, "196.B-0001/SURVEY1/DR1.1", PI)
    operator = Operator(airflow_api.api_url, [PHASE3_RELEASE_DAG], _scientist, interval=0.5, login=airflow_api.login)
    operator.start()
    try:
        run = run_dag(dagbag, PHASE3_RELEASE_DAG, {"release_id": update_id})
    finally:
        operator.stop()
    assert task_states(run) == dict.fromkeys(STEPS, "success")
    with session_scope(settings.database_url) as session:
        update = get_release(session, update_id)
        assert [e.to_state.value for e in update.history] == [
            "Open", "Closed", "Valid", "ToBeArchived", "Archived", "Published"]
        new = session.query(Granule).filter_by(local_granule_id="img1.fits", granule_version=2).one()
        assert [f.name for f in new.files] == ["img1.fits", "img1.png", "img1.weight.fits"]
        assert new.public_release_date is not None and new.id != old["img1.fits"][0]
        for granule_id, _, _ in old.values():
            kept = session.get(Granule, granule_id)
            assert kept is not None and kept.attributes["phase3_superseded_by"] == "196.B-0001/SURVEY1/DR1.1"
            assert all(Path(f.archive_path).is_file() for f in kept.files)  # nothing deleted
        after = parse_content(content_eso(session, update))
        new_ur = granule_ur(new, settings)
    assert sorted(after) == ["img1.fits", "img1.png", "img1.weight.fits"] and after["img1.fits"].release == "DR1.1"
    contact = Contact(user_id="user9", email="u9@example.org", checksum_list=True)
    got_new = order_and_pull(dagbag, settings, new_ur, contact)
    assert got_new["img1.fits.1"] == (work / "img1.fits").read_bytes()
    got_old = order_and_pull(dagbag, settings, old["img2.fits.fz"][1], contact)  # the deleted one: still there
    # a one-file granule is pulled under its LocalGranuleID alone
    assert hashlib.md5(got_old["img2.fits.fz"]).hexdigest() == old["img2.fits.fz"][2]


def test_an_invalid_release_goes_back_to_the_pi(dagbag: Any, sqlite_settings: Settings) -> None:
    world = make_world(sqlite_settings)
    area = in_upload_area(world, world.release_id, good_release)  # raw1.fits (PROV1) is not in this archive
    (area / "release-description.tar").unlink()
    workflow.close_release(world.settings, str(world.release_id), PI)
    run = run_dag(dagbag, PHASE3_RELEASE_DAG, {"release_id": world.release_id})
    states = task_states(run)
    assert [states[s] for s in STEPS] == ["success", "success", "success", "skipped", "skipped", "skipped",
                                          "skipped", "success", "failed"]
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in world.settings.outbox_dir.glob("*.eml")]
    assert mail["To"] == "pi1@example.org" and "validation ERROR" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "img1.fits: PROV1: raw1.fits is neither a file of the release nor of the archive" in body
    assert "release-description.tar: -: the release description release-description.tar is missing" in body


def test_phase3_dags_shape(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    release = dagbag.get_dag(PHASE3_RELEASE_DAG)
    for upstream, downstream in zip(STEPS, STEPS[1:], strict=False):
        assert downstream in release.get_task(upstream).downstream_task_ids
    assert release.get_task("outcome").trigger_rule == "all_done" and release.schedule is None
    poll = dagbag.get_dag(PHASE3_POLL_DAG)
    assert poll.get_task("trigger_release").partial_kwargs["trigger_dag_id"] == PHASE3_RELEASE_DAG
    assert phase3_run_id(7) == "phase3-7" and phase3_run_id(7, 2) == "phase3-7-2"


def test_the_poll_starts_one_run_per_closed_release(dagbag: Any, sqlite_settings: Settings) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    world = make_world(sqlite_settings)
    workflow.close_release(world.settings, str(world.release_id), PI)
    run = run_dag(dagbag, PHASE3_POLL_DAG, {})
    assert set(task_states(run).values()) == {"success"}
    with create_session() as session:
        started = session.query(DagRun).filter_by(dag_id=PHASE3_RELEASE_DAG,
                                                  run_id=phase3_run_id(world.release_id)).one()
        assert dict(started.conf or {}) == {"release_id": world.release_id}
