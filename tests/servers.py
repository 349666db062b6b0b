"""Real peers on 127.0.0.1 for tests: OpenSSH sshd, pyftpdlib (push target, pull server), Samba smbd.

Each helper is a context manager: it starts its server from a throwaway
configuration under the given folder, on a free high port, bound to loopback
only, yields a small record (host, port, credentials, where the files land) and
stops the server when the block ends. When the server program is not installed
the test is skipped with the reason (``scripts/system-packages.sh`` installs them).

The sshd, FTP and smbd runners themselves live in ``devkit.peers`` because
the demo starts the same peers; this module adds the skipping, the pull server,
ready-made ``Endpoint`` values and a wrong host key for failure tests.
The same helpers are pytest fixtures in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from pyftpdlib.handlers import FTPHandler

from devkit import peers
from distribution.orders.pull_server import build_pull_server, pull_dir_for, pull_password
from devkit.peers import FtpServer, PeerUnavailable, SmbServer, SshServer
from distribution.orders.push import Endpoint

__all__ = [
    "FtpServer",
    "PullServer",
    "SmbServer",
    "SshServer",
    "closed_port",
    "foreign_known_hosts",
    "ftp_endpoint",
    "run_ftp_server",
    "run_pull_server",
    "run_smbd",
    "run_sshd",
    "sftp_endpoint",
    "smb_endpoint",
]

T = TypeVar("T")


@contextmanager
def _or_skip(runner: AbstractContextManager[T]) -> Iterator[T]:
    """Enter ``runner``; a missing server program skips the test instead of failing it."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(runner)
        except PeerUnavailable as e:
            pytest.skip(str(e))
        yield server


def closed_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago): "connection refused"."""
    return peers.free_port()


# --- OpenSSH sshd (scp/SFTP push) ---------------------------------------------------------------


def run_sshd(workdir: Path, ciphers: str | None = None, sftp_only: bool = False
             ) -> AbstractContextManager[SshServer]:
    """OpenSSH ``sshd -D -e`` with its own config, a throwaway host key and a client key for this user.

    ``ciphers`` pins the server's cipher list (e.g. ``aes128-gcm@openssh.com``);
    ``sftp_only`` makes it an SFTP-only server (``ForceCommand internal-sftp``: no scp).
    Yields ``SshServer``: host, port, username, private_key (PEM), known_hosts
    (``[127.0.0.1]:PORT ssh-ed25519 …``), private_key_path, known_hosts_path.
    """
    return _or_skip(peers.run_sshd(workdir, ciphers=ciphers, sftp_only=sftp_only))


def foreign_known_hosts(server: SshServer) -> str:
    """A known_hosts line for the server's address with a DIFFERENT key: a changed or spoofed host."""
    key = server.private_key_path.parent / "foreign_host_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "foreign", "-f", str(key)],
                       check=True, capture_output=True)
    key_type, key_data = key.with_suffix(".pub").read_text().split()[:2]
    return f"[{server.host}]:{server.port} {key_type} {key_data}\n"


def sftp_endpoint(server: SshServer, directory: Path | str, **overrides: object) -> Endpoint:
    """An ``sftp`` Endpoint that logs in with the throwaway client key and checks the host key."""
    values: dict[str, object] = {"method": "sftp", "host": server.host, "port": server.port,
                                 "directory": str(directory), "username": server.username,
                                 "private_key": server.private_key, "known_hosts": server.known_hosts}
    return Endpoint(**{**values, **overrides})  # type: ignore[arg-type]


# --- pyftpdlib: a writable push target -----------------------------------------------------------


def run_ftp_server(root: Path, username: str = "pusher", password: str = "push-pw",
                   handler_base: type[FTPHandler] = FTPHandler) -> AbstractContextManager[FtpServer]:
    """A writable pyftpdlib server in a thread, home ``root``. Yields ``FtpServer``: host, port, username,
    password, root (where pushed files land). ``handler_base``: an FTPHandler subclass, e.g. one that counts STORs."""
    return peers.run_ftp_server(root, username, password, handler_base)


def ftp_endpoint(server: FtpServer, directory: str = "/", **overrides: object) -> Endpoint:
    """An ``ftp`` Endpoint for a push into ``directory`` (relative to the server's root)."""
    values: dict[str, object] = {"method": "ftp", "host": server.host, "port": server.port, "directory": directory,
                                 "username": server.username, "password": server.password}
    return Endpoint(**{**values, **overrides})  # type: ignore[arg-type]


# --- Samba smbd ----------------------------------------------------------------------------------


def run_smbd(workdir: Path, share: str = "ardis", password: str = "ardis-smb-test"
             ) -> AbstractContextManager[SmbServer]:
    """Samba smbd on a high loopback port with one writable share (needs root).

    Yields ``SmbServer``: host, port, share, username, password, root (the
    share's folder on disk).
    """
    return _or_skip(peers.run_smbd(workdir, share=share, password=password))


def smb_endpoint(server: SmbServer, path: str = "", **overrides: object) -> Endpoint:
    """An ``smb`` Endpoint for ``<share>/<path>``."""
    directory = f"{server.share}/{path.strip('/')}".rstrip("/")
    values: dict[str, object] = {"method": "smb", "host": server.host, "port": server.port, "directory": directory,
                                 "username": server.username, "password": server.password}
    return Endpoint(**{**values, **overrides})  # type: ignore[arg-type]


# --- the embedded FTP pull server ----------------------------------------------------------------


@dataclass
class PullServer:
    """Ardis's read-only pull server over ``root`` (the pull area)."""

    host: str
    port: int
    root: Path
    secret: bytes = field(repr=False)

    def password(self, login: str) -> str:
        return pull_password(self.secret, login)

    def stage(self, login: str, request_id: str, files: dict[str, bytes]) -> Path:
        """Put files where a pull request's staging would: ``<root>/<login>/<RequestID>/``."""
        directory = pull_dir_for(self.root, login, request_id)
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)
        return directory

    def endpoint(self, login: str, request_id: str, **overrides: object) -> Endpoint:
        """What a DN tells the user: this host and port, the login, its password, FTPDIR ``/<RequestID>``."""
        values: dict[str, object] = {"method": "ftp", "host": self.host, "port": self.port,
                                     "directory": f"/{request_id}", "username": login,
                                     "password": self.password(login)}
        return Endpoint(**{**values, **overrides})  # type: ignore[arg-type]


@contextmanager
def run_pull_server(root: Path, secret: bytes = b"ardis-test-secret", passive_ports: range | None = None,
                    auth_failed_delay: float = 0.1) -> Iterator[PullServer]:
    """``build_pull_server`` serving in a thread on 127.0.0.1.

    pyftpdlib waits 3 s after a failed login (against guessing); tests need not.
    """
    server = build_pull_server(root, "127.0.0.1", 0, secret, passive_ports)
    server.handler.auth_failed_timeout = auth_failed_delay
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False},
                              name="pull-ftp", daemon=True)
    thread.start()
    try:
        yield PullServer("127.0.0.1", int(server.socket.getsockname()[1]), root, secret)
    finally:
        server.close_all()
        thread.join(timeout=10)
