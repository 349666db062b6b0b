"""Files on another machine: one client per protocol (FTP, SFTP/scp, SMB, local), one interface.

``open_remote(endpoint)`` gives a ``RemoteFiles`` context manager holding one
connection, in the endpoint's directory; both roles build on it (the delivery
pusher, ``distribution.orders.push``; the PDR-server poller, ``distribution.ingest.pdrserver``)::

    with open_remote(Endpoint("sftp", host, 22, "/incoming", user, private_key=pem, known_hosts=line)) as remote:
        remote.put_file(staged, "MOD09GHK.A2001.hdf")          # size checked after the copy
        remote.put_text("0100000002.notifyscp", dn_text)
        got = remote.fetch("/SIPS1/DATA/G.hdf", staging / "G.hdf", "MD5")   # via G.hdf.part, MD5 in the same pass
        pdrs = remote.list_files("/SIPS1/PDR", match=is_pdr_name)

Host keys are always verified (SFTP refuses an endpoint without ``known_hosts``).
Every error is a ``RemoteError``, either ``RetryableError`` (``Unreachable``,
``NetworkFailure``, ``TransferFailed``) or ``PermanentError`` (``LoginRefused``,
``HostKeyMismatch``, ``RemoteNotFound``, ``Refused`` with ``PermissionRefused`` and
``PathEscape``, ``TooLarge``, ``LocalWriteFailed``). Timeouts come from
``ARDIS_NETWORK_TIMEOUT_SECONDS`` (``distribution.config.network_timeout``).
Protocol libraries load only when their client is opened.
"""

from __future__ import annotations

from distribution.remote._base import (
    METHODS,
    Endpoint,
    Fetched,
    HostKeyMismatch,
    LocalWriteFailed,
    LoginRefused,
    NetworkFailure,
    PathEscape,
    PermissionRefused,
    Refused,
    RemoteError,
    RemoteFile,
    RemoteFiles,
    RemoteNotFound,
    TooLarge,
    TransferFailed,
    Unreachable,
    check_directory,
    check_name,
    check_size,
    errors_as,
    failure_reason,
    join,
    temporary_name,
)

__all__ = [
    "METHODS",
    "Endpoint",
    "Fetched",
    "HostKeyMismatch",
    "LocalWriteFailed",
    "LoginRefused",
    "NetworkFailure",
    "PathEscape",
    "PermissionRefused",
    "Refused",
    "RemoteError",
    "RemoteFile",
    "RemoteFiles",
    "RemoteNotFound",
    "TooLarge",
    "TransferFailed",
    "Unreachable",
    "check_directory",
    "check_name",
    "check_size",
    "errors_as",
    "failure_reason",
    "join",
    "open_remote",
    "temporary_name",
]


def open_remote(endpoint: Endpoint) -> RemoteFiles:
    """The client for the endpoint's method (enter it to connect); an unknown method is refused."""
    if endpoint.method == "ftp":
        from distribution.remote._ftp import FtpFiles

        return FtpFiles(endpoint)
    if endpoint.method == "sftp":
        from distribution.remote._sftp import SftpFiles

        return SftpFiles(endpoint)
    if endpoint.method == "smb":
        from distribution.remote._smb import SmbFiles

        return SmbFiles(endpoint)
    if endpoint.method == "local":
        from distribution.remote._local import LocalFiles

        return LocalFiles(endpoint)
    raise Refused(f"unknown transfer method {endpoint.method!r} (one of {', '.join(METHODS)})")
