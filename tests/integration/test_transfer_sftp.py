"""scp delivery (SFTP with asyncssh) against a real OpenSSH sshd on 127.0.0.1, host key always checked."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from distribution.orders.push import (
    AuthenticationFailed,
    HostKeyMismatch,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
    open_pusher,
)
from tests.servers import SshServer, closed_port, foreign_known_hosts, run_sshd, sftp_endpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def target(tmp_path: Path) -> Path:
    directory = tmp_path / "incoming"
    directory.mkdir()
    return directory


def test_push_replaces_a_partial_file_and_writes_the_dn(sshd: SshServer, target: Path, tmp_path: Path) -> None:
    src = tmp_path / "G.hdf"
    src.write_bytes(os.urandom(4 * (1 << 20) + 3))  # many SFTP writes in flight, and a short tail
    (target / "G.hdf").write_bytes(b"the first 20 bytes..")
    dn = "ORDERID: 0100000001\nREQUESTID: 0100000002\n\tGRANULE: UR:10:DsShESDTUR:UR:15 \n"
    with open_pusher(sftp_endpoint(sshd, target)) as pusher:
        assert pusher.remote_size("G.hdf") == 20
        assert pusher.put_file(src, "G.hdf") == src.stat().st_size
        pusher.put_text("0100000002.notifyscp", dn)
        assert pusher.remote_size("G.hdf") == src.stat().st_size
        assert pusher.remote_size("absent") is None
    assert (target / "G.hdf").read_bytes() == src.read_bytes()
    assert (target / "0100000002.notifyscp").read_bytes() == dn.encode()


def test_an_sftp_only_server_gets_the_files_by_sftp(tmp_path: Path, target: Path) -> None:
    src = tmp_path / "G.hdf"
    src.write_bytes(os.urandom(1 << 20))
    (target / "G.hdf").write_bytes(b"partial")
    with run_sshd(tmp_path / "sftp-only", sftp_only=True) as server:
        with open_pusher(sftp_endpoint(server, target)) as pusher:
            assert pusher.put_file(src, "G.hdf") == 1 << 20
            assert not pusher.remote.use_scp  # type: ignore[attr-defined]
            pusher.put_text("0100000002.notifyscp", "DN\n")
    assert (target / "G.hdf").read_bytes() == src.read_bytes()
    assert (target / "0100000002.notifyscp").read_text() == "DN\n"


@pytest.mark.parametrize("client", ["asyncssh", "openssh"])
def test_a_directory_the_shell_would_misread_is_used_verbatim(sshd: SshServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    monkeypatch.setenv("ARDIS_SCP_CLIENT", client)
    odd = tmp_path / "in box $(touch pwned) 'q'; x"
    odd.mkdir()
    src = tmp_path / "a"
    src.write_bytes(b"x" * 1000)
    with open_pusher(sftp_endpoint(sshd, odd)) as pusher:
        pusher.put_file(src, "a b.hdf")
        # A full OpenSSH server: asyncssh sends by the SCP protocol; a key login may use the OpenSSH client.
        assert pusher.remote.use_scp == (client == "asyncssh")  # type: ignore[attr-defined]
        assert (pusher.remote.openssh is not None) == (client == "openssh")  # type: ignore[attr-defined]
    assert (odd / "a b.hdf").read_bytes() == src.read_bytes()
    assert not list(tmp_path.rglob("pwned"))


def test_a_changed_host_key_is_refused_before_any_data(sshd: SshServer, target: Path) -> None:
    with pytest.raises(HostKeyMismatch, match="does not match"):
        open_pusher(sftp_endpoint(sshd, target, known_hosts=foreign_known_hosts(sshd))).__enter__()
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("known_hosts", [None, "", "[127.0.0.1]:22 ssh-ed25519 not-base64!\n"])
def test_no_usable_host_key_on_record_is_refused(sshd: SshServer, target: Path, known_hosts: str | None) -> None:
    with pytest.raises(HostKeyMismatch):
        open_pusher(sftp_endpoint(sshd, target, known_hosts=known_hosts)).__enter__()


def test_wrong_key_or_password_is_permanent(sshd: SshServer, target: Path, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with pytest.raises(AuthenticationFailed, match="refused"):
        open_pusher(sftp_endpoint(sshd, target, private_key=other.read_text())).__enter__()
    with pytest.raises(AuthenticationFailed) as e:
        open_pusher(sftp_endpoint(sshd, target, private_key=None, password="hunter2-wrong")).__enter__()
    assert "hunter2-wrong" not in str(e.value)
    with pytest.raises(AuthenticationFailed, match="private key"):
        open_pusher(sftp_endpoint(sshd, target, private_key="-----BEGIN NOTHING-----\n")).__enter__()


def test_missing_directory_or_a_file_in_its_place_is_permanent(sshd: SshServer, target: Path) -> None:
    with pytest.raises(RemotePathError, match="does not exist"):
        open_pusher(sftp_endpoint(sshd, target / "missing")).__enter__()
    (target / "plain").write_text("x")
    with pytest.raises(RemotePathError, match="not a directory"):
        open_pusher(sftp_endpoint(sshd, target / "plain")).__enter__()


def test_bad_names_are_refused_and_the_session_survives(sshd: SshServer, target: Path, tmp_path: Path) -> None:
    src = tmp_path / "x"
    src.write_bytes(b"12345")
    (target / "adir").mkdir()
    with open_pusher(sftp_endpoint(sshd, target)) as pusher:
        with pytest.raises(TransferRefused):
            pusher.put_file(src, "../escape")
        with pytest.raises(RemotePathError, match="a directory stands there"):
            pusher.put_file(src, "adir")  # never into it
        assert pusher.put_file(src, "ok") == 5
    assert not (tmp_path / "escape").exists()
    assert list((target / "adir").iterdir()) == []


@pytest.mark.parametrize("client", ["asyncssh", "openssh"])
def test_a_batch_goes_on_one_connection_and_its_errors_are_the_pushers(
        sshd: SshServer, target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    monkeypatch.setenv("ARDIS_SCP_CLIENT", client)
    sources = [tmp_path / f"G{i}.hdf" for i in range(12)]
    for i, src in enumerate(sources):
        src.write_bytes(os.urandom(1000 * i))
    (target / "adir").mkdir()
    with open_pusher(sftp_endpoint(sshd, target)) as pusher:
        assert sorted(pusher.put_files((src, src.name) for src in sources)) == sorted(
            (src.name, src.stat().st_size) for src in sources)
        with pytest.raises(TransferRefused):
            list(pusher.put_files([(sources[1], "../escape")]))
        with pytest.raises(RemotePathError, match="a directory stands there"):
            list(pusher.put_files([(sources[1], "adir")]))
    assert all((target / src.name).read_bytes() == src.read_bytes() for src in sources)
    assert not (tmp_path / "escape").exists() and list((target / "adir").iterdir()) == []


def test_unreachable_host_is_retryable(target: Path, sshd: SshServer) -> None:
    with pytest.raises(TransferRetryable, match="cannot connect"):
        open_pusher(sftp_endpoint(sshd, target, port=closed_port(), timeout=5)).__enter__()
    with pytest.raises(TransferRetryable, match="cannot connect"):
        open_pusher(sftp_endpoint(sshd, target, host="no-such-host.invalid", timeout=5)).__enter__()
