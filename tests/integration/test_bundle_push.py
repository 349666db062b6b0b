"""Bundles pushed (ISDC, issue 16 item 7): FtpPush, scp/SFTP and SmbPush against the real servers on 127.0.0.1.

Each request goes through the real steps (stage, verify, deliver, DN): the bundles are made in the
staging area and pushed; the DN lists each bundle part with its checksum; the parts joined and
decompressed give the archive's bytes.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from contextlib import contextmanager
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import update

from devkit.sample_data import load_samples
from distribution.checksums import checksum_file
from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.models import GranuleStatus, MediaType, RequestFile, RequestGranule, RequestState
from distribution.notices.dn import DistributionNotice, parse_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery, notify
from distribution.orders.delivery import Credentials
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order, get_request
from tests.bundled import unbundle
from tests.faults.test_push_claims import Watch, twice_at_once, watching_handler
from tests.servers import run_ftp_server, run_smbd, run_sshd

pytestmark = pytest.mark.integration

USER = Contact(user_id="bundlepush", email="bundle.push@example.org")


@contextmanager
def _peer(method: str, tmp_path: Path) -> Iterator[tuple[Destination, dict[str, object], Credentials, Path]]:
    """The server for ``method``: where to push, its Airflow Connection, the credentials, where files land."""
    if method == "ftp":
        with run_ftp_server(tmp_path / "ftproot") as ftp:
            (ftp.root / "in").mkdir()
            yield (Destination(ftp.host, ftp.port, "/in", "t_bundle_ftp"),
                   {"conn_type": "ftp", "login": ftp.username, "password": ftp.password},
                   Credentials(username=ftp.username, password=ftp.password), ftp.root / "in")
    elif method == "scp":
        with run_sshd(tmp_path / "sshd") as sshd:
            target = tmp_path / "scp-in"
            target.mkdir()
            yield (Destination(sshd.host, sshd.port, str(target), "t_bundle_scp"),
                   {"conn_type": "sftp", "login": sshd.username,
                    "extra": {"private_key": sshd.private_key, "known_hosts": sshd.known_hosts}},
                   Credentials(username=sshd.username, private_key=sshd.private_key, known_hosts=sshd.known_hosts),
                   target)
    else:
        with run_smbd(tmp_path / "smbd") as smbd:
            (smbd.root / "in").mkdir()
            yield (Destination(smbd.host, smbd.port, f"{smbd.share}/in", "t_bundle_smb"),
                   {"conn_type": "samba", "login": smbd.username, "password": smbd.password},
                   Credentials(username=smbd.username, password=smbd.password), smbd.root / "in")


def _ordered(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, media_type: MediaType,
             destination: Destination, connection: dict[str, object], **bundle: str) -> str:
    """Three sample granules ordered with ``bundle``'s options, the Connection set, staged and verified."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{destination.conn_id.upper()}", json.dumps(connection))
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        order = create_order(session, settings, USER,
                             [RequestSpec(media_type, urs[:3], destination, **bundle)])  # type: ignore[arg-type]
        request_id = str(order.requests[0].request_id)
    delivery.stage_request(settings, request_id)
    assert delivery.verify_request(settings, request_id)["failed"] == 0
    return request_id


def _push(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, media_type: MediaType,
          destination: Destination, connection: dict[str, object], credentials: Credentials,
          **bundle: str) -> str:
    request_id = _ordered(settings, tmp_path, monkeypatch, media_type, destination, connection, **bundle)
    assert delivery.deliver_request(settings, request_id, credentials) == {"delivered": 3}
    notify.notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir), lambda: credentials)
    return request_id


def _dn(settings: Settings, request_id: str) -> DistributionNotice:
    [eml] = [p for p in settings.outbox_dir.glob("*.eml") if request_id in p.read_text()]
    return parse_dn(str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content()))


