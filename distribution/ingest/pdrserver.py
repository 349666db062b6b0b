"""Reaching a data provider's PDR server for the polling ingest (ICD 4.5): local, FTP or SFTP, one interface.

``open_pdr_server(endpoint, polling_directory)`` gives a context manager holding one connection::

    with open_pdr_server(Endpoint("ftp", host, 21, "", user, password), "/SIPS1/PDR") as server:
        for pdr in server.list_pdrs():
            text = server.read_pdr(pdr.name, limit=1 << 20)
            got = server.fetch("/SIPS1/DATA", "MOD09.A2001.hdf", staging / "MOD09.A2001.hdf", "MD5")
            server.write_response(pdr.name[:-4] + ".PAN", pan_text)

Ardis never deletes or changes a provider's files; it only adds its PAN or PDRD,
atomically (a temporary name, then a rename). The protocols are ``distribution.remote``'s
clients; this role adds the polling directory, the PDR names and the PAN words.

Paths: a PDR's DIRECTORY_ID is taken as the provider wrote it. Absolute ones are
read from the provider's root as FTP shows it (the server's root; for ``local``
the endpoint's directory), relative ones from the login directory (the endpoint's
directory when set, else where the login lands). No path may hold a ``..``
component, a NUL, CR or LF; a FILE_ID is a plain name. Symlinks are the server's
business on FTP/SFTP (its chroot and permissions decide); ``local`` resolves them
and refuses what leaves its root. ``fetch`` writes ``<dst>.part``, renamed when
whole, with the checksum computed in the same pass.

Every error is a ``PdrServerError`` carrying the disposition ingest writes into the
PAN; its type (``RetryableError`` or ``PermanentError``) decides retry or fail.
Decisions against Table 4.5-7 (footnote 8: retried automatically; 9: not without
the DAAC's agreement). Every retryable error carries a footnote-8 disposition
(``pan.AUTO_RETRY``); the converse does not hold, see the two logins below.

=============================================  ===================================  =========
what happened                                  disposition                          retried
=============================================  ===================================  =========
connection refused, unknown host, timeout      UNABLE TO ESTABLISH FTP/KFTP CONN.   yes
while connecting, SSH handshake broken, no
FTP data connection (425)
login refused (user, password, key)            UNABLE TO ESTABLISH FTP/KFTP CONN.   no [1]
SSH host key not the one on record             UNABLE TO ESTABLISH FTP/KFTP CONN.   no [1]
connection lost or timed out after it was      NETWORK FAILURE ("ftp service not    yes
up, FTP 421 (service not available)            available")
other FTP 4xx, SFTP generic failure, fewer     FTP/KFTP FAILURE ("other ftp         yes
bytes than the server announced, local EIO     errors")
product file, its directory or the polling     ALL FILE GROUPS/FILES NOT FOUND      no [2]
directory not there (FTP 550 + not listed,     ("data file not available when
SFTP no such file, ENOENT)                     trying to ftp it")
permission denied, other FTP 5xx, an SFTP      FTP/KFTP COMMAND FAILURE ("not       no
operation the server does not support          retryable")
a path with ``..``, NUL/CR/LF, a FILE_ID that  FTP/KFTP COMMAND FAILURE (the        no
is not a plain name, a symlink out of the      command is refused for that
local root                                     parameter, by Ardis)
PDR longer than the limit (ICD: 1 MB)          INVALID PVL STATEMENT (short PDRD,   no
                                               as distribution.ingest.pdr decides)
writing the local copy failed (disk full)      RESOURCE ALLOCATION FAILURE          no [2]
=============================================  ===================================  =========

[1] Table 4.5-7 has no better word than "cannot open ftp/scp connection", and
footnote 8 recommends retrying it; but a wrong password or host key does not heal
by waiting (and repeated bad logins lock accounts), so these fail at once.
[2] Footnote 9: "may or may not be retryable", not without prior agreement.

Messages name host and path, never a password.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Protocol

from distribution import remote
from distribution.ingest import pan
from distribution.errors import ArdisError, PermanentError, RetryableError
from distribution.ingest.pdr import is_pdr_name
from distribution.remote import Endpoint, Fetched, RemoteFile, RemoteFiles

__all__ = [
    "Fetched",
    "PathEscape",
    "PdrServer",
    "PdrServerError",
    "PdrTooLarge",
    "ProviderCommandRefused",
    "ProviderFileNotFound",
    "ProviderHostKeyMismatch",
    "ProviderLoginRefused",
    "ProviderNetworkFailure",
    "ProviderTransferFailed",
    "ProviderUnreachable",
    "RemoteFile",
    "StagingWriteFailed",
    "open_pdr_server",
]

METHODS = ("local", "ftp", "sftp")


class PdrServerError(ArdisError):
    """An error reaching a provider's PDR server; ``disposition`` is what the PAN (or PDRD) says."""

    disposition: str = pan.ECS_INTERNAL_ERROR


class ProviderUnreachable(PdrServerError, RetryableError):
    """Connection refused, unknown host, timeout while connecting, no data connection (footnote 8: retry)."""

    disposition = pan.UNABLE_TO_CONNECT


class ProviderNetworkFailure(PdrServerError, RetryableError):
    """The connection broke or timed out after it was up, or the service went away (FTP 421)."""

    disposition = pan.NETWORK_FAILURE


