"""File data by the OpenSSH ``scp`` client, for key logins: the reference tool's own speed.

asyncssh's per-packet cost keeps it at 0.7-0.9x of OpenSSH ``scp`` here; with a
private key Ardis hands the bulk copy to ``scp`` itself. Nothing is relaxed: the
host key is checked against the endpoint's known_hosts only
(``StrictHostKeyChecking=yes``, no user or global files, no ssh config, no agent),
and key and known_hosts live in a private 0700 folder removed after use.
``ARDIS_SCP_CLIENT=asyncssh`` turns this off.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from distribution.remote._base import (
    Endpoint,
    HostKeyMismatch,
    LoginRefused,
    PermissionRefused,
    RemoteError,
    TransferFailed,
    failure_reason,
)

_PATH_ERRORS = ("No such file or directory", "Not a directory", "Is a directory", "Read-only file system",
                "Operation not permitted", "Permission denied\n", "Permission denied\r")


def _libc_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the scp child: die with the worker. A worker killed mid-push must not leave an scp still writing
    the file its retry sends again (the retry takes a dead worker's claims over at once)."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def usable(endpoint: Endpoint) -> bool:
    """A key login, an ``scp`` client on this machine, and not switched off."""
    return bool(endpoint.private_key and endpoint.known_hosts and shutil.which("scp")
                and os.environ.get("ARDIS_SCP_CLIENT", "openssh") != "asyncssh")


class OpenSshCopier:
    """Holds the key and known_hosts files for one connection's lifetime."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.folder = Path(tempfile.mkdtemp(prefix="ardis-scp-"))  # mode 0700
        self.key = self.folder / "key"
        self.known_hosts = self.folder / "known_hosts"
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(str(endpoint.private_key).rstrip("\n") + "\n")
        self.known_hosts.write_text(str(endpoint.known_hosts))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def copy(self, local: Path, remote_path: str) -> None:
        ep = self.endpoint
        args = [
            "scp", "-B", "-F", "/dev/null", "-P", str(ep.port or 22), "-i", str(self.key),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"ConnectTimeout={max(1, round(ep.timeout))}",
            # the read timeout: a server silent for about ep.timeout is dropped (4 unanswered probes)
            "-o", f"ServerAliveInterval={max(1, round(ep.timeout / 4))}", "-o", "ServerAliveCountMax=3",
            str(local), f"{ep.username}@{ep.host}:{remote_path}",
        ]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  preexec_fn=_die_with_parent if _PRCTL is not None else None)
        except OSError as e:
            raise TransferFailed(f"{ep.at(Path(remote_path).name)}: cannot run scp: {e}") from e
        if proc.returncode != 0:
            raise _mapped(ep, remote_path, proc.stderr.strip() or f"scp exited {proc.returncode}")


def _mapped(ep: Endpoint, remote_path: str, message: str) -> RemoteError:
    where = ep.at(Path(remote_path).name)
    text = message + "\n"
    if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return HostKeyMismatch(f"{where}: host key does not match the one on record")
    if "Permission denied (" in text:
        return LoginRefused(f"{where}: authentication as {ep.username} refused")
    if any(marker in text for marker in _PATH_ERRORS):
        return PermissionRefused(f"{where}: {message.splitlines()[-1]}")
    lines = message.splitlines()
    line = next((s for s in lines if "timed out" in s.lower() or "timeout" in s.lower()), lines[-1])
    return TransferFailed(f"{where}: scp failed: {failure_reason(RuntimeError(line), ep.timeout)}")
