"""Fault suite: every request ends with exactly one DN, and it gives a true reason a user can read.

Real ``dag.test()`` runs of ``ardis_distribution``: a push naming an Airflow
connection that does not exist, a destination nobody answers on, a staging disk
that is full (a real 128 KiB tmpfs; skipped with the reason where this machine
cannot mount one), an archive that lost its files. Afterwards the database,
the outbox and the disks are checked: one DN, the cause in it, no path or
address of the archive in it, nothing left behind.
"""

from __future__ import annotations

import email
import json
import subprocess
from collections.abc import Iterator
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.models import GranuleStatus, MediaType, RequestState
from distribution.notices.dn import DistributionNotice, parse_dn
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order, get_request
from tests.conftest import make_settings
from tests.dags.conftest import airflow_db, dagbag, run_dag, task_states  # noqa: F401  (fixtures)
from tests.servers import closed_port

pytestmark = pytest.mark.dags

USER = Contact(user_id="sips1", email="sips1@example.org")
STEPS = ("begin", "stage", "verify", "deliver", "notify", "outcome")


def _archive(settings: Settings, tmp_path: Path) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.05)]


def _order(settings: Settings, spec: RequestSpec) -> str:
    with session_scope(settings.database_url) as session:
        return str(create_order(session, settings, USER, [spec]).requests[0].request_id)


def _the_one_dn(settings: Settings, request_id: str) -> tuple[DistributionNotice, str]:
    """The request's only DN in the outbox: parsed, and its raw text."""
    bodies = [str(email.message_from_bytes(p.read_bytes(), policy=default).get_content())
              for p in sorted(settings.outbox_dir.glob("*.eml"))]
    mine = [b for b in bodies if f"REQUESTID: {request_id}\n" in b]
    assert len(mine) == 1, f"expected exactly one DN for {request_id}, found {len(mine)}"
    return parse_dn(mine[0]), mine[0]


def _assert_private(settings: Settings, text: str, *also: str) -> None:
    """Nothing of the archive's own places in what the user reads."""
    for secret in (str(settings.home), str(settings.archive_root), str(settings.staging_root), *also):
        assert secret not in text
    assert "://" not in text and "Errno" not in text


def _tries(run: Any, task_id: str) -> int:
    return int(next(ti for ti in run.get_task_instances() if ti.task_id == task_id).try_number)


def test_missing_connection_fails_at_once_with_one_failed_dn(
    dagbag: Any, sqlite_settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    urs = _archive(sqlite_settings, tmp_path)
    request_id = _order(sqlite_settings, RequestSpec(MediaType.FTP_PUSH, urs[:2],
                                                     Destination("127.0.0.1", 21, "/in", "t_nowhere")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    states = task_states(run)
    assert (states["begin"], states["notify"], states["outcome"]) == ("failed", "success", "failed")
    assert _tries(run, "begin") == 1 and states["deliver"] == "upstream_failed"  # nothing staged or retried
    dn, text = _the_one_dn(sqlite_settings, request_id)
    assert dn.failure == "The request failed"
    for g in dn.granules:
        assert g.failure == ("delivery failed - no credentials are set up at the archive for the destination "
                             "(Airflow connection t_nowhere is not defined)")
    _assert_private(sqlite_settings, text)
    with session_scope(sqlite_settings.database_url) as session:
        assert get_request(session, request_id).state == RequestState.FAILED
    assert not list(sqlite_settings.staging_root.glob(f"{request_id}/*"))


def test_dead_destination_dn_says_why_without_the_address(
    dagbag: Any, sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    port = closed_port()
    monkeypatch.setenv("AIRFLOW_CONN_T_DEAD", json.dumps({"conn_type": "ftp", "host": "127.0.0.1", "port": port,
                                                          "login": "u", "password": "p"}))
    urs = _archive(sqlite_settings, tmp_path)
    request_id = _order(sqlite_settings, RequestSpec(MediaType.FTP_PUSH, urs[:2],
                                                     Destination("", None, "/in", "t_dead")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert task_states(run)["deliver"] == "failed" and _tries(run, "deliver") == 3  # retried: it may come back
    dn, text = _the_one_dn(sqlite_settings, request_id)
    assert dn.failure == "The request failed"
    assert {g.failure for g in dn.granules} == {"delivery failed - cannot connect to the destination: "
                                                "Connection refused"}
    _assert_private(sqlite_settings, text, str(port), "127.0.0.1")  # the connection's host is the archive's


def test_archive_files_gone_pull_dn_gives_the_reason_and_no_pull_directory(
    dagbag: Any, sqlite_settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    urs = _archive(sqlite_settings, tmp_path)
    request_id = _order(sqlite_settings, RequestSpec(MediaType.FTP_PULL, urs[:1]))
    with session_scope(sqlite_settings.database_url) as session:
        for gf in get_request(session, request_id).granules[0].granule.files:
            Path(gf.archive_path).unlink()
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert task_states(run)["outcome"] == "failed"
    dn, text = _the_one_dn(sqlite_settings, request_id)
    assert dn.failure == "The request failed"
    assert (dn.ftp_dir, dn.ftp_expires) == ("", None) and "FTPEXPR" not in text
    (granule,) = dn.granules
    assert granule.failure is not None and "archive file is missing: MOD09GHK" in granule.failure
    _assert_private(sqlite_settings, text)
    assert not any(sqlite_settings.pull_root.rglob("*"))  # no directory for nobody


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 KiB tmpfs: a real filesystem that fills up (root only; skipped with the reason elsewhere)."""
    mount = tmp_path / "tiny-staging"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k,mode=0755", "ardis-full", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_staging_disk_dn_names_the_cause_and_frees_the_space(
    dagbag: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str, full_disk: Path  # noqa: F811
) -> None:
    settings = make_settings(monkeypatch, tmp_path / "home", sqlite_url, ARDIS_STAGING_ROOT=str(full_disk))
    urs = _archive(settings, tmp_path)
    # The 52 KiB granule fits and is copied first (a tmpfs is another filesystem: no hard link);
    # the 154 KiB one does not fit.
    request_id = _order(settings, RequestSpec(MediaType.FTP_PULL, [urs[2], urs[0]]))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    states = task_states(run)
    assert (states["stage"], states["notify"], states["outcome"]) == ("failed", "success", "failed")
    assert _tries(run, "stage") == 3  # a disk can be cleared: retried
    dn, text = _the_one_dn(settings, request_id)
    assert dn.failure == "The request failed"
    for g in dn.granules:
        assert g.failure is not None and g.failure.startswith("staging failed - no space left on the disk for ")
    _assert_private(settings, text, str(full_disk))
    assert [p for p in full_disk.rglob("*") if p.is_file()] == []  # what the failed tries copied is gone
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.FAILED
        assert {rg.status for rg in request.granules} == {GranuleStatus.FAILED}