class ProviderTransferFailed(PdrServerError, RetryableError):
    """Another transient server error (FTP 4xx, SFTP failure, a short transfer): "other ftp errors"."""

    disposition = pan.FTP_FAILURE


class ProviderLoginRefused(PdrServerError, PermanentError):
    """Wrong user, password or key: no connection can be made, and waiting will not fix it."""

    disposition = pan.UNABLE_TO_CONNECT


class ProviderHostKeyMismatch(PdrServerError, PermanentError):
    """The SSH server's key is not the one on record (or none is): never talk to it."""

    disposition = pan.UNABLE_TO_CONNECT


class ProviderFileNotFound(PdrServerError, PermanentError):
    """A product file (or its directory, or the polling directory) is not on the server."""

    disposition = pan.FILES_NOT_FOUND


class ProviderCommandRefused(PdrServerError, PermanentError):
    """The server refused a command for good (permissions, FTP 5xx, unsupported operation)."""

    disposition = pan.FTP_COMMAND_FAILURE


class PathEscape(ProviderCommandRefused):
    """A path that would climb out (``..``, a symlink leaving the root) or smuggle a command: never sent."""


class PdrTooLarge(PdrServerError, PermanentError):
    """The PDR is longer than allowed (ICD 4.5.2: 1 MB); answered by a short PDRD, as pdr.py does."""

    disposition = pan.INVALID_PVL_STATEMENT


class StagingWriteFailed(PdrServerError, PermanentError):
    """Writing the fetched file on this side failed (disk full, permissions): "unable to ... extend the staging disk"."""

    disposition = pan.RESOURCE_ALLOCATION_FAILURE


#: The table above, by the remote client's error (the most specific class of the error wins).
_DISPOSITION: dict[type[remote.RemoteError], type[PdrServerError]] = {
    remote.Unreachable: ProviderUnreachable,
    remote.NetworkFailure: ProviderNetworkFailure,
    remote.TransferFailed: ProviderTransferFailed,
    remote.LoginRefused: ProviderLoginRefused,
    remote.HostKeyMismatch: ProviderHostKeyMismatch,
    remote.RemoteNotFound: ProviderFileNotFound,
    remote.PathEscape: PathEscape,
    remote.Refused: ProviderCommandRefused,
    remote.TooLarge: PdrTooLarge,
    remote.LocalWriteFailed: StagingWriteFailed,
}


def _mapped() -> AbstractContextManager[None]:
    return remote.errors_as(_DISPOSITION, ProviderTransferFailed, ProviderCommandRefused)


class PdrServer(Protocol):
    """One connection to one provider's PDR server and its polling directory; enter it to connect."""

    def __enter__(self) -> PdrServer: ...

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None: ...

    def list_pdrs(self) -> list[RemoteFile]:
        """The ``*.PDR`` files (``distribution.ingest.pdr.is_pdr_name``) in the polling directory, by name."""
        ...

    def read_pdr(self, name: str, limit: int) -> bytes:
        """The bytes of the PDR ``name`` in the polling directory; more than ``limit`` bytes: PdrTooLarge."""
        ...

    def fetch(self, directory_id: str, file_id: str, dst: Path, checksum_type: str | None) -> Fetched:
        """Copy one product file to the local path ``dst``, checksumming it in the same pass."""
        ...

    def write_response(self, name: str, text: str) -> None:
        """Write a PAN or PDRD next to the PDRs, atomically (a temporary name, then a rename)."""
        ...


class _RemotePdrServer:
    """A ``PdrServer`` over one ``distribution.remote`` client (``remote``); the polling directory checked on entry."""

    def __init__(self, endpoint: Endpoint, polling_directory: str) -> None:
        self.endpoint = endpoint
        with _mapped():
            self.polling = remote.check_directory(polling_directory) or "."
            self.remote: RemoteFiles = remote.open_remote(endpoint)

    def __enter__(self) -> _RemotePdrServer:
        with _mapped():
            self.remote.__enter__()
        try:
            with _mapped():
                found = self.remote.is_dir(self.polling)
            if not found:
                raise ProviderFileNotFound(f"{self.endpoint.where}: polling directory {self.polling} not found")
        except BaseException:
            self.remote.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.remote.__exit__(et, ev, tb)

    def list_pdrs(self) -> list[RemoteFile]:
        with _mapped():
            return self.remote.list_files(self.polling, is_pdr_name)

    def read_pdr(self, name: str, limit: int) -> bytes:
        with _mapped():
            return self.remote.read_bytes(remote.join(self.polling, name), limit)

    def fetch(self, directory_id: str, file_id: str, dst: Path, checksum_type: str | None) -> Fetched:
        with _mapped():
            return self.remote.fetch(remote.join(directory_id, file_id), dst, checksum_type)

    def write_response(self, name: str, text: str) -> None:
        with _mapped():
            self.remote.put_text(remote.join(self.polling, name), text, atomic=True)


def open_pdr_server(endpoint: Endpoint, polling_directory: str) -> PdrServer:
    """A PDR server for the endpoint's method (enter it to connect). Libraries load only when used."""
    if endpoint.method not in METHODS:
        raise ProviderCommandRefused(f"a PDR server is reached by {', '.join(METHODS)}, not {endpoint.method!r}")
    return _RemotePdrServer(endpoint, polling_directory)
