"""Real peers on 127.0.0.1 as fixtures (see tests/servers.py; skipped with the reason when not installed).

Other test folders can use the same fixtures with
``from tests.integration.conftest import sshd, ftp_target, smbd, pull_server  # noqa: F401``
in their conftest, or the context managers in tests/servers.py directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import (
    FtpServer,
    PullServer,
    SmbServer,
    SshServer,
    run_ftp_server,
    run_pull_server,
    run_smbd,
    run_sshd,
)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    """OpenSSH sshd for this user with a throwaway host key and client key (``.known_hosts``, ``.private_key``)."""
    with run_sshd(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def ftp_target(tmp_path: Path) -> Iterator[FtpServer]:
    """A writable pyftpdlib server (user ``pusher``); pushed files land under ``.root``."""
    with run_ftp_server(tmp_path / "ftproot") as server:
        yield server


@pytest.fixture
def smbd(tmp_path: Path) -> Iterator[SmbServer]:
    """Samba smbd with one writable share ``.share`` whose folder is ``.root``."""
    with run_smbd(tmp_path / "smbd") as server:
        yield server


@pytest.fixture
def pull_server(tmp_path: Path) -> Iterator[PullServer]:
    """Ardis's read-only FTP pull server over an empty pull area ``.root``."""
    with run_pull_server(tmp_path / "pull") as server:
        yield server
