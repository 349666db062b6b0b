"""Subscription dispatch latency with 1,000 active subscriptions: INSERT → order created. Target: median < 5 s.

Two measurements on the same kind of archive (SQLite, as embedded):

* **dispatch alone**: a granule and its INSERT row written as ingest writes them,
  then one ``dispatch_pending`` call, timed; 50 times; then a burst of 200 INSERTs
  in one sweep. The reference column is the same call with nothing waiting. On
  PostgreSQL too when ``ARDIS_BENCH_PG_URL`` names an admin URL (a throwaway
  database is made).
* **real scheduler**: ``AirflowStack`` (api-server, scheduler, dag-processor,
  LocalExecutor). For each sample a one-granule PDR is dropped at a local provider
  and an ``ardis_pdr_poll`` run is asked for through the REST API; the ingest
  run's archive task writes the INSERT and emits the asset event; the scheduler
  starts ``ardis_subscriptions``; its dispatch places the order. Both moments are
  observed by polling Ardis's database every 50 ms (its timestamps keep whole
  seconds). The reference column is the time from asking for the poll to the
  INSERT (the same scheduler's latency over the ingest DAGs, for scale).

The 1,000 subscriptions: 950 on 19 other ESDTs, 50 on the ingested ESDT of which
5 match every granule (one with FTP Pull, whose order is the one timed; four
notification only) and 45 have qualifiers that never hold.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from benchmarks.common import Result
from distribution import db
from devkit.airflow_stack import AirflowStack
from distribution.inventory.archive import get_or_create_collection, new_granule
from distribution.config import Settings, load_settings
from devkit.sample_data import SAMPLES, write_delivery
from distribution.inventory.metadata import GranuleMetadata
from distribution.models import GranuleEvent, Order
from distribution.ingest.pdr import render_pdr
from distribution.ingest.providers import ProviderSpec, add_provider
from distribution.subscriptions.models import SubscriptionFiring
from distribution.subscriptions.dispatch import dispatch_pending
from distribution.subscriptions.messages import Distribution, SubscriptionRequest, User
from distribution.subscriptions.store import create_subscription
from distribution.time import utcnow

SUBSCRIPTIONS = 1000
ALONE_SAMPLES = 50
BURST = 200
SCHEDULER_SAMPLES = int(os.environ.get("ARDIS_BENCH_SUBSCRIPTION_SAMPLES", "15"))
ESDT = SAMPLES[0].esdt  # MOD09GHK.003


def _settings(home: Path, url: str | None = None) -> Settings:
    os.environ["ARDIS_HOME"] = str(home)
    os.environ["ARDIS_DATABASE_URL"] = url or f"sqlite:///{home / 'ardis.db'}"
    settings = load_settings()
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    return settings


def _subscribe(settings: Settings) -> int:
    """The 1,000 subscriptions; returns the id of the FTP Pull one whose orders are timed."""
    now = utcnow().replace(second=0)
    start, end = now - timedelta(days=1), now + timedelta(days=30)
    short, _, version = ESDT.partition(".")
    timed = 0
    with db.session_scope(settings.database_url) as session:
        for n in range(SUBSCRIPTIONS):
            esdt, qualifier, distribution = (short, int(version)), None, None
            if n >= 50:
                esdt = (f"BENCH{n % 19:02d}", 1)
                qualifier = f"QAPercentMissingData <= {n % 40}"
            elif n == 0:
                qualifier, distribution = "QAPercentMissingData <= 100", Distribution("FTP Pull")
            elif n < 5:
                qualifier = 'DayNightFlag != "Dusk"' if n % 2 else None
            else:
                qualifier = f"QAPercentMissingData > {100 + n} AND DayNightFlag = \"Day\""
            user = f"bs{n:04d}"
            request = SubscriptionRequest(User(user, "Bench", "Subscriber"), "301-555-0100", f"{user}@example.org",
                                          f"bench {n}", esdt[0], esdt[1], start, end, qualifier, distribution)
            get_or_create_collection(session, f"{esdt[0]}.{esdt[1]:03d}")
            sub = create_subscription(session, request, actor="bench")
            timed = timed or (sub.id if n == 0 else 0)
    return timed


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _insert(settings: Settings, count: int, first: int) -> None:
    """``count`` granules and their INSERT rows, as ingest writes them (one transaction each)."""
    for i in range(first, first + count):
        with db.session_scope(settings.database_url) as session:
            collection = get_or_create_collection(session, ESDT)
            meta = GranuleMetadata(f"G{i}.hdf", utcnow(), utcnow(), -10, 0, 10, -10,
                                   {"QAPERCENTMISSINGDATA": i % 20, "DAYNIGHTFLAG": "Day"})
            granule = new_granule(session, collection, meta.local_granule_id, meta)
            session.add(GranuleEvent(granule_id=granule.id, event="INSERT"))


def dispatch_alone(tmp: Path, url: str | None = None, backend: str = "SQLite") -> Result:
    settings = _settings(tmp / f"alone-{backend}", url)
    timed = _subscribe(settings)
    latencies, empty = [], []
    for i in range(ALONE_SAMPLES):
        _insert(settings, 1, i)
        begin = time.perf_counter()
        result = dispatch_pending(settings)
        latencies.append(time.perf_counter() - begin)
        assert result.firings == 5 and len(result.requests) == 1, result
        begin = time.perf_counter()
        dispatch_pending(settings)
        empty.append(time.perf_counter() - begin)
    _insert(settings, BURST, ALONE_SAMPLES)
    begin = time.perf_counter()
    burst = dispatch_pending(settings)
    burst_seconds = time.perf_counter() - begin
    assert burst.events == BURST and burst.firings == 5 * BURST
    with db.session_scope(settings.database_url) as session:
        fired = session.scalar(select(func.count()).select_from(SubscriptionFiring)
                               .where(SubscriptionFiring.subscription_id == timed))
    assert fired == ALONE_SAMPLES + BURST
    median, p95 = statistics.median(latencies), _percentile(latencies, 0.95)
    return Result(f"subscription dispatch alone, {SUBSCRIPTIONS:,} active subscriptions: INSERT → order (median), "
                  f"{backend}", median, "the same sweep with nothing waiting", statistics.median(empty), "time", "—",
                  f"p95 {p95:.3f} s over {ALONE_SAMPLES} INSERTs; 5 firings (1 order, 5 notices) each; a burst of "
                  f"{BURST} INSERTs in one sweep: {burst_seconds:.2f} s ({burst_seconds / BURST * 1000:.1f} ms each)")


def _postgresql(admin_url: str) -> Iterator[str]:
    """A throwaway PostgreSQL database for the run (``ARDIS_BENCH_PG_URL`` is an admin URL)."""
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


def _post(url: str, body: dict[str, object], tries: int = 5) -> None:
    """POST, tried again on a 5xx (Airflow's SQLite metadata DB is sometimes locked for a moment)."""
    for attempt in range(tries):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                r.read()
            return
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == tries - 1:
                raise
            time.sleep(1)


def _wait(check: object, timeout: float, step: float = 0.05) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(step)
    raise TimeoutError("the scheduler did not get there in time")


def real_scheduler(tmp: Path) -> Result:
    settings = _settings(tmp / "sched")
    timed = _subscribe(settings)
    area = tmp / "provider"
    (area / "PDR").mkdir(parents=True)
    with db.session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="BENCH", root_directory=str(area), polling_directory="/PDR",
                                           polling_interval_seconds=1))
        get_or_create_collection(session, ESDT)
    url = settings.database_url
    stack = AirflowStack(tmp / "airflow", extra_env={"ARDIS_HOME": str(settings.home), "ARDIS_DATABASE_URL": url,
                                                     "ARDIS_TRIGGER": "airflow"})
    stack.migrate()
    stack.start(tmp / "logs")
    to_insert, to_order = [], []
    try:
        stack.wait_ready(["ardis_pdr_poll", "ardis_ingest", "ardis_subscriptions", "ardis_distribution"])
        for i in range(SCHEDULER_SAMPLES + 1):  # the first warms the scheduler up and is not counted
            with db.session_scope(url) as session:
                events = session.scalar(select(func.count()).select_from(GranuleEvent)) or 0
                orders = session.scalar(select(func.count()).select_from(Order)) or 0
            pdr = write_delivery(area, f"D{i}", SAMPLES[:1], scale=1 / 256, first_seed=i + 1)
            (area / "PDR" / f"B{i:03d}.PDR").write_text(render_pdr(pdr))
            asked = time.monotonic()
            _post(f"{stack.api_url}/api/v2/dags/ardis_pdr_poll/dagRuns", {"logical_date": None})

            def inserted(n: int = events) -> bool:
                with db.session_scope(url) as session:
                    return (session.scalar(select(func.count()).select_from(GranuleEvent)) or 0) > n

            def ordered(n: int = orders) -> bool:
                with db.session_scope(url) as session:
                    return (session.scalar(select(func.count()).select_from(Order)) or 0) > n

            at_insert = _wait(inserted, 300)
            at_order = _wait(ordered, 300)
            print(f"  sample {i}: poll asked -> INSERT {at_insert - asked:.2f} s, INSERT -> order "
                  f"{at_order - at_insert:.2f} s", flush=True)
            if i:
                to_insert.append(at_insert - asked)
                to_order.append(at_order - at_insert)
            time.sleep(2)  # let the triggered distribution run settle before the next sample
        with db.session_scope(url) as session:
            fired = session.scalar(select(func.count()).select_from(SubscriptionFiring)
                                   .where(SubscriptionFiring.subscription_id == timed))
        assert fired == SCHEDULER_SAMPLES + 1, fired
    finally:
        stack.stop()
    median, p95 = statistics.median(to_order), _percentile(to_order, 0.95)
    return Result(f"INSERT → order created, real scheduler, {SUBSCRIPTIONS:,} active subscriptions (median)",
                  median, "same run: poll asked → INSERT (ingest DAGs)", statistics.median(to_insert), "time",
                  "< 5 s", f"p95 {p95:.2f} s, min {min(to_order):.2f} s, max {max(to_order):.2f} s over "
                  f"{len(to_order)} PDRs; asset event → ardis_subscriptions run → dispatch")


def run() -> list[Result]:
    saved = {k: os.environ.get(k) for k in ("ARDIS_HOME", "ARDIS_DATABASE_URL")}
    try:
        with tempfile.TemporaryDirectory(dir=os.environ.get("ARDIS_BENCH_DIR")) as name:
            results = [dispatch_alone(Path(name))]
            if os.environ.get("ARDIS_BENCH_PG_URL"):
                for url in _postgresql(os.environ["ARDIS_BENCH_PG_URL"]):
                    results.append(dispatch_alone(Path(name), url, "PostgreSQL"))
            if os.environ.get("ARDIS_BENCH_SKIP_SCHEDULER") != "1":
                results.append(real_scheduler(Path(name)))
            return results
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
