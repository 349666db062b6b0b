"""Electronic deliveries side by side on loopback, 1 GiB each, same server for both sides.

* scp push: Ardis's scp pusher vs OpenSSH ``scp`` (SFTP protocol, its default
  since 9.0) into the same sshd, whose only cipher is pinned
  (aes128-gcm@openssh.com, the ICD's "aes128"), so both sides encrypt alike. Three
  rows: a key login (Ardis hands the data to the OpenSSH client: the default), the
  asyncssh path (password logins) by the SCP protocol, and asyncssh into an
  SFTP-only sshd.
* FTP push: Ardis's FTP pusher vs ``curl -T`` into the same pyftpdlib server.
* FTP pull: Ardis's ftplib download helper vs ``curl`` from Ardis's pull server.

Servers run in their own processes (as in production), so the Python client
never shares an interpreter with the server it talks to. Runs alternate
(Ardis, reference, Ardis, ...) and the best of each counts: the machine may be
shared. Ardis's time includes its size check after every push.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import Result, make_file
from distribution.orders.pull_server import pull_dir_for, pull_password
from devkit.peers import PeerUnavailable, free_port, run_sshd, wait_for_port
from distribution.remote import open_remote
from distribution.orders.push import Endpoint, open_pusher

SIZE = 1 << 30
REPEAT = int(os.environ.get("ARDIS_BENCH_REPEAT", "5"))
CIPHER = "aes128-gcm@openssh.com"
ROOT = Path(__file__).resolve().parent.parent
SECRET = b"bench-secret"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _alternate(ardis: Callable[[], None], reference: Callable[[], None],
               cleanup: Callable[[], None], repeat: int = REPEAT) -> tuple[float, float]:
    """Best wall time of each side, run turn about so both meet the same background load."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for i, fn in enumerate((ardis, reference)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
            cleanup()
    return best[0], best[1]


