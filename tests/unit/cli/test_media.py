"""``ardis order create --method DVD`` and ``ardis media volumes|rewrite|drives``."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.orders import delivery
from distribution.shipping import production
from distribution.cli.main import main
from distribution.config import Settings
from devkit.sample_data import SAMPLES, write_granule_files


def test_media_order_volumes_and_rewrite(sqlite_settings: Settings, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    files = write_granule_files(tmp_path / "g", SAMPLES[0], seed=1, scale=0.01)
    assert main(["archive", "add", "--esdt", SAMPLES[0].esdt, *map(str, files)]) == 0
    ur = capsys.readouterr().out.split("\t")[0]
    common = ["order", "create", "--user", "m1", "--email", "m1@example.org", "--method", "DVD", "--granule", ur,
              "--no-trigger"]
    assert main(common) == 1
    assert "needs a shipping address" in capsys.readouterr().err
    assert main([*common, "--shipping-address", "1 Main St\\nSpringfield"]) == 0
    request_id = capsys.readouterr().out.split("REQUESTID: ")[1].split()[0]
    for step in (delivery.stage_request, delivery.verify_request):
        step(sqlite_settings, request_id)
    [media_id] = production.plan_request(sqlite_settings, request_id)
    production.build_volume(sqlite_settings, media_id)
    production.record_load(sqlite_settings, media_id, "burner-1", "SN-9")
    assert main(["media", "volumes", request_id]) == 0
    shown = capsys.readouterr().out
    assert f"{media_id}  Media 1 of 1  DVD+R  loaded" in shown and "on burner-1 serial SN-9" in shown
    assert main(["media", "rewrite", media_id, "--why", "label misprinted"]) == 0
    assert "marked bad" in capsys.readouterr().out
    assert main(["media", "volumes", request_id]) == 0
    listed = capsys.readouterr().out
    assert " bad " in listed and "label misprinted" in listed
    assert main(["media", "drives"]) == 0
    assert "burner-1" in capsys.readouterr().out
    assert main(["media", "rewrite", "NOPE_001"]) == 1
    assert "no volume NOPE_001" in capsys.readouterr().err
