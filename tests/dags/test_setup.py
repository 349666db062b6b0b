"""``ardis setup`` against a real api-server: pools from the configured drives, the delivery pool, connections.

The pool names come from the plugin (``ardis_airflow.names``) through ``/ardis/api/names``;
the pools are read back through Airflow's REST API as the ``ardis`` account (role op).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ardis_airflow.names import DELIVERY_POOL, POOLS

from distribution import db
from distribution.cli.main import main
from distribution.ingest.providers import ProviderSpec, add_provider
from tests.airflow_rest import AirflowRest
from tests.conftest import make_settings

pytestmark = pytest.mark.dags


def _slots(airflow: AirflowRest) -> dict[str, int]:
    return {name: airflow.call("GET", f"/api/v2/pools/{name}")["slots"] for name in (*POOLS.values(), DELIVERY_POOL)}


def _setup(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["setup", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_setup_creates_resizes_and_checks(airflow_client: AirflowRest, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in (*POOLS.values(), DELIVERY_POOL):  # the session's server may hold them from another test
        airflow_client.call("DELETE", f"/api/v2/pools/{name}", expect=(204, 404))
    url = f"sqlite:///{tmp_path / 'site' / 'ardis.db'}"  # not migrated: setup does it
    make_settings(monkeypatch, tmp_path / "site", url,
                  ARDIS_OPTICAL_DRIVES=f"b1=virtual:{tmp_path}/b1,b2=virtual:{tmp_path}/b2,b3=/dev/sr0",
                  ARDIS_TAPE_DRIVES=f"t1=virtual:{tmp_path}/t1.tape")
    monkeypatch.delenv("ARDIS_MAX_DELIVERIES", raising=False)

    status, out, err = _setup(capsys)
    assert status == 0, err
    assert _slots(airflow_client) == {POOLS["optical"]: 3, POOLS["tape"]: 1, DELIVERY_POOL: 7}
    assert f"pool {DELIVERY_POOL}: created (7 slots)" in out
    assert "connections: the configuration names none" in out
    assert "database: at revision " in out

    status, out, _ = _setup(capsys)  # idempotent: nothing to do the second time
    assert status == 0 and out.count(": unchanged") == 3, out

    monkeypatch.setenv("ARDIS_OPTICAL_DRIVES", f"b1=virtual:{tmp_path}/b1")  # a drive went away
    monkeypatch.setenv("ARDIS_MAX_DELIVERIES", "3")
    monkeypatch.setenv("ARDIS_SMTP_CONN_ID", "ardis_test_smtp")
    with db.session_scope(url) as session:
        add_provider(session, ProviderSpec(name="SIPSX", polling_directory="/PDR", method="ftp", host="ftp.example.org",
                                           conn_id="ardis_test_sipsx"))
    status, out, err = _setup(capsys)
    assert status == 1, out + err
    assert _slots(airflow_client) == {POOLS["optical"]: 1, POOLS["tape"]: 1, DELIVERY_POOL: 3}, err
    assert f"pool {POOLS['optical']}: resized (3 -> 1 slots)" in out
    assert "connection ardis_test_sipsx: MISSING (named by provider SIPSX)" in out
    assert "connection ardis_test_smtp: MISSING (named by ARDIS_SMTP_CONN_ID)" in out
    assert "ardis_test_sipsx, ardis_test_smtp" in err

    assert _setup(capsys, "--allow-missing-connections")[0] == 0
    airflow_client.add_connection("ardis_test_sipsx", {"conn_type": "ftp", "host": "ftp.example.org"})
    airflow_client.add_connection("ardis_test_smtp", {"conn_type": "smtp", "host": "127.0.0.1"})
    status, out, err = _setup(capsys)
    assert status == 0, err
    assert "connection ardis_test_sipsx: defined (named by provider SIPSX)" in out


def test_setup_says_when_airflow_cannot_be_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    make_settings(monkeypatch, tmp_path / "site", f"sqlite:///{tmp_path / 'ardis.db'}")
    monkeypatch.setenv("ARDIS_AIRFLOW_URL", "http://127.0.0.1:9")  # nothing listens on discard
    status, _, err = _setup(capsys)
    assert status == 1
    assert err.startswith("ardis: setup needs Airflow's api-server: Airflow at http://127.0.0.1:9 did not answer")


def test_max_deliveries_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from distribution.deployment import max_deliveries

    monkeypatch.setenv("ARDIS_MAX_DELIVERIES", "0")
    with pytest.raises(ValueError, match="at least 1"):
        max_deliveries()
    monkeypatch.setenv("ARDIS_MAX_DELIVERIES", "seven")
    with pytest.raises(ValueError, match="whole number"):
        max_deliveries()
