"""Push deliveries through real ``dag.test()`` runs: FtpPush, scp (+ .notifyscp), SmbPush, and failures.

Credentials reach the tasks as Airflow Connections (``AIRFLOW_CONN_*``), never
through Ardis's database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import GranuleStatus, MediaType, RequestState
from distribution.orders.placing import Destination, RequestSpec, get_request
from devkit.peers import FtpServer, SmbServer, SshServer
from tests.dags.conftest import run_dag, task_states
from tests.integration.conftest import smbd, sshd  # noqa: F401  (fixtures)
from tests.servers import closed_port, foreign_known_hosts, run_ftp_server
from tests.dags.test_distribution_dag import archive, dn_of, order, outbox

pytestmark = pytest.mark.dags


def connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def ftp_target(tmp_path: Path) -> Iterator[FtpServer]:
    with run_ftp_server(tmp_path / "ftproot") as server:
        (server.root / "in").mkdir()
        yield server


def assert_delivered(settings: Settings, request_id: str, target: Path) -> None:
    """Every file of every granule is at the target with the archive's bytes."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.COMPLETE
        for rg in request.granules:
            assert rg.status == GranuleStatus.DELIVERED
            for rf in rg.files:
                delivered = (target / rf.dist_name).read_bytes()
                assert len(delivered) == rf.granule_file.size
                if rf.granule_file.checksum_value:
                    assert hashlib.md5(delivered).hexdigest() == rf.granule_file.checksum_value


def test_ftp_push(dagbag: Any, sqlite_settings: Settings, tmp_path: Path, ftp_target: FtpServer,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    connection(monkeypatch, "t_ftp", {"conn_type": "ftp", "host": "127.0.0.1", "port": ftp_target.port,
                                      "login": ftp_target.username, "password": ftp_target.password})
    urs = archive(sqlite_settings, tmp_path)
    request_id = order(sqlite_settings, RequestSpec(MediaType.FTP_PUSH, urs,
                                                    Destination("127.0.0.1", ftp_target.port, "/in", "t_ftp")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert set(task_states(run).values()) == {"success"}
    assert_delivered(sqlite_settings, request_id, ftp_target.root / "in")
    dn = dn_of(sqlite_settings, request_id)
    assert (dn.media_type, dn.ftp_host, dn.ftp_dir, dn.ftp_expires) == ("FtpPush", "127.0.0.1", "/in", None)


def test_scp_push_writes_the_dn_beside_the_data(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                                sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "scp-in"
    target.mkdir()
    connection(monkeypatch, "t_scp", {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd.port,
                                      "login": sshd.username,
                                      "extra": {"private_key": sshd.private_key, "known_hosts": sshd.known_hosts}})
    urs = archive(sqlite_settings, tmp_path)
    request_id = order(sqlite_settings, RequestSpec(MediaType.SCP, urs[:2],
                                                    Destination("127.0.0.1", sshd.port, str(target), "t_scp")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert set(task_states(run).values()) == {"success"}
    assert_delivered(sqlite_settings, request_id, target)
    dn = dn_of(sqlite_settings, request_id)
    assert dn.media_type == "scp"
    notify_file = (target / f"{request_id}.notifyscp").read_text()
    (mail,) = [m for m in outbox(sqlite_settings) if request_id in m.get_payload(decode=True).decode()]
    assert notify_file == mail.get_payload(decode=True).decode().replace("\r\n", "\n")  # mail is CRLF on the wire


def test_smb_push(dagbag: Any, sqlite_settings: Settings, tmp_path: Path, smbd: SmbServer,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    (smbd.root / "in").mkdir()
    connection(monkeypatch, "t_smb", {"conn_type": "samba", "host": "127.0.0.1", "port": smbd.port,
                                      "login": smbd.username, "password": smbd.password})
    urs = archive(sqlite_settings, tmp_path)
    request_id = order(sqlite_settings, RequestSpec(MediaType.SMB_PUSH, urs[:2],
                                                    Destination("127.0.0.1", smbd.port, f"{smbd.share}/in", "t_smb")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert set(task_states(run).values()) == {"success"}
    assert_delivered(sqlite_settings, request_id, smbd.root / "in")
    assert dn_of(sqlite_settings, request_id).media_type == "SmbPush"


def test_unreachable_host_is_retried_then_fails_with_the_failed_dn(
    dagbag: Any, sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    connection(monkeypatch, "t_dead", {"conn_type": "ftp", "host": "127.0.0.1", "port": port, "login": "u",
                                       "password": "p"})
    urs = archive(sqlite_settings, tmp_path)
    request_id = order(sqlite_settings, RequestSpec(MediaType.FTP_PUSH, urs[:2],
                                                    Destination("127.0.0.1", port, "/in", "t_dead")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    states = task_states(run)
    assert states["deliver"] == "failed" and states["notify"] == "success" and states["outcome"] == "failed"
    deliver = next(ti for ti in run.get_task_instances() if ti.task_id == "deliver")
    assert deliver.try_number == 3  # ARDIS_RETRIES=2 in tests: retried, not failed at once
    dn = dn_of(sqlite_settings, request_id)
    assert dn.failure == "The request failed"
    assert all("cannot connect" in str(g.failure) for g in dn.granules)
    with session_scope(sqlite_settings.database_url) as session:
        assert get_request(session, request_id).state == RequestState.FAILED


def test_wrong_host_key_fails_at_once_and_sends_nothing(
    dagbag: Any, sqlite_settings: Settings, tmp_path: Path, sshd: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "scp-in"
    target.mkdir()
    wrong = foreign_known_hosts(sshd)
    connection(monkeypatch, "t_bad_key", {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd.port,
                                          "login": sshd.username,
                                          "extra": {"private_key": sshd.private_key, "known_hosts": wrong}})
    urs = archive(sqlite_settings, tmp_path)
    request_id = order(sqlite_settings, RequestSpec(MediaType.SCP, urs[:1],
                                                    Destination("127.0.0.1", sshd.port, str(target), "t_bad_key")))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    deliver = next(ti for ti in run.get_task_instances() if ti.task_id == "deliver")
    assert deliver.state == "failed" and deliver.try_number == 1  # permanent: no retry
    assert list(target.iterdir()) == []  # no data and no .notifyscp went to an unverified host
    dn = dn_of(sqlite_settings, request_id)
    assert dn.failure == "The request failed"
    assert "host key" in str(dn.granules[0].failure)
