"""An FtpPull order of 10,000 one-file granules through stage -> verify -> deliver -> DN (issue 12).

Each step runs as the distribution DAG runs it: a process of its own calling the same domain function
the task body calls (``stage_request``, ``verify_request``, ``deliver_request``, ``notify_request`` with
the outbox as transport), so the time is the step's work and the peak RSS is a task process's. The
reference does the same file work with coreutils: ``cp -al`` of the archive tree (staging and the pull
area are links) and ``md5sum`` of every file (verification). Turns alternate; medians and spreads.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, fresh_home

GRANULES = int(os.environ.get("ARDIS_BENCH_ORDER_GRANULES", "10000"))
REPEAT = int(os.environ.get("ARDIS_BENCH_REPEAT", "5"))
STEPS = ("stage", "verify", "deliver", "notify")


def _build(root: Path) -> Path:
    """An archive of GRANULES one-file granules (1 KiB each, MD5 known) and REPEAT FtpPull requests of all."""
    from distribution.db import session_scope
    from distribution.models import (Collection, Granule, GranuleFile, MediaType, Order, Request,
                                     RequestGranule, User)

    settings = fresh_home(root)
    with session_scope(settings.database_url) as session:
        collection = Collection(short_name="BENCH", version_id=1)
        user = User(user_id="bench", email="bench@example.org")
        requests = [Request(order=Order(user=user, order_id=f"02000000{t + 1:02d}"), media_type=MediaType.FTP_PULL,
                            request_id=f"02000000{t + 1:02d}") for t in range(REPEAT)]
        session.add_all([collection, user, *requests])
        for g in range(GRANULES):
            directory = settings.archive_root / "BENCH.001" / f"{g // 1000}"
            directory.mkdir(parents=True, exist_ok=True)
            data = f"granule {g}\n".encode().ljust(1024, b".")
            path = directory / f"G{g:05d}.dat"
            path.write_bytes(data)
            granule = Granule(collection=collection, local_granule_id=f"G{g:05d}.dat")
            granule.files.append(GranuleFile(seq=1, name=path.name, size=len(data), archive_path=str(path),
                                             checksum_type="MD5", checksum_value=hashlib.md5(data).hexdigest()))
            for request in requests:
                request.granules.append(RequestGranule(granule=granule, directory_number=g + 1))
        session.flush()
    return settings.archive_root


def _step(name: str, request_id: str) -> None:
    """Child process: one step of one request; prints its seconds and the process's peak RSS in MiB."""
    from distribution.config import load_settings
    from distribution.notices.outbox import OutboxFolder
    from distribution.orders import delivery, notify

    settings = load_settings()
    start = time.perf_counter()
    if name == "stage":
        outcome: object = delivery.stage_request(settings, request_id)
    elif name == "verify":
        outcome = delivery.verify_request(settings, request_id)
    elif name == "deliver":
        outcome = delivery.deliver_request(settings, request_id, None)
    else:
        outcome = notify.notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir)).state
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mib": rss, "outcome": str(outcome)}))


def _run_step(name: str, request_id: str) -> dict[str, float | str]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_order", name, request_id], check=True,
                          capture_output=True, text=True, env=os.environ.copy())
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as tmp:
        root = Path(tmp)
        archive = _build(root)
        ardis: list[float] = []
        reference: list[float] = []
        per_step: dict[str, list[float]] = {s: [] for s in STEPS}
        peak = 0.0
        for t in range(REPEAT):
            request_id = f"02000000{t + 1:02d}"
            total = 0.0
            for name in STEPS:
                step = _run_step(name, request_id)
                per_step[name].append(float(step["seconds"]))
                total += float(step["seconds"])
                peak = max(peak, float(step["rss_mib"]))
            assert step["outcome"] == "complete", step  # the DN says every granule was delivered
            ardis.append(total)
            start = time.perf_counter()
            subprocess.run(["cp", "-al", str(archive), str(root / f"cp-al-{t}")], check=True)
            files = sorted(str(p) for p in (root / f"cp-al-{t}").rglob("*.dat"))
            subprocess.run(["xargs", "-0", "md5sum"], input="\0".join(files).encode(), check=True,
                           stdout=subprocess.DEVNULL)
            reference.append(time.perf_counter() - start)
    steps = ", ".join(f"{s} {statistics.median(v):.2f} s" for s, v in per_step.items())
    detail = (f"median of {REPEAT} alternating turns (Ardis {min(ardis):.2f}–{max(ardis):.2f} s: {steps}; "
              f"reference {min(reference):.2f}–{max(reference):.2f} s); peak RSS of a step's process "
              f"{peak:.0f} MiB (target < 500 MB); SQLite, page cache warm; load average {os.getloadavg()[0]:.1f}")
    result = Result(f"FtpPull order of {GRANULES:,} granules, stage → verify → deliver → DN", statistics.median(ardis),
                    "cp -al + md5sum of the same files", statistics.median(reference), "time", "≤ 5 s", detail)
    print(result.row(), flush=True)
    return [result]


if __name__ == "__main__":
    _step(sys.argv[1], sys.argv[2])
