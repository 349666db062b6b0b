"""Electronic delivery transfers: FTP, scp (SCP or SFTP over SSH), SMB and local, one interface.

``open_pusher(endpoint)`` gives a context manager holding one connection::

    with open_pusher(Endpoint("sftp", host, 22, "/incoming", user, private_key=pem, known_hosts=line)) as p:
        p.put_file(staged, "MOD09GHK.A2001.hdf")
        p.put_text(f"{request_id}.notifyscp", dn_text)

Errors: ``TransferRetryable`` (retry later) or a ``PermanentError`` subclass below.
"""

from __future__ import annotations

from distribution.transfer.base import (
    METHODS,
    AuthenticationFailed,
    Endpoint,
    HostKeyMismatch,
    Pusher,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
)

__all__ = [
    "METHODS",
    "AuthenticationFailed",
    "Endpoint",
    "HostKeyMismatch",
    "Pusher",
    "RemotePathError",
    "TransferRefused",
    "TransferRetryable",
    "open_pusher",
]


def open_pusher(endpoint: Endpoint) -> Pusher:
    """A pusher for the endpoint's method (enter it to connect). Libraries load only when used."""
    if endpoint.method == "ftp":
        from distribution.transfer.ftp import FtpPusher

        return FtpPusher(endpoint)
    if endpoint.method == "sftp":
        from distribution.transfer.sftp import SftpPusher

        return SftpPusher(endpoint)
    if endpoint.method == "smb":
        from distribution.transfer.smb import SmbPusher

        return SmbPusher(endpoint)
    if endpoint.method == "local":
        from distribution.transfer.local import LocalPusher

        return LocalPusher(endpoint)
    raise TransferRefused(f"unknown transfer method {endpoint.method!r} (one of {', '.join(METHODS)})")
