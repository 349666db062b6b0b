"""SMB push (SmbPush) with smbprotocol's smbclient; directory is ``<share>/<path>``."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType

import smbclient
from smbprotocol.exceptions import LogonFailure, SMBAuthenticationError, SMBException, SMBOSError

from distribution.transfer.base import (
    AuthenticationFailed,
    Endpoint,
    RemotePathError,
    TransferRetryable,
    check_name,
    check_size,
)

BLOCK_SIZE = 1 << 20


class SmbPusher:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.port = endpoint.port or 445
        share_path = endpoint.directory.strip("/\\").replace("/", "\\")
        self.base = f"\\\\{endpoint.host}\\{share_path}"

    def __enter__(self) -> SmbPusher:
        ep = self.endpoint
        try:
            smbclient.register_session(ep.host, username=ep.username or None, password=ep.password or None,
                                       port=self.port, connection_timeout=int(ep.timeout))
        except (LogonFailure, SMBAuthenticationError) as e:
            raise AuthenticationFailed(f"{ep.where}: logon as {ep.username} refused") from e
        except (OSError, SMBException, ValueError) as e:
            raise TransferRetryable(f"cannot connect to {ep.where}: {e}") from e
        try:
            if not smbclient.path.isdir(self.base, port=self.port):
                raise RemotePathError(f"{ep.where}: directory {ep.directory} does not exist")
        except (SMBOSError, SMBException) as e:
            raise RemotePathError(f"{ep.where}: cannot use {ep.directory}: {e}") from e
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        try:
            smbclient.delete_session(self.endpoint.host, port=self.port)
        except (OSError, SMBException, KeyError):
            pass

    def _path(self, remote_name: str) -> str:
        check_name(remote_name)
        return f"{self.base}\\{remote_name}"

    def _write(self, remote_name: str, data_source: object) -> None:
        path = self._path(remote_name)
        try:
            with smbclient.open_file(path, mode="wb", port=self.port) as out:  # truncates a partial file
                if isinstance(data_source, bytes):
                    out.write(data_source)
                else:
                    with open(data_source, "rb") as src:  # type: ignore[call-overload]
                        shutil.copyfileobj(src, out, BLOCK_SIZE)
        except SMBOSError as e:
            if e.errno in (2, 13, 20, 21):  # ENOENT, EACCES, ENOTDIR, EISDIR
                raise RemotePathError(f"{self.endpoint.where}/{remote_name}: {e.strerror}") from e
            raise TransferRetryable(f"{self.endpoint.where}/{remote_name}: {e}") from e
        except (OSError, SMBException) as e:
            raise TransferRetryable(f"{self.endpoint.where}/{remote_name}: transfer broke: {e}") from e

    def put_file(self, local: Path, remote_name: str) -> int:
        size = local.stat().st_size
        self._write(remote_name, local)
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        self._write(remote_name, text.encode("utf-8"))

    def remote_size(self, remote_name: str) -> int | None:
        try:
            return int(smbclient.stat(self._path(remote_name), port=self.port).st_size)
        except SMBOSError:
            return None
        except (OSError, SMBException) as e:
            raise TransferRetryable(f"{self.endpoint.where}/{remote_name}: stat failed: {e}") from e
