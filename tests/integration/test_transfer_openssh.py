"""Key logins send file data with the OpenSSH scp client; the asyncssh path stays available."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devkit.peers import SshServer
from distribution.remote import HostKeyMismatch, LoginRefused, PermissionRefused
from distribution.remote._openssh import OpenSshCopier
from distribution.orders.push import open_pusher
from tests.servers import foreign_known_hosts, sftp_endpoint

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("client", ["openssh", "asyncssh"])
def test_both_clients_deliver_the_same_bytes(sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             client: str) -> None:
    monkeypatch.setenv("ARDIS_SCP_CLIENT", client)
    target = tmp_path / "in"
    target.mkdir()
    src = tmp_path / "g.hdf"
    src.write_bytes(os.urandom(3_000_001))
    with open_pusher(sftp_endpoint(sshd, target)) as pusher:
        assert pusher.put_file(src, "g.hdf") == 3_000_001
        assert (pusher.remote.openssh is not None) == (client == "openssh")  # type: ignore[attr-defined]
    assert (target / "g.hdf").read_bytes() == src.read_bytes()


def test_scp_errors_are_mapped_and_the_key_file_is_removed(sshd: SshServer, tmp_path: Path) -> None:
    src = tmp_path / "g.hdf"
    src.write_bytes(b"x" * 10)
    target = tmp_path / "in"
    target.mkdir()
    copier = OpenSshCopier(sftp_endpoint(sshd, tmp_path))
    try:
        assert copier.key.stat().st_mode & 0o777 == 0o600
        with pytest.raises(PermissionRefused):
            copier.copy(src, str(tmp_path / "missing" / "g.hdf"))
    finally:
        copier.close()
    assert not copier.folder.exists()
    wrong = OpenSshCopier(sftp_endpoint(sshd, tmp_path, known_hosts=foreign_known_hosts(sshd)))
    try:
        with pytest.raises(HostKeyMismatch):
            wrong.copy(src, str(target / "g.hdf"))
    finally:
        wrong.close()
    other_key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    stranger = OpenSshCopier(sftp_endpoint(sshd, tmp_path, private_key=other_key.read_text()))
    try:
        with pytest.raises(LoginRefused):
            stranger.copy(src, str(target / "g.hdf"))
    finally:
        stranger.close()
    assert list(target.iterdir()) == []  # nothing went to an unverified host or a refused login
