"""Inventory search (the order portal's) over 1,000,000 granules on PostgreSQL. Target: < 300 ms a search.

A throwaway database (``ARDIS_BENCH_PG_URL``, else ``ARDIS_TEST_DATABASE_URL``:
an admin URL) migrated to head, then loaded with COPY: 20 collections,
1,000,000 granules over ten years (five minutes each, a 10° × 10° box, 2 % of
them crossing the antimeridian, 3 % of LocalGranuleIDs archived twice so that
"newest version only" has work to do, 5 % proprietary to a group) and two files
each. Each search is ``search_granules`` as the portal calls it for a data user
outside every group (the data rights filter on): the count (stopped at
``COUNT_LIMIT``) and one page of 25 with its files, median of 5 after one warm-up.
The reference column is a plain ``SELECT count(*) FROM granules`` (what an
uncapped count would at least cost). ``EXPLAIN (ANALYZE)`` of each page query is
printed (and recorded in benchmarks/README.md). ``ARDIS_BENCH_SEARCH_DB`` names a database
this benchmark loaded before (kept): it is searched as it is, without loading.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, timedelta

from sqlalchemy import create_engine, text

from benchmarks.common import Result
from distribution import db
from distribution.config import load_settings
from distribution.inventory.catalog import parse_search, search_granules, search_statement

GRANULES = int(os.environ.get("ARDIS_BENCH_SEARCH_GRANULES", "1000000"))
COLLECTIONS = 20
SAMPLES = 5
START = datetime(2015, 1, 1)
TEN_YEARS = 10 * 365 * 86400
SEARCHES: list[tuple[str, dict[str, str]]] = [
    ("newest first, no condition", {}),
    ("one collection, one month", {"collection": "COLL07.001", "begin": "2019-03-01", "end": "2019-03-31"}),
    ("10° box, by observation time", {"west": "20", "east": "30", "north": "50", "south": "40", "sort": "time"}),
    ("box across the antimeridian", {"west": "175", "east": "-175", "north": "5", "south": "-5"}),
    ("one collection, largest first", {"collection": "COLL03.001", "sort": "size", "order": "desc"}),
    ("one collection + box + a year", {"collection": "COLL11.001", "west": "-10", "east": "10", "north": "10",
                                       "south": "-10", "begin": "2020-01-01", "end": "2020-12-31"}),
    ("LocalGranuleID part", {"text": "G0123456"}),
]


@contextmanager
def _database(admin_url: str) -> Iterator[str]:
    name = f"ardis_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        db.get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(rng: random.Random) -> tuple[io.StringIO, io.StringIO]:
    """The granules and their files as COPY text."""
    granules, files = io.StringIO(), io.StringIO()
    today = date.today()
    file_id = 0
    for n in range(1, GRANULES + 1):
        again = n > GRANULES * 0.97  # the last 3 %: a second version of an earlier LocalGranuleID
        lgid = n - int(GRANULES * 0.97) if again else n
        collection = lgid % COLLECTIONS + 1
        begin = START + timedelta(seconds=lgid * TEN_YEARS // GRANULES)
        west = rng.uniform(-180, 170) if rng.random() > 0.02 else rng.uniform(171, 180)
        east = west + 10 if west <= 170 else west + 10 - 360
        south = rng.uniform(-90, 80)
        proprietary = rng.random() < 0.05
        sizes = (rng.randint(1_000_000, 500_000_000), rng.randint(2_000, 20_000))  # science file, metadata file
        granules.write("\t".join([
            str(n), str(collection), f"G{lgid:07d}", "2" if again else "1",
            (START + timedelta(seconds=n * 300)).isoformat(sep=" "), begin.isoformat(sep=" "),
            (begin + timedelta(minutes=5)).isoformat(sep=" "), f"{west:.4f}", f"{east:.4f}", f"{south + 10:.4f}",
            f"{south:.4f}", "{}", (today + timedelta(days=90)).isoformat() if proprietary else "\\N",
            "pi-team" if proprietary else "\\N", str(sum(sizes))]) + "\n")
        for seq, size in enumerate(sizes, 1):
            file_id += 1
            files.write(f"{file_id}\t{n}\t{seq}\tG{lgid:07d}.{'hdf' if seq == 1 else 'met'}\t"
                        f"{'SCIENCE' if seq == 1 else 'METADATA'}\t{size}\t/archive/{n}/{seq}\n")
    granules.seek(0)
    files.seek(0)
    return granules, files


def _load(url: str) -> float:
    """Migrate and COPY the rows in; the seconds it took."""
    start = time.perf_counter()
    db.upgrade(url)
    granules, files = _rows(random.Random(7))
    raw = db.get_engine(url).raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany("INSERT INTO collections (id, short_name, version_id, description, created_at) "
                        "VALUES (%s, %s, 1, '', now())", [(i, f"COLL{i:02d}") for i in range(1, COLLECTIONS + 1)])
        cur.copy_expert("COPY granules (id, collection_id, local_granule_id, granule_version, inserted_at, "
                        "begin_time, end_time, west, east, north, south, attributes, public_release_date, "
                        "owner_group, total_size) FROM STDIN", granules)
        cur.copy_expert("COPY granule_files (id, granule_id, seq, name, file_type, size, archive_path) "
                        "FROM STDIN", files)
        raw.commit()
        raw.set_isolation_level(0)
        cur.execute("VACUUM ANALYZE granules")
        cur.execute("VACUUM ANALYZE granule_files")
    finally:
        raw.close()
    return time.perf_counter() - start


def _explain(url: str, fields: dict[str, str]) -> str:
    stmt = search_statement(parse_search(fields), set(), "postgresql").limit(25)
    engine = db.get_engine(url)
    compiled = stmt.compile(engine)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + str(compiled), compiled.params)
        return "\n".join(r[0] for r in rows)


def run() -> list[Result]:
    admin = os.environ.get("ARDIS_BENCH_PG_URL") or os.environ.get("ARDIS_TEST_DATABASE_URL")
    if not admin:
        print("bench_search: set ARDIS_BENCH_PG_URL (a PostgreSQL admin URL)")
        return []
    kept = os.environ.get("ARDIS_BENCH_SEARCH_DB")
    with _database(admin) if not kept else nullcontext(kept) as url, tempfile.TemporaryDirectory() as home:
        os.environ["ARDIS_HOME"], os.environ["ARDIS_DATABASE_URL"] = home, url
        if not kept:
            loaded = _load(url)
            print(f"loaded {GRANULES:,} granules and {2 * GRANULES:,} files in {loaded:.1f} s", flush=True)
        return _searches(url)


def _searches(url: str) -> list[Result]:
    settings = load_settings()
    results = []
    with db.get_engine(url).connect() as conn:
        start = time.perf_counter()
        conn.execute(text("SELECT count(*) FROM granules")).scalar()
        count_all = time.perf_counter() - start
    for name, fields in SEARCHES:
        query = parse_search(fields)
        times, found = [], None
        for turn in range(SAMPLES + 1):
            with db.session_scope(url) as session:
                start = time.perf_counter()
                found = search_granules(session, settings, query, set())
                if turn:
                    times.append(time.perf_counter() - start)
        assert found is not None
        median = statistics.median(times)
        total = f"{found.total:,}{'+' if found.truncated else ''}"
        print(f"\n-- {name}: {median * 1000:.0f} ms (max {max(times) * 1000:.0f} ms), {total} found\n"
              + _explain(url, fields), flush=True)
        results.append(Result(f"search 1M granules (PostgreSQL): {name}", median, "`SELECT count(*) FROM granules`",
                              count_all, "time", "< 0.3 s",
                              f"{'yes' if median < 0.3 else 'NO'}: {total} found, max {max(times):.3f} s"))
    return results


if __name__ == "__main__":
    from benchmarks.common import report

    report(run())
