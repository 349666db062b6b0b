"""Reaching a data provider's PDR server for the polling ingest (ICD 4.5): local, FTP or SFTP, one interface.

``open_pdr_server(endpoint, polling_directory)`` gives a context manager holding one connection::

    with open_pdr_server(Endpoint("ftp", host, 21, "", user, password), "/SIPS1/PDR") as server:
        for pdr in server.list_pdrs():
            text = server.read_pdr(pdr.name, limit=1 << 20)
            got = server.fetch("/SIPS1/DATA", "MOD09.A2001.hdf", staging / "MOD09.A2001.hdf", "MD5")
            server.write_response(pdr.name[:-4] + ".PAN", pan_text)

Ardis never deletes or changes a provider's files; it only adds its PAN or PDRD.

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
                                               as distribution.pdr decides)
writing the local copy failed (disk full)      RESOURCE ALLOCATION FAILURE          no [2]
=============================================  ===================================  =========

[1] Table 4.5-7 has no better word than "cannot open ftp/scp connection", and
footnote 8 recommends retrying it; but a wrong password or host key does not heal
by waiting (and repeated bad logins lock accounts), so these fail at once.
[2] Footnote 9: "may or may not be retryable", not without prior agreement.

Messages name host and path, never a password.
"""

from __future__ import annotations

from distribution.pdrserver.base import (
    Fetched,
    PathEscape,
    PdrServer,
    PdrServerError,
    PdrTooLarge,
    ProviderCommandRefused,
    ProviderFileNotFound,
    ProviderHostKeyMismatch,
    ProviderLoginRefused,
    ProviderNetworkFailure,
    ProviderTransferFailed,
    ProviderUnreachable,
    RemoteFile,
    StagingWriteFailed,
)
from distribution.transfer.base import Endpoint

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


def open_pdr_server(endpoint: Endpoint, polling_directory: str) -> PdrServer:
    """A PDR server for the endpoint's method (enter it to connect). Libraries load only when used."""
    if endpoint.method == "local":
        from distribution.pdrserver.local import LocalPdrServer

        return LocalPdrServer(endpoint, polling_directory)
    if endpoint.method == "ftp":
        from distribution.pdrserver.ftp import FtpPdrServer

        return FtpPdrServer(endpoint, polling_directory)
    if endpoint.method == "sftp":
        from distribution.pdrserver.sftp import SftpPdrServer

        return SftpPdrServer(endpoint, polling_directory)
    raise ProviderCommandRefused(f"a PDR server is reached by {', '.join(METHODS)}, not {endpoint.method!r}")
