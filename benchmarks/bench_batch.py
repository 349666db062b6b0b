"""Many small files over one connection: Ardis's batch push (``put_files``, as a delivery uses it) vs the
reference tool moving the same files in one command over one connection, side by side in one run.

* scp push, key login (Ardis: one ``sftp -b`` fed a ``put`` per file, sizes checked over its own SFTP
  session) vs one OpenSSH ``scp`` command of all the files, and vs ``sftp -b`` of the same ``put`` lines;
  1,000 x 100 KB and 10,000 x 10 KB, into the same sshd (cipher pinned, as in ``bench_transfer``).
* scp push, asyncssh (password logins): SFTP requests of 32 files in flight on one connection.
* FTP push 1,000 x 100 KB (one control connection, a data connection per file, as FTP has it) vs
  ``curl -T "{a,b,...}"`` (one control connection too), into the same pyftpdlib server in its own process.

Every row: ``ARDIS_BENCH_REPEAT`` (5) alternating turns (Ardis, reference, ...), the median reported with
the spread; the destination emptied between turns; page cache warm (the sources are read once before),
no fsync on either side. The machine's load average is printed with each row.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_transfer import CIPHER, PUSH_TARGET, _server_process
from benchmarks.common import Result
from devkit.peers import PeerUnavailable, free_port, run_smbd, run_sshd
from distribution.orders.push import Endpoint, open_pusher

REPEAT = int(os.environ.get("ARDIS_BENCH_REPEAT", "5"))


def _files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(size)
    files = []
    for i in range(count):
        path = folder / f"MOD09GHK.A{i:05d}.hdf"
        path.write_bytes(block[i % 97:] + block[:i % 97])  # distinct files, same size
        files.append(path)
    return files


def _turns(sides: list[Callable[[], None]], cleanup: Callable[[], None]) -> list[list[float]]:
    """Wall times of each side, ``REPEAT`` turns taken in turn so all meet the same background load."""
    times: list[list[float]] = [[] for _ in sides]
    for _ in range(REPEAT):
        for i, fn in enumerate(sides):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
            cleanup()
    return times


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def _row(name: str, ardis: list[float], reference: str, ref: list[float], target: str, note: str = "") -> Result:
    detail = (f"median of {len(ardis)} alternating turns; Ardis {min(ardis):.3f}–{max(ardis):.3f} s, "
              f"reference {min(ref):.3f}–{max(ref):.3f} s; page cache warm, no fsync; {_load()}"
              + (f"; {note}" if note else ""))
    result = Result(name, statistics.median(ardis), reference, statistics.median(ref), "throughput", target, detail)
    print(result.row(), flush=True)
    return result


def _ssh_options(ssh: object) -> list[str]:
    return ["-F", "/dev/null", "-i", str(ssh.private_key_path), "-o", "IdentitiesOnly=yes",  # type: ignore[attr-defined]
            "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={ssh.known_hosts_path}",  # type: ignore[attr-defined]
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-P", str(ssh.port)]  # type: ignore[attr-defined]


def _slug(label: str) -> str:
    return "".join(c for c in label if c.isalnum())


def _bench_scp(tmp: Path, files: list[Path], label: str) -> list[Result]:
    results = []
    with run_sshd(tmp / f"sshd-{_slug(label)}", ciphers=CIPHER) as ssh:
        dst = tmp / f"scp-in-{_slug(label)}"
        dst.mkdir()
        endpoint = Endpoint("sftp", ssh.host, ssh.port, str(dst), ssh.username, private_key=ssh.private_key,
                            known_hosts=ssh.known_hosts)
        target = f"{ssh.username}@{ssh.host}"
        batch = tmp / f"batch-{_slug(label)}"
        batch.write_text("".join(f'put "{f}" "{dst}/{f.name}"\n' for f in files))

        def ardis() -> None:
            with open_pusher(endpoint) as pusher:
                assert sum(1 for _ in pusher.put_files((f, f.name) for f in files)) == len(files)

        def scp() -> None:
            subprocess.run(["scp", "-B", *_ssh_options(ssh), *map(str, files), f"{target}:{dst}/"], check=True)

        def sftp() -> None:
            subprocess.run(["sftp", "-b", str(batch), *_ssh_options(ssh), target], check=True,
                           stdout=subprocess.DEVNULL)

        def cleanup() -> None:
            shutil.rmtree(dst)
            dst.mkdir()

        def ardis_asyncssh() -> None:
            os.environ["ARDIS_SCP_CLIENT"] = "asyncssh"
            try:
                ardis()
            finally:
                os.environ.pop("ARDIS_SCP_CLIENT")

        a, s, b = _turns([ardis, scp, sftp], cleanup)
        results.append(_row(f"scp push {label}, key login (one `sftp -b`)", a, "OpenSSH `scp`, one command", s,
                            "≥ 1.0×"))
        results.append(_row(f"scp push {label}, key login (one `sftp -b`)", a, "OpenSSH `sftp -b`, same puts", b,
                            "≥ 1.0×"))
        if len(files) <= 1000:
            y, s2 = _turns([ardis_asyncssh, scp], cleanup)
            results.append(_row(f"scp push {label}, asyncssh (password logins: SFTP, 32 in flight)", y,
                                "OpenSSH `scp`, one command", s2, "—", "information"))
    return results


def _bench_ftp(tmp: Path, files: list[Path], label: str) -> Result:
    root = tmp / f"ftp-{_slug(label)}"
    (root / "in").mkdir(parents=True)
    port = free_port()
    with _server_process(PUSH_TARGET.format(root=str(root), port=port), port, tmp / "ftp-target.log"):
        endpoint = Endpoint("ftp", "127.0.0.1", port, "/in", "bench", "bench-pw")

        def ardis() -> None:
            with open_pusher(endpoint) as pusher:
                assert sum(1 for _ in pusher.put_files((f, f.name) for f in files)) == len(files)

        def curl() -> None:
            names = ",".join(f.name for f in files)
            subprocess.run(["curl", "-sS", "--fail", "-T", "{" + names + "}", "--user", "bench:bench-pw",
                            f"ftp://127.0.0.1:{port}/in/"], check=True, cwd=files[0].parent)

        def cleanup() -> None:
            shutil.rmtree(root / "in")
            (root / "in").mkdir()

        a, r = _turns([ardis, curl], cleanup)
    return _row(f"FTP push {label}", a, '`curl -T "{…}"`, one connection', r, "≥ 1.0×", "pyftpdlib target")


def _bench_smb(tmp: Path, files: list[Path], label: str) -> Result:
    with run_smbd(tmp / f"smbd-{_slug(label)}") as smbd:
        target = smbd.root / "in"
        target.mkdir()
        endpoint = Endpoint("smb", smbd.host, smbd.port, f"{smbd.share}/in", smbd.username, smbd.password)

        def ardis() -> None:
            with open_pusher(endpoint) as pusher:
                assert sum(1 for _ in pusher.put_files((f, f.name) for f in files)) == len(files)

        def smbclient() -> None:
            subprocess.run(["smbclient", f"//{smbd.host}/{smbd.share}", "-p", str(smbd.port), "-U",
                            f"{smbd.username}%{smbd.password}", "-c", f"prompt; cd in; lcd {files[0].parent}; mput *"],
                           check=True, stdout=subprocess.DEVNULL)

        def cleanup() -> None:
            shutil.rmtree(target)
            target.mkdir()
            os.chmod(target, 0o777)

        cleanup()
        a, r = _turns([ardis, smbclient], cleanup)
    return _row(f"SMB push {label}", a, "`smbclient -c 'prompt; mput *'`", r, "≥ 1.0×", "Samba smbd, one session")


def run() -> list[Result]:
    """``ARDIS_BENCH_BATCH`` picks rows: a comma list of scp, ftp, smb (default: all three)."""
    wanted = set(os.environ.get("ARDIS_BENCH_BATCH", "scp,ftp,smb").split(","))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as name:
        tmp = Path(name)
        small = _files(tmp / "src-1k", 1000, 100_000)
        tiny = _files(tmp / "src-10k", 10_000, 10_000) if "scp" in wanted else []
        for f in small + tiny:
            f.read_bytes()  # page cache warm for every side
        if "scp" in wanted:
            try:
                results += _bench_scp(tmp, small, "1,000 × 100 KB")
                results += _bench_scp(tmp, tiny, "10,000 × 10 KB")
            except PeerUnavailable as e:
                print(f"scp benchmarks skipped: {e}", file=sys.stderr)
        if "ftp" in wanted:
            if shutil.which("curl"):
                results.append(_bench_ftp(tmp, small, "1,000 × 100 KB"))
            else:
                print("FTP benchmark skipped: curl not installed", file=sys.stderr)
        if "smb" in wanted:
            try:
                results.append(_bench_smb(tmp, small, "1,000 × 100 KB"))
            except PeerUnavailable as e:
                print(f"SMB benchmark skipped: {e}", file=sys.stderr)
    return results
