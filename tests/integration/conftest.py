"""Real peers on 127.0.0.1 for integration tests (skipped with the reason when not installed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from distribution.peers import FtpServer, PeerUnavailable, SmbServer, SshServer, run_ftp_server, run_smbd, run_sshd


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    try:
        with run_sshd(tmp_path / "sshd") as server:
            yield server
    except PeerUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def ftp_target(tmp_path: Path) -> Iterator[FtpServer]:
    with run_ftp_server(tmp_path / "ftproot", "pusher", "push-pw") as server:
        yield server


@pytest.fixture
def smbd(tmp_path: Path) -> Iterator[SmbServer]:
    try:
        with run_smbd(tmp_path / "smbd") as server:
            yield server
    except PeerUnavailable as e:
        pytest.skip(str(e))
