"""``ardis dp validate|merge|submit|list`` and the pipeline's steps without Airflow (submit once, fail clearly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import PermanentError
from distribution.models import GranuleEvent
from distribution.products import MergeError, SourceMissing, pipeline
from distribution.products.models import DataProduct, ProductState
from tests.unit.products.fits_files import listing3
from tests.unit.products.test_golden import EXPECTED_CARDS, header_cards

COLLECTIONS = {"ARDIS_DP_COLLECTIONS": "TEST=ELT_TEST.001"}


def spec_file(tmp_path: Path, **changes: object) -> Path:
    doc, _, _ = listing3(tmp_path)
    doc.update(changes)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_validate_and_merge_commands(sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ARDIS_DP_COLLECTIONS", "TEST=ELT_TEST.001")
    spec = spec_file(tmp_path, keywordDictionaries=["instrument.did"])
    assert main(["dp", "validate", str(spec)]) == 1
    assert "keyword dictionary instrument.did not found" in capsys.readouterr().err
    (tmp_path / "instrument.did").write_text("Parameter Name: TEL AIRM START\nType: double\n")
    assert main(["dp", "validate", str(spec)]) == 0
    assert "VALID: TEST.2021-05-18T14:49:03.905 -> TEST.2021-05-18T14:49:03.905.fits" in capsys.readouterr().out
    out = tmp_path / "p.fits"
    assert main(["dp", "merge", str(spec), "--out", str(out)]) == 0
    assert "2 extensions, in place" in capsys.readouterr().out
    assert header_cards(out) == EXPECTED_CARDS
    bad = tmp_path / "bad.json"
    bad.write_text(spec.read_text().replace('"ocm"', '"tcs"'))
    assert main(["dp", "validate", str(bad)]) == 1
    assert "$.sources[1].sourceName: 'tcs' is also the name of $.sources[0]" in capsys.readouterr().err


def test_submit_merge_archive_once(sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    for k, v in COLLECTIONS.items():
        monkeypatch.setenv(k, v)
    spec = spec_file(tmp_path)
    assert main(["dp", "submit", str(spec)]) == 0
    assert "product 1: TEST.2021-05-18T14:49:03.905 submitted" in capsys.readouterr().out
    assert main(["dp", "submit", str(spec)]) == 0
    assert "already submitted (submitted); not again" in capsys.readouterr().out
    other = tmp_path / "other.json"
    other.write_text(spec.read_text().replace("ESO-ELT", "ESO-VLT"))
    assert main(["dp", "submit", str(other)]) == 1
    assert "already submitted with other content" in capsys.readouterr().err

    assert pipeline.pending_products(settings) == [1]
    pipeline.begin(settings, 1, "dp-1")
    assert pipeline.fetch(settings, 1) == ["dcs", "fcs"]
    assert "in place" in pipeline.merge(settings, 1)
    granule_id = pipeline.archive(settings, 1)
    assert granule_id is not None and pipeline.archive(settings, 1) == granule_id  # idempotent
    with session_scope(settings.database_url) as session:
        record = session.get(DataProduct, 1)
        assert record is not None and record.state is ProductState.ARCHIVED and record.header_in_place
        path = Path(record_file(session, granule_id))
        assert session.scalars(select(GranuleEvent.event).where(GranuleEvent.granule_id == granule_id)).all() \
            == ["INSERT"]
    assert path.name == "TEST.2021-05-18T14:49:03.905.fits" and header_cards(path) == EXPECTED_CARDS
    assert "archived as granule" in pipeline.outcome(settings, 1)
    assert not pipeline.workspace(settings, 1).exists()
    assert main(["dp", "list"]) == 0
    assert "archived  TEST.2021-05-18T14:49:03.905" in capsys.readouterr().out


def record_file(session: object, granule_id: int) -> str:
    from distribution.models import Granule

    granule = session.get(Granule, granule_id)  # type: ignore[attr-defined]
    assert granule.collection.esdt == "ELT_TEST.001" and granule.files[0].checksum_type == "MD5"
    return str(granule.files[0].archive_path)


def test_missing_source_fails_with_its_reason_and_archives_nothing(sqlite_settings: Settings, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    for k, v in COLLECTIONS.items():
        monkeypatch.setenv(k, v)
    doc, _, _ = listing3(tmp_path)
    doc["sources"][2]["location"] = str(tmp_path / "gone.fits")
    product = pipeline.submit(settings, json.dumps(doc)).product_id
    with pytest.raises(SourceMissing, match="gone.fits does not exist"):
        pipeline.fetch(settings, product)
    assert pipeline.archive(settings, product) is None
    with pytest.raises(PermanentError, match="failed: source file .*gone.fits does not exist"):
        pipeline.outcome(settings, product)
    assert not list(settings.archive_root.rglob("*.fits"))



def test_dictionary_violation_fails_the_merge(sqlite_settings: Settings, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    (tmp_path / "dicts").mkdir()
    (tmp_path / "dicts" / "instrument.did").write_text("Parameter Name: TEL AIRM END\nType: string\n")
    for k, v in {**COLLECTIONS, "ARDIS_DP_DICTIONARIES": str(tmp_path / "dicts")}.items():
        monkeypatch.setenv(k, v)
    doc, _, _ = listing3(tmp_path)
    doc["keywordDictionaries"] = ["instrument.did"]
    product = pipeline.submit(settings, json.dumps(doc)).product_id
    pipeline.fetch(settings, product)
    with pytest.raises(MergeError, match="keyword TEL AIRM END from source tcs: 1.08 is not a string"):
        pipeline.merge(settings, product)
    assert pipeline.describe(settings, product).state is ProductState.FAILED
    assert not list(pipeline.workspace(settings, product).glob("*.fits"))


def test_drop_directory(sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    drop = tmp_path / "drop"
    drop.mkdir()
    for k, v in {**COLLECTIONS, "ARDIS_DP_DROP_DIR": str(drop)}.items():
        monkeypatch.setenv(k, v)
    spec = spec_file(tmp_path)
    (drop / "a.json").write_bytes(spec.read_bytes())
    (drop / "b.json").write_bytes(spec.read_bytes())
    (drop / "c.json").write_text("{")
    taken = dict(pipeline.take_drop_directory(settings))
    assert taken["a.json"] == "product 1" and taken["b.json"] == "product 1 (duplicate)"
    assert "line 1 column 2" in taken["c.json"]
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["a.json", "b.json"]
    assert (drop / "failed" / "c.json.why").read_text().startswith("invalid data product specification")
    assert not list(drop.glob("*.json"))  # nothing left to take


def test_an_interrupted_merge_fetches_the_target_again(sqlite_settings: Settings, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    for k, v in COLLECTIONS.items():
        monkeypatch.setenv(k, v)
    doc, _, _ = listing3(tmp_path)
    product = pipeline.submit(settings, json.dumps(doc)).product_id
    pipeline.fetch(settings, product)
    ws = pipeline.workspace(settings, product)
    (ws / "merge-started").touch()  # a try that began changing the fetched target and died
    with (ws / "sources" / "dcs.fits").open("r+b") as f:
        f.write(b"SIMPLE  =                    T / half-written by the try that died".ljust(80))
        f.seek(0, 2)
        f.write(b"\0" * 2880)
    pipeline.merge(settings, product)
    assert header_cards(ws / "TEST.2021-05-18T14:49:03.905.fits") == EXPECTED_CARDS
    assert not (ws / "merge-started").exists()


def test_an_archived_product_fires_the_subscriptions_of_its_collection(sqlite_settings: Settings, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from distribution.subscriptions.dispatch import dispatch_pending
    from tests.unit.subscriptions.test_dispatch import firings, subscribe

    settings = sqlite_settings
    for k, v in COLLECTIONS.items():
        monkeypatch.setenv(k, v)
    subscription = subscribe(settings, "eso1", esdt=("ELT_TEST", 1))
    doc, _, _ = listing3(tmp_path)
    product = pipeline.submit(settings, json.dumps(doc)).product_id
    pipeline.fetch(settings, product)
    pipeline.merge(settings, product)
    granule_id = pipeline.archive(settings, product)
    dispatch_pending(settings)
    assert firings(settings) == {(subscription, granule_id)}
