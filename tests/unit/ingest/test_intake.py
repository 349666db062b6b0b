"""Intake: polls that overlap take each PDR once."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from devkit.sample_data import SAMPLES, write_delivery
from distribution.config import Settings
from distribution.db import session_scope
from distribution.ingest import intake
from distribution.ingest.pdr import render_pdr
from distribution.models import PdrRecord
from tests.unit.ingest.conftest import local_server as _server


def test_overlapping_polls_take_each_pdr_once(settings: Settings, local_provider: Path) -> None:
    for i in range(5):
        pdr = write_delivery(local_provider, f"D{i}", SAMPLES[:1], scale=1 / 256, first_seed=i + 1)
        (local_provider / "PDR" / f"P{i}.PDR").write_text(render_pdr(pdr))
    results: list[list[intake.Discovered]] = []
    barrier = threading.Barrier(3)

    def poll() -> None:
        barrier.wait()
        results.append(intake.poll_provider(settings, "P", _server))

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = sorted(d.name for found in results for d in found)
    assert taken == [f"P{i}.PDR" for i in range(5)]  # each by exactly one of the three polls
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(PdrRecord)) == 5
