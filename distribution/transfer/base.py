"""One interface for every push: an ``Endpoint`` and a ``Pusher`` holding one connection.

The error type decides what happens upstream: ``TransferRetryable`` (peer down,
network, a short file) is retried with backoff (ICD: every 10 minutes for up to
3 hours); the ``PermanentError`` subclasses (authentication, host key, missing or
unwritable directory, refused by the server) fail the granules at once and their
text goes into the failed DN. Messages name host and path, never a password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from distribution.config import network_timeout
from distribution.errors import PermanentError, RetryableError

METHODS = ("ftp", "sftp", "smb", "local")


class TransferRetryable(RetryableError):
    """The peer or the network may come back: retry later."""


class AuthenticationFailed(PermanentError):
    """The destination refused the credentials."""


class HostKeyMismatch(PermanentError):
    """The server's host key is not the one on record (or none is): never send data to it."""


class RemotePathError(PermanentError):
    """The destination directory is missing, or writing there is not permitted."""


class TransferRefused(PermanentError):
    """The server refused the transfer for good (e.g. an FTP 5xx reply), or the request makes no sense."""


@dataclass(frozen=True)
class Endpoint:
    """Where a push goes. Secrets come from an Airflow Connection at run time; repr hides them.

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


class Pusher(Protocol):
    """A connection to one destination directory; enter it to connect, leave it to hang up."""

    def __enter__(self) -> Pusher: ...

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None: ...

    def put_file(self, local: Path, remote_name: str) -> int:
        """Write ``local`` as ``remote_name`` (replacing a partial file of an earlier try); check the size."""
        ...

    def put_text(self, remote_name: str, text: str) -> None:
        """Write a small UTF-8 text file, e.g. the ``<RequestID>.notifyscp`` DN."""
        ...

    def remote_size(self, remote_name: str) -> int | None:
        """The size of ``remote_name`` in the directory, or None when it is not there."""
        ...


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


def check_size(endpoint: Endpoint, remote_name: str, expected: int, actual: int | None) -> None:
    """A file that arrived short (or long) is a failed try: the retry rewrites it."""
    if actual != expected:
        raise TransferRetryable(f"{endpoint.at(remote_name)}: remote size {actual} after transfer, expected {expected}")


def check_name(remote_name: str) -> None:
    """Only plain names: a DN-announced file must land in the agreed directory, nowhere else."""
    if not remote_name or "/" in remote_name or "\\" in remote_name or remote_name in (".", "..") or (
        "\0" in remote_name or "\n" in remote_name or "\r" in remote_name
    ):
        raise TransferRefused(f"not a plain file name: {remote_name!r}")
