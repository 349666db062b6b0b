"""FTP push (FtpPush) with ftplib: binary, passive by default, file data by ``sendfile``.

The endpoint's timeout is the socket timeout of the control and every data
connection: connecting, each reply and each block sent or received (a silent
peer fails the try as retryable, "timed out").

ftplib's own loops copy every block through Python (its download loop,
``recv(blocksize)`` per block, ran at ~0.4x curl on loopback): uploads go by
``socket.sendfile`` and ``get_file`` reads into one reused 1 MiB buffer instead.
"""

from __future__ import annotations

import ftplib
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from distribution.errors import PermanentError
from distribution.transfer.base import (
    AuthenticationFailed,
    Endpoint,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
    check_name,
    check_size,
    failure_reason,
)

BLOCK_SIZE = 1 << 20
_NETWORK_ERRORS = (OSError, EOFError, ftplib.Error)


def hang_up(ftp: ftplib.FTP) -> None:
    """QUIT politely; on a broken connection just close it."""
    try:
        ftp.quit()
    except _NETWORK_ERRORS:
        ftp.close()


class FtpPusher:
    """One FTP control connection, logged in and in the endpoint's directory."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.ftp = ftplib.FTP()

    @contextmanager
    def _mapped(self, what: str, permanent: type[PermanentError] = TransferRefused) -> Iterator[None]:
        """FTP 5xx is permanent (as ``permanent``); 4xx, broken connections and timeouts are retryable."""
        try:
            yield
        except ftplib.error_perm as e:
            raise permanent(f"{what}: {e}") from e
        except _NETWORK_ERRORS as e:  # error_temp (4xx), error_reply, error_proto, resets, timeouts
            raise TransferRetryable(f"{what}: {failure_reason(e, self.endpoint.timeout)}") from e

    def __enter__(self) -> FtpPusher:
        ep = self.endpoint
        user = ep.username or "anonymous"
        try:
            with self._mapped(f"cannot connect to {ep.where}"):
                self.ftp.connect(ep.host, ep.port or 21, timeout=ep.timeout)
            with self._mapped(f"{ep.where}: login as {user} refused", AuthenticationFailed):
                self.ftp.login(user, ep.password)
            self.ftp.set_pasv(ep.passive)
            with self._mapped(f"{ep.where}: cannot use directory {ep.directory}", RemotePathError):
                self.ftp.voidcmd("TYPE I")
                if ep.directory:
                    self.ftp.cwd(ep.directory)
        except BaseException:
            self.ftp.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        hang_up(self.ftp)

    def _store(self, remote_name: str, source: BinaryIO) -> None:
        check_name(remote_name)
        # STOR replaces a partial file from an earlier try; 553/550 (no permission) is permanent.
        with self._mapped(f"{self.endpoint.at(remote_name)}: upload failed", RemotePathError):
            self.ftp.voidcmd("TYPE I")
            with self.ftp.transfercmd(f"STOR {remote_name}") as conn:
                conn.sendfile(source)  # kernel-to-kernel for a file; a plain send loop for text
            self.ftp.voidresp()

    def put_file(self, local: Path, remote_name: str) -> int:
        size = local.stat().st_size
        with local.open("rb") as f:
            self._store(remote_name, f)
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        self._store(remote_name, io.BytesIO(text.encode("utf-8")))

    def remote_size(self, remote_name: str) -> int | None:
        check_name(remote_name)
        try:
            return self.ftp.size(remote_name)
        except ftplib.error_perm:
            return None  # 550: no such file
        except _NETWORK_ERRORS as e:
            reason = failure_reason(e, self.endpoint.timeout)
            raise TransferRetryable(f"{self.endpoint.at(remote_name)}: SIZE failed: {reason}") from e

    def get_file(self, remote_name: str, local: Path) -> int:
        """Download ``remote_name`` to ``local`` (via ``<local>.part``, renamed when whole); return bytes."""
        check_name(remote_name)
        part = local.with_name(local.name + ".part")
        received = 0
        buf = bytearray(BLOCK_SIZE)
        view = memoryview(buf)
        try:
            with part.open("wb") as out:
                with self._mapped(f"{self.endpoint.at(remote_name)}: download failed"):
                    with self.ftp.transfercmd(f"RETR {remote_name}") as conn:
                        while n := conn.recv_into(buf):
                            out.write(view[:n])
                            received += n
                    self.ftp.voidresp()
            check_size(self.endpoint, remote_name, received, self.remote_size(remote_name))
            os.replace(part, local)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return received
