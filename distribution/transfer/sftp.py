"""scp push with asyncssh: the SCP protocol where the server runs ``scp``, else SFTP; host key always verified.

asyncssh rather than paramiko: ~2x paramiko's throughput here. File data goes by
the SCP protocol when the server offers ``scp`` (it needs ~35% less client CPU
than SFTP writes in asyncssh, which matters on a busy worker; see
benchmarks/bench_transfer.py); SFTP-only servers (``ForceCommand internal-sftp``,
appliances) get SFTP. Directory checks, sizes and the DN file always use SFTP.

The Pusher interface is synchronous: each pusher runs its own event loop, so it
can be used from any thread (an Airflow task, a test) without touching a running loop.
"""

from __future__ import annotations

import asyncio
import posixpath
import shlex
from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncssh

from distribution.transfer import openssh
from distribution.transfer.openssh import OpenSshCopier
from distribution.transfer.base import (
    AuthenticationFailed,
    Endpoint,
    HostKeyMismatch,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
    check_name,
    check_size,
    failure_reason,
)

# SFTP: -1 takes the server's own write limit (OpenSSH announces 255 KiB through
# limits@openssh.com), else asyncssh's safe 16 KiB; many writes in flight keep the window full.
BLOCK_SIZE = -1
MAX_REQUESTS = 128
SCP_BLOCK_SIZE = 1 << 20
KEEPALIVE_COUNT = 3
# What a remote scp says when the place is wrong, rather than the network or the disk.
_SCP_PATH_ERRORS = ("No such file or directory", "Permission denied", "Not a directory", "Is a directory",
                    "Read-only file system", "Operation not permitted")

T = TypeVar("T")


def connect_options(ep: Endpoint) -> dict[str, Any]:
    """Connection options: only what the endpoint says; no ~/.ssh config, agent or default keys."""
    if not ep.known_hosts or not ep.known_hosts.strip():
        raise HostKeyMismatch(f"{ep.where}: no host key on record for {ep.host}; refusing to connect")
    try:
        known_hosts = asyncssh.import_known_hosts(ep.known_hosts)
    except (ValueError, asyncssh.Error) as e:
        raise HostKeyMismatch(f"{ep.where}: the host key on record cannot be read: {e}") from e
    client_keys = None
    if ep.private_key:
        try:
            client_keys = [asyncssh.import_private_key(ep.private_key)]
        except (ValueError, asyncssh.KeyImportError) as e:
            raise AuthenticationFailed(f"{ep.where}: the private key cannot be read (or needs a passphrase)") from e
    return {
        "port": ep.port or 22,
        "username": ep.username or None,
        "password": ep.password or None,
        "client_keys": client_keys,
        "known_hosts": known_hosts,
        "agent_path": None,
        "config": [],
        "connect_timeout": ep.timeout,  # TCP connect and the SSH handshake
        "login_timeout": ep.timeout,
        # the read timeout: a server silent for about ep.timeout is dropped, in the middle of a transfer too
        "keepalive_interval": ep.timeout / (KEEPALIVE_COUNT + 1),
        "keepalive_count_max": KEEPALIVE_COUNT,
    }


class _Client(asyncssh.SSHClient):
    """Keeps why the connection ended: SFTP calls then only say "Connection closed"."""

    lost: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc


async def connect(ep: Endpoint, client: _Client | None = None) -> asyncssh.SSHClientConnection:
    """An SSH connection with the host key verified; HostKeyMismatch, AuthenticationFailed or TransferRetryable."""
    options = connect_options(ep)
    try:
        return await asyncssh.connect(ep.host, client_factory=lambda: client or _Client(), **options)
    except asyncssh.HostKeyNotVerifiable as e:
        raise HostKeyMismatch(f"{ep.where}: host key of {ep.host} does not match the one on record") from e
    except asyncssh.PermissionDenied as e:
        raise AuthenticationFailed(f"{ep.where}: authentication as {ep.username} refused") from e
    except (OSError, asyncio.TimeoutError, asyncssh.Error) as e:
        raise TransferRetryable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e


