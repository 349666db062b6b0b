"""Physical media through real ``dag.test()`` runs, the operator's steps answered through the REST API.

Virtual drives (a folder that receives burned images, a file that receives the
tape stream) stand in for burners and tape drives; everything else is real:
ISO images by pycdlib, tar streams, read-back, the packing list, the notices.
"""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import MEDIA_DAGS, rewrite_run_id
from sqlalchemy import select

from devkit.operator import Operator, Waiting, shipping_clerk
from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.models import GranuleStatus, MediaType, RequestState, Volume, VolumeState
from distribution.notices.media_dn import parse_media_dn
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from tests.airflow_rest import forget_request_runs
from tests.dags.conftest import run_dag, task_states

pytestmark = pytest.mark.dags
USER = Contact(user_id="mediau", email="media.user@example.org", first_name="Joan", last_name="Requester",
               shipping_address="1616 McCormick Drive\nLandover, MD 22222")


def _order(settings: Settings, tmp_path: Path, media: MediaType) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 32)]
        return str(create_order(session, settings, USER, [RequestSpec(media, urs)]).requests[0].request_id)


def _run(dagbag: Any, api: Any, dag_id: str, request_id: str, decide: Any = shipping_clerk) -> tuple[Any, Operator]:
    operator = Operator(api.api_url, [dag_id], decide, interval=0.5, min_age=0)  # dag.test(): no executor race
    operator.start()
    try:
        return run_dag(dagbag, dag_id, {"request_id": request_id}), operator
    finally:
        operator.stop()


def get_order_id(settings: Settings, request_id: str) -> str:
    with session_scope(settings.database_url) as session:
        return str(get_request(session, request_id).order.order_id)


def _conf_of(dag_id: str, run_id: str) -> dict[str, Any] | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        return None if run is None else dict(run.conf or {})


def test_dvd_request_through_the_media_dag(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                           airflow_api: Any) -> None:
    settings = sqlite_settings
    request_id = _order(settings, tmp_path, MediaType.DVD)
    run, operator = _run(dagbag, airflow_api, MEDIA_DAGS["optical"], request_id)
    states = task_states(run)
    assert states.pop("rewrite") == "skipped", states  # shipped: no run to start
    assert set(states.values()) == {"success"}, states
    subjects = [step.subject for step, _, _ in operator.answered]
    assert f"Load a blank DVD+R disc in burner-1 for request {request_id}, volume 1 of 1" in subjects
    assert f"Confirm shipment of request {request_id}" in subjects
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state is RequestState.COMPLETE and request.carrier == "Demo Parcel Service"
        assert all(rg.status is GranuleStatus.DELIVERED for rg in request.granules)
    assert (settings.home / "drives" / "burner-1" / f"{request_id}_001.iso").exists()
    assert (settings.home / "packing_lists" / f"{request_id}.pdf").exists()
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    assert "ECS Order Shipment Notification" in mail["Subject"]
    assert parse_media_dn(mail.get_payload(decode=True).decode()).volumes[0].media_id == f"{request_id}_001"


def test_tape_volume_marked_bad_is_rewritten_by_a_second_run(dagbag: Any, sqlite_settings: Settings,
                                                             tmp_path: Path, airflow_api: Any) -> None:
    settings = sqlite_settings
    request_id = _order(settings, tmp_path, MediaType.DLT)
    media_id = f"{request_id}_001"
    first_time = True

    def picky(step: Waiting) -> tuple[list[str], dict[str, Any]] | None:
        nonlocal first_time
        if step.task_id == "confirm_shipment" and first_time:
            first_time = False
            return ["Rewrite a volume"], {"carrier": "", "tracking_number": "", "bad_media_id": media_id}
        return shipping_clerk(step)

    forget_request_runs()
    run, _ = _run(dagbag, airflow_api, MEDIA_DAGS["tape"], request_id, picky)
    assert task_states(run)["ship"] == "success"
    assert task_states(run)["rewrite"] == "success"  # Airflow's TriggerDagRunOperator started the next run
    assert _conf_of(MEDIA_DAGS["tape"], rewrite_run_id(request_id, media_id)) == {
        "request_id": request_id, "order_id": str(get_order_id(settings, request_id))}
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state is not RequestState.COMPLETE and request.shipped_at is None  # not closed: rewrite
    run, operator = _run(dagbag, airflow_api, MEDIA_DAGS["tape"], request_id)  # the rewrite run (dag.test's own)
    states = task_states(run)
    assert states.pop("rewrite") == "skipped" and set(states.values()) == {"success"}, states
    loads = [step for step, _, _ in operator.answered if step.task_id == "volume.load"]
    assert [s.subject for s in loads] == [f"Load a blank tape in tape-1 for request {request_id}, volume 1 of 1 "
                                          "again (the last one was marked bad)"]
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state is RequestState.COMPLETE and request.tracking_number
        vol = session.scalar(select(Volume).where(Volume.media_id == media_id))
        assert vol is not None and vol.state is VolumeState.VERIFIED and vol.rewrites == 1
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    assert "ECS Order Shipment Notification" in mail["Subject"]  # one notice, after the rewrite
