"""A data product that fails leaves nothing in the archive, says why, and its id can be submitted again once fixed.

The full-disk cases run on real small file systems: a tmpfs mounted by the test
(root only; skipped otherwise), either too small for the merge in the workspace
(ENOSPC in the middle of appending the extensions) or out of inodes for the
archive (ENOSPC creating the product's file after its granule directory was made).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import PermanentError, RetryableError
from distribution.models import Granule, GranuleEvent
from distribution.products import MergeError, SourceMissing, pipeline
from distribution.products.models import ProductState
from tests.unit.products.fits_files import listing3
from tests.unit.products.test_golden import EXPECTED_CARDS, header_cards

SPEC_ID = "TEST.2021-05-18T14:49:03.905"


@pytest.fixture(autouse=True)
def _collections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_DP_COLLECTIONS", "TEST=ELT_TEST.001")


def archived_nothing(settings: Settings) -> bool:
    """No file under the archive root and no granule or INSERT event in the database."""
    files = [p for p in settings.archive_root.rglob("*") if not p.is_dir()]
    granule_dirs = [p for p in settings.archive_root.glob("*/*")]
    with session_scope(settings.database_url) as session:
        rows = session.scalar(select(func.count()).select_from(Granule))
        events = session.scalar(select(func.count()).select_from(GranuleEvent))
    return not files and not granule_dirs and rows == 0 and events == 0


def run_through(settings: Settings, product_id: int) -> int | None:
    """The merge run's steps, as ardis_dp_merge takes them."""
    pipeline.begin(settings, product_id, f"dp-{product_id}")
    pipeline.fetch(settings, product_id)
    pipeline.merge(settings, product_id)
    return pipeline.archive(settings, product_id)


def test_missing_source_then_the_same_id_again_once_the_file_is_there(
        sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    doc, _, fcs = listing3(tmp_path)
    fcs.rename(tmp_path / "fcs.later")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(doc))
    assert main(["dp", "submit", str(spec)]) == 0
    with pytest.raises(SourceMissing, match="fcs.fits does not exist"):
        pipeline.fetch(settings, 1)
    with pytest.raises(PermanentError, match="failed: source file .*fcs.fits does not exist"):
        pipeline.outcome(settings, 1)
    assert archived_nothing(settings) and not pipeline.workspace(settings, 1).exists()

    (tmp_path / "fcs.later").rename(fcs)  # the cause is fixed: the same specification again
    capsys.readouterr()
    assert main(["dp", "submit", str(spec)]) == 0
    out = capsys.readouterr().out
    assert f"product 2: {SPEC_ID} submitted again (product 1 failed: source file {fcs} does not exist)" in out
    assert pipeline.pending_products(settings) == [2]
    granule_id = run_through(settings, 2)
    assert granule_id is not None and "archived as granule" in pipeline.outcome(settings, 2)
    assert pipeline.describe(settings, 1).spec_id == f"{SPEC_ID}~failed-1"  # the failure stays as history
    assert pipeline.describe(settings, 1).state is ProductState.FAILED

    # Archived: the id is merged once, whatever comes after.
    assert main(["dp", "submit", str(spec)]) == 0
    assert "already submitted (archived); not again" in capsys.readouterr().out
    assert pipeline.pending_products(settings) == []


