"""The interface every remote-file client implements, its errors, the ``Endpoint`` and the path checks.

Paths: relative paths start at the endpoint's directory (FTP: where the login
lands after changing into it; ``local``: the directory itself), absolute ones at
the server's root (``local``: the endpoint's directory again, as an FTP server
chrooted there would show it; SMB: the share). No path may hold a ``..``
component, a NUL, CR or LF (an FTP command could be smuggled in a name): those
are refused before anything is sent.

Every error is a ``RemoteError`` that is either a ``RetryableError`` (the peer or
the network may come back) or a ``PermanentError`` (waiting will not help); the
roles (``distribution.orders.push``, ``distribution.ingest.pdrserver``) map them to their
own words. Messages name host and path, never a password.
"""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, Self, TypeVar

from distribution.config import network_timeout
from distribution.errors import ArdisError, PermanentError, RetryableError
from distribution.paths import PathEscape as _PathEscape

METHODS = ("ftp", "sftp", "smb", "local")

E = TypeVar("E", bound=BaseException)


class RemoteError(ArdisError):
    """Anything that went wrong reaching a remote directory; ``path``: the file of a batch it concerns."""

    path: str | None = None


class Unreachable(RemoteError, RetryableError):
    """Connection refused, unknown host, timeout while connecting, no data connection (FTP 425)."""


class NetworkFailure(RemoteError, RetryableError):
    """The connection broke or timed out after it was up, or the service went away (FTP 421)."""


class TransferFailed(RemoteError, RetryableError):
    """Another transient failure: FTP 4xx, SFTP failure, a file that arrived short, local EIO."""


class LoginRefused(RemoteError, PermanentError):
    """Wrong user, password or key (or an unreadable one)."""


class HostKeyMismatch(RemoteError, PermanentError):
    """The SSH server's key is not the one on record (or none is): nothing is sent to it."""


class RemoteNotFound(RemoteError, PermanentError):
    """The file or directory is not there."""


class Refused(RemoteError, PermanentError):
    """The server refused an operation for good (FTP 5xx, an SFTP operation it does not support)."""


class PermissionRefused(Refused):
    """Reading or writing that place is not permitted (permissions, read-only file system)."""


class PathEscape(Refused, _PathEscape):
    """A path that would climb out (``..``, a symlink leaving the root) or smuggle a command: never sent."""


class TooLarge(RemoteError, PermanentError):
    """A small file (``read_bytes``) is longer than the caller allows."""


class LocalWriteFailed(RemoteError, PermanentError):
    """Writing the local copy failed (disk full, permissions)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a connection goes. Secrets come from an Airflow Connection at run time; repr hides them.

    ``directory`` is the remote directory; for SMB it is ``<share>/<path inside share>``;
    for ``local`` a directory on this machine (or a mounted file system).
    ``known_hosts`` is known_hosts-format text naming the server's key(s): SFTP
    refuses to connect without it.
    """

    method: str  # "ftp" | "sftp" | "smb" | "local"
    host: str = ""
    port: int | None = None
    directory: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    private_key: str | None = field(default=None, repr=False)  # PEM text (sftp)
    known_hosts: str | None = None
    passive: bool = True
    #: connect, login and read timeout (seconds without an answer); ARDIS_NETWORK_TIMEOUT_SECONDS
    timeout: float = field(default_factory=network_timeout)

    @property
    def where(self) -> str:
        """``method://host:port/directory`` for messages: enough to find the place, no secret."""
        if self.method == "local":
            return self.directory
        port = f":{self.port}" if self.port else ""
        return f"{self.method}://{self.host}{port}/{self.directory.lstrip('/')}"

    def at(self, remote_name: str) -> str:
        """The full remote location of one file, for messages."""
        return f"{self.where.rstrip('/')}/{remote_name}"


@dataclass(frozen=True)
class RemoteFile:
    """A plain file in a listing; ``mtime`` is None when the server does not say."""

    name: str
    size: int
    mtime: datetime | None


