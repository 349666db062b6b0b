"""Electronic delivery transfers: FTP, SFTP (the DN's "scp"), SMB and local, one interface."""

from __future__ import annotations

from distribution.transfer.base import (
    AuthenticationFailed,
    Endpoint,
    HostKeyMismatch,
    Pusher,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
)
from distribution.transfer.ftp import FtpPusher
from distribution.transfer.local import LocalPusher

__all__ = [
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
    """A pusher for the endpoint's method (enter it to connect)."""
    if endpoint.method == "ftp":
        return FtpPusher(endpoint)
    if endpoint.method == "sftp":
        from distribution.transfer.sftp import SftpPusher

        return SftpPusher(endpoint)
    if endpoint.method == "smb":
        from distribution.transfer.smb import SmbPusher

        return SmbPusher(endpoint)
    if endpoint.method == "local":
        return LocalPusher(endpoint)
    raise TransferRefused(f"unknown transfer method {endpoint.method!r}")
