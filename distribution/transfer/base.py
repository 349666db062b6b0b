"""One interface for every push: an ``Endpoint`` and a ``Pusher`` holding one connection.

The error type decides what happens upstream: ``TransferRetryable`` (peer down,
network, a short file) is retried with backoff; the ``PermanentError`` subclasses
(authentication, host key, missing directory, refused by the server) fail the
granules at once. Messages name host and path, never a password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from distribution.errors import PermanentError, RetryableError


class TransferRetryable(RetryableError):
    """The peer or the network may come back: retry later."""


class AuthenticationFailed(PermanentError):
    """The destination refused the credentials."""


class HostKeyMismatch(PermanentError):
    """The server's host key is not the one on record: never send data to it."""


class RemotePathError(PermanentError):
    """The destination directory is missing or not writable."""


class TransferRefused(PermanentError):
    """The server refused the transfer for good (e.g. an FTP 5xx reply)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a push goes; the password is given at run time and never shown."""

    method: str  # "ftp" | "sftp" | "smb" | "local"
    host: str = ""
    port: int | None = None
    directory: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    private_key: str | None = field(default=None, repr=False)
    known_hosts: str | None = None
    passive: bool = True
    timeout: float = 30.0

    @property
    def where(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.method}://{self.host}{port}{'/' if not self.directory.startswith('/') else ''}{self.directory}"


class Pusher(Protocol):
    """A connection to one destination directory."""

    def __enter__(self) -> Pusher: ...

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None: ...

    def put_file(self, local: Path, remote_name: str) -> int:
        """Write ``local`` as ``remote_name`` (replacing a partial file); check the size; return bytes."""
        ...

    def put_text(self, remote_name: str, text: str) -> None: ...

    def remote_size(self, remote_name: str) -> int | None: ...


def check_size(endpoint: Endpoint, remote_name: str, expected: int, actual: int | None) -> None:
    """A file that arrived short (or long) is a failed try: the retry rewrites it."""
    if actual != expected:
        raise TransferRetryable(
            f"{endpoint.where}/{remote_name}: remote size {actual} after transfer, expected {expected}"
        )


def check_name(remote_name: str) -> None:
    if not remote_name or "/" in remote_name or "\\" in remote_name or remote_name in (".", ".."):
        raise TransferRefused(f"not a plain file name: {remote_name!r}")
