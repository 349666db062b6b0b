"""Versions are visible (ISDC, issue 16 item 9): all kept, listed newest first, orderable by number; the
newest by default; an older version's distributed names carry its version."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.sample_data import SAMPLES, load_samples
from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound
from distribution.inventory.archive import find_granule, granule_versions
from distribution.models import MediaType
from distribution.orders import delivery
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.orders.staging import with_version

LGID = SAMPLES[0].lgid  # MOD09GHK.A2002123.h11v05.003.2002128130140.hdf
REF = f"{SAMPLES[0].esdt}:{LGID}"


def _two_versions(settings: Settings, tmp_path: Path) -> None:
    with session_scope(settings.database_url) as session:
        load_samples(session, settings, tmp_path / "in1", scale=1 / 256)
        load_samples(session, settings, tmp_path / "in2", scale=1 / 256)  # redelivered: version 2 of each


def _pulled(settings: Settings, ref: str) -> set[str]:
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, Contact("v1", "v1@example.org"),
                             [RequestSpec(MediaType.FTP_PULL, [ref])])
        request_id = str(order.requests[0].request_id)
    for step in (delivery.stage_request, delivery.verify_request, delivery.deliver_request):
        step(settings, request_id)
    with session_scope(settings.database_url) as session:
        return {p.name for p in delivery.pull_directory(settings, get_request(session, request_id)).iterdir()}


def test_versions_are_listed_ordered_and_named(sqlite_settings: Settings, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    _two_versions(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        assert [g.granule_version for g in granule_versions(session, SAMPLES[0].esdt, LGID)] == [2, 1]
        assert find_granule(session, REF).granule_version == 2  # the newest by default
        assert find_granule(session, f"{REF}:1").granule_version == 1
        with pytest.raises(NotFound):
            find_granule(session, f"{REF}:3")
    assert main(["archive", "versions", REF]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out] == [f"{REF}:2", f"{REF}:1"] and "newest" in out[0]
    assert _pulled(settings, REF) == {LGID, f"{LGID}.xml"}  # the newest keeps the plain names
    stem = LGID.removesuffix(".hdf")
    assert _pulled(settings, f"{REF}:1") == {f"{stem}.v1.hdf", f"{stem}.v1.hdf.xml"}


def test_version_names() -> None:
    assert with_version(["L.1", "L.2", "L.met"], "L", 3) == ["L.v3.1", "L.v3.2", "L.v3.met"]
    assert with_version(["a.hdf", "other"], "a.hdf", 1) == ["a.v1.hdf", "other.v1"]
