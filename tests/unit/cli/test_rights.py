"""``ardis granule rights`` / ``ardis user groups``, and ``ardis order create`` holding to the data-rights rule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from devkit.sample_data import SAMPLES, write_granule_files
from distribution.cli.main import main
from distribution.config import Settings
from distribution.orders import placing
from distribution.time import utcnow


def _add(tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int) -> str:
    files = write_granule_files(tmp_path / f"g{seed}", SAMPLES[0], seed=seed, scale=0.01)
    assert main(["archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)]) == 0
    return capsys.readouterr().out.strip().split("\t")[0]


def _order(capsys: pytest.CaptureFixture[str], user: str, ur: str) -> tuple[int, str]:
    code = main(["order", "create", "--user", user, "--email", f"{user}@example.org", "--method", "ftppull",
                 "--granule", ur, "--no-trigger"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_order_create_refuses_a_proprietary_granule_until_the_group_is_granted_or_the_date_passes(
        sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    public, secret = _add(tmp_path, capsys, 1), _add(tmp_path, capsys, 2)
    tomorrow = utcnow().date() + timedelta(days=1)
    assert main(["granule", "rights", secret, "--release-date", tomorrow.isoformat(), "--group", "pi-team"]) == 0
    assert capsys.readouterr().out.strip() == f"{secret}\tproprietary until {tomorrow} (group pi-team)"

    assert _order(capsys, "u1", public)[0] == 0  # u1 exists now, in no group
    code, said = _order(capsys, "u1", secret)
    assert code == 1
    assert said == (f"ardis: granule {secret} is proprietary until {tomorrow} (group pi-team): "
                    "user u1 is not in that group\n")
    assert main(["user", "groups", "u1", "--add", "pi-team"]) == 0
    assert capsys.readouterr().out == "u1\tpi-team\n"
    code, said = _order(capsys, "u1", secret)
    assert code == 0 and "ORDERID: " in said

    code, said = _order(capsys, "u2", secret)  # a new user is in no group
    assert code == 1 and f"granule {secret} is proprietary" in said
    later = utcnow() + timedelta(days=1)
    monkeypatch.setattr(placing, "utcnow", lambda: later)  # the release date has come: nobody acts
    code, said = _order(capsys, "u2", secret)
    assert code == 0 and "ORDERID: " in said


def test_granule_rights_shows_sets_and_clears(sqlite_settings: Settings, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ur = _add(tmp_path, capsys, 3)
    assert main(["granule", "rights", ur]) == 0
    assert capsys.readouterr().out == f"{ur}\tpublic\n"
    assert main(["granule", "rights", ur, "--group", "survey"]) == 0  # no date yet: not released
    assert capsys.readouterr().out == f"{ur}\tproprietary not released yet (group survey)\n"
    assert main(["granule", "rights", ur, "--release-date", "2001-01-01"]) == 0  # the group stays; the date passed
    assert capsys.readouterr().out == f"{ur}\tpublic\trelease date 2001-01-01\n"
    assert main(["granule", "rights", ur, "--public"]) == 0
    assert capsys.readouterr().out == f"{ur}\tpublic\n"
    assert main(["granule", "rights", ur, "--release-date", "tomorrow"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["user", "groups", "nobody", "--add", "x"]) == 1
    assert "no user nobody" in capsys.readouterr().err
