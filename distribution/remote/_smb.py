"""SMB with smbprotocol's smbclient; the endpoint's directory is ``<share>/<path inside share>``.

Each client keeps its own connection cache, so two clients in one worker process
(different credentials, or a failed logon) never share or poison a session.
Relative paths start at the endpoint's directory, absolute ones at the share.

Timeouts: smbprotocol bounds only the negotiation; afterwards every reply is
awaited without limit (its receive thread drops a silent server after 2 x 10
minutes) and a send into a server that stopped reading blocks for ever. The
client makes the connection itself, so the endpoint's timeout is the receive
thread's keep-alive period (a silent server is dropped after two of them) and
the socket's send timeout.
"""

from __future__ import annotations

import errno
import posixpath
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import smbclient
from smbclient import ClientConfig
from smbprotocol.connection import Connection
from smbprotocol.exceptions import LogonFailure, SMBAuthenticationError, SMBException, SMBOSError
from smbprotocol.file_info import FileAttributes

from distribution.remote._base import (
    Endpoint,
    Fetched,
    LoginRefused,
    NetworkFailure,
    PermissionRefused,
    RemoteError,
    RemoteFile,
    RemoteNotFound,
    StreamUploads,
    TooLarge,
    TransferFailed,
    Unreachable,
    check_directory,
    check_path,
    failure_reason,
)
from distribution.remote._staging import StagingFile, pump, receive

BLOCK_SIZE = 1 << 20
_MISSING = {errno.ENOENT, errno.ENOTDIR}
_REFUSED = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.EROFS}


