"""The upload areas over SFTP (seed 000 "6. Upload Data"), driven by a real client: curl (libssh2).

The PI and a CoI upload into their Open release with their own logins; a
stranger, a wrong password, a closed release and a plain FTP client are refused.
"""

from __future__ import annotations

import ftplib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from distribution.db import session_scope
from distribution.orders.pull_server import load_or_create_secret
from distribution.phase3.areas import upload_area
from distribution.phase3.releases import get_release
from distribution.phase3.upload import UploadServer, host_key, upload_password
from distribution.phase3.workflow import close_release
from tests.unit.phase3.conftest import PI, World

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
RELEASE = "196.B-0001/SURVEY1/DR1"


@pytest.fixture
def server(world: World) -> Iterator[UploadServer]:
    running = UploadServer(world.settings).start()
    try:
        yield running
    finally:
        running.close()


def curl_upload(world: World, server: UploadServer, user: str, path: Path, target: str,
          password: str | None = None) -> subprocess.CompletedProcess[str]:
    password = password or upload_password(load_or_create_secret(world.settings.home), user)
    fingerprint = host_key(world.settings).get_fingerprint("sha256").removeprefix("SHA256:")
    return subprocess.run(
        ["curl", "-sS", "--user", f"{user}:{password}", "--hostpubsha256", fingerprint, "-T", str(path),
         f"sftp://127.0.0.1:{server.port}/{target}"], capture_output=True, text=True, timeout=60, check=False)


def _area(world: World) -> Path:
    with session_scope(world.settings.database_url) as session:
        return upload_area(world.settings, get_release(session, world.release_id))


def test_pi_and_coi_upload_strangers_and_closed_releases_refused(world: World, server: UploadServer,
                                                                tmp_path: Path) -> None:
    data = tmp_path / "img1.fits"
    data.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    assert curl_upload(world, server, "pi1", data, f"{RELEASE}/").returncode == 0
    assert (_area(world) / "img1.fits").read_bytes() == data.read_bytes()
    other = tmp_path / "img1.png"
    other.write_bytes(b"png")
    assert curl_upload(world, server, "coi1", other, f"{RELEASE}/img1.png").returncode == 0

    refused = curl_upload(world, server, "stranger1", other, f"{RELEASE}/evil.png")
    assert refused.returncode != 0 and not (_area(world) / "evil.png").exists()
    assert "Permission denied" in refused.stderr, refused.stderr
    wrong = curl_upload(world, server, "pi1", other, f"{RELEASE}/wrong.png", password="guessed-password")
    assert wrong.returncode != 0 and not (_area(world) / "wrong.png").exists()
    assert "Authentication failure" in wrong.stderr, wrong.stderr
    deep = curl_upload(world, server, "pi1", other, f"{RELEASE}/sub/x.png")
    assert deep.returncode != 0

    close_release(world.settings, RELEASE, PI)  # "FTP area becomes unavailable for the user"
    late = curl_upload(world, server, "pi1", other, f"{RELEASE}/late.png")
    assert late.returncode != 0 and not (_area(world) / "late.png").exists()
    assert "Permission denied" in late.stderr, late.stderr


def test_plain_ftp_is_refused(world: World, server: UploadServer) -> None:
    with pytest.raises((ftplib.Error, EOFError, OSError)):
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", server.port, timeout=10)
            ftp.login("pi1", upload_password(load_or_create_secret(world.settings.home), "pi1"))
    plain = subprocess.run(["curl", "-sS", "--max-time", "20", "--user", "pi1:x", f"ftp://127.0.0.1:{server.port}/"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert plain.returncode != 0
