"""The archive check (issue 16 item 8): a full pass is linear in N, and a sample reads its share.

Archives of N and 4N files (64 KiB each, a CKSUM recorded per file) on SQLite; a full pass
(``check_archive`` at 100 %) against ``cksum`` of the same files (one ``find | xargs cksum``), the
reference for what reading and checksumming every file costs. Linear: the 4N pass takes about
4× the N pass (reported per file). A 10 % sample pass on 4N reads about a tenth of the files.
Each pass is a new pass key (nothing resumed); page cache warm; median of the turns.

``run_tib`` (``ARDIS_BENCH_CHECK_TIB`` TiB, default 1; 0 skips it): an archive of that apparent size
made of sparse files (96, 128 and 160 MiB of zeros, 128 MiB on average) recorded in the inventory with
their CKSUM, which is computed once per distinct size by reading one sparse file (a hole reads as
zeros). 0.1 % and 1 % samples against ``cksum`` of another share picked alike, both read cold (scaled
to the same bytes): the time follows the bytes sampled. A full pass is started, killed (SIGKILL) after
some seconds, and started again twice: each start resumes where the last one's kept progress was.
The sparse files are deleted at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks.common import Result
from distribution import db
from distribution.checksums import checksum_file, picked
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.inventory.check import STATE_FILE, check_archive
from distribution.models import Collection, Granule, GranuleFile

N = int(os.environ.get("ARDIS_BENCH_CHECK_FILES", "2000"))
SIZE = 64 << 10
TURNS = int(os.environ.get("ARDIS_BENCH_REPEAT", "3"))


def _settings(root: Path) -> Settings:
    os.environ["ARDIS_HOME"] = str(root / "home")
    os.environ.pop("ARDIS_DATABASE_URL", None)
    os.environ.pop("ARDIS_ARCHIVE_ROOT", None)
    settings = load_settings()
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    return settings


def _build(root: Path, files: int) -> Settings:
    settings = _settings(root)
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
    results = _run_files()
    if TIB > 0:
        results += run_tib()
    return results


def _run_files() -> list[Result]:
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


TIB = float(os.environ.get("ARDIS_BENCH_CHECK_TIB", "1"))
SPARSE_SIZES = (96 << 20, 128 << 20, 160 << 20)
PER_GRANULE = 16
KILL_AFTER = float(os.environ.get("ARDIS_BENCH_CHECK_KILL_AFTER", "15"))


def _build_sparse(root: Path, tib: float) -> tuple[Settings, int, int]:
    """(settings, files, apparent bytes) of an archive of sparse files recorded with their CKSUM."""
    settings = _settings(root)
    sums = {}
    for size in SPARSE_SIZES:  # the CKSUM of `size` zero bytes, streamed once from a hole
        probe = root / f"zeros-{size}"
        with probe.open("wb") as f:
            f.truncate(size)
        sums[size] = checksum_file(probe, "CKSUM")
        probe.unlink()
    files = int(tib * (1 << 40)) // (128 << 20)
    total = 0
    with session_scope(settings.database_url) as session:
        collection = Collection(short_name="SPARSE", version_id=1)
        session.add(collection)
        for g in range(-(-files // PER_GRANULE)):
            granule = Granule(collection=collection, local_granule_id=f"S{g:06d}")
            directory = settings.archive_root / "SPARSE.001" / str(g)
            directory.mkdir(parents=True)
            for i in range(min(PER_GRANULE, files - g * PER_GRANULE)):
                size = SPARSE_SIZES[(g * PER_GRANULE + i) % len(SPARSE_SIZES)]
                path = directory / f"f{i}.dat"
                with path.open("wb") as f:
                    f.truncate(size)
                total += size
                granule.files.append(GranuleFile(seq=i + 1, name=path.name, size=size, archive_path=str(path),
                                                 checksum_type="CKSUM", checksum_value=sums[size]))
            session.add(granule)
    return settings, files, total


def _picked_paths(settings: Settings, pass_key: str, percent: float) -> tuple[list[str], int]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(GranuleFile.id, GranuleFile.archive_path, GranuleFile.size)).all()
    chosen = [(path, size) for i, path, size in rows if picked(f"{pass_key}:{i}", percent)]
    return [path for path, _ in chosen], sum(size for _, size in chosen)


def _cksum(paths: list[str]) -> None:
    subprocess.run(["xargs", "-0", "cksum"], input="\0".join(paths).encode(), stdout=subprocess.DEVNULL, check=True)


def _turn(settings: Settings, percent: float, t: int) -> tuple[float, float, int]:
    """One sample pass and its reference: (Ardis seconds, cksum seconds scaled to the same bytes, bytes).

    Each side reads files no pass read before (cold), its share picked by its own key."""
    key = f"tib-{percent}-{t}"
    paths, size = _picked_paths(settings, key, percent)
    start = time.perf_counter()
    report = check_archive(settings, key, percent)
    ardis = time.perf_counter() - start
    assert report.complete and not report.findings and report.checked == len(paths), report.findings[:3]
    other, other_size = _picked_paths(settings, f"cksum-{percent}-{t}", percent)
    start = time.perf_counter()
    _cksum(other)
    return ardis, (time.perf_counter() - start) * size / max(other_size, 1), size


def _samples(settings: Settings, shares: tuple[float, ...], files: int, total: int) -> list[tuple[Result, float]]:
    """Each share's row and rate (bytes a second); the shares taken in turn, so that both meet the same load."""
    turns = {t: [_turn(settings, p, t) for p in shares] for t in range(TURNS)}
    out = []
    for i, percent in enumerate(shares):
        ardis = statistics.median(turns[t][i][0] for t in range(TURNS))
        reference = statistics.median(turns[t][i][1] for t in range(TURNS))
        gib = statistics.median(turns[t][i][2] for t in range(TURNS)) / (1 << 30)
        out.append((Result(
            f"archive check, {percent:g} % sample of {total / (1 << 40):.2f} TiB ({files:,} sparse files)",
            ardis, "`cksum` of a share picked alike (scaled to the same bytes)", reference, "time",
            "time follows the bytes sampled", f"{gib:.1f} GiB read (median), {gib / ardis:.2f} GiB/s; median of "
            f"{TURNS}, the shares in turn; load average {os.getloadavg()[0]:.1f}"), gib * (1 << 30) / ardis))
    return out


