"""FTP with ftplib: binary, passive by default; uploads by ``sendfile``, downloads into reused blocks.

The endpoint's timeout is the socket timeout of the control and every data
connection: connecting, each reply and each block sent or received (a silent
peer fails the try as retryable, "timed out"). ftplib's own loops copy every
block through Python (``retrbinary`` allocates a bytes object per block, ran at
~0.4x curl on loopback): uploads go by ``socket.sendfile``, downloads by
``recv_into`` into the staging file's reused blocks.

A 550 is ambiguous (missing or forbidden): the parent directory is listed to
tell which. Paths go to the server as given, after the checks of ``_base``.
"""

from __future__ import annotations

import ftplib
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from distribution.remote._base import (
    Endpoint,
    Fetched,
    LoginRefused,
    NetworkFailure,
    PermissionRefused,
    Refused,
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

_NETWORK_ERRORS = (OSError, EOFError, ftplib.Error)
_NOT_IMPLEMENTED = ("500", "501", "502", "504")


def _code(e: ftplib.Error) -> str:
    return str(e)[:3]


def _mtime(text: str | None) -> datetime | None:
    """An MLSD ``modify`` or MDTM value (``YYYYMMDDHHMMSS[.fff]``, UTC); None when absent or odd."""
    try:
        return datetime.strptime(str(text)[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class FtpFiles(StreamUploads):
    """One logged-in FTP control connection, in the endpoint's directory."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.ftp = ftplib.FTP()
        self.home = ""  # the working directory after login (and the endpoint's directory)
        self._ascii = True  # ftplib's listings switch to TYPE A; file commands switch back when needed

    def _binary(self) -> None:
        """TYPE I unless the session is in it already (saves a round trip per file)."""
        if self._ascii:
            self.ftp.voidcmd("TYPE I")
            self._ascii = False

    @contextmanager
    def _mapped(self, what: str, missing: Callable[[], bool] | None = None,
                refused: type[Refused] = Refused) -> Iterator[None]:
        """5xx: ``refused`` (RemoteNotFound when ``missing()`` says so); 421, 425, other 4xx, broken links: retryable."""
        try:
            yield
        except ftplib.error_perm as e:
            if missing is not None and missing():
                raise RemoteNotFound(f"{what}: {e}") from e
            raise refused(f"{what}: {e}") from e
        except ftplib.error_temp as e:
            code = _code(e)
            if code == "421":
                raise NetworkFailure(f"{what}: {e}") from e
            if code == "425":
                raise Unreachable(f"{what}: {e}") from e
            raise TransferFailed(f"{what}: {e}") from e
        except (ftplib.error_reply, ftplib.error_proto) as e:
            raise TransferFailed(f"{what}: unexpected reply {e}") from e
        except (OSError, EOFError) as e:
            raise NetworkFailure(f"{what}: connection lost: {failure_reason(e, self.endpoint.timeout)}") from e

    def __enter__(self) -> FtpFiles:
        ep = self.endpoint
        user = ep.username or "anonymous"
        try:
            try:
                self.ftp.connect(ep.host, ep.port or 21, timeout=ep.timeout)
            except _NETWORK_ERRORS as e:  # refused, unknown host, timeout, 421 greeting
                raise Unreachable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e
            try:
                self.ftp.login(user, ep.password)
            except ftplib.error_perm as e:
                raise LoginRefused(f"{ep.where}: login as {user} refused: {e}") from e
            except _NETWORK_ERRORS as e:
                raise Unreachable(f"{ep.where}: login as {user} failed: {failure_reason(e, ep.timeout)}") from e
            self.ftp.set_pasv(ep.passive)
            with self._mapped(f"{ep.where}: cannot use directory {ep.directory}", lambda: True):
                self._binary()
                if ep.directory:
                    self.ftp.cwd(check_directory(ep.directory))
                self.home = self.ftp.pwd()
        except BaseException:
            self.ftp.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        """QUIT politely; on a broken connection just close it."""
        try:
            self.ftp.quit()
        except _NETWORK_ERRORS:
            self.ftp.close()

    def _at(self, path: str) -> str:
        return self.endpoint.at(path.lstrip("/"))

    def _missing(self, path: str) -> Callable[[], bool]:
        """After a 550: is ``path`` absent from its directory's listing (or the directory itself gone)?"""
        def missing() -> bool:
            parent, name = posixpath.split(path)
            self._ascii = True
            try:
                names = self.ftp.nlst(parent or ".")
            except ftplib.error_perm:
                return True  # the directory is not there (or unreadable: the file is not available either way)
            except _NETWORK_ERRORS:
                return False
            return name not in {posixpath.basename(n.rstrip("/")) for n in names}
        return missing

    def is_dir(self, path: str) -> bool:
        with self._mapped(f"{self._at(path)}: CWD"):
            try:
                self.ftp.cwd(check_directory(path) or ".")
            except ftplib.error_perm:
                return False
            self.ftp.cwd(self.home)  # back, so relative paths start where the login landed
        return True

    def list_files(self, directory: str, match: Callable[[str], bool] | None = None) -> list[RemoteFile]:
        directory = check_directory(directory) or "."
        with self._mapped(f"{self._at(directory)}: cannot list", self._missing(directory)):
            self._ascii = True
            try:
                entries = [(name, facts) for name, facts in self.ftp.mlsd(directory, ["type", "size", "modify"])
                           if facts.get("type", "file") == "file"]
            except ftplib.error_perm as e:
                if _code(e) not in _NOT_IMPLEMENTED:
                    raise
                entries = [(posixpath.basename(n), {}) for n in self.ftp.nlst(directory)]
        found = []
        for name, facts in entries:
            if match is not None and not match(name):
                continue
            if "size" in facts:
                found.append(RemoteFile(name, int(facts["size"]), _mtime(facts.get("modify"))))
            else:  # no MLSD: ask per file (callers match few), and skip what is not a plain file
                found.extend(self._stat(posixpath.join(directory, name)))
        return sorted(found, key=lambda f: f.name)

    def _stat(self, path: str) -> list[RemoteFile]:
        if (size := self.size(path)) is None:
            return []  # a directory, or gone since the listing
        with self._mapped(f"{self._at(path)}: MDTM"):
            mtime = None
            try:
                mtime = _mtime(self.ftp.voidcmd(f"MDTM {path}")[4:].strip())
            except ftplib.error_perm:
                pass
        return [RemoteFile(posixpath.basename(path), size, mtime)]

    def size(self, path: str) -> int | None:
        check_path(path)
        with self._mapped(f"{self._at(path)}: SIZE failed"):
            try:
                self._binary()  # some servers refuse SIZE in ASCII mode
                return self.ftp.size(path)
            except ftplib.error_perm:
                return None  # 550: no such file (or not a plain file)

    def read_bytes(self, path: str, limit: int) -> bytes:
        where = self._at(check_path(path))
        chunks: list[bytes] = []
        received = 0
        with self._mapped(f"{where}: cannot read", self._missing(path)):
            self._binary()
            try:
                size = self.ftp.size(path)
            except ftplib.error_perm:
                size = None  # SIZE not offered: the limit is kept while reading
            if size is not None and size > limit:
                raise TooLarge(f"{where}: {size} bytes, at most {limit}")
            with self.ftp.transfercmd(f"RETR {path}") as conn:
                while data := conn.recv(min(limit + 1 - received, 1 << 16) or 1):
                    chunks.append(data)
                    received += len(data)
                    if received > limit:
                        break
            self._end_transfer(aborted=received > limit)
        if received > limit:
            raise TooLarge(f"{where}: more than {limit} bytes")
        return b"".join(chunks)

    def _end_transfer(self, aborted: bool) -> None:
        """Read the reply to a transfer; after hanging up the data connection early, any reply will do."""
        if not aborted:
            self.ftp.voidresp()
            return
        try:
            self.ftp.getresp()
        except (ftplib.error_temp, ftplib.error_perm):
            pass  # 426/451: the server noticed that we stopped reading

    def fetch(self, path: str, dst: Path, checksum_type: str | None) -> Fetched:
        where = self._at(check_path(path))
        with self._mapped(f"{where}: not available", self._missing(path)):
            self._binary()
            announced = self.ftp.size(path)

        def copy(staging: StagingFile) -> None:
            with self._mapped(f"{where}: download failed", self._missing(path)):
                with self.ftp.transfercmd(f"RETR {path}") as conn:
                    pump(conn.recv_into, staging)
                self.ftp.voidresp()

        return receive(dst, checksum_type, where, announced, copy)

    def _store(self, path: str, source: BinaryIO) -> None:
        # STOR replaces a partial file from an earlier try; 553/550 (no permission) is permanent.
        with self._mapped(f"{self._at(path)}: upload failed", refused=PermissionRefused):
            self._binary()  # once per connection (a listing switches it back), not once per file
            with self.ftp.transfercmd(f"STOR {path}") as conn:
                conn.sendfile(source)  # kernel-to-kernel for a file; a plain send loop for text
            self.ftp.voidresp()

    def _rename(self, tmp: str, path: str) -> None:
        with self._mapped(f"{self._at(path)}: cannot rename into place"):
            self.ftp.rename(tmp, path)  # RNFR/RNTO

    def _remove(self, path: str) -> None:
        try:
            self.ftp.delete(path)
        except _NETWORK_ERRORS:
            pass
