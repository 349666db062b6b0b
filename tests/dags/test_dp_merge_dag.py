"""ELT data products end to end through real ``dag.test()`` runs: merge, archive, then an FtpPull order of it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ardis_airflow import product_steps
from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import Granule, GranuleEvent
from distribution.orders.placing import Contact
from distribution.products import pipeline, verify_product
from distribution.products._header import scan_hdus
from distribution.products.models import ProductState
from tests.dags.conftest import run_dag, task_states
from tests.ftp_pull import order_and_pull
from tests.unit.products.fits_files import fcs_file, listing3
from tests.unit.products.test_golden import EXPECTED_CARDS, header_cards

pytestmark = pytest.mark.dags

STEPS = ["begin", "fetch", "merge", "archive", "outcome"]


def test_dp_merge_end_to_end_then_ftp_pull(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    monkeypatch.setenv("ARDIS_DP_COLLECTIONS", "TEST=ELT_TEST.001")
    doc, dcs, _ = listing3(tmp_path)
    product_id = pipeline.submit(settings, json.dumps(doc)).product_id
    run = run_dag(dagbag, "ardis_dp_merge", {"product_id": product_id})
    assert task_states(run) == dict.fromkeys(STEPS, "success")
    record = pipeline.describe(settings, product_id)
    assert record.state is ProductState.ARCHIVED and record.airflow_run_id == run.run_id
    with session_scope(settings.database_url) as session:
        granule = session.get(Granule, record.granule_id)
        assert granule is not None
        ur = granule_ur(granule, settings)
        archived = Path(granule.files[0].archive_path)
        md5 = granule.files[0].checksum_value
        assert session.query(GranuleEvent).filter_by(granule_id=granule.id, event="INSERT").count() == 1
    assert header_cards(archived) == EXPECTED_CARDS

    # The same id again is merged once: the submission is a duplicate, no second product.
    again = pipeline.submit(settings, json.dumps(doc))
    assert not again.new and again.product_id == product_id and pipeline.pending_products(settings) == []

    pulled = order_and_pull(dagbag, settings, ur, Contact(user_id="eso1", email="eso1@example.org",
                                                          checksum_list=True))
    assert list(pulled) == ["TEST.2021-05-18T14:49:03.905.fits"]
    assert hashlib.md5(pulled["TEST.2021-05-18T14:49:03.905.fits"]).hexdigest() == md5
    assert pulled["TEST.2021-05-18T14:49:03.905.fits"] == archived.read_bytes()
    delivered = tmp_path / "delivered.fits"
    delivered.write_bytes(pulled["TEST.2021-05-18T14:49:03.905.fits"])
    assert header_cards(delivered) == EXPECTED_CARDS and verify_product(delivered)
    got, source = scan_hdus(delivered)[0], scan_hdus(dcs)[0]
    assert delivered.read_bytes()[got.data_offset:got.end] == dcs.read_bytes()[source.data_offset:source.end]


def test_dp_merge_missing_source_fails_with_its_reason(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    monkeypatch.setenv("ARDIS_DP_COLLECTIONS", "TEST=ELT_TEST.001")
    doc, _, _ = listing3(tmp_path)
    doc["id"] = "TEST.2021-05-18T15:00:00.000"
    doc["sources"][2]["location"] = f"localhost:{tmp_path / 'missing.fits'}"
    product_id = pipeline.submit(settings, json.dumps(doc)).product_id
    run = run_dag(dagbag, "ardis_dp_merge", {"product_id": product_id})
    states = task_states(run)
    assert states["fetch"] == "failed" and states["outcome"] == "failed"
    assert states["merge"] == states["archive"] == "upstream_failed"
    record = pipeline.describe(settings, product_id)
    assert record.state is ProductState.FAILED and "missing.fits does not exist" in str(record.detail)
    assert not [p for p in settings.archive_root.rglob("*") if p.is_file()]
    assert not pipeline.workspace(settings, product_id).exists()

    # The cause fixed (the file is there now), the same specification again: a new product, a run of its own.
    fcs_file(tmp_path / "missing.fits")
    again = pipeline.submit(settings, json.dumps(doc))
    assert again.new and again.product_id != product_id and "missing.fits does not exist" in again.replaced
    assert product_steps.discover() == [{"trigger_run_id": f"dp-{again.product_id}",
                                         "conf": {"product_id": again.product_id},
                                         "note": f"data product {again.product_id}"}]
    retry = run_dag(dagbag, "ardis_dp_merge", {"product_id": again.product_id})
    assert task_states(retry) == dict.fromkeys(STEPS, "success")
    assert pipeline.describe(settings, again.product_id).state is ProductState.ARCHIVED
    assert pipeline.describe(settings, product_id).state is ProductState.FAILED  # the failure stays as history


def test_dp_dags_shape(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    merge = dagbag.get_dag("ardis_dp_merge")
    for upstream, downstream in zip(STEPS, STEPS[1:], strict=False):
        assert downstream in merge.get_task(upstream).downstream_task_ids
    assert merge.get_task("outcome").trigger_rule == "all_done" and merge.schedule is None
    assert merge.get_task("fetch").retry_policy is not None
    poll = dagbag.get_dag("ardis_dp_poll")
    assert poll.get_task("trigger_merge").partial_kwargs["trigger_dag_id"] == "ardis_dp_merge"
