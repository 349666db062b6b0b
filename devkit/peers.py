"""Real servers on 127.0.0.1 for the demo and the tests: OpenSSH sshd, an FTP server, Samba smbd.

Each runs from its own throwaway configuration under a given folder, on a free
high port, bound to loopback only, and stops when its context ends. A server
whose program is not installed raises ``PeerUnavailable`` with the reason, so
the caller can skip that delivery method and say why.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from distribution.errors import ArdisError

SSHD = "/usr/sbin/sshd"
SMBD = "/usr/sbin/smbd"


class PeerUnavailable(ArdisError):
    """The server program is missing or cannot run here."""


def free_port() -> int:
    """A loopback port free a moment ago (bind to 0 and ask), for a server to start on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 15) -> None:
    """Until the server process listens on ``port``; PeerUnavailable if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PeerUnavailable(f"server exited ({proc.returncode}): {log.read_text()[-500:] if log.exists() else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise PeerUnavailable(f"server did not listen on port {port} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ardis-test", "-f", str(path)],
                   check=True, capture_output=True)


@dataclass
class SshServer:
    host: str
    port: int
    username: str
    private_key: str = field(repr=False)
    known_hosts: str
    private_key_path: Path
    known_hosts_path: Path


@contextmanager
def run_sshd(workdir: Path, ciphers: str | None = None, sftp_only: bool = False) -> Iterator[SshServer]:
    """OpenSSH sshd with a throwaway host key and a throwaway client key for this user.

    ``sftp_only`` makes it an SFTP-only server (no ``scp`` program reachable).
    """
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen"):
        raise PeerUnavailable("OpenSSH sshd is not installed (Debian package openssh-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    for key in (host_key, client_key):
        if not key.exists():
            _keygen(key)
    (workdir / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR",
                *([f"Ciphers {ciphers}"] if ciphers else []),
                *(["ForceCommand internal-sftp"] if sftp_only else []),
            ]
        )
        + "\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    log = workdir / "sshd.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for_port(port, proc, log)
        key_type, key_data = host_key.with_suffix(".pub").read_text().split()[:2]
        known = f"[127.0.0.1]:{port} {key_type} {key_data}\n"
        known_path = workdir / "known_hosts"
        known_path.write_text(known)
        yield SshServer("127.0.0.1", port, getpass.getuser(), client_key.read_text(), known, client_key, known_path)
    finally:
        _stop(proc)


@dataclass
class FtpServer:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    root: Path


@contextmanager
def run_ftp_server(root: Path, username: str, password: str,
                   handler_base: type[FTPHandler] = FTPHandler) -> Iterator[FtpServer]:
    """A writable pyftpdlib server (a push target) in a thread; ``handler_base`` lets tests watch its commands."""
    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(username, password, str(root), perm="elradfmwMT")
    handler = type("PushTargetHandler", (handler_base,), {"authorizer": authorizer})
    server = FTPServer(("127.0.0.1", 0), handler, ioloop=IOLoop())  # never the shared default loop
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.5, "handle_exit": False},
                              daemon=True)
    thread.start()
    try:
        yield FtpServer("127.0.0.1", server.socket.getsockname()[1], username, password, root)
    finally:
        server.close_all()
        thread.join(timeout=5)


@dataclass
class SmbServer:
    host: str
    port: int
    share: str
    username: str
    password: str = field(repr=False)
    root: Path


@contextmanager
def run_smbd(workdir: Path, share: str = "ardis", password: str = "ardis-smb-test") -> Iterator[SmbServer]:
    """Samba smbd on a high loopback port with one writable share (needs root to run)."""
    if not os.path.exists(SMBD) or not shutil.which("smbpasswd"):
        raise PeerUnavailable("Samba smbd is not installed (Debian packages samba, smbclient)")
    if os.geteuid() != 0:
        raise PeerUnavailable("smbd needs root to serve files as a local user")
    dirs = {name: workdir / name for name in ("private", "lock", "state", "cache", "pid", "log", "ncalrpc", "share")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = getpass.getuser()
    config = workdir / "smb.conf"
    config.write_text(
        f"""[global]
  smb ports = {port}
  interfaces = lo
  bind interfaces only = yes
  private dir = {dirs['private']}
  lock directory = {dirs['lock']}
  state directory = {dirs['state']}
  cache directory = {dirs['cache']}
  pid directory = {dirs['pid']}
  ncalrpc dir = {dirs['ncalrpc']}
  log file = {dirs['log']}/smbd.log
  passdb backend = tdbsam:{dirs['private']}/passdb.tdb
  server role = standalone server
  map to guest = never
  disable netbios = yes
  server min protocol = SMB2
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
[{share}]
  path = {dirs['share']}
  read only = no
  force user = {user}
"""
    )
    subprocess.run(["smbpasswd", "-c", str(config), "-s", "-a", user], input=f"{password}\n{password}\n",
                   text=True, check=True, capture_output=True)
    log = dirs["log"] / "console.log"
    with log.open("ab") as out:
        # Its own session: smbd signals its whole process group when it stops.
        proc = subprocess.Popen([SMBD, "--foreground", "--no-process-group", "-s", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, proc, log)
        yield SmbServer("127.0.0.1", port, share, user, password, dirs["share"])
    finally:
        _stop(proc)