@contextmanager
def _server_process(code: str, port: int, log: Path) -> Iterator[None]:
    """Run ``code`` (a server listening on ``port``) in its own Python process until the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log, timeout=60)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _bench_scp(tmp: Path, src: Path, sftp_only: bool, client: str) -> Result:
    name = f"{'sftp-only' if sftp_only else 'sshd'}-{client}"
    os.environ["ARDIS_SCP_CLIENT"] = client
    with run_sshd(tmp / name, ciphers=CIPHER, sftp_only=sftp_only) as ssh:
        dest = tmp / f"{name}-dest"
        dest.mkdir()
        endpoint = Endpoint("sftp", ssh.host, ssh.port, str(dest), ssh.username, private_key=ssh.private_key,
                            known_hosts=ssh.known_hosts)
        cpu = {"ardis": float("inf"), "scp": float("inf")}

        def ardis() -> None:
            before = _self_cpu() + _child_cpu()  # the OpenSSH client, when used, is a child
            with open_pusher(endpoint) as pusher:
                pusher.put_file(src, "ardis.bin")
            cpu["ardis"] = min(cpu["ardis"], _self_cpu() + _child_cpu() - before)

        def scp() -> None:
            before = _child_cpu()
            subprocess.run(["scp", "-q", "-F", "/dev/null", "-c", CIPHER, "-i", str(ssh.private_key_path),
                            "-o", f"UserKnownHostsFile={ssh.known_hosts_path}", "-o", "StrictHostKeyChecking=yes",
                            "-o", "BatchMode=yes", "-P", str(ssh.port), str(src),
                            f"{ssh.username}@{ssh.host}:{dest}/scp.bin"], check=True)
            cpu["scp"] = min(cpu["scp"], _child_cpu() - before)

        def cleanup() -> None:
            for p in dest.iterdir():
                p.unlink()

        a, r = _alternate(ardis, scp, cleanup)
    os.environ.pop("ARDIS_SCP_CLIENT", None)
    how = {("openssh", False): "key login: OpenSSH scp client", ("asyncssh", False): "asyncssh, SCP protocol",
           ("asyncssh", True): "asyncssh, SFTP-only server"}[(client, sftp_only)]
    return Result(f"scp push 1 GiB ({how})", a, f"OpenSSH scp ({CIPHER})", r, "throughput", "≥ 0.9×",
                  f"client CPU: Ardis {cpu['ardis']:.2f} s, scp {cpu['scp']:.2f} s")


PUSH_TARGET = """
import sys, time
from pathlib import Path
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
auth = DummyAuthorizer()
auth.add_user("bench", "bench-pw", {root!r}, perm="elradfmwMT")
handler = type("H", (FTPHandler,), {{"authorizer": auth}})
FTPServer(("127.0.0.1", {port}), handler).serve_forever(handle_exit=True)
"""

PULL_SERVER = """
from pathlib import Path
from distribution.orders.pull_server import serve_pull_area
serve_pull_area(Path({root!r}), "127.0.0.1", {port}, {secret!r})
"""


def _bench_ftp_push(tmp: Path, src: Path) -> Result:
    root = tmp / "ftp-push"
    root.mkdir()
    port = free_port()
    with _server_process(PUSH_TARGET.format(root=str(root), port=port), port, tmp / "push-target.log"):
        endpoint = Endpoint("ftp", "127.0.0.1", port, "/", "bench", "bench-pw")

        def ardis() -> None:
            with open_pusher(endpoint) as pusher:
                pusher.put_file(src, "ardis.bin")

        def curl() -> None:
            subprocess.run(["curl", "-sS", "--fail", "-T", str(src), "--user", "bench:bench-pw",
                            f"ftp://127.0.0.1:{port}/curl.bin"], check=True)

        def cleanup() -> None:
            for p in root.iterdir():
                p.unlink()

        a, r = _alternate(ardis, curl, cleanup, 2 * REPEAT)  # ~1 s runs: more of them against the noise
    return Result("FTP push 1 GiB", a, "curl -T", r, "throughput", "≥ 0.9×", "pyftpdlib target, passive, binary")


def _bench_ftp_pull(tmp: Path, src: Path) -> Result:
    pull_root = tmp / "pull"
    staged = pull_dir_for(pull_root, "0100000001", "0100000002")
    staged.mkdir(parents=True)
    os.link(src, staged / "G.bin")  # staged as Ardis stages: a hard link, no second GiB on disk
    out = tmp / "downloads"
    out.mkdir()
    port = free_port()
    password = pull_password(SECRET, "0100000001")
    code = PULL_SERVER.format(root=str(pull_root), port=port, secret=SECRET)
    with _server_process(code, port, tmp / "pull-server.log"):
        endpoint = Endpoint("ftp", "127.0.0.1", port, "/0100000002", "0100000001", password)

        def ardis() -> None:
            with open_remote(endpoint) as client:
                client.fetch("G.bin", out / "ardis.bin", None)

        def curl() -> None:
            subprocess.run(["curl", "-sS", "--fail", "-o", str(out / "curl.bin"), "--user",
                            f"0100000001:{password}", f"ftp://127.0.0.1:{port}/0100000002/G.bin"], check=True)

        def cleanup() -> None:
            for p in out.iterdir():
                p.unlink()

        a, r = _alternate(ardis, curl, cleanup, 2 * REPEAT)
    return Result("FTP pull 1 GiB (Ardis pull server)", a, "curl", r, "throughput", "≥ 0.9×",
                  "download into a file; server: serve_pull_area in its own process")


def run() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as name:
        tmp = Path(name)
        src = make_file(tmp / "src.bin", SIZE)
        with src.open("rb") as f:  # warm the page cache: both sides read from memory
            while f.read(1 << 24):
                pass
        if shutil.which("scp"):
            try:
                results.append(_bench_scp(tmp, src, sftp_only=False, client="openssh"))
                results.append(_bench_scp(tmp, src, sftp_only=False, client="asyncssh"))
                results.append(_bench_scp(tmp, src, sftp_only=True, client="asyncssh"))
            except PeerUnavailable as e:
                print(f"scp benchmark skipped: {e}", file=sys.stderr)
        else:
            print("scp benchmark skipped: OpenSSH client not installed", file=sys.stderr)
        if shutil.which("curl"):
            results.append(_bench_ftp_push(tmp, src))
            results.append(_bench_ftp_pull(tmp, src))
        else:
            print("FTP benchmarks skipped: curl not installed", file=sys.stderr)
    return results
