"""The ``ardis`` command: the happy path and one-line errors without tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from distribution.cli.main import main
from distribution.config import Settings
from devkit.sample_data import SAMPLES, write_granule_files
from devkit.peers import free_port
from tests.airflow_rest import AirflowRest


def test_archive_add_order_create_show_cancel(sqlite_settings: Settings, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    files = write_granule_files(tmp_path / "g", SAMPLES[0], seed=1, scale=0.01)
    assert main(["archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)]) == 0
    ur, lgid = capsys.readouterr().out.strip().split("\t")
    assert ur.endswith(":SC:MOD09GHK.003:1") and lgid == SAMPLES[0].lgid

    assert main(["order", "create", "--user", "u1", "--email", "u1@example.org", "--method", "ftppull",
                 "--granule", ur, "--no-trigger"]) == 0
    out = capsys.readouterr().out
    order_id = out.split("ORDERID: ")[1].split()[0]
    assert "REQUESTID: " in out and "(FtpPull)" in out

    assert main(["order", "show", order_id]) == 0
    shown = capsys.readouterr().out
    assert f"ORDERID: {order_id}" in shown and "new" in shown and ur in shown

    assert main(["order", "cancel", order_id]) == 0
    assert "cancelled requests" in capsys.readouterr().out
    assert main(["order", "show", order_id, "--json"]) == 0
    assert '"state": "cancelled"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["order", "show", "0000000000"], "no order"),
        (["order", "create", "--user", "u", "--email", "u@x.org", "--method", "pigeon", "--granule", "x"],
         "unknown delivery method"),
        (["archive", "add", "--esdt", "BAD", "/nonexistent"], "ESDT"),
        (["archive", "add", "--esdt", "A.001", "/nonexistent/file"], "no such file"),
    ],
)
def test_user_mistakes_are_one_line(sqlite_settings: Settings, capsys: pytest.CaptureFixture[str],
                                    args: list[str], message: str) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("ardis: ") and message in err and err.count("\n") == 1


def test_installed_command_prints_no_traceback(sqlite_settings: Settings) -> None:
    ardis = Path(sys.executable).parent / "ardis"
    proc = subprocess.run([str(ardis), "order", "cancel", "0100000042"], capture_output=True, text=True,
                          env=dict(os.environ))
    assert proc.returncode == 1
    assert proc.stderr == "ardis: no order 0100000042\n"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_db_upgrade_creates_a_fresh_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ARDIS_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("ARDIS_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "h" / "ardis.db").exists()
    assert "database at head" in capsys.readouterr().out


def test_order_with_an_undefined_connection_is_refused(sqlite_settings: Settings, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       airflow_client: AirflowRest) -> None:
    """Airflow is asked (its REST API) before the order is taken; a defined connection passes."""
    files = write_granule_files(tmp_path / "g", SAMPLES[0], seed=1, scale=0.01)
    assert main(["archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)]) == 0
    ur = capsys.readouterr().out.split("\t")[0]
    airflow_client.add_connection("t_defined", {"conn_type": "ftp", "host": "127.0.0.1"})
    order = ["order", "create", "--user", "u1", "--email", "u1@example.org", "--method", "FtpPush",
             "--granule", ur, "--host", "127.0.0.1", "--dir", "/in", "--no-trigger", "--conn-id"]
    assert main([*order, "t_nowhere"]) == 1
    err = capsys.readouterr().err
    assert err == "ardis: Airflow connection t_nowhere is not defined: add it (airflow connections add) " \
                  "before ordering with it\n"
    assert main([*order, "t_defined"]) == 0
    assert "ORDERID: " in capsys.readouterr().out
    assert main(["order", "show", "0100000001"]) == 0  # the refused order was never written
    assert "t_nowhere" not in capsys.readouterr().out


def test_without_airflow_the_order_is_taken_and_its_run_left_to_the_dispatcher(
        sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No ARDIS_AIRFLOW_URL, or an api-server that does not answer: nothing asked, nothing refused."""
    files = write_granule_files(tmp_path / "g", SAMPLES[0], seed=1, scale=0.01)
    assert main(["archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)]) == 0
    ur = capsys.readouterr().out.split("\t")[0]
    order = ["order", "create", "--user", "u1", "--email", "u1@example.org", "--method", "FtpPush",
             "--granule", ur, "--host", "127.0.0.1", "--dir", "/in", "--conn-id", "t_unknown"]
    assert main(order) == 0
    captured = capsys.readouterr()
    assert "Airflow was not asked whether connection t_unknown exists" in captured.err
    assert "left to the dispatcher DAG (ARDIS_AIRFLOW_URL is not set)" in captured.out
    monkeypatch.setenv("ARDIS_AIRFLOW_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert main(order) == 0
    captured = capsys.readouterr()
    assert "Airflow was not asked" in captured.err and "left to the dispatcher DAG (Airflow at" in captured.out


def test_order_with_a_newline_in_the_host_is_refused(sqlite_settings: Settings,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["order", "create", "--user", "u1", "--email", "u1@example.org", "--method", "FtpPush",
                 "--granule", "SC:MOD09GHK.003:1", "--host", "h\nx", "--dir", "/in", "--conn-id", "c"]) == 1
    assert "one line" in capsys.readouterr().err