class SmbFiles(StreamUploads):
    """One SMB session on ``\\\\host\\share``, in the path inside the share."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.port = endpoint.port or 445
        share_path = endpoint.directory.strip("/\\").replace("/", "\\")
        self.share = f"\\\\{endpoint.host}\\{share_path.split(chr(92))[0]}"
        self.base = f"\\\\{endpoint.host}\\{share_path}"
        self._cache: dict[str, Any] = {}

    @property
    def _kw(self) -> dict[str, Any]:
        return {"port": self.port, "connection_cache": self._cache}

    @property
    def _timeout(self) -> int:
        return max(1, round(self.endpoint.timeout))

    def __enter__(self) -> SmbFiles:
        ep = self.endpoint
        check_directory(ep.directory)
        if not ep.directory.strip("/\\"):
            raise RemoteNotFound(f"{ep.where}: no share given (directory must be <share>/<path>)")
        try:
            self._connect()
            smbclient.register_session(ep.host, username=ep.username or None, password=ep.password or None,
                                       connection_timeout=self._timeout, **self._kw)
        except (LogonFailure, SMBAuthenticationError) as e:
            self._hang_up()
            raise LoginRefused(f"{ep.where}: logon as {ep.username} refused") from e
        except (OSError, SMBException, ValueError) as e:  # ValueError: smbprotocol's "failed to connect"
            self._hang_up()
            raise Unreachable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e
        try:
            is_dir = smbclient.path.isdir(self.base, **self._kw)
        except (SMBOSError, SMBException) as e:  # e.g. no such share
            self._hang_up()
            raise RemoteNotFound(f"{ep.where}: cannot use {ep.directory}: {e}") from e
        if not is_dir:
            self._hang_up()
            raise RemoteNotFound(f"{ep.where}: directory {ep.directory} does not exist")
        return self

    def _connect(self) -> None:
        """The TCP connection and negotiation with the timeouts set, in the cache where register_session looks."""
        conn = Connection(ClientConfig().client_guid, self.endpoint.host, self.port, require_signing=True)
        conn._receive_timeout = self._timeout  # read when the receive thread starts (in connect)
        self._cache[f"{self.endpoint.host.lower()}:{self.port}"] = conn
        conn.connect(timeout=self._timeout)
        conn.transport._sock.settimeout(self._timeout)  # sends: smbprotocol leaves the socket blocking

    def _hang_up(self) -> None:
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._cache)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._hang_up()

    def _path(self, path: str, directory: bool = False) -> str:
        check_directory(path) if directory else check_path(path)
        root = self.share if path.startswith("/") else self.base
        rest = posixpath.normpath(path or ".").strip("/").replace("/", "\\")
        return f"{root}\\{rest}" if rest and rest != "." else root

    @contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        """Missing is not found, forbidden is refused; other server errors and broken links may heal."""
        try:
            yield
        except SMBOSError as e:
            error: RemoteError
            if e.errno in _MISSING:
                error = RemoteNotFound(f"{what}: {e.strerror}")
            elif e.errno in _REFUSED:
                error = PermissionRefused(f"{what}: {e.strerror}")
            else:
                error = TransferFailed(f"{what}: {e.strerror}")
            raise error from e
        except (OSError, SMBException, ValueError) as e:
            raise NetworkFailure(f"{what}: transfer broke: {failure_reason(e, self.endpoint.timeout)}") from e

    def _at(self, path: str) -> str:
        return self.endpoint.at(path.lstrip("/"))

    def _stat(self, path: str) -> Any:
        with self._mapped(f"{self._at(path)}: stat failed"):
            try:
                return smbclient.stat(self._path(path, directory=True), **self._kw)
            except SMBOSError as e:
                if e.errno == errno.ENOENT:
                    return None
                raise

    def is_dir(self, path: str) -> bool:
        info = self._stat(path or ".")
        return info is not None and stat.S_ISDIR(info.st_mode)

    def list_files(self, directory: str, match: Callable[[str], bool] | None = None) -> list[RemoteFile]:
        found = []
        with self._mapped(f"{self._at(directory)}: cannot list"):
            for entry in smbclient.scandir(self._path(directory or ".", directory=True), **self._kw):
                if match is None or match(entry.name):
                    found.extend(self._plain(entry))
        return sorted(found, key=lambda f: f.name)

    def _plain(self, entry: Any) -> list[RemoteFile]:
        """The listing's own facts of a plain file ([] for a directory); a link is followed by a stat."""
        if entry.is_symlink():  # entry.stat() would reconnect on the default port: stat with ours
            try:
                info = smbclient.stat(entry.path, **self._kw)
            except SMBOSError:
                return []  # a dangling link
            if not stat.S_ISREG(info.st_mode):
                return []
            return [RemoteFile(entry.name, int(info.st_size), datetime.fromtimestamp(info.st_mtime, UTC))]
        facts = entry.smb_info
        if facts.file_attributes & FileAttributes.FILE_ATTRIBUTE_DIRECTORY:
            return []
        mtime = facts.last_write_time
        mtime = mtime.astimezone(UTC) if mtime.tzinfo else mtime.replace(tzinfo=UTC)
        return [RemoteFile(entry.name, int(facts.end_of_file), mtime)]

    def size(self, path: str) -> int | None:
        check_path(path)
        info = self._stat(path)
        return None if info is None else int(info.st_size)

    def read_bytes(self, path: str, limit: int) -> bytes:
        where = self._at(path)
        with self._mapped(f"{where}: cannot read"), smbclient.open_file(self._path(path), mode="rb", **self._kw) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"{where}: more than {limit} bytes")
        return bytes(data)

    def fetch(self, path: str, dst: Path, checksum_type: str | None) -> Fetched:
        where = self._at(path)
        announced = self.size(path)
        if announced is None:
            raise RemoteNotFound(f"{where}: no such file")

        def copy(staging: StagingFile) -> None:
            with self._mapped(f"{where}: download failed"), \
                    smbclient.open_file(self._path(path), mode="rb", **self._kw) as f:
                pump(f.readinto, staging)

        return receive(dst, checksum_type, where, announced, copy)

    def _store(self, path: str, source: BinaryIO) -> None:
        with self._mapped(f"{self._at(path)}: upload failed"), \
                smbclient.open_file(self._path(path), mode="wb", **self._kw) as out:  # truncates
            shutil.copyfileobj(source, out, BLOCK_SIZE)

    def _rename(self, tmp: str, path: str) -> None:
        with self._mapped(f"{self._at(path)}: cannot rename into place"):
            smbclient.replace(self._path(tmp), self._path(path), **self._kw)

    def _remove(self, path: str) -> None:
        try:
            smbclient.remove(self._path(path), **self._kw)
        except (OSError, SMBException, ValueError):
            pass