class SshSession:
    """One SSH connection and SFTP session on the object's own event loop, so callers stay synchronous.

    Subclasses write ``_connect`` (it sets ``conn`` and ``_sftp``); entering runs
    it and hangs up again when it fails.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.loop = asyncio.new_event_loop()
        self.conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self.client = _Client()  # the connection's owner: it learns why the connection ended

    def _reason(self, e: BaseException) -> str:
        """``failure_reason`` of ``e``, or of the connection's end when that was the cause (a keep-alive timeout)."""
        lost = self.client.lost
        return failure_reason(lost if lost is not None else e, self.endpoint.timeout)

    def _run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _connect(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self._run(self._connect())
        except BaseException:
            self._close()
            raise
        return self

    def _close(self) -> None:
        try:
            if self._sftp is not None:
                self._sftp.exit()
            if self.conn is not None:
                self.conn.close()
                self._run(self.conn.wait_closed())
        except (OSError, asyncssh.Error):
            pass  # hanging up on a broken connection: nothing left to save
        finally:
            self._sftp = self.conn = None
            self.loop.close()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._close()


class SftpPusher(SshSession):
    """One SSH connection with one SFTP session (and SCP channels for file data), in the endpoint's directory."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.use_scp = False  # decided after connecting: does the server run scp for us?
        # Key logins send file data with the OpenSSH scp client (see openssh.py).
        self.openssh: OpenSshCopier | None = None

    @property
    def sftp(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            raise TransferRefused(f"{self.endpoint.where}: not connected (use the pusher as a context manager)")
        return self._sftp

    async def _connect(self) -> None:
        ep = self.endpoint
        self.conn = await connect(ep, self.client)
        try:
            self._sftp = await self.conn.start_sftp_client()
        except (OSError, asyncssh.Error) as e:
            raise TransferRetryable(f"{ep.where}: SFTP session failed: {failure_reason(e, ep.timeout)}") from e
        if ep.directory:
            attrs = await self._guard(ep.directory, self._sftp.stat(ep.directory))
            if attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
                raise RemotePathError(f"{ep.where}: {ep.directory} is not a directory")
        if openssh.usable(self.endpoint):
            self.openssh = OpenSshCopier(self.endpoint)  # the OpenSSH client picks its own protocol
        else:
            self.use_scp = await self._server_has_scp()

    async def _server_has_scp(self) -> bool:
        """Ask the login shell for ``scp``; an SFTP-only server answers nothing (stdin is closed at once)."""
        assert self.conn is not None
        try:
            result = await asyncio.wait_for(self.conn.run("command -v scp", input="", check=False),
                                            self.endpoint.timeout)
        except (OSError, asyncio.TimeoutError, asyncssh.Error):
            return False
        return result.exit_status == 0 and "scp" in str(result.stdout or "")

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            if self.openssh is not None:
                self.openssh.close()
                self.openssh = None

    def _path(self, remote_name: str) -> str:
        check_name(remote_name)
        return posixpath.join(self.endpoint.directory, remote_name) if self.endpoint.directory else remote_name

    async def _guard(self, path: str, coro: Awaitable[T]) -> T:
        """Missing or forbidden paths are permanent; a lost connection or a server failure is retryable."""
        where = self.endpoint.where if path == self.endpoint.directory else self.endpoint.at(posixpath.basename(path))
        try:
            return await coro
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as e:
            raise RemotePathError(f"{where}: {path} does not exist") from e
        except asyncssh.SFTPPermissionDenied as e:
            raise RemotePathError(f"{where}: permission denied on {path}") from e
        except (asyncssh.SFTPFailure, asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection) as e:
            if any(text in e.reason for text in _SCP_PATH_ERRORS):
                raise RemotePathError(f"{where}: {e.reason}") from e
            raise TransferRetryable(f"{where}: {self._reason(e)}") from e
        except asyncssh.SFTPError as e:
            raise TransferRefused(f"{where}: {e.reason}") from e
        except (OSError, asyncssh.Error) as e:
            raise TransferRetryable(f"{where}: transfer broke: {self._reason(e)}") from e

    async def _stat(self, path: str) -> asyncssh.SFTPAttrs | None:
        try:
            return await self.sftp.stat(path)
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
            return None

    async def _copy(self, local: Path, path: str) -> None:
        attrs = await self._stat(path)
        if attrs is not None and attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
            # scp and SFTP put would both copy INTO a directory of that name: refuse instead.
            raise RemotePathError(f"{self.endpoint.at(posixpath.basename(path))}: a directory stands there")
        # All three replace a partial file from an earlier try (scp truncates, put opens with O_TRUNC).
        if self.openssh is not None:
            await asyncio.to_thread(self.openssh.copy, local, path)
        elif self.use_scp:
            # The remote shell reads the path: quote it (directories come from subscriptions, i.e. from users).
            await asyncssh.scp(str(local), (self.conn, shlex.quote(path)), block_size=SCP_BLOCK_SIZE)
        else:
            await self.sftp.put(str(local), path, block_size=BLOCK_SIZE, max_requests=MAX_REQUESTS)

    def put_file(self, local: Path, remote_name: str) -> int:
        size = local.stat().st_size
        path = self._path(remote_name)
        self._run(self._guard(path, self._copy(local, path)))
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        path = self._path(remote_name)

        async def write() -> None:
            async with self.sftp.open(path, "wb") as f:
                await f.write(text.encode("utf-8"))

        self._run(self._guard(path, write()))

    def remote_size(self, remote_name: str) -> int | None:
        path = self._path(remote_name)
        attrs = self._run(self._guard(path, self._stat(path)))
        return None if attrs is None else attrs.size
