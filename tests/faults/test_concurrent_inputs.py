"""Concurrent input: 50 orders placed at once by 10 processes, the same new user ordering twice at once
through the ``ardis`` command, and two pollers taking one PDR at the same instant — SQLite and PostgreSQL.

Real processes (``multiprocessing`` with spawn, and subprocesses of the installed command), released
together by a barrier: each has its own engine and connections, as Airflow workers and the CLI do.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, load_samples, write_delivery
from distribution.ingest import intake
from distribution.models import MediaType, Order, PdrRecord, Request, User
from distribution.orders.placing import Contact, RequestSpec, create_order
from distribution.ingest.pdr import render_pdr
from tests.unit.ingest.conftest import local_provider
from tests.unit.ingest.conftest import local_server as _server

PROCESSES = 10
ORDERS_EACH = 5
NEW_USERS = 4  # fewer users than processes: most orders race to create or reuse one
SPAWN = multiprocessing.get_context("spawn")
area = local_provider  # the provider "P" on a local directory, with the sample collections


def _archive(settings: Settings, tmp_path: Path) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]


def _place_orders(settings: Settings, urs: list[str], worker: int, barrier: Any, results: Any) -> None:
    """One process: wait for the others, then place its orders one after another."""
    barrier.wait()
    placed, errors = [], []
    for k in range(ORDERS_EACH):
        user = f"crowd{(worker + k) % NEW_USERS}"
        try:
            with session_scope(settings.database_url) as session:
                order = create_order(session, settings, Contact(user, f"{user}@example.org"),
                                     [RequestSpec(MediaType.FTP_PULL, [urs[(worker + k) % len(urs)]])])
                placed.append((str(order.order_id), [str(r.request_id) for r in order.requests]))
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails on any
            errors.append(f"{type(e).__name__}: {e}")
    results.put((placed, errors))


def _run_all(target: Any, args: tuple[Any, ...], n: int) -> list[Any]:
    barrier, results = SPAWN.Barrier(n), SPAWN.Queue()
    procs = [SPAWN.Process(target=target, args=(*args, i, barrier, results)) for i in range(n)]
    for p in procs:
        p.start()
    out = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def test_fifty_orders_placed_at_once_by_ten_processes(settings: Settings, tmp_path: Path) -> None:
    urs = _archive(settings, tmp_path)
    out = _run_all(_place_orders, (settings, urs), PROCESSES)
    errors = [e for _, errs in out for e in errs]
    assert errors == []
    orders = [o for placed, _ in out for o, _ in placed]
    requests = [r for placed, _ in out for _, rs in placed for r in rs]
    assert len(orders) == len(set(orders)) == PROCESSES * ORDERS_EACH
    assert len(requests) == len(set(requests)) == PROCESSES * ORDERS_EACH
    with session_scope(settings.database_url) as session:
        users = session.scalars(select(User.user_id).order_by(User.user_id)).all()
        assert users == [f"crowd{i}" for i in range(NEW_USERS)]  # each created once
        assert session.scalar(select(func.count()).select_from(Order)) == PROCESSES * ORDERS_EACH
        assert session.scalar(select(func.count(func.distinct(Request.request_id)))) == PROCESSES * ORDERS_EACH


def test_the_same_new_user_ordering_at_once_through_the_command(settings: Settings, tmp_path: Path) -> None:
    """Issue 10, defect 8: two ``ardis order create`` of one new user once failed 1 in 6 with IntegrityError."""
    urs = _archive(settings, tmp_path)
    ardis = str(Path(sys.executable).parent / "ardis")
    # The commands start together; the interpreter's start-up spreads them by less than the race needs.
    procs = [subprocess.Popen([ardis, "order", "create", "--user", "twin", "--email", "twin@example.org",
                               "--method", "FtpPull", "--granule", urs[i % len(urs)], "--no-trigger"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for i in range(6)]
    done = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [(status, err) for status, _, err in done] == [(0, "")] * len(procs)
    order_ids = [out.split()[1] for _, out, _ in done]
    assert len(set(order_ids)) == len(procs)
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(User.user_id)).all() == ["twin"]


def _poll(settings: Settings, worker: int, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        results.put(([d.name for d in intake.poll_provider(settings, "P", _server)], ""))
    except Exception as e:  # noqa: BLE001 - reported to the test
        results.put(([], f"{type(e).__name__}: {e}"))


def test_two_pollers_on_one_pdr_take_it_once(settings: Settings, area: Path) -> None:
    """Two processes poll one provider at the same instant: one record (so one ingest run) per PDR."""
    for i in range(3):
        pdr = write_delivery(area, f"D{i}", SAMPLES[:1], scale=1 / 256, first_seed=i + 1)
        (area / "PDR" / f"P{i}.PDR").write_text(render_pdr(pdr))
    out = _run_all(_poll, (settings,), 2)
    assert [err for _, err in out] == ["", ""]
    taken = sorted(name for names, _ in out for name in names)
    assert taken == ["P0.PDR", "P1.PDR", "P2.PDR"]  # each by exactly one of the two
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(PdrRecord.name, func.count()).group_by(PdrRecord.name)).all()
        assert sorted(rows) == [("P0.PDR", 1), ("P1.PDR", 1), ("P2.PDR", 1)]