def _check(settings: Settings, request_id: str, target: Path, kind: str, per_request: bool) -> None:
    """What landed is what the DN lists (names, sizes, checksums), and it holds the archive's bytes."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.COMPLETE
        staged = {rg.directory_number: {rf.dist_name: Path(str(rf.staged_path)).read_bytes() for rf in rg.files}
                  for rg in request.granules}
        archive = {rf.dist_name: Path(rf.granule_file.archive_path).read_bytes() for rg in request.granules
                   for rf in rg.files if not rf.written}
    dn = _dn(settings, request_id)
    listed = [f for g in dn.granules for f in g.files]
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".notifyscp")) == \
        sorted(f.name for f in listed)
    for f in listed:
        assert (f.checksum_type, f.checksum_value, f.size) == (
            "CKSUM", checksum_file(target / f.name, "CKSUM"), (target / f.name).stat().st_size)
    groups = [dn.granules[0].files] if per_request else [g.files for g in dn.granules]
    assert all(groups) and (not per_request or not any(g.files for g in dn.granules[1:]))
    inside: dict[str, bytes] = {}
    for files in groups:
        got = unbundle([target / f.name for f in files], kind)
        assert got.pop("CHECKSUMS.cksum")
        inside |= got
    expected = {(f"{n:05d}/{name}" if per_request else name): data
                for n, files in staged.items() for name, data in files.items()}
    assert inside == expected
    by_name = {k.rsplit("/", 1)[-1]: v for k, v in inside.items()}
    assert all(by_name[name] == data for name, data in archive.items())  # the archive's bytes


@pytest.mark.parametrize(("method", "media_type", "kind"), [("ftp", MediaType.FTP_PUSH, "tar.gz"),
                                                           ("scp", MediaType.SCP, "tar.zst"),
                                                           ("smb", MediaType.SMB_PUSH, "tar.gz")])
def test_a_pushed_request_gets_a_bundle_per_granule_listed_with_its_checksum(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, media_type: MediaType,
        kind: str) -> None:
    object.__setattr__(settings, "bundle_split_bytes", 30_000)  # a bundle over it goes in parts
    with _peer(method, tmp_path) as (destination, connection, credentials, target):
        request_id = _push(settings, tmp_path, monkeypatch, media_type, destination, connection, credentials,
                           bundle=kind)
    _check(settings, request_id, target, kind, per_request=False)
    assert any(len(g.files) > 1 for g in _dn(settings, request_id).granules)  # split


def test_one_bundle_per_request_over_sftp(settings: Settings, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with _peer("scp", tmp_path) as (destination, connection, credentials, target):
        request_id = _push(settings, tmp_path, monkeypatch, MediaType.SCP, destination, connection, credentials,
                           bundle="tar.gz", bundle_per="request")
    _check(settings, request_id, target, "tar.gz", per_request=True)
    assert [f.name for f in _dn(settings, request_id).granules[0].files] == [f"{request_id}.tar.gz"]


def test_a_retried_bundle_push_sends_the_recorded_bundles_again_whole(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A try killed after the peer had the parts and before they were recorded: the retry pushes the same
    bundles (made once, kept in the staging area) again, each whole; the DN's checksums stay true."""
    with _peer("ftp", tmp_path) as (destination, connection, credentials, target):
        request_id = _ordered(settings, tmp_path, monkeypatch, MediaType.FTP_PUSH, destination, connection,
                              bundle="tar.gz")
        delivery.deliver_request(settings, request_id, credentials)
        made = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
        for p in target.iterdir():  # what a killed try leaves at the peer: a partial file
            p.write_bytes(p.read_bytes()[:100])
        with session_scope(settings.database_url) as session:
            request = get_request(session, request_id)
            ids = [rg.id for rg in request.granules]
            session.execute(update(RequestFile).where(RequestFile.request_granule_id.in_(ids))
                            .values(delivered_at=None))
            session.execute(update(RequestGranule).where(RequestGranule.id.in_(ids))
                            .values(status=GranuleStatus.VERIFIED))
            staged = {p.name: p.stat().st_mtime_ns
                      for p in (delivery.staging_directory(settings, request) / "bundles").iterdir()}
        assert delivery.deliver_request(settings, request_id, credentials) == {"delivered": 3}
        with session_scope(settings.database_url) as session:
            request = get_request(session, request_id)
            assert staged == {p.name: p.stat().st_mtime_ns  # not made again
                              for p in (delivery.staging_directory(settings, request) / "bundles").iterdir()}
        assert set(made) == {p.name for p in target.iterdir()}
        notify.notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir), lambda: credentials)
    _check(settings, request_id, target, "tar.gz", per_request=False)


def test_two_runs_at_once_push_each_bundle_once(settings: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two deliver steps of one bundled request released together: every bundle goes once, whole."""
    watch = Watch()
    with run_ftp_server(tmp_path / "ftproot", handler_base=watching_handler(watch)) as ftp:
        (ftp.root / "in").mkdir()
        credentials = Credentials(username=ftp.username, password=ftp.password)
        request_id = _ordered(settings, tmp_path, monkeypatch, MediaType.FTP_PUSH,
                              Destination(ftp.host, ftp.port, "/in", "t_bundle_twice"),
                              {"conn_type": "ftp", "login": ftp.username, "password": ftp.password}, bundle="tar.zst")
        twice_at_once(lambda: delivery.deliver_request(settings, request_id, credentials))
        notify.notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir), lambda: credentials)
    assert len(watch.stors) == 3 and set(watch.stors.values()) == {1} and not watch.incomplete
    _check(settings, request_id, ftp.root / "in", "tar.zst", per_request=False)
