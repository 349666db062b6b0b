"""A provider's PDR server over FTP (the ICD's standard method), with ftplib: binary, passive by default.

File data is read with ``recv_into`` into the staging file's reused blocks (ftplib's
own ``retrbinary`` allocates a new bytes object per block). A 550 is ambiguous
(missing or forbidden): the parent directory is listed to tell which. Paths go to
the server as the PDR wrote them, after the checks of base.py (no CR/LF: an FTP
command could be smuggled in a name).
"""

from __future__ import annotations

import ftplib
import io
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from distribution.pdr import is_pdr_name
from distribution.pdrserver.base import (
    Fetched,
    PdrTooLarge,
    ProviderCommandRefused,
    ProviderFileNotFound,
    ProviderLoginRefused,
    ProviderNetworkFailure,
    ProviderTransferFailed,
    ProviderUnreachable,
    RemoteFile,
    StagingFile,
    check_directory,
    check_file_name,
    pump,
    receive,
    remote_path,
    temporary_name,
)
from distribution.transfer.base import Endpoint, failure_reason
from distribution.transfer.ftp import hang_up

_NOT_IMPLEMENTED = ("500", "501", "502", "504")


def _code(e: ftplib.Error) -> str:
    return str(e)[:3]


def _mtime(text: str | None) -> datetime | None:
    """An MLSD ``modify`` or MDTM value (``YYYYMMDDHHMMSS[.fff]``, UTC); None when absent or odd."""
    try:
        return datetime.strptime(str(text)[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class FtpPdrServer:
    """One logged-in FTP control connection; paths are sent absolute or relative to the login directory."""

    def __init__(self, endpoint: Endpoint, polling_directory: str) -> None:
        self.endpoint = endpoint
        self.polling = check_directory(polling_directory) or "."
        self.ftp = ftplib.FTP()
        self.login_directory = ""

    @contextmanager
    def _mapped(self, what: str, missing: Callable[[], bool] | None = None) -> Iterator[None]:
        """5xx: permanent (not found when ``missing()`` says so); 421, 425, other 4xx and broken links: retryable."""
        try:
            yield
        except ftplib.error_perm as e:
            if missing is not None and missing():
                raise ProviderFileNotFound(f"{what}: {e}") from e
            raise ProviderCommandRefused(f"{what}: {e}") from e
        except ftplib.error_temp as e:
            code = _code(e)
            if code == "421":
                raise ProviderNetworkFailure(f"{what}: {e}") from e
            if code == "425":
                raise ProviderUnreachable(f"{what}: {e}") from e
            raise ProviderTransferFailed(f"{what}: {e}") from e
        except (ftplib.error_reply, ftplib.error_proto) as e:
            raise ProviderTransferFailed(f"{what}: unexpected reply {e}") from e
        except (OSError, EOFError) as e:
            raise ProviderNetworkFailure(f"{what}: connection lost: {failure_reason(e, self.endpoint.timeout)}") from e

    def __enter__(self) -> FtpPdrServer:
        ep = self.endpoint
        user = ep.username or "anonymous"
        try:
            try:
                self.ftp.connect(ep.host, ep.port or 21, timeout=ep.timeout)
            except (OSError, EOFError, ftplib.Error) as e:  # refused, unknown host, timeout, 421 greeting
                raise ProviderUnreachable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e
            try:
                self.ftp.login(user, ep.password)
            except ftplib.error_perm as e:
                raise ProviderLoginRefused(f"{ep.where}: login as {user} refused: {e}") from e
            except (OSError, EOFError, ftplib.Error) as e:
                raise ProviderUnreachable(f"{ep.where}: login as {user} failed: {failure_reason(e, ep.timeout)}") from e
            self.ftp.set_pasv(ep.passive)
            if ep.directory:
                with self._mapped(f"{ep.where}: login directory {ep.directory}", lambda: True):
                    self.ftp.cwd(check_directory(ep.directory))
            with self._mapped(f"{ep.where}: PWD"):
                self.login_directory = self.ftp.pwd()
            with self._mapped(f"{ep.where}: polling directory {self.polling} not found", lambda: True):
                self.ftp.cwd(self.polling)  # it must exist; then back, so relative paths start at the login
                self.ftp.cwd(self.login_directory)
        except BaseException:
            self.ftp.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        hang_up(self.ftp)

    def _at(self, path: str) -> str:
        return self.endpoint.at(path.lstrip("/"))

    def _missing(self, path: str) -> Callable[[], bool]:
        """After a 550: is ``path`` absent from its directory's listing (or the directory itself gone)?"""
        def missing() -> bool:
            parent, name = posixpath.split(path)
            try:
                names = self.ftp.nlst(parent or ".")
            except ftplib.error_perm:
                return True  # the directory is not there (or unreadable: the file is not available either way)
            except (OSError, EOFError, ftplib.Error):
                return False
            return name not in {posixpath.basename(n.rstrip("/")) for n in names}
        return missing

    def list_pdrs(self) -> list[RemoteFile]:
        where = self._at(self.polling)
        with self._mapped(f"{where}: cannot list", self._missing(self.polling)):
            try:
                entries = [(name, facts) for name, facts in self.ftp.mlsd(self.polling, ["type", "size", "modify"])
                           if facts.get("type", "file") == "file"]
            except ftplib.error_perm as e:
                if _code(e) not in _NOT_IMPLEMENTED:
                    raise
                entries = [(posixpath.basename(n), {}) for n in self.ftp.nlst(self.polling)]
        found = []
        for name, facts in entries:
            if not is_pdr_name(name):
                continue
            if "size" in facts:
                found.append(RemoteFile(name, int(facts["size"]), _mtime(facts.get("modify"))))
            else:  # no MLSD: ask per PDR (few), and skip what is not a plain file
                found.extend(self._stat(name))
        return sorted(found, key=lambda f: f.name)

    def _stat(self, name: str) -> list[RemoteFile]:
        path = posixpath.join(self.polling, name)
        try:
            size = self.ftp.size(path)
        except ftplib.error_perm:
            return []  # a directory, or gone since the listing
        with self._mapped(f"{self._at(path)}: SIZE"):
            mtime = None
            try:
                mtime = _mtime(self.ftp.voidcmd(f"MDTM {path}")[4:].strip())
            except ftplib.error_perm:
                pass
        return [RemoteFile(name, int(size or 0), mtime)]

    def read_pdr(self, name: str, limit: int) -> bytes:
        path = posixpath.join(self.polling, check_file_name(name))
        where = self._at(path)
        chunks: list[bytes] = []
        received = 0
        with self._mapped(f"{where}: cannot read", self._missing(path)):
            self.ftp.voidcmd("TYPE I")  # listings (retrlines) leave the session in ASCII
            try:
                size = self.ftp.size(path)
            except ftplib.error_perm:
                size = None  # SIZE not offered: the limit is kept while reading
            if size is not None and size > limit:
                raise PdrTooLarge(f"{where}: {size} bytes, at most {limit}")
            with self.ftp.transfercmd(f"RETR {path}") as conn:
                while data := conn.recv(min(limit + 1 - received, 1 << 16) or 1):
                    chunks.append(data)
                    received += len(data)
                    if received > limit:
                        break
            self._end_transfer(aborted=received > limit)
        if received > limit:
            raise PdrTooLarge(f"{where}: more than {limit} bytes")
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

    def fetch(self, directory_id: str, file_id: str, dst: Path, checksum_type: str | None) -> Fetched:
        path = remote_path(directory_id, file_id)
        where = self._at(path)
        with self._mapped(f"{where}: not available", self._missing(path)):
            self.ftp.voidcmd("TYPE I")  # listings (retrlines) leave the session in ASCII
            announced = self.ftp.size(path)

        def copy(staging: StagingFile) -> None:
            with self._mapped(f"{where}: download failed", self._missing(path)):
                with self.ftp.transfercmd(f"RETR {path}") as conn:
                    pump(conn.recv_into, staging)
                self.ftp.voidresp()

        return receive(dst, checksum_type, where, announced, copy)

    def write_response(self, name: str, text: str) -> None:
        target = posixpath.join(self.polling, check_file_name(name))
        tmp = posixpath.join(self.polling, temporary_name(name))
        try:
            with self._mapped(f"{self._at(target)}: cannot write"):
                self.ftp.storbinary(f"STOR {tmp}", io.BytesIO(text.encode("utf-8")))
                self.ftp.rename(tmp, target)  # RNFR/RNTO: the provider sees the whole PAN or none
        except BaseException:
            try:
                self.ftp.delete(tmp)  # our own temporary file, never a provider's
            except (OSError, EOFError, ftplib.Error):
                pass
            raise
