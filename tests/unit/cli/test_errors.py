"""The installed ``ardis`` command ends every failure in one line and a documented exit status (issue 10, defect 8).

Run as real subprocesses, on SQLite and PostgreSQL: ids too large for the
database, an unknown migration, a refused user id, a database that does not
answer, and a reader that goes away (``ardis … | head``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from distribution.config import Settings

ARDIS = str(Path(sys.executable).parent / "ardis")
HUGE = "99999999999999999999999999"


def _ardis(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ARDIS, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=120)


def _one_line(proc: subprocess.CompletedProcess[str], status: int, message: str) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == status, proc.stderr
    assert proc.stderr.startswith("ardis: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["order", "create", "--user", "u1", "--email", "u1@example.org", "--method", "FtpPull", "--no-trigger",
      "--granule", f"SC:MOD09GHK.003:{HUGE}"], f"no granule {HUGE}"),
    (["pdr", "show", HUGE[:23]], f"no ingest {HUGE[:23]}"),
    (["subscription", "show", HUGE], f"no subscription {HUGE}"),
    (["subscription", "cancel", HUGE], f"no subscription {HUGE}"),
    (["subscription", "backfill", HUGE], f"no subscription {HUGE}"),
    (["db", "upgrade", "nosuchrev"], "cannot upgrade the database to 'nosuchrev'"),
    (["order", "create", "--user", "..", "--email", "e@example.org", "--method", "FtpPull", "--no-trigger",
      "--granule", "SC:MOD09GHK.003:1"], "user id"),
])
def test_failures_are_one_line_with_exit_1(settings: Settings, args: list[str], message: str) -> None:
    _one_line(_ardis(*args), 1, message)


def test_an_id_that_is_no_number_is_a_usage_error(settings: Settings) -> None:
    proc = _ardis("pdr", "show", "12x")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "invalid ingest id value: '12x'" in proc.stderr


def test_a_database_that_does_not_answer_is_exit_3(settings: Settings) -> None:
    env = {**os.environ, "ARDIS_DATABASE_URL": "postgresql+psycopg2://nobody@127.0.0.1:1/none"}
    _one_line(_ardis("order", "show", "0100000001", env=env), 3, "ardis: database error: ")


def test_a_reader_gone_away_is_exit_141_and_silent(settings: Settings) -> None:
    proc = subprocess.Popen([ARDIS, "db", "upgrade"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head` that has read what it wanted
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""
