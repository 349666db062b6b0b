"""An operator's answer is never lost, whenever it comes (issue 10, defect 1).

Under the real scheduler (api-server, scheduler, dag-processor as processes) with
an executor that reports the end of a paused step's process only after the
answer has queued the step again (``hitl_race_executor``: the race a busy machine
produced in every other demo), three DLT requests are answered 0 s, 0.5 s and 5 s
after each prompt. Every run completes, every step is answered once, and each
answer is in Ardis's database. Without ``ardis_airflow.hitl.AnsweredOnce`` the
scheduler fails the paused step, the retry asks again and the request is rejected.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import MEDIA_DAGS, POOLS, request_run_id
from sqlalchemy import select

from tests.faults.hitl_race_executor import LATE_AFTER_RESUME

from distribution import db
from devkit.operator import Operator, Waiting, shipping_clerk
from devkit.airflow_stack import ROOT, AirflowStack
from distribution.inventory.archive import granule_ur
from distribution.config import load_settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.models import MediaType, OperatorAnswer, RequestState, Volume, VolumeState
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request

pytestmark = [pytest.mark.dags, pytest.mark.timeout(900)]
DELAYS = (0.0, 0.5, 5.0)
USER = Contact(user_id="racer", email="racer@example.org", first_name="Ann", last_name="Swer",
               shipping_address="1 Loading Dock\nGreenbelt, MD 20771")


def _late_answers(delay_of: dict[str, float]) -> Any:
    """The shipping clerk, answering each run's prompts ``delay_of[run_id]`` seconds after they appear.

    Each run's tape goes in a drive of its own (the k-th run, the k-th drive offered).
    """
    runs = list(delay_of)

    def decide(step: Waiting) -> tuple[list[str], dict[str, Any]] | None:
        waited = (datetime.now(UTC) - step.created_at).total_seconds() if step.created_at else 1e9
        if waited < delay_of.get(step.run_id, 0.0):
            return None
        chosen, params = shipping_clerk(step) or ([], {})
        if step.task_id.endswith("load"):
            chosen = [step.options[runs.index(step.run_id) % len(step.options)]]
        return chosen, params
    return decide


def test_answers_at_any_moment_complete_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ardis"
    url = f"sqlite:///{home / 'ardis.db'}"
    ardis_env = {"ARDIS_HOME": str(home), "ARDIS_DATABASE_URL": url,
                 "ARDIS_RETRY_DELAY_SECONDS": "2", "ARDIS_RETRIES": "2",
                 "ARDIS_TAPE_DRIVES": ",".join(f"tape-{k}=virtual:{home / 'drives' / f'tape-{k}.tape'}"
                                               for k in range(1, len(DELAYS) + 1)),
                 "AIRFLOW__CORE__EXECUTOR": "tests.faults.hitl_race_executor.LateReportLocalExecutor",
                 "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}"}
    for key in ("ARDIS_HOME", "ARDIS_DATABASE_URL", "ARDIS_TAPE_DRIVES"):
        monkeypatch.setenv(key, ardis_env[key])
    db.upgrade(url)
    settings = load_settings()
    settings.ensure_dirs()
    with session_scope(url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        request_ids = [str(create_order(session, settings, USER, [RequestSpec(MediaType.DLT, urs[:1])])
                           .requests[0].request_id) for _ in DELAYS]
    stack = AirflowStack(tmp_path / "airflow", extra_env=ardis_env, all_admins=False)
    stack.migrate()
    stack.create_pools({POOLS["optical"]: 1, POOLS["tape"]: len(DELAYS)})
    stack.start(tmp_path / "logs")
    delay_of = {request_run_id(rid): delay for rid, delay in zip(request_ids, DELAYS, strict=True)}
    clerk = Operator(stack.api_url, [MEDIA_DAGS["tape"]], _late_answers(delay_of), interval=0.1, min_age=0,
                     login=stack.login)
    clerk.start()
    try:
        stack.wait_ready([MEDIA_DAGS["tape"]])
        for rid in request_ids:  # unless the dispatcher was quicker
            stack.cli("dags", "trigger", MEDIA_DAGS["tape"], "--run-id", request_run_id(rid),
                      "--conf", json.dumps({"request_id": rid}), check=False)
        deadline = time.monotonic() + 600
        states: dict[str, RequestState] = {}
        while time.monotonic() < deadline:
            with session_scope(url) as session:
                states = {rid: get_request(session, rid).state for rid in request_ids}
            if all(s.is_terminal for s in states.values()):
                break
            time.sleep(2)
    finally:
        clerk.stop()
        stack.stop()
    scheduler_log = (tmp_path / "logs" / "scheduler.log").read_text(errors="replace")
    assert states == {rid: RequestState.COMPLETE for rid in request_ids}, scheduler_log[-4000:]
    # The race really happened: at least one asking step's end was reported only after its answer had
    # handed the step to a worker again. (Whether the scheduler then logs "... but the task instance's
    # state attribute is ..." depends on whether the resumed process still runs at that moment: Airflow
    # 3.3 ignores the report while the executor holds the task, so that line is not asserted.)
    assert LATE_AFTER_RESUME in scheduler_log, scheduler_log[-4000:]
    asked = [(step.run_id, step.task_id) for step, _, _ in clerk.answered]
    assert sorted(asked) == sorted((run, task) for run in delay_of for task in ("volume.load", "confirm_shipment"))
    with session_scope(url) as session:
        answers = session.scalars(select(OperatorAnswer)).all()
        assert sorted((a.run_id, a.step) for a in answers) == sorted(asked)
        assert all(a.request_id for a in answers)
        for rid in request_ids:
            request = get_request(session, rid)
            assert request.carrier == "Demo Parcel Service" and request.tracking_number
            volumes = session.scalars(select(Volume).where(Volume.request_pk == request.id)).all()
            assert [v.state for v in volumes] == [VolumeState.VERIFIED]
            assert volumes[0].media_serial.startswith("DEMO-")
