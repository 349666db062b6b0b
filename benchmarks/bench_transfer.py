"""Pushing and pulling 1 GiB on loopback: Ardis vs OpenSSH ``scp`` and ``curl``, same servers, same run.

* scp: Ardis's SFTP pusher (asyncssh) vs OpenSSH ``scp`` to one sshd pinned to
  one cipher (aes128-gcm@openssh.com), so both sides pay the same crypto.
* FTP push: Ardis's FtpPusher vs ``curl -T`` to one pyftpdlib server.
* FTP pull: ``curl`` downloading from Ardis's pull server (read-only, chrooted
  logins) vs ``curl`` downloading from a plain pyftpdlib server over the same file.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from benchmarks.common import DATA_DIR, Result, best_of, make_file, run_cmd
from distribution.ftpserver import build_pull_server, pull_password
from distribution.peers import run_ftp_server, run_sshd
from distribution.transfer import Endpoint, open_pusher

SIZE = 1 << 30
CIPHER = "aes128-gcm@openssh.com"


def _scp(src: Path, work: Path) -> Result:
    with run_sshd(work / "sshd", ciphers=CIPHER) as ssh:
        ardis_dir, ref_dir = work / "scp-ardis", work / "scp-ref"
        ardis_dir.mkdir()
        ref_dir.mkdir()
        endpoint = Endpoint("sftp", ssh.host, ssh.port, str(ardis_dir), ssh.username,
                            private_key=ssh.private_key, known_hosts=ssh.known_hosts)

        def ardis() -> None:
            with open_pusher(endpoint) as pusher:
                pusher.put_file(src, "one_gib.bin")

        def openssh() -> None:
            run_cmd(["scp", "-q", "-c", CIPHER, "-i", str(ssh.private_key_path), "-P", str(ssh.port),
                     "-o", f"UserKnownHostsFile={ssh.known_hosts_path}", "-o", "BatchMode=yes",
                     str(src), f"{ssh.username}@127.0.0.1:{ref_dir}/one_gib.bin"])

        a, r = best_of(ardis), best_of(openssh)
        assert (ardis_dir / "one_gib.bin").stat().st_size == SIZE
        return Result("scp push 1 GiB", a, f"OpenSSH scp ({CIPHER})", r, "throughput", "≥ 0.9×",
                      "Ardis: SCP protocol via asyncssh")


def _ftp_push(src: Path, work: Path) -> Result:
    with run_ftp_server(work / "ftp", "bench", "bench-pw") as ftp:
        endpoint = Endpoint("ftp", ftp.host, ftp.port, "/", "bench", "bench-pw")

        def ardis() -> None:
            with open_pusher(endpoint) as pusher:
                pusher.put_file(src, "ardis.bin")

        def curl() -> None:
            run_cmd(["curl", "-sS", "--fail", "-T", str(src), f"ftp://bench:bench-pw@127.0.0.1:{ftp.port}/curl.bin"])

        return Result("FTP push 1 GiB", best_of(ardis), "curl -T", best_of(curl), "throughput", "≥ 0.9×")


def _ftp_pull(src: Path, work: Path) -> Result:
    secret = b"bench-secret"
    pull_dir = work / "pull" / "0100000001" / "0100000001"
    pull_dir.mkdir(parents=True)
    (pull_dir / "one_gib.bin").hardlink_to(src)
    server = build_pull_server(work / "pull", "127.0.0.1", 0, secret)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.5, "handle_exit": False},
                              daemon=True)
    thread.start()
    out = work / "download.bin"
    try:
        with run_ftp_server(work / "plain", "bench", "bench-pw") as plain:
            (work / "plain" / "one_gib.bin").hardlink_to(src)
            password = pull_password(secret, "0100000001")
            ardis = best_of(lambda: run_cmd(["curl", "-sS", "--fail", "-o", str(out),
                                             f"ftp://0100000001:{password}@127.0.0.1:{port}/0100000001/one_gib.bin"]))
            assert out.stat().st_size == SIZE
            reference = best_of(lambda: run_cmd(["curl", "-sS", "--fail", "-o", str(out),
                                                 f"ftp://bench:bench-pw@127.0.0.1:{plain.port}/one_gib.bin"]))
    finally:
        server.close_all()
    return Result("FTP pull 1 GiB (curl client)", ardis, "curl from plain pyftpdlib", reference, "throughput",
                  "≥ 0.9×", "server side: Ardis pull server vs library default")


def run() -> list[Result]:
    src = make_file(DATA_DIR / "one_gib.bin", SIZE)
    work = Path(tempfile.mkdtemp(dir=DATA_DIR, prefix="transfer-"))
    try:
        return [_scp(src, work), _ftp_push(src, work), _ftp_pull(src, work)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
