"""Pushes against real servers on 127.0.0.1: FTP (pyftpdlib), SFTP (OpenSSH sshd), SMB (Samba smbd)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from distribution.errors import PermanentError
from distribution.peers import FtpServer, SmbServer, SshServer, run_sshd
from distribution.transfer import (
    AuthenticationFailed,
    Endpoint,
    HostKeyMismatch,
    RemotePathError,
    TransferRetryable,
    open_pusher,
)

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when we return


def data_file(tmp_path: Path, size: int = 3_000_017) -> Path:
    path = tmp_path / "granule.hdf"
    path.write_bytes(os.urandom(size))
    return path


def ftp_endpoint(ftp: FtpServer, **overrides: object) -> Endpoint:
    values: dict[str, object] = {"method": "ftp", "host": ftp.host, "port": ftp.port, "directory": "/in",
                                 "username": ftp.username, "password": ftp.password}
    values.update(overrides)
    return Endpoint(**values)  # type: ignore[arg-type]


def ssh_endpoint(ssh: SshServer, directory: Path, **overrides: object) -> Endpoint:
    values: dict[str, object] = {"method": "sftp", "host": ssh.host, "port": ssh.port, "directory": str(directory),
                                 "username": ssh.username, "private_key": ssh.private_key,
                                 "known_hosts": ssh.known_hosts}
    values.update(overrides)
    return Endpoint(**values)  # type: ignore[arg-type]


def smb_endpoint(smb: SmbServer, **overrides: object) -> Endpoint:
    values: dict[str, object] = {"method": "smb", "host": smb.host, "port": smb.port, "directory": f"{smb.share}/in",
                                 "username": smb.username, "password": smb.password}
    values.update(overrides)
    return Endpoint(**values)  # type: ignore[arg-type]


# --- FTP -----------------------------------------------------------------------------------


def test_ftp_push_overwrites_a_partial_file_and_checks_size(ftp_target: FtpServer, tmp_path: Path) -> None:
    (ftp_target.root / "in").mkdir()
    src = data_file(tmp_path)
    (ftp_target.root / "in" / "G.hdf").write_bytes(b"partial from an earlier try")
    with open_pusher(ftp_endpoint(ftp_target)) as pusher:
        assert pusher.put_file(src, "G.hdf") == src.stat().st_size
        pusher.put_text("0100000001.notify", "DN\ttext \n")
        assert pusher.remote_size("G.hdf") == src.stat().st_size
        assert pusher.remote_size("nope") is None
    assert (ftp_target.root / "in" / "G.hdf").read_bytes() == src.read_bytes()
    assert (ftp_target.root / "in" / "0100000001.notify").read_bytes() == b"DN\ttext \n"


def test_ftp_unreachable_host_is_retryable() -> None:
    with pytest.raises(TransferRetryable, match="cannot connect"):
        open_pusher(Endpoint("ftp", "127.0.0.1", closed_port(), "/", "u", "p", timeout=5)).__enter__()


def test_ftp_wrong_password_and_missing_directory_are_permanent(ftp_target: FtpServer) -> None:
    with pytest.raises(AuthenticationFailed) as e:
        open_pusher(ftp_endpoint(ftp_target, password="wrong")).__enter__()
    assert "wrong" not in str(e.value)  # the password never appears
    with pytest.raises(RemotePathError, match="/missing"):
        open_pusher(ftp_endpoint(ftp_target, directory="/missing")).__enter__()


# --- SFTP (the DN's scp) ---------------------------------------------------------------------


def test_sftp_push_with_verified_host_key(sshd: SshServer, tmp_path: Path) -> None:
    target = tmp_path / "incoming"
    target.mkdir()
    src = data_file(tmp_path)
    (target / "G.hdf").write_bytes(b"partial")
    with open_pusher(ssh_endpoint(sshd, target)) as pusher:
        assert pusher.put_file(src, "G.hdf") == src.stat().st_size
        pusher.put_text("0100000001.notifyscp", "ORDERID: 1\n\tGRANULE: x \n")
    assert (target / "G.hdf").read_bytes() == src.read_bytes()
    assert (target / "0100000001.notifyscp").read_text() == "ORDERID: 1\n\tGRANULE: x \n"


def test_sftp_wrong_host_key_is_refused_before_any_data(sshd: SshServer, tmp_path: Path) -> None:
    with run_sshd(tmp_path / "other") as other:  # a different server's key, on record for this port
        wrong = sshd.known_hosts.split()[0] + " " + " ".join(other.known_hosts.split()[1:]) + "\n"
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(HostKeyMismatch, match="does not match"):
        open_pusher(ssh_endpoint(sshd, target, known_hosts=wrong)).__enter__()
    with pytest.raises(HostKeyMismatch, match="no host key on record"):
        open_pusher(ssh_endpoint(sshd, target, known_hosts=None)).__enter__()
    assert list(target.iterdir()) == []


def test_sftp_only_server_gets_sftp(tmp_path: Path) -> None:
    with run_sshd(tmp_path / "sftp-only", sftp_only=True) as server:
        target = tmp_path / "in"
        target.mkdir()
        src = data_file(tmp_path, 200_001)
        with open_pusher(ssh_endpoint(server, target)) as pusher:
            assert pusher.put_file(src, "a.hdf") == 200_001
            assert pusher.put_file(src, "b.hdf") == 200_001
        assert (target / "a.hdf").read_bytes() == src.read_bytes() == (target / "b.hdf").read_bytes()


def test_sftp_errors(sshd: SshServer, tmp_path: Path) -> None:
    other_key = tmp_path / "k"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    with pytest.raises(AuthenticationFailed):
        open_pusher(ssh_endpoint(sshd, tmp_path, private_key=other_key.read_text())).__enter__()
    with pytest.raises(RemotePathError, match="does not exist"):
        open_pusher(ssh_endpoint(sshd, tmp_path / "missing")).__enter__()
    with pytest.raises(TransferRetryable):
        open_pusher(ssh_endpoint(sshd, tmp_path, port=closed_port(), timeout=5)).__enter__()


# --- SMB -------------------------------------------------------------------------------------


def test_smb_push(smbd: SmbServer, tmp_path: Path) -> None:
    (smbd.root / "in").mkdir()
    src = data_file(tmp_path)
    (smbd.root / "in" / "G.hdf").write_bytes(b"partial")
    with open_pusher(smb_endpoint(smbd)) as pusher:
        assert pusher.put_file(src, "G.hdf") == src.stat().st_size
        pusher.put_text("dn.txt", "a\tb \n")
    assert (smbd.root / "in" / "G.hdf").read_bytes() == src.read_bytes()
    assert (smbd.root / "in" / "dn.txt").read_bytes() == b"a\tb \n"


def test_smb_errors(smbd: SmbServer) -> None:
    with pytest.raises(AuthenticationFailed):
        open_pusher(smb_endpoint(smbd, password="wrong")).__enter__()
    with pytest.raises(RemotePathError):
        open_pusher(smb_endpoint(smbd, directory=f"{smbd.share}/missing")).__enter__()
    with pytest.raises(TransferRetryable):
        open_pusher(smb_endpoint(smbd, port=closed_port(), timeout=5)).__enter__()


# --- local -----------------------------------------------------------------------------------


def test_local_push(tmp_path: Path) -> None:
    src = data_file(tmp_path, 1000)
    (tmp_path / "out").mkdir()
    with open_pusher(Endpoint("local", directory=str(tmp_path / "out"))) as pusher:
        pusher.put_file(src, "x")
        with pytest.raises(PermanentError):
            pusher.put_file(src, "../escape")
    assert (tmp_path / "out" / "x").read_bytes() == src.read_bytes()
    with pytest.raises(RemotePathError):
        open_pusher(Endpoint("local", directory=str(tmp_path / "none"))).__enter__()
