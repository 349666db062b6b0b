"""Staging 10,000 files by hard link: Ardis's ``stage_request`` vs ``cp -al`` of the same tree.

The archive holds 1,000 granules of 10 files each; each of ``ARDIS_BENCH_REPEAT`` (5) requests orders
them all. Turns alternate (Ardis stages one request, ``cp -al`` links the archive tree once); the median
and the spread are reported. Ardis's time includes its database work (one RequestFile row per file,
written in bulk), on SQLite.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, fresh_home
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.orders.delivery import stage_request
from distribution.models import Collection, Granule, GranuleFile, MediaType, Order, Request, RequestGranule, User

GRANULES = 1000
FILES_PER_GRANULE = 10
REPEAT = int(os.environ.get("ARDIS_BENCH_REPEAT", "5"))


def _build(root: Path) -> str:
    settings = fresh_home(root)
    with session_scope(settings.database_url) as session:
        collection = Collection(short_name="BENCH", version_id=1)
        user = User(user_id="bench", email="bench@example.org")
        orders = [Order(user=user, order_id=f"01000000{t + 1:02d}") for t in range(REPEAT)]
        requests = [Request(order=order, media_type=MediaType.FTP_PULL, request_id=order.order_id)
                    for order in orders]
        session.add_all([collection, user, *orders, *requests])
        for g in range(GRANULES):
            granule = Granule(collection=collection, local_granule_id=f"G{g:05d}")
            directory = settings.archive_root / "BENCH.001" / str(g)
            directory.mkdir(parents=True)
            for i in range(FILES_PER_GRANULE):
                path = directory / f"f{i}.dat"
                path.write_bytes(b"x" * 100)
                granule.files.append(GranuleFile(seq=i + 1, name=path.name, size=100, archive_path=str(path)))
            for request in requests:
                request.granules.append(RequestGranule(granule=granule, directory_number=g + 1))
        session.flush()
    return settings.archive_root.as_posix()


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as tmp:
        root = Path(tmp)
        archive = _build(root)
        settings = load_settings()
        ardis: list[float] = []
        reference: list[float] = []
        for t in range(REPEAT):
            start = time.perf_counter()
            counts = stage_request(settings, f"01000000{t + 1:02d}")
            ardis.append(time.perf_counter() - start)
            assert counts.get("link") == GRANULES * FILES_PER_GRANULE, counts
            start = time.perf_counter()
            subprocess.run(["cp", "-al", archive, str(root / "cp-al")], check=True)
            reference.append(time.perf_counter() - start)
            shutil.rmtree(root / "cp-al")
    detail = (f"median of {REPEAT} alternating turns (Ardis {min(ardis):.3f}–{max(ardis):.3f} s, cp -al "
              f"{min(reference):.3f}–{max(reference):.3f} s); bulk rows on SQLite; page cache warm; "
              f"load average {os.getloadavg()[0]:.1f}")
    result = Result("stage 10,000 files by hard link, with its bookkeeping", statistics.median(ardis), "cp -al",
                    statistics.median(reference), "time", "≤ 1 s", detail)
    print(result.row(), flush=True)
    return [result]
