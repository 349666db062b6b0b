"""The upload areas over SFTP (seed 000 "6. Upload Data"), driven by a real client: curl (libssh2).

The PI and a CoI upload into their Open release with their own logins (a
password, or an SSH key through OpenSSH's sftp); a stranger, a wrong password,
an unknown key, a closed release and a plain FTP client are refused.
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
from distribution.errors import UserError
from distribution.phase3.upload import UploadServer, add_upload_key, host_key, upload_keys, upload_password
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


def _sftp_with_key(world: World, server: UploadServer, user: str, key: Path, batch: str
                   ) -> subprocess.CompletedProcess[str]:
    """OpenSSH's sftp with a private key only (no password, no agent), trusting the server's host key."""
    known = key.parent / "known_hosts"
    known.write_text(f"[127.0.0.1]:{server.port} {host_key(world.settings).export_public_key('openssh').decode()}")
    return subprocess.run(
        ["sftp", "-b", "-", "-P", str(server.port), "-i", str(key), "-o", "IdentitiesOnly=yes",
         "-o", "IdentityAgent=none", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
         "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         f"{user}@127.0.0.1"], input=batch, capture_output=True, text=True, timeout=60, check=False)


def test_a_user_logs_in_with_an_ssh_key_once_it_is_added(world: World, server: UploadServer, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    data = tmp_path / "img1.png"
    data.write_bytes(b"\x89PNG by key")
    batch = f"cd {RELEASE}\nput {data}\n"
    before = _sftp_with_key(world, server, "coi1", key, batch)
    assert before.returncode != 0 and not (_area(world) / "img1.png").exists()
    with pytest.raises(UserError, match="not an OpenSSH public key"):
        add_upload_key(world.settings, "coi1", key.read_text())  # the private key is refused
    with pytest.raises(UserError, match="no Ardis user"):
        add_upload_key(world.settings, "nobody", (tmp_path / "id_ed25519.pub").read_text())
    fingerprint = add_upload_key(world.settings, "coi1", (tmp_path / "id_ed25519.pub").read_text())
    assert add_upload_key(world.settings, "coi1", (tmp_path / "id_ed25519.pub").read_text()) == fingerprint
    assert upload_keys(world.settings, "coi1") == [fingerprint]  # added once
    sent = _sftp_with_key(world, server, "coi1", key, batch)
    assert sent.returncode == 0, sent.stderr
    assert (_area(world) / "img1.png").read_bytes() == data.read_bytes()
    other = _sftp_with_key(world, server, "pi1", key, batch)  # coi1's key is not pi1's
    assert other.returncode != 0
    close_release(world.settings, RELEASE, PI)
    late = _sftp_with_key(world, server, "coi1", key, f"cd {RELEASE}\nput {data} late.png\n")
    assert late.returncode != 0 and not (_area(world) / "late.png").exists()
