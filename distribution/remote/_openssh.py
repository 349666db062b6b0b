"""File data by the OpenSSH ``scp`` client, for key logins: the reference tool's own speed.

asyncssh's per-packet cost keeps it at 0.7-0.9x of OpenSSH ``scp`` here; with a
private key Ardis hands the bulk copy to ``scp`` itself. Nothing is relaxed: the
host key is checked against the endpoint's known_hosts only
(``StrictHostKeyChecking=yes``, no user or global files, no ssh config, no agent),
and key and known_hosts live in a private 0700 folder removed after use.
``ARDIS_SCP_CLIENT=asyncssh`` turns this off.

A batch (``put_many``) goes over one SSH connection: one ``sftp -b -`` process
(host key checked once, as above) is fed one ``put`` per file on its standard
input; it echoes each command as it starts it and stops at the first failure, so
the echo of the next command (or of the closing ``pwd``) says a file is whole.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from distribution.remote._base import (
    Endpoint,
    HostKeyMismatch,
    LoginRefused,
    PermissionRefused,
    RemoteError,
    TransferFailed,
    failed_at,
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

    def put_many(self, items: list[tuple[Path, str]]) -> Iterator[list[int]]:
        """Copy each ``(local, remote_path)`` with one ``sftp -b -`` (replacing partial files of an earlier
        try), yielding the indexes of the files whole since the last yield. Names ``batch_safe`` refuses go another way.
        The first failure is raised with ``path`` set to the file it stopped at; stopping early (or being
        killed: the child dies with us) ends the ``sftp`` process."""
        ep = self.endpoint
        errors = self.folder / "sftp.err"
        with errors.open("wb") as err:
            try:
                proc = subprocess.Popen(
                    ["sftp", "-b", "-", "-P", str(ep.port or 22), *self._options(), f"{ep.username}@{ep.host}"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1,
                    preexec_fn=_die_with_parent if _PRCTL is not None else None)
            except OSError as e:
                raise TransferFailed(f"{ep.where}: cannot run sftp: {e}") from e
        assert proc.stdin is not None and proc.stdout is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, items), name="sftp-batch-feed", daemon=True)
        feeder.start()
        echoes: queue.SimpleQueue[bool] = queue.SimpleQueue()
        reader = threading.Thread(target=_echoes, args=(proc.stdout, echoes), name="sftp-batch-read", daemon=True)
        reader.start()
        started = -1  # the command sftp runs now: every one before it is done
        try:
            more = True
            while more:
                first = started
                more = echoes.get()  # False at the end of sftp's output
                started += more
                while more and not echoes.empty():  # all that finished meanwhile, checked together
                    more = echoes.get()
                    started += more
                if done := list(range(max(first, 0), min(started, len(items)))):
                    yield done
            if proc.wait() != 0:
                at = min(max(started, 0), len(items) - 1)
                text = errors.read_text(errors="replace").strip() or f"sftp exited {proc.returncode}"
                raise failed_at(_mapped(ep, items[at][1], text), items[at][1])  # the remote path
            if started < len(items):
                raise TransferFailed(f"{ep.where}: sftp stopped after {max(started, 0)} of {len(items)} files")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            feeder.join()
            reader.join()
            proc.stdout.close()


def _echoes(stdout: IO[str], echoes: queue.SimpleQueue[bool]) -> None:
    """True for each command sftp starts (it echoes ``sftp> put ...``, line-buffered), False at the end."""
    try:
        for line in stdout:
            if line.startswith("sftp> "):
                echoes.put(True)
    finally:
        echoes.put(False)


_BATCH_UNSAFE = set('"\\*?[]') | {chr(c) for c in range(32)} | {chr(127)}


def batch_safe(local: Path, remote_path: str) -> bool:
    """Whether both paths go through an ``sftp`` batch line as they are (no quote, backslash or glob
    character to escape): others are copied one by one with ``scp``."""
    return not (_BATCH_UNSAFE & set(str(local)) or _BATCH_UNSAFE & set(remote_path))


def _feed(stdin: IO[str], items: list[tuple[Path, str]]) -> None:
    """One ``put`` per file, then ``pwd``: its echo says the last file is done. sftp may stop reading."""
    try:
        for local, remote_path in items:
            stdin.write(f'put "{local}" "{remote_path}"\n')
        stdin.write("pwd\n")
        stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


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