@dataclass(frozen=True)
class Fetched:
    """What ``fetch`` copied: bytes written, and the checksum of exactly those bytes (None when not asked)."""

    size: int
    checksum: str | None


class RemoteFiles(Protocol):
    """One connection to one endpoint; enter it to connect (and check its directory), leave it to hang up."""

    endpoint: Endpoint

    def __enter__(self) -> Self: ...

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None: ...

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory (False when absent)."""
        ...

    def list_files(self, directory: str, match: Callable[[str], bool] | None = None) -> list[RemoteFile]:
        """The plain files in ``directory`` whose names ``match`` accepts, by name (symlinks followed)."""
        ...

    def size(self, path: str) -> int | None:
        """The size of the file at ``path``, or None when it is not there."""
        ...

    def read_bytes(self, path: str, limit: int) -> bytes:
        """The bytes of a small file; more than ``limit`` bytes: TooLarge."""
        ...

    def fetch(self, path: str, dst: Path, checksum_type: str | None) -> Fetched:
        """Copy a plain file to ``dst`` via ``<dst>.part``, checksumming it in the same pass."""
        ...

    def put_file(self, local: Path, path: str) -> int:
        """Write ``local`` at ``path`` (replacing a partial file of an earlier try); the size is checked after."""
        ...

    def put_text(self, path: str, text: str, atomic: bool = False) -> None:
        """Write a small UTF-8 text; ``atomic``: under a temporary name first, then renamed over ``path``."""
        ...

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        """``put_file`` for each ``(local, path)`` over this one connection, yielding ``(path, size)`` as
        each is whole (size checked): the caller records each file as it is yielded, so a retry sends only
        the files not yet recorded. Several in flight where the protocol allows (SFTP requests, OpenSSH
        ``scp`` batches over one ControlMaster connection, SMB compound requests on one session and tree),
        else one after the other (FTP: one control connection). The first failure is raised with ``path``
        set to its file; what was yielded before it stays whole."""
        ...

    def get_files(self, files: Iterable[tuple[str, Path, str | None]]) -> Iterator[tuple[str, Fetched]]:
        """``fetch`` for each ``(path, dst, checksum_type)`` over this one connection, yielding
        ``(path, Fetched)`` as each is whole; the first failure is raised with ``path`` set to its file."""
        ...


# --- paths and helpers ---------------------------------------------------------------------------


def _check_text(what: str, text: str) -> None:
    if any(c in text for c in "\0\r\n"):
        raise PathEscape(f"{what} {text!r} holds a NUL, CR or LF")


def check_directory(directory: str) -> str:
    """A directory as given (a PDR, a subscription), refused when a component is ``..``; '' stays ''."""
    _check_text("directory", directory)
    if ".." in directory.replace("\\", "/").split("/"):
        raise PathEscape(f"directory {directory!r} climbs out with '..'")
    return directory


def check_name(name: str) -> str:
    """One plain file name, nothing that is a path."""
    _check_text("file name", name)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise PathEscape(f"not a plain file name: {name!r}")
    return name


def check_path(path: str) -> str:
    """``directory/name`` with both checks (the name must be plain)."""
    directory, name = posixpath.split(path)
    check_directory(directory)
    check_name(name)
    return path


def join(directory: str, name: str) -> str:
    """``directory/name`` after both checks (relative stays relative)."""
    directory = check_directory(directory)
    name = check_name(name)
    return posixpath.join(directory, name) if directory else name


def temporary_name(name: str) -> str:
    """Where an atomic text goes before its rename: hidden, and not ending in .PAN/.PDRD/.PDR."""
    return f".{check_name(name)}.{os.getpid()}.part"


def temporary_path(path: str) -> str:
    """``temporary_name`` in the same directory as ``path``."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, temporary_name(name))


_TIMEOUT_WORDS = ("timed out", "timeout", "not responding")