def _state(settings: Settings) -> dict[str, int]:
    path = settings.home / STATE_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    if state.get("pass_key") != "tib-full":
        return {"after_id": 0, "checked": 0, "complete": False}
    return {"after_id": state["after_id"], "checked": state["checked"], "complete": state["complete"]}


def _killed_pass(settings: Settings, seconds: float) -> tuple[dict[str, int], float]:
    """Start (or resume) the full pass "tib-full" in a process of its own and SIGKILL it once it has run
    ``seconds`` and kept new progress; (the progress kept, seconds it ran)."""
    code = ("from distribution.config import load_settings; from distribution.inventory.check import check_archive;"
            " check_archive(load_settings(), 'tib-full', 100)")
    before = _state(settings)["checked"]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "ARDIS_HOME": str(settings.home)})
    while proc.poll() is None:
        time.sleep(0.1)
        if time.perf_counter() - start >= seconds and _state(settings)["checked"] > before:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    return _state(settings), time.perf_counter() - start


def run_tib() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as tmp:
        start = time.perf_counter()
        settings, files, total = _build_sparse(Path(tmp), TIB)
        made = time.perf_counter() - start
        print(f"{files:,} sparse files, {total / (1 << 40):.2f} TiB apparent, made and recorded in {made:.1f} s; "
              f"disk used {shutil.disk_usage(tmp).used / (1 << 30):.1f} GiB", flush=True)
        os.sync()  # the new inodes written back now, not during the first pass measured
        check_archive(settings, "tib-warm-up", 0.1)  # imports, SQLite, the walk's dentries: not the sample's cost
        samples = _samples(settings, (0.1, 1), files, total)
        rate = samples[-1][1]
        for result, _ in samples:
            results.append(result)
            print(result.row(), flush=True)
        runs = [_killed_pass(settings, KILL_AFTER) for _ in range(3)]
        steps, ran = [r[0] for r in runs], sum(r[1] for r in runs)
        print(f"full pass killed three times: {runs}", flush=True)
        assert all(b["checked"] > a["checked"] and b["after_id"] > a["after_id"] for a, b in zip(steps, steps[1:]))
        results.append(Result(
            f"archive check, full pass over {total / (1 << 40):.2f} TiB, killed (SIGKILL) 3 times and started again",
            ran, "a whole pass at the 1 % sample's rate (estimated)", total / rate, "time",
            "each start resumes where the last stopped",
            "kept progress " + " → ".join(f"{s['checked']:,}" for s in steps) + f" of {files:,} files "
            f"(each start runs ≥ {KILL_AFTER:g} s, process start included); load average {os.getloadavg()[0]:.1f}"))
        print(results[-1].row(), flush=True)
    return results
