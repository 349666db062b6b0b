"""The FTP pull login and data rights, against the real pyftpdlib pull server: a user reaches only their own
requests' pull areas, and a proprietary granule they may not have never reaches any of them."""

from __future__ import annotations

import ftplib
import re
from pathlib import Path

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.inventory.rights import NotEntitled, set_rights
from distribution.models import Granule, GranuleStatus, MediaType
from distribution.orders import delivery
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.orders.pull_server import load_or_create_secret, pull_password
from devkit.sample_data import load_samples
from tests.conftest import make_settings
from tests.servers import run_pull_server

pytestmark = pytest.mark.integration


def _order(settings: Settings, user: str, urs: list[str]) -> str:
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, Contact(user, f"{user}@example.org"),
                             [RequestSpec(MediaType.FTP_PULL, urs)])
        return str(order.requests[0].request_id)


def _deliver(settings: Settings, request_id: str) -> dict[int, GranuleStatus]:
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    delivery.deliver_request(settings, request_id)
    with session_scope(settings.database_url) as session:
        return {rg.granule_id: rg.status for rg in get_request(session, request_id).granules}


def _tree(ftp: ftplib.FTP, path: str = "/") -> set[str]:
    """Every file a login reaches, by path."""
    found: set[str] = set()
    for name, facts in ftp.mlsd(path):
        if facts["type"] == "dir":
            found |= _tree(ftp, f"{path.rstrip('/')}/{name}")
        elif facts["type"] == "file":
            found.add(f"{path.rstrip('/')}/{name}")
    return found


def test_a_pull_login_reaches_only_its_own_requests_and_never_a_granule_it_may_not_have(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> None:
    settings = make_settings(monkeypatch, tmp_path / "home", sqlite_url, ARDIS_FTP_LOGIN_MODE="user")
    with session_scope(settings.database_url) as session:
        granules = load_samples(session, settings, tmp_path / "in", scale=1 / 256)[:3]
        urs = [granule_ur(g, settings) for g in granules]
        ids = [g.id for g in granules]
        lgids = {g.id: str(g.local_granule_id) for g in granules}
        set_rights(session, session.get(Granule, ids[2]), None, "pi")  # not released: group pi only

    alices = _order(settings, "alice", urs[:2])
    bobs = _order(settings, "bob", urs[:1])
    with pytest.raises(NotEntitled, match=re.escape(f"granule {urs[2]} is proprietary")):
        _order(settings, "bob", urs[2:])
    with session_scope(settings.database_url) as session:  # alice's second granule turns proprietary before staging
        set_rights(session, session.get(Granule, ids[1]), None, "pi")
    assert _deliver(settings, alices) == {ids[0]: GranuleStatus.DELIVERED, ids[1]: GranuleStatus.FAILED}
    assert _deliver(settings, bobs) == {ids[0]: GranuleStatus.DELIVERED}
    with session_scope(settings.database_url) as session:
        failed = next(rg for rg in get_request(session, alices).granules if rg.granule_id == ids[1])
        assert failed.failure_explanation == delivery.NOT_ENTITLED

    secret = load_or_create_secret(settings.home)
    with run_pull_server(settings.pull_root, secret) as server:
        def login(user: str, password_of: str) -> ftplib.FTP:
            ftp = ftplib.FTP()
            ftp.connect(server.host, server.port, timeout=10)
            ftp.login(user, pull_password(secret, password_of))
            return ftp

        with login("alice", "alice") as ftp:
            alice_files = _tree(ftp)
        with login("bob", "bob") as ftp:
            bob_files = _tree(ftp)
            for path in (f"/../alice/{alices}", f"/{alices}", f"../alice/{alices}"):
                with pytest.raises(ftplib.error_perm):
                    ftp.cwd(path)
        for user, password_of in (("alice", "bob"), ("bob", "alice")):
            with pytest.raises(ftplib.error_perm, match="530"):
                login(user, password_of)
    assert alice_files and {p.split("/")[1] for p in alice_files} == {alices}
    assert bob_files and {p.split("/")[1] for p in bob_files} == {bobs}
    assert all(lgids[ids[0]] in p for p in alice_files | bob_files)  # only the granule both may have
    assert not any(lgids[i] in p for i in ids[1:] for p in alice_files | bob_files)
    on_disk = {p.name for p in settings.pull_root.rglob("*") if p.is_file()}
    assert on_disk and not any(lgids[i] in name for i in ids[1:] for name in on_disk)
