"""Ingest fetch side by side: one product file of 1 GiB copied from a PDR server with its checksum in one pass.

* local: ``LocalPdrServer.fetch`` vs ``cp`` followed by ``md5sum`` (or ``cksum``) of the copy.
* FTP: ``FtpPdrServer.fetch`` vs ``curl -o`` followed by ``md5sum``, from the same
  pyftpdlib server in its own process.

Ardis's time includes its checks (the server's SIZE, the staging file renamed into
place). Runs alternate and the best of each side counts (bench_transfer's harness);
the page cache is warm, and the copies are removed after every run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from benchmarks.bench_transfer import PUSH_TARGET, _alternate, _server_process
from benchmarks.common import Result, make_file
from devkit.peers import free_port
from distribution.ingest.pdrserver import open_pdr_server
from distribution.orders.push import Endpoint

SIZE = 1 << 30
TOOLS = {"MD5": "md5sum", "CKSUM": "cksum"}


def _tool_value(tool: str, path: Path) -> str:
    return subprocess.run([tool, str(path)], check=True, capture_output=True, text=True).stdout.split()[0]


def _bench(name: str, endpoint: Endpoint, directory_id: str, src: Path, out: Path, checksum_type: str,
           download: list[str]) -> Result:
    """``download`` (a command writing ``out/ref.bin``) then the coreutils tool, against one Ardis fetch."""
    tool = TOOLS[checksum_type]
    values: dict[str, str] = {}

    def ardis() -> None:
        with open_pdr_server(endpoint, directory_id) as server:
            values["ardis"] = str(server.fetch(directory_id, src.name, out / "ardis.bin", checksum_type).checksum)

    def reference() -> None:
        subprocess.run(download, check=True)
        values["reference"] = _tool_value(tool, out / "ref.bin")

    def cleanup() -> None:
        for p in out.iterdir():
            p.unlink()

    a, r = _alternate(ardis, reference, cleanup)
    assert values["ardis"] == values["reference"], f"{name}: checksums differ"
    how = ("kernel copy, staged windows hashed from the page cache in a second thread" if endpoint.method == "local"
           else "recv_into + write, checksum in a second thread")
    return Result(name, a, f"{download[0]} then {tool}", r, "throughput", "≥ 1.0×", f"{how}; best of the turns")


def run() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as name:
        tmp = Path(name)
        root = tmp / "provider"
        (root / "DATA").mkdir(parents=True)
        src = make_file(root / "DATA" / "G.bin", SIZE)
        with src.open("rb") as f:  # warm the page cache: both sides read from memory
            while f.read(1 << 24):
                pass
        out = tmp / "staging"
        out.mkdir()
        local = Endpoint("local", directory=str(root))
        for checksum_type in ("MD5", "CKSUM"):
            results.append(_bench(f"ingest fetch 1 GiB + {checksum_type}, local", local, "/DATA", src, out,
                                  checksum_type, ["cp", str(src), str(out / "ref.bin")]))
        port = free_port()
        with _server_process(PUSH_TARGET.format(root=str(root), port=port), port, tmp / "ftp.log"):
            ftp = Endpoint("ftp", "127.0.0.1", port, "", "bench", "bench-pw")
            curl = ["curl", "-sS", "--fail", "-o", str(out / "ref.bin"), "--user", "bench:bench-pw",
                    f"ftp://127.0.0.1:{port}/DATA/{src.name}"]
            results.append(_bench("ingest fetch 1 GiB + MD5, FTP", ftp, "/DATA", src, out, "MD5", curl))
    return results
