"""ESO Phase 3 through real ``dag.test()`` runs: a release uploaded over SFTP by curl, closed, validated, approved
through the REST API (the scientific validation), archived, published, then ordered by FtpPull; an invalid one
goes back to the PI."""

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
from distribution.phase3.releases import get_release
from tests.dags.conftest import run_dag, task_states
from tests.ftp_pull import order_and_pull
from tests.unit.phase3.conftest import PI, make_world
from tests.unit.phase3.fits_files import good_release
from tests.unit.phase3.test_archiving import archive_raw, in_upload_area
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
    assert got["img1.fits.1"] == (area / "img1.fits").read_bytes()


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