def failure_reason(e: BaseException, timeout: float) -> str:
    """Why a network call failed, in words: a timeout says so (its own text is often empty)."""
    text = str(getattr(e, "reason", "") or e).strip()
    if isinstance(e, TimeoutError) and text in ("", "timed out"):
        return f"timed out (no answer within {timeout:g} s)"
    if (isinstance(e, TimeoutError) or any(word in text.lower() for word in _TIMEOUT_WORDS)) and (
            "timed out" not in text.lower()):
        return f"timed out: {text}"
    return text or type(e).__name__


def check_size(endpoint: Endpoint, path: str, expected: int, actual: int | None) -> None:
    """A file that arrived short (or long) is a failed try: the retry rewrites it."""
    if actual != expected:
        raise TransferFailed(f"{endpoint.at(path.lstrip('/'))}: remote size {actual} after transfer, "
                             f"expected {expected}")


def failed_at(error: E, path: str) -> E:
    """``error`` marked with the file of a batch it concerns (``RemoteError.path``), for the caller to
    fail that file's granule and go on with the rest."""
    if isinstance(error, RemoteError) and error.path is None:
        error.path = path
    return error


def one_by_one(put_file: Callable[[Path, str], int],
               files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
    """``put_files`` for a protocol that moves one file at a time on its one connection."""
    for local, path in files:
        try:
            size = put_file(local, path)
        except RemoteError as e:
            failed_at(e, path)
            raise
        yield path, size


def get_one_by_one(fetch: Callable[[str, Path, str | None], Fetched],
                   files: Iterable[tuple[str, Path, str | None]]) -> Iterator[tuple[str, Fetched]]:
    """``get_files`` for a protocol that moves one file at a time on its one connection."""
    for path, dst, checksum_type in files:
        try:
            got = fetch(path, dst, checksum_type)
        except RemoteError as e:
            failed_at(e, path)
            raise
        yield path, got


class StreamUploads:
    """``put_file`` and ``put_text`` for clients that upload from a stream (FTP, SMB), written once.

    A client supplies ``_store`` (write a stream at a path, replacing what is
    there), ``_rename`` (replace ``path`` by ``tmp``), ``_remove`` (best effort)
    and ``size``.
    """

    endpoint: Endpoint

    def _store(self, path: str, source: BinaryIO) -> None:
        raise NotImplementedError

    def _rename(self, tmp: str, path: str) -> None:
        raise NotImplementedError

    def _remove(self, path: str) -> None:
        raise NotImplementedError

    def size(self, path: str) -> int | None:
        raise NotImplementedError

    def put_file(self, local: Path, path: str) -> int:
        size = local.stat().st_size
        with local.open("rb") as f:
            self._store(check_path(path), f)
        check_size(self.endpoint, path, size, self.size(path))
        return size

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        return one_by_one(self.put_file, files)

    def get_files(self, files: Iterable[tuple[str, Path, str | None]]) -> Iterator[tuple[str, Fetched]]:
        return get_one_by_one(self.fetch, files)  # type: ignore[attr-defined]

    def put_text(self, path: str, text: str, atomic: bool = False) -> None:
        data = io.BytesIO(text.encode("utf-8"))
        if not atomic:
            self._store(check_path(path), data)
            return
        tmp = temporary_path(check_path(path))
        try:
            self._store(tmp, data)
            self._rename(tmp, path)  # a reader sees the whole text or none
        except BaseException:
            self._remove(tmp)  # our own temporary file, never someone else's
            raise


@contextmanager
def errors_as(meaning: Mapping[type[RemoteError], type[ArdisError]], retryable: type[ArdisError],
              permanent: type[ArdisError]) -> Iterator[None]:
    """Re-raise a ``RemoteError`` as a role's error: the most specific class in ``meaning`` wins, else
    ``retryable`` or ``permanent`` by its kind (how each role says what a failure means to it)."""
    try:
        yield
    except RemoteError as e:
        fallback = retryable if isinstance(e, RetryableError) else permanent
        mapped = next((meaning[c] for c in type(e).__mro__ if c in meaning), fallback)(str(e))
        mapped.path = e.path  # type: ignore[attr-defined]  # the file of a batch it concerns
        raise mapped from e
