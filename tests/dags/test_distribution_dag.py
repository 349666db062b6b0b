"""End to end through real ``dag.test()`` runs of ``ardis_distribution``, one per method and failure.

Each test archives sample granules, places an order, runs the request's DAG, and
checks the delivered bytes, the granule statuses and the DN in the outbox.
"""

from __future__ import annotations

import email
import ftplib
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.orders.pull_server import build_pull_server, load_or_create_secret, pull_password
from distribution.models import GranuleStatus, MediaType, Notice, RequestState
from distribution.notices.dn import parse_dn
from distribution.orders.placing import Contact, Destination, RequestSpec, cancel_order, create_order, get_request
from tests.dags.conftest import run_dag, task_states

pytestmark = pytest.mark.dags

USER = Contact(user_id="sips1", email="sips1@example.org", checksum_list=True)


def archive(settings: Settings, tmp_path: Path) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.05)]


def order(settings: Settings, spec: RequestSpec, contact: Contact = USER) -> str:
    with session_scope(settings.database_url) as session:
        return str(create_order(session, settings, contact, [spec]).requests[0].request_id)


def outbox(settings: Settings) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(settings.outbox_dir.glob("*.eml"))]


def dn_of(settings: Settings, request_id: str) -> Any:
    messages = [m for m in outbox(settings) if request_id in m.get_payload(decode=True).decode()]
    assert len(messages) == 1, f"expected one DN for {request_id}, found {len(messages)}"
    return parse_dn(messages[0].get_payload(decode=True).decode())


def test_ftp_pull_end_to_end(dagbag: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    urs = archive(settings, tmp_path)
    request_id = order(settings, RequestSpec(MediaType.FTP_PULL, urs, userstring="pull test"))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert task_states(run) == dict.fromkeys(["begin", "stage", "verify", "deliver", "notify", "outcome"], "success")

    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.COMPLETE
        assert request.airflow_run_id == run.run_id
        login = str(request.order.order_id)
        expected = {rf.dist_name: rf.granule_file.checksum_value for rg in request.granules for rf in rg.files}
        ftp_dir = str(request.ftp_dir)
    server = build_pull_server(settings.pull_root, "127.0.0.1", 0, load_or_create_secret(settings.home))
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"handle_exit": False}, daemon=True)
    thread.start()
    try:
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", port, timeout=10)
            ftp.login(login, pull_password(load_or_create_secret(settings.home), login))
            ftp.cwd(ftp_dir)
            assert sorted(ftp.nlst()) == sorted(expected)
            for name, checksum in expected.items():
                chunks: list[bytes] = []
                ftp.retrbinary(f"RETR {name}", chunks.append)
                if checksum:
                    assert hashlib.md5(b"".join(chunks)).hexdigest() == checksum
    finally:
        server.close_all()

    dn = dn_of(settings, request_id)
    assert dn.request_id == request_id and dn.media_type == "FtpPull" and dn.failure is None
    assert dn.ftp_dir == ftp_dir and dn.ftp_expires is not None
    assert [g.ur for g in dn.granules] == urs
    names = [f.name for g in dn.granules for f in g.files]
    assert "AST_L1BT_00305042002163000_13683.1" in names and "AST_L1BT_00305042002163000_13683.met" in names
    assert all(f.checksum_type == "MD5" for g in dn.granules for f in g.files if not f.name.endswith(".met"))


def test_corrupted_archive_file_fails_only_its_granule(dagbag: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    urs = archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        request_id = order(settings, RequestSpec(MediaType.FTP_PULL, urs[:2]))
        victim = get_request(session, request_id).granules[1].granule.files[0]
        Path(victim.archive_path).write_bytes(b"bit rot")  # same inode: staged link sees it too
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert task_states(run)["outcome"] == "success"  # partial, not failed
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.PARTIAL
        good, bad = request.granules
        assert good.status == GranuleStatus.DELIVERED and bad.status == GranuleStatus.FAILED
        assert "checksum" in str(bad.failure_explanation)
        pull = settings.pull_root / str(request.order.order_id) / request_id
        delivered = {p.name for p in pull.iterdir()}
        assert not any(rf.dist_name in delivered for rf in bad.files)
    dn = dn_of(settings, request_id)
    assert dn.failure is None
    assert dn.granules[1].failure is not None and dn.granules[1].failure.startswith("checksum verification failed")
    assert [f.name for f in dn.granules[1].files] == ["N/A"]


def test_cancelled_request_sends_the_cancellation_dn(dagbag: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    urs = archive(settings, tmp_path)
    request_id = order(settings, RequestSpec(MediaType.FTP_PUSH, urs[:2],
                                             Destination(host="127.0.0.1", port=1, directory="/in")))
    with session_scope(settings.database_url) as session:
        cancel_order(session, str(get_request(session, request_id).order.order_id))
    run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert task_states(run)["notify"] == "success"
    dn = dn_of(settings, request_id)
    assert dn.failure == "The request was cancelled"
    assert {g.failure for g in dn.granules} == {"Request Canceled"}
    with session_scope(settings.database_url) as session:
        assert get_request(session, request_id).state == RequestState.CANCELLED
        assert not any(settings.staging_root.glob(f"{request_id}/*"))  # nothing staged


def test_notice_is_never_sent_twice(dagbag: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    urs = archive(settings, tmp_path)
    request_id = order(settings, RequestSpec(MediaType.FTP_PULL, urs[:1]))
    run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    run_dag(dagbag, "ardis_distribution", {"request_id": request_id})  # a second run of the same request
    dn_of(settings, request_id)  # asserts exactly one
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(Notice).where(Notice.kind == "dn")).all()) == 1
