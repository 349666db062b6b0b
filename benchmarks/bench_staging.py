"""Staging 10,000 files by hard link: Ardis's ``stage_request`` vs ``cp -al`` of the same tree.

The archive holds 1,000 granules of 10 files each; one request orders them all.
Ardis's time includes its database work (one RequestFile row per file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result
from distribution import db
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.orders.delivery import stage_request
from distribution.models import Collection, Granule, GranuleFile, MediaType, Order, Request, RequestGranule, User

GRANULES = 1000
FILES_PER_GRANULE = 10


def _build(root: Path) -> str:
    os.environ["ARDIS_HOME"] = str(root / "home")
    os.environ.pop("ARDIS_DATABASE_URL", None)
    settings = load_settings()
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    with session_scope(settings.database_url) as session:
        collection = Collection(short_name="BENCH", version_id=1)
        user = User(user_id="bench", email="bench@example.org")
        order = Order(user=user, order_id="0100000001")
        request = Request(order=order, media_type=MediaType.FTP_PULL, request_id="0100000001")
        session.add_all([collection, user, order, request])
        for g in range(GRANULES):
            granule = Granule(collection=collection, local_granule_id=f"G{g:05d}")
            directory = settings.archive_root / "BENCH.001" / str(g)
            directory.mkdir(parents=True)
            for i in range(FILES_PER_GRANULE):
                path = directory / f"f{i}.dat"
                path.write_bytes(b"x" * 100)
                granule.files.append(GranuleFile(seq=i + 1, name=path.name, size=100, archive_path=str(path)))
            request.granules.append(RequestGranule(granule=granule, directory_number=g + 1))
        session.flush()
    return settings.archive_root.as_posix()


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as tmp:
        root = Path(tmp)
        archive = _build(root)
        settings = load_settings()
        start = time.perf_counter()
        counts = stage_request(settings, "0100000001")
        ardis = time.perf_counter() - start
        assert counts.get("link") == GRANULES * FILES_PER_GRANULE, counts
        start = time.perf_counter()
        subprocess.run(["cp", "-al", archive, str(root / "cp-al")], check=True)
        reference = time.perf_counter() - start
        shutil.rmtree(root / "cp-al")
    return [Result("stage 10,000 files by hard link", ardis, "cp -al", reference, "time", "≤ 5 s",
                   "includes one DB row per file (SQLite)")]
