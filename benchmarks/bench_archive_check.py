"""The archive check (issue 16 item 8): a full pass is linear in N, and a sample reads its share.

Archives of N and 4N files (64 KiB each, a CKSUM recorded per file) on SQLite; a full pass
(``check_archive`` at 100 %) against ``cksum`` of the same files (one ``find | xargs cksum``), the
reference for what reading and checksumming every file costs. Linear: the 4N pass takes about
4× the N pass (reported per file). A 10 % sample pass on 4N reads about a tenth of the files.
Each pass is a new pass key (nothing resumed); page cache warm; median of the turns.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result
from distribution import db
from distribution.checksums import checksum_file
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.inventory.check import check_archive
from distribution.models import Collection, Granule, GranuleFile

N = int(os.environ.get("ARDIS_BENCH_CHECK_FILES", "2000"))
SIZE = 64 << 10
TURNS = int(os.environ.get("ARDIS_BENCH_REPEAT", "3"))


def _build(root: Path, files: int) -> Settings:
    os.environ["ARDIS_HOME"] = str(root / "home")
    os.environ.pop("ARDIS_DATABASE_URL", None)
    os.environ.pop("ARDIS_ARCHIVE_ROOT", None)
    settings = load_settings()
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    block = os.urandom(SIZE)
    with session_scope(settings.database_url) as session:
        collection = Collection(short_name="BENCH", version_id=1)
        session.add(collection)
        for g in range(files // 10):
            granule = Granule(collection=collection, local_granule_id=f"G{g:06d}")
            directory = settings.archive_root / "BENCH.001" / str(g)
            directory.mkdir(parents=True)
            for i in range(10):
                path = directory / f"f{i}.dat"
                path.write_bytes(block[i:] + block[:i])
                granule.files.append(GranuleFile(seq=i + 1, name=path.name, size=SIZE, archive_path=str(path),
                                                 checksum_type="CKSUM", checksum_value=checksum_file(path, "CKSUM")))
            session.add(granule)
    return settings


def _cksum_all(archive: Path) -> None:
    find = subprocess.Popen(["find", str(archive), "-type", "f", "-print0"], stdout=subprocess.PIPE)
    subprocess.run(["xargs", "-0", "cksum"], stdin=find.stdout, stdout=subprocess.DEVNULL, check=True)
    find.wait()


def _passes(settings: Settings, files: int, percent: int, tag: str) -> tuple[list[float], list[float], int]:
    ardis, reference, checked = [], [], 0
    for t in range(TURNS):
        start = time.perf_counter()
        report = check_archive(settings, f"bench-{tag}-{t}", percent)
        ardis.append(time.perf_counter() - start)
        assert report.complete and not report.findings, report.findings[:3]
        checked = report.checked
        start = time.perf_counter()
        _cksum_all(settings.archive_root)
        reference.append(time.perf_counter() - start)
    assert percent < 100 or checked == files
    return ardis, reference, checked


def run() -> list[Result]:
    results = []
    per_file: dict[int, float] = {}
    for files in (N, 4 * N):
        with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as tmp:
            settings = _build(Path(tmp), files)
            ardis, reference, _ = _passes(settings, files, 100, "full")
            per_file[files] = statistics.median(ardis) / files
            detail = (f"median of {TURNS} alternating turns; {per_file[files] * 1e6:.0f} µs per file"
                      + (f", {per_file[files] / per_file[N]:.2f}× the per-file time of {N:,} files"
                         if files != N else "") + f"; load average {os.getloadavg()[0]:.1f}")
            results.append(Result(f"archive check, full pass over {files:,} files of 64 KiB (CKSUM), SQLite",
                                  statistics.median(ardis), "`find | xargs cksum` of the same files",
                                  statistics.median(reference), "time", "linear: per-file time at 4N ≤ 1.3× N",
                                  detail))
            if files != N:
                sample, sample_ref, checked = _passes(settings, files, 10, "sample")
                results.append(Result(f"archive check, 10 % sample of {files:,} files", statistics.median(sample),
                                      "full pass of the same archive", statistics.median(ardis), "time",
                                      "about 0.1× the time", f"{checked:,} files checked; median of {TURNS}"))
    for r in results:
        print(r.row(), flush=True)
    return results
