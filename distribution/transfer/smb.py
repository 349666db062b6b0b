"""SMB push (SmbPush) with smbprotocol's smbclient; the directory is ``<share>/<path inside share>``.

Each pusher keeps its own connection cache, so two pushers in one worker process
(different credentials, or a failed logon) never share or poison a session.

Timeouts: smbprotocol bounds only the negotiation; afterwards every reply is
awaited without limit (its receive thread drops a silent server after 2 x 10
minutes) and a send into a server that stopped reading blocks for ever. The
pusher makes the connection itself, so the endpoint's timeout is the receive
thread's keep-alive period (a silent server is dropped after two of them) and
the socket's send timeout.
"""

from __future__ import annotations

import errno
import io
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import smbclient
from smbclient import ClientConfig
from smbprotocol.connection import Connection
from smbprotocol.exceptions import LogonFailure, SMBAuthenticationError, SMBException, SMBOSError

from distribution.transfer.base import (
    AuthenticationFailed,
    Endpoint,
    RemotePathError,
    TransferRetryable,
    check_name,
    check_size,
    failure_reason,
)

BLOCK_SIZE = 1 << 20
_PATH_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EROFS}


class SmbPusher:
    """One SMB session on ``\\\\host\\share``, writing into the path inside the share."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.port = endpoint.port or 445
        share_path = endpoint.directory.strip("/\\").replace("/", "\\")
        self.base = f"\\\\{endpoint.host}\\{share_path}"
        self._cache: dict[str, Any] = {}

    @property
    def _kw(self) -> dict[str, Any]:
        return {"port": self.port, "connection_cache": self._cache}

    def __enter__(self) -> SmbPusher:
        ep = self.endpoint
        if not ep.directory.strip("/\\"):
            raise RemotePathError(f"{ep.where}: no share given (directory must be <share>/<path>)")
        try:
            self._connect()
            smbclient.register_session(ep.host, username=ep.username or None, password=ep.password or None,
                                       connection_timeout=self._timeout, **self._kw)
        except (LogonFailure, SMBAuthenticationError) as e:
            self._hang_up()
            raise AuthenticationFailed(f"{ep.where}: logon as {ep.username} refused") from e
        except (OSError, SMBException, ValueError) as e:  # ValueError: smbprotocol's "failed to connect"
            self._hang_up()
            raise TransferRetryable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e
        try:
            is_dir = smbclient.path.isdir(self.base, **self._kw)
        except (SMBOSError, SMBException) as e:  # e.g. no such share
            self._hang_up()
            raise RemotePathError(f"{ep.where}: cannot use {ep.directory}: {e}") from e
        if not is_dir:
            self._hang_up()
            raise RemotePathError(f"{ep.where}: directory {ep.directory} does not exist")
        return self

    @property
    def _timeout(self) -> int:
        return max(1, round(self.endpoint.timeout))

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

    def _path(self, remote_name: str) -> str:
        check_name(remote_name)
        return f"{self.base}\\{remote_name}"

    def _write(self, remote_name: str, source: BinaryIO) -> None:
        where = self.endpoint.at(remote_name)
        try:
            with smbclient.open_file(self._path(remote_name), mode="wb", **self._kw) as out:  # truncates
                shutil.copyfileobj(source, out, BLOCK_SIZE)
        except SMBOSError as e:
            if e.errno in _PATH_ERRNOS:
                raise RemotePathError(f"{where}: {e.strerror}") from e
            raise TransferRetryable(f"{where}: {e.strerror}") from e
        except (OSError, SMBException, ValueError) as e:
            raise TransferRetryable(f"{where}: transfer broke: {failure_reason(e, self.endpoint.timeout)}") from e

    def put_file(self, local: Path, remote_name: str) -> int:
        size = local.stat().st_size
        with local.open("rb") as f:
            self._write(remote_name, f)
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        self._write(remote_name, io.BytesIO(text.encode("utf-8")))

    def remote_size(self, remote_name: str) -> int | None:
        try:
            return int(smbclient.stat(self._path(remote_name), **self._kw).st_size)
        except SMBOSError as e:
            if e.errno == errno.ENOENT:
                return None
            raise TransferRetryable(f"{self.endpoint.at(remote_name)}: stat failed: {e.strerror}") from e
        except (OSError, SMBException, ValueError) as e:
            reason = failure_reason(e, self.endpoint.timeout)
            raise TransferRetryable(f"{self.endpoint.at(remote_name)}: stat failed: {reason}") from e
