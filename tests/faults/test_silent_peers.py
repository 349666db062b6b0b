"""A peer that accepts the connection and never answers, or answers and then stalls mid-transfer.

Every push (FTP, scp/SFTP, SMB) and every ingest pull (FTP, SFTP) gives up after
``ARDIS_NETWORK_TIMEOUT_SECONDS`` (2 s here) with the retryable error, whose text
says "timed out"; the step is then retried with backoff. ``pytest.mark.timeout``
only guards against a hang (the old behaviour); nothing here asserts a duration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from distribution.errors import RetryableError
from distribution.ingest.pdrserver import open_pdr_server
from distribution.orders.push import Endpoint, open_pusher
from tests.faults.conftest import silent_peer, stalling_ftp_server, stalling_proxy
from tests.servers import SmbServer, SshServer, run_smbd, run_sshd

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

#: Any known_hosts line: a silent peer never shows a key.
SOME_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
STALL_AFTER = 256 * 1024
BIG = 16 << 20  # more than the kernel's socket buffers on loopback


@pytest.fixture(autouse=True)
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_NETWORK_TIMEOUT_SECONDS", "2")


def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.dat"
    with path.open("wb") as f:
        f.write(b"\x5a" * BIG)
    return path


def endpoints(port: int) -> dict[str, Callable[[], AbstractContextManager[Any]]]:
    known = f"[127.0.0.1]:{port} {SOME_KEY}\n"
    return {
        "ftp push": lambda: open_pusher(Endpoint("ftp", "127.0.0.1", port, "/in", "u", "p")),
        "sftp push": lambda: open_pusher(Endpoint("sftp", "127.0.0.1", port, "/in", "u", "p", known_hosts=known)),
        "smb push": lambda: open_pusher(Endpoint("smb", "127.0.0.1", port, "share/in", "u", "p")),
        "ftp pull": lambda: open_pdr_server(Endpoint("ftp", "127.0.0.1", port, "", "u", "p"), "/PDR"),
        "sftp pull": lambda: open_pdr_server(Endpoint("sftp", "127.0.0.1", port, "", "u", "p", known_hosts=known),
                                             "/PDR"),
    }


@pytest.fixture
def silent() -> Iterator[int]:
    with silent_peer() as port:
        yield port


@pytest.mark.parametrize("client", ["ftp push", "sftp push", "smb push", "ftp pull", "sftp pull"])
def test_silent_peer_times_out_as_retryable(silent: int, client: str) -> None:
    opener = endpoints(silent)[client]
    assert Endpoint("ftp").timeout == 2  # the setting, not a constant
    with pytest.raises(RetryableError) as caught:
        with opener():
            pass
    assert "timed out" in str(caught.value)
    assert "cannot connect" in str(caught.value)


def test_ftp_push_stalled_mid_transfer(tmp_path: Path) -> None:
    (tmp_path / "root" / "in").mkdir(parents=True)
    with stalling_ftp_server(tmp_path / "root", STALL_AFTER) as ftp:
        ep = Endpoint("ftp", ftp.host, ftp.port, "/in", ftp.username, ftp.password)
        with open_pusher(ep) as pusher, pytest.raises(RetryableError, match="timed out"):
            pusher.put_file(big_file(tmp_path), "big.dat")


def test_ftp_pull_stalled_mid_transfer(tmp_path: Path) -> None:
    (tmp_path / "root" / "PDR").mkdir(parents=True)
    (tmp_path / "root" / "DATA").mkdir()
    big_file(tmp_path).rename(tmp_path / "root" / "DATA" / "big.dat")
    with stalling_ftp_server(tmp_path / "root", STALL_AFTER) as ftp:
        ep = Endpoint("ftp", ftp.host, ftp.port, "", ftp.username, ftp.password)
        with open_pdr_server(ep, "/PDR") as server, pytest.raises(RetryableError, match="timed out"):
            server.fetch("/DATA", "big.dat", tmp_path / "staged.dat", "MD5")
    assert not (tmp_path / "staged.dat").exists()


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    with run_sshd(tmp_path / "sshd") as server:
        yield server


def via(server: SshServer, port: int, directory: str) -> Endpoint:
    """The sshd's endpoint reached through a proxy on ``port`` (the host key is on record for that port)."""
    known = server.known_hosts.replace(f"]:{server.port} ", f"]:{port} ")
    return Endpoint("sftp", server.host, port, directory, server.username, private_key=server.private_key,
                    known_hosts=known)


@pytest.mark.parametrize("client", ["openssh", "asyncssh"])
def test_scp_push_stalled_mid_transfer(sshd: SshServer, tmp_path: Path, client: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_SCP_CLIENT", client)
    target = tmp_path / "in"
    target.mkdir()
    with stalling_proxy(sshd.port, STALL_AFTER) as port:
        with open_pusher(via(sshd, port, str(target))) as pusher, pytest.raises(RetryableError, match="timed out"):
            pusher.put_file(big_file(tmp_path), "big.dat")


def test_sftp_pull_stalled_mid_transfer(sshd: SshServer, tmp_path: Path) -> None:
    (tmp_path / "PDR").mkdir()
    data = big_file(tmp_path)
    with stalling_proxy(sshd.port, STALL_AFTER) as port:
        with open_pdr_server(via(sshd, port, ""), str(tmp_path / "PDR")) as server, \
                pytest.raises(RetryableError, match="timed out"):
            server.fetch(str(tmp_path), data.name, tmp_path / "staged.dat", "MD5")
    assert not (tmp_path / "staged.dat").exists()


@pytest.fixture
def smbd(tmp_path: Path) -> Iterator[SmbServer]:
    with run_smbd(tmp_path / "smbd") as server:
        yield server


def test_smb_push_stalled_mid_transfer(smbd: SmbServer, tmp_path: Path) -> None:
    (smbd.root / "in").mkdir()
    with stalling_proxy(smbd.port, STALL_AFTER) as port:
        ep = Endpoint("smb", smbd.host, port, f"{smbd.share}/in", smbd.username, smbd.password)
        with open_pusher(ep) as pusher, pytest.raises(RetryableError, match="timed out"):
            pusher.put_file(big_file(tmp_path), "big.dat")
