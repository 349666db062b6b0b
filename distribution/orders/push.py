"""Electronic delivery: pushing a request's files to a user by FTP, scp (SCP or SFTP over SSH), SMB or local copy.

``open_pusher(endpoint)`` gives a context manager holding one connection::

    with open_pusher(Endpoint("sftp", host, 22, "/incoming", user, private_key=pem, known_hosts=line)) as p:
        p.put_file(staged, "MOD09GHK.A2001.hdf")
        p.put_text(f"{request_id}.notifyscp", dn_text)

The protocols are ``distribution.remote``'s clients; this role only keeps names
plain (a DN-announced file must land in the agreed directory, nowhere else) and
says what a failure means for a delivery. The error type decides what happens
upstream: ``TransferRetryable`` (peer down, network, a short file) is retried
with backoff (ICD: every 10 minutes for up to 3 hours); the ``PermanentError``
subclasses (authentication, host key, missing or unwritable directory, refused
by the server) fail the granules at once and their text goes into the failed
DN. Messages name host and path, never a password.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Protocol

from distribution import remote
from distribution.errors import ArdisError, PermanentError, RetryableError
from distribution.paths import PathEscape
from distribution.remote import METHODS, Endpoint, RemoteFiles

__all__ = [
    "METHODS",
    "AuthenticationFailed",
    "Endpoint",
    "HostKeyMismatch",
    "PathRefused",
    "Pusher",
    "RemotePathError",
    "TransferRefused",
    "TransferRetryable",
    "open_pusher",
]


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


class PathRefused(TransferRefused, PathEscape):
    """Not a plain name, or a path that would leave the destination directory: never sent."""


#: What each remote failure means for a delivery (the most specific class of the error wins).
_MEANING: dict[type[remote.RemoteError], type[ArdisError]] = {
    remote.HostKeyMismatch: HostKeyMismatch,
    remote.LoginRefused: AuthenticationFailed,
    remote.RemoteNotFound: RemotePathError,
    remote.PermissionRefused: RemotePathError,
    remote.PathEscape: PathRefused,
    remote.Refused: TransferRefused,
    remote.TooLarge: TransferRefused,
    remote.LocalWriteFailed: TransferRefused,
}


def _mapped() -> AbstractContextManager[None]:
    return remote.errors_as(_MEANING, TransferRetryable, TransferRefused)


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

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        """``put_file`` for each ``(local, remote_name)``, yielding ``(remote_name, size)`` as each is whole;
        several in flight on the one connection where the protocol allows (SFTP)."""
        ...

    def remote_size(self, remote_name: str) -> int | None:
        """The size of ``remote_name`` in the directory, or None when it is not there."""
        ...


class _RemotePusher:
    """A ``Pusher`` over one ``distribution.remote`` client (``remote``), in the endpoint's directory."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        with _mapped():
            self.remote: RemoteFiles = remote.open_remote(endpoint)

    def __enter__(self) -> _RemotePusher:
        with _mapped():
            self.remote.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.remote.__exit__(et, ev, tb)

    def put_file(self, local: Path, remote_name: str) -> int:
        with _mapped():
            return self.remote.put_file(local, remote.check_name(remote_name))

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        with _mapped():
            yield from self.remote.put_files((local, remote.check_name(name)) for local, name in files)

    def put_text(self, remote_name: str, text: str) -> None:
        with _mapped():
            self.remote.put_text(remote.check_name(remote_name), text)

    def remote_size(self, remote_name: str) -> int | None:
        with _mapped():
            return self.remote.size(remote.check_name(remote_name))


def open_pusher(endpoint: Endpoint) -> Pusher:
    """A pusher for the endpoint's method (enter it to connect). Libraries load only when used."""
    return _RemotePusher(endpoint)
