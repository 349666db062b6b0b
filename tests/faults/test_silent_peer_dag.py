"""A silent scp destination through a real ``ardis_distribution`` run: retried, then one failed DN saying "timed out"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import MediaType, RequestState
from distribution.orders.placing import Destination, RequestSpec, get_request
from tests.dags.conftest import dagbag, airflow_db, run_dag, task_states  # noqa: F401  (fixtures)
from tests.dags.test_distribution_dag import archive, dn_of, order, outbox
from tests.faults.conftest import silent_peer

pytestmark = [pytest.mark.dags, pytest.mark.timeout(600)]

SOME_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def test_silent_scp_destination_ends_in_a_failed_dn_that_says_timed_out(
    dagbag: Any, sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("ARDIS_NETWORK_TIMEOUT_SECONDS", "2")
    with silent_peer() as port:
        monkeypatch.setenv("AIRFLOW_CONN_T_SILENT", json.dumps({
            "conn_type": "sftp", "host": "127.0.0.1", "port": port, "login": "u", "password": "p",
            "extra": {"known_hosts": f"[127.0.0.1]:{port} {SOME_KEY}\n"}}))
        urs = archive(sqlite_settings, tmp_path)
        request_id = order(sqlite_settings, RequestSpec(MediaType.SCP, urs[:2],
                                                        Destination("127.0.0.1", port, "/in", "t_silent")))
        run = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    states = task_states(run)
    assert states["deliver"] == "failed" and states["notify"] == "success"
    deliver = next(ti for ti in run.get_task_instances() if ti.task_id == "deliver")
    assert deliver.try_number == 3  # ARDIS_RETRIES=2 in tests: retried after each timeout, not failed at once
    dn = dn_of(sqlite_settings, request_id)
    assert dn.failure == "The request failed"
    assert all("timed out" in str(g.failure) for g in dn.granules), dn.granules
    mails = [m for m in outbox(sqlite_settings) if request_id in m.get_payload(decode=True).decode()]
    assert len(mails) == 1 and "timed out" in mails[0].get_payload(decode=True).decode()
    with session_scope(sqlite_settings.database_url) as session:
        assert get_request(session, request_id).state == RequestState.FAILED