def test_dictionary_violation_then_a_corrected_specification(sqlite_settings: Settings, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    (tmp_path / "dicts").mkdir()
    (tmp_path / "dicts" / "instrument.did").write_text("Parameter Name: TEL AIRM END\nType: integer\n")
    monkeypatch.setenv("ARDIS_DP_DICTIONARIES", str(tmp_path / "dicts"))
    doc, _, _ = listing3(tmp_path)
    doc["keywordDictionaries"] = ["instrument.did"]
    first = pipeline.submit(settings, json.dumps(doc))
    pipeline.fetch(settings, first.product_id)
    with pytest.raises(MergeError, match="keyword TEL AIRM END from source tcs: 1.08 is not an integer"):
        pipeline.merge(settings, first.product_id)
    with pytest.raises(PermanentError, match="is not an integer"):
        pipeline.outcome(settings, first.product_id)
    assert archived_nothing(settings)

    doc["sources"][1]["keywords"][1]["value"] = 1  # the producer corrects its specification
    again = pipeline.submit(settings, json.dumps(doc))
    assert again.new and again.product_id != first.product_id and "is not an integer" in again.replaced
    assert run_through(settings, again.product_id) is not None


def test_a_product_still_on_its_way_is_not_submitted_twice(sqlite_settings: Settings, tmp_path: Path) -> None:
    doc, _, _ = listing3(tmp_path)
    first = pipeline.submit(sqlite_settings, json.dumps(doc))
    pipeline.fetch(sqlite_settings, first.product_id)
    again = pipeline.submit(sqlite_settings, json.dumps(doc))
    assert not again.new and again.product_id == first.product_id and again.state == "fetched"


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A real tmpfs of the given size/inodes at ``where``; skips the test where mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "ardis-dp-test", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_workspace_disk_full_during_the_merge(sqlite_settings: Settings, tmp_path: Path) -> None:
    """ENOSPC while the extensions are appended to the target: retried, then failed; nothing archived."""
    doc, _, _ = listing3(tmp_path)
    with tmpfs(tmp_path / "small-staging", "size=64k,mode=0755") as staging:
        settings = dataclasses.replace(sqlite_settings, staging_root=staging)
        product = pipeline.submit(settings, json.dumps(doc)).product_id
        pipeline.fetch(settings, product)
        free = os.statvfs(staging).f_bavail * os.statvfs(staging).f_frsize
        (staging / "filler").write_bytes(b"\0" * (free - 4096))  # one page left: less than the extensions
        for _ in range(2):  # Airflow's retries: the same full disk each time
            with pytest.raises(RetryableError, match="No space left on device"):
                pipeline.merge(settings, product)
            assert pipeline.describe(settings, product).state is ProductState.FETCHED
            assert pipeline.archive(settings, product) is None
        assert "No space left on device" in str(pipeline.describe(settings, product).detail)
        with pytest.raises(PermanentError, match=r"failed: .*No space left on device"):
            pipeline.outcome(settings, product)
        assert archived_nothing(settings) and not pipeline.workspace(settings, product).exists()

        (staging / "filler").unlink()  # room again: the same specification goes through
        again = pipeline.submit(settings, json.dumps(doc))
        assert again.new and run_through(settings, again.product_id) is not None
        assert "archived" in pipeline.outcome(settings, again.product_id)


@contextlib.contextmanager
def merged_beside_small_archive(settings: Settings, tmp_path: Path, options: str) -> Iterator[tuple[Settings, int]]:
    """Listing 3 merged in the workspace, the archive root on a small tmpfs of its own."""
    doc, _, _ = listing3(tmp_path)
    with tmpfs(tmp_path / "small-archive", f"{options},mode=0755") as archive:
        settings = dataclasses.replace(settings, archive_root=archive)
        product = pipeline.submit(settings, json.dumps(doc)).product_id
        pipeline.fetch(settings, product)
        pipeline.merge(settings, product)
        yield settings, product


def test_archive_disk_full_leaves_no_granule_directory(sqlite_settings: Settings, tmp_path: Path) -> None:
    """ENOSPC creating the product in the archive (after its granule directory was made): all of it goes."""
    # Three inodes: the root, the collection directory and the granule directory; the file gets none.
    with merged_beside_small_archive(sqlite_settings, tmp_path, "size=1m,nr_inodes=3") as (settings, product):
        archive = settings.archive_root
        with pytest.raises(OSError, match="No space left on device"):
            pipeline.archive(settings, product)
        assert archived_nothing(settings)
        assert [p.name for p in archive.iterdir()] == ["ELT_TEST.001"]  # the collection, empty
        assert pipeline.describe(settings, product).state is ProductState.MERGED  # retried by Airflow
        with pytest.raises(PermanentError, match="No space left on device"):
            pipeline.outcome(settings, product)
        assert archived_nothing(settings)


def test_archive_without_room_for_the_product_is_refused_before_copying(sqlite_settings: Settings,
                                                                       tmp_path: Path) -> None:
    with merged_beside_small_archive(sqlite_settings, tmp_path, "size=8k") as (settings, product):
        with pytest.raises(Exception, match="the archive file system has no room for"):
            pipeline.archive(settings, product)
        assert archived_nothing(settings)
        merged = pipeline.workspace(settings, product) / f"{SPEC_ID}.fits"
        assert header_cards(merged) == EXPECTED_CARDS  # kept for the retry
