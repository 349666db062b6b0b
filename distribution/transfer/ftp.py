"""FTP push (FtpPush) with ftplib: binary, passive by default, large blocks."""

from __future__ import annotations

import ftplib
import io
import socket
from pathlib import Path
from types import TracebackType

from distribution.transfer.base import (
    AuthenticationFailed,
    Endpoint,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
    check_name,
    check_size,
)

BLOCK_SIZE = 1 << 20


class FtpPusher:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.ftp = ftplib.FTP()

    def __enter__(self) -> FtpPusher:
        ep = self.endpoint
        try:
            self.ftp.connect(ep.host, ep.port or 21, timeout=ep.timeout)
        except (OSError, EOFError, ftplib.Error) as e:
            raise TransferRetryable(f"cannot connect to {ep.where}: {e}") from e
        try:
            self.ftp.login(ep.username or "anonymous", ep.password)
        except ftplib.error_perm as e:
            self.ftp.close()
            raise AuthenticationFailed(f"{ep.where}: login as {ep.username or 'anonymous'} refused: {e}") from e
        except (OSError, EOFError, ftplib.Error) as e:
            self.ftp.close()
            raise TransferRetryable(f"{ep.where}: login failed: {e}") from e
        self.ftp.set_pasv(ep.passive)
        try:
            self.ftp.voidcmd("TYPE I")
            if ep.directory:
                self.ftp.cwd(ep.directory)
        except ftplib.error_perm as e:
            self.ftp.close()
            raise RemotePathError(f"{ep.where}: cannot use directory {ep.directory}: {e}") from e
        except (OSError, EOFError, ftplib.Error) as e:
            self.ftp.close()
            raise TransferRetryable(f"{ep.where}: {e}") from e
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            self.ftp.close()

    def _store(self, remote_name: str, source: io.BufferedIOBase) -> None:
        check_name(remote_name)
        try:
            self.ftp.storbinary(f"STOR {remote_name}", source, blocksize=BLOCK_SIZE)
        except ftplib.error_perm as e:
            raise TransferRefused(f"{self.endpoint.where}/{remote_name}: refused: {e}") from e
        except (OSError, EOFError, socket.timeout, ftplib.Error) as e:
            raise TransferRetryable(f"{self.endpoint.where}/{remote_name}: transfer broke: {e}") from e

    def put_file(self, local: Path, remote_name: str) -> int:
        size = local.stat().st_size
        with local.open("rb") as f:
            self._store(remote_name, f)  # STOR replaces a partial file from an earlier try
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        self._store(remote_name, io.BytesIO(text.encode("utf-8")))

    def remote_size(self, remote_name: str) -> int | None:
        try:
            return self.ftp.size(remote_name)
        except ftplib.error_perm:
            return None
        except (OSError, EOFError, ftplib.Error) as e:
            raise TransferRetryable(f"{self.endpoint.where}/{remote_name}: SIZE failed: {e}") from e
