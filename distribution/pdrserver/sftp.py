"""A provider's PDR server over SFTP (the ICD's scp option), with asyncssh; the host key is always verified.

The connection (options, host key, login) is transfer.sftp's; only the error
types differ. SFTP shows the server's real file system: absolute DIRECTORY_IDs
are real paths there, relative ones start at the endpoint's directory (else the
login's home). File data is read in large requests with the next one already in
flight while the current one is written; the checksum runs in the staging file's
thread. PANs are renamed into place with ``posix-rename@openssh.com``, which
replaces an older PAN (plain SFTP v3 rename refuses to).

The interface is synchronous: each server runs its own event loop (transfer.sftp.SshSession).
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncssh

from distribution.pdr import is_pdr_name
from distribution.pdrserver.base import (
    Fetched,
    PdrServerError,
    PdrTooLarge,
    ProviderCommandRefused,
    ProviderFileNotFound,
    ProviderHostKeyMismatch,
    ProviderLoginRefused,
    ProviderNetworkFailure,
    ProviderTransferFailed,
    ProviderUnreachable,
    RemoteFile,
    StagingFile,
    check_directory,
    check_file_name,
    receive,
    remote_path,
    temporary_name,
)
from distribution.transfer.base import AuthenticationFailed, Endpoint, HostKeyMismatch, TransferRetryable, \
    failure_reason
from distribution.transfer.sftp import MAX_REQUESTS, SshSession, connect

#: Bytes asked for per read; asyncssh splits it into parallel requests of the server's read limit.
READ_SIZE = 4 << 20


def _mapped_sftp(e: Exception, what: str, reason: str) -> PdrServerError:
    """The PdrServerError for ``e``; ``reason`` says why the connection broke (e.g. "timed out ...")."""
    if isinstance(e, (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath)):
        return ProviderFileNotFound(f"{what}: no such file or directory")
    if isinstance(e, (asyncssh.SFTPPermissionDenied, asyncssh.SFTPOpUnsupported)):
        return ProviderCommandRefused(f"{what}: {e.reason}")  # type: ignore[union-attr]
    if isinstance(e, (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection)):
        return ProviderNetworkFailure(f"{what}: connection lost: {reason}")
    if isinstance(e, asyncssh.SFTPFailure):
        return ProviderTransferFailed(f"{what}: {e.reason}")
    if isinstance(e, asyncssh.SFTPError):
        return ProviderCommandRefused(f"{what}: {e.reason}")
    return ProviderNetworkFailure(f"{what}: connection broke: {reason}")


class SftpPdrServer(SshSession):
    """One SSH connection with one SFTP session; the polling directory checked on entry."""

    def __init__(self, endpoint: Endpoint, polling_directory: str) -> None:
        super().__init__(endpoint)
        self.base = check_directory(endpoint.directory)
        self.polling = self._path(check_directory(polling_directory) or ".")

    def _path(self, path: str) -> str:
        return posixpath.join(self.base, path) if self.base and not path.startswith("/") else path

    def _at(self, path: str) -> str:
        return self.endpoint.at(path.lstrip("/"))

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as e:
            raise _mapped_sftp(e, what, self._reason(e)) from e

    async def _connect(self) -> None:
        ep = self.endpoint
        try:
            self.conn = await connect(ep, self.client)
        except HostKeyMismatch as e:
            raise ProviderHostKeyMismatch(str(e)) from e
        except AuthenticationFailed as e:
            raise ProviderLoginRefused(str(e)) from e
        except TransferRetryable as e:
            raise ProviderUnreachable(str(e)) from e
        try:
            self._sftp = await self.conn.start_sftp_client()
        except (OSError, asyncssh.Error) as e:
            raise ProviderUnreachable(f"{ep.where}: SFTP session failed: {failure_reason(e, ep.timeout)}") from e
        with self._guard(f"{self._at(self.polling)}: polling directory"):
            attrs = await self._sftp.stat(self.polling)
        if attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise ProviderFileNotFound(f"{self._at(self.polling)}: the polling directory is not a directory")

    @property
    def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            raise ProviderCommandRefused(f"{self.endpoint.where}: not connected (use the server as a context manager)")
        return self._sftp

    def list_pdrs(self) -> list[RemoteFile]:
        return self._run(self._list())

    async def _list(self) -> list[RemoteFile]:
        found = []
        with self._guard(f"{self._at(self.polling)}: cannot list"):
            names = await self._client.readdir(self.polling)
        for entry in names:
            name = str(entry.filename)
            if not is_pdr_name(name):
                continue
            attrs = entry.attrs
            if attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:
                try:
                    attrs = await self._client.stat(posixpath.join(self.polling, name))
                except asyncssh.SFTPError:
                    continue  # a dangling link
            if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                continue
            mtime = None if attrs.mtime is None else datetime.fromtimestamp(attrs.mtime, UTC)
            found.append(RemoteFile(name, int(attrs.size or 0), mtime))
        return sorted(found, key=lambda f: f.name)

    async def _regular(self, path: str, what: str) -> int:
        """The size of the plain file at ``path``; a directory or device is refused."""
        with self._guard(what):
            attrs = await self._client.stat(path)
        if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
            raise ProviderCommandRefused(f"{what}: not a plain file")
        return int(attrs.size or 0)

    def read_pdr(self, name: str, limit: int) -> bytes:
        return self._run(self._read_pdr(posixpath.join(self.polling, check_file_name(name)), limit))

    async def _read_pdr(self, path: str, limit: int) -> bytes:
        where = self._at(path)
        if (size := await self._regular(path, f"{where}: cannot read")) > limit:
            raise PdrTooLarge(f"{where}: {size} bytes, at most {limit}")
        with self._guard(f"{where}: cannot read"):
            async with self._client.open(path, "rb") as f:
                data = await f.read(limit + 1)
        if len(data) > limit:
            raise PdrTooLarge(f"{where}: more than {limit} bytes")
        return bytes(data)

    def fetch(self, directory_id: str, file_id: str, dst: Path, checksum_type: str | None) -> Fetched:
        path = self._path(remote_path(directory_id, file_id))
        where = self._at(path)
        announced = self._run(self._regular(path, f"{where}: not available"))
        return receive(dst, checksum_type, where, announced,
                       lambda staging: self._run(self._read_into(path, staging, f"{where}: download failed")))

    async def _read_into(self, path: str, staging: StagingFile, what: str) -> None:
        """Large reads with the next one in flight while a worker thread writes the last one."""
        with self._guard(what):
            async with self._client.open(path, "rb", block_size=-1, max_requests=MAX_REQUESTS) as f:
                offset = 0
                pending = asyncio.ensure_future(f.read(READ_SIZE, offset))
                try:
                    while data := await pending:
                        offset += len(data)
                        pending = asyncio.ensure_future(f.read(READ_SIZE, offset))
                        await asyncio.to_thread(staging.put, data)
                finally:
                    pending.cancel()

    def write_response(self, name: str, text: str) -> None:
        target = posixpath.join(self.polling, check_file_name(name))
        self._run(self._write_response(target, posixpath.join(self.polling, temporary_name(name)), text))

    async def _write_response(self, target: str, tmp: str, text: str) -> None:
        try:
            with self._guard(f"{self._at(target)}: cannot write"):
                async with self._client.open(tmp, "wb") as f:
                    await f.write(text.encode("utf-8"))
                try:
                    await self._client.posix_rename(tmp, target)  # replaces an older PAN in one step
                except asyncssh.SFTPOpUnsupported:
                    await self._client.rename(tmp, target)
        except BaseException:
            try:
                await self._client.remove(tmp)  # our own temporary file, never a provider's
            except (OSError, asyncssh.Error):
                pass
            raise
