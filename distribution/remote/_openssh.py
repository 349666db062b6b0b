"""File data by the OpenSSH ``scp`` client, for key logins: the reference tool's own speed.

asyncssh's per-packet cost keeps it at 0.7-0.9x of OpenSSH ``scp`` here; with a
private key Ardis hands the bulk copy to ``scp`` itself. Nothing is relaxed: the
host key is checked against the endpoint's known_hosts only
(``StrictHostKeyChecking=yes``, no user or global files, no ssh config, no agent),
and key and known_hosts live in a private 0700 folder removed after use.
``ARDIS_SCP_CLIENT=asyncssh`` turns this off.

A batch (``copy_many``) goes over one SSH connection: a ControlMaster ``ssh``
process holds the authenticated connection (host key checked once, as above) and
each ``scp`` of the batch runs as a session multiplexed over it, with many files
per command, as one ``scp a b c host:dir/`` does.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
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

        self.control = self.folder / "cm"  # the ControlMaster's socket, once started
        self.master: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        if self.master is not None:
            self.master.terminate()
            try:
                self.master.wait(5)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()
            self.master = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def _options(self) -> list[str]:
        """Only what the endpoint says: its key, its known_hosts, strict checking; no config, no agent."""
        ep = self.endpoint
        options = [
            "-F", "/dev/null", "-i", str(self.key),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"ConnectTimeout={max(1, round(ep.timeout))}",
            # the read timeout: a server silent for about ep.timeout is dropped (4 unanswered probes)
            "-o", f"ServerAliveInterval={max(1, round(ep.timeout / 4))}", "-o", "ServerAliveCountMax=3",
        ]
        if self.master is not None:  # sessions ride on the master's connection (or connect alike if it died)
            options += ["-o", f"ControlPath={self.control}", "-o", "ControlMaster=no"]
        return options

    def _scp(self, sources: list[Path], target: str, where: str) -> None:
        ep = self.endpoint
        args = ["scp", "-B", "-P", str(ep.port or 22), *self._options(), *map(str, sources),
                f"{ep.username}@{ep.host}:{target}"]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  preexec_fn=_die_with_parent if _PRCTL is not None else None)
        except OSError as e:
            raise TransferFailed(f"{ep.at(Path(where).name)}: cannot run scp: {e}") from e
        if proc.returncode != 0:
            raise _mapped(ep, where, proc.stderr.strip() or f"scp exited {proc.returncode}")

    def copy(self, local: Path, remote_path: str) -> None:
        self._scp([local], remote_path, remote_path)

    def start_master(self) -> None:
        """One authenticated connection for the batches that follow (host key checked here, once)."""
        if self.master is not None:
            return
        ep = self.endpoint
        log = (self.folder / "master.log").open("wb")
        args = ["ssh", "-M", "-N", "-S", str(self.control), "-o", "ControlPersist=no", "-p", str(ep.port or 22),
                *self._options(), f"{ep.username}@{ep.host}"]
        try:
            master = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                      preexec_fn=_die_with_parent if _PRCTL is not None else None)
        except OSError as e:
            raise TransferFailed(f"{ep.where}: cannot run ssh: {e}") from e
        finally:
            log.close()
        deadline = time.monotonic() + 2 * ep.timeout + 1
        while not self.control.exists():  # the socket appears once the login succeeded
            if master.poll() is not None or time.monotonic() > deadline:
                if master.poll() is None:
                    master.kill()
                master.wait()
                text = (self.folder / "master.log").read_text(errors="replace").strip()
                raise _mapped(ep, ep.directory or ".", text or f"ssh exited {master.returncode}")
            time.sleep(0.005)
        self.master = master

    def copy_many(self, sources: list[Path], remote_directory: str) -> None:
        """Copy ``sources`` under their own names into ``remote_directory`` with one ``scp`` (replacing
        partial files of an earlier try); over the master's connection once ``start_master`` ran."""
        directory = remote_directory.rstrip("/") or "."
        self._scp(sources, directory + "/", directory)


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
