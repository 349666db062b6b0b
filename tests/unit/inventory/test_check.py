"""The archive consistency check (ISDC): every kind of drift found, nothing deleted, sampled, resumable."""

from __future__ import annotations

import email
from collections.abc import Callable
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from devkit.sample_data import load_samples
from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory import check
from distribution.inventory.check import check_and_report, check_archive
from distribution.models import Granule, GranuleFile
from distribution.notices.outbox import OutboxFolder


def _archive(settings: Settings, tmp_path: Path) -> list[Path]:
    with session_scope(settings.database_url) as session:
        load_samples(session, settings, tmp_path / "in", scale=1 / 256)
        return [Path(p) for p in session.scalars(select(GranuleFile.archive_path).order_by(GranuleFile.id))]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _killed_after_three(monkeypatch: pytest.MonkeyPatch, start: Callable[[], object]) -> list[str]:
    """Run ``start`` (a pass) until the worker is killed at the fourth file; then every file checked is
    recorded in the returned list (the three before the kill, and those of the pass resumed after)."""
    seen: list[str] = []
    real = check._check_file

    def dies_after_three(gf: GranuleFile) -> check.Finding | None:
        if len(seen) == 3:
            raise KeyboardInterrupt("worker killed")
        seen.append(gf.archive_path)
        return real(gf)

    monkeypatch.setattr(check, "_check_file", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        start()
    monkeypatch.setattr(check, "_check_file", lambda gf: seen.append(gf.archive_path) or real(gf))
    return seen


def test_every_kind_of_drift_is_reported_and_nothing_is_deleted(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    paths = _archive(settings, tmp_path)
    data = [p for p in paths if p.suffix != ".met"]
    flipped = bytearray(data[0].read_bytes())
    flipped[0] ^= 0xFF
    data[0].write_bytes(bytes(flipped))  # same size, other bytes
    data[1].write_bytes(data[1].read_bytes()[:-1])  # a byte short
    data[2].unlink()  # gone
    stray = data[3].parent / "stray.bin"
    stray.write_bytes(b"nobody's")
    with session_scope(settings.database_url) as session:
        first = session.scalars(select(Granule).order_by(Granule.id)).first()
        assert first is not None
        session.add(Granule(collection_id=first.collection_id, local_granule_id=first.local_granule_id,
                            granule_version=first.granule_version + 2))  # a version in between is gone
    before = _snapshot(settings.archive_root)
    report = check_archive(settings, "2026-W50", 100)
    kinds = {(f.kind, Path(f.path).name if f.kind != "version" else f.path) for f in report.findings}
    assert ("checksum", data[0].name) in kinds and ("size", data[1].name) in kinds
    assert ("missing", data[2].name) in kinds and ("extra", "stray.bin") in kinds
    assert any(k == "version" and str(first.local_granule_id) in p for k, p in kinds)
    assert len(report.findings) == 5 and report.checked == len(paths) and report.complete
    assert _snapshot(settings.archive_root) == before  # nothing deleted, moved or rewritten


def test_a_sample_checks_a_share_and_an_interrupted_pass_resumes(sqlite_settings: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    paths = _archive(settings, tmp_path)
    seen = _killed_after_three(monkeypatch, lambda: check_archive(settings, "P1", 100, batch=2))
    report = check_archive(settings, "P1", 100, batch=2)
    assert report.complete and not report.findings
    # batches of 2: the first was recorded, the file checked in the second before the kill is checked again
    assert len(set(seen)) == len(paths) and len(seen) == len(paths) + 1
    sampled = check_archive(settings, "P2", 50)
    assert 0 < sampled.checked < len(paths)
    assert check_archive(settings, "P2", 50).checked == sampled.checked  # a finished pass is not run again


def test_a_pass_over_large_files_keeps_its_progress_within_a_batch(sqlite_settings: Settings, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of 1,000 files of 128 MiB is 125 GiB: a pass killed in it keeps what it read (by bytes)."""
    settings = sqlite_settings
    paths = _archive(settings, tmp_path)
    seen = _killed_after_three(monkeypatch, lambda: check_archive(settings, "B1", 100, batch_bytes=1))
    report = check_archive(settings, "B1", 100, batch_bytes=1)  # every file was a batch of its own
    assert report.complete and report.checked == len(paths)
    assert seen == [str(p) for p in paths]  # each file once: the three before the kill are not read again


def test_operations_get_the_report_once_and_the_command_exits_on_findings(
        sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    object.__setattr__(settings, "operations_email", "ops@archive.example.org")
    paths = _archive(settings, tmp_path)
    assert main(["archive", "check", "--pass", "clean"]) == 0
    assert "0 findings. Nothing was deleted." in capsys.readouterr().out
    paths[0].unlink()
    for _ in range(2):
        assert check_and_report(settings, "W1", 100, lambda: OutboxFolder(settings.outbox_dir))["findings"] == 1
    [mail] = [email.message_from_bytes(p.read_bytes(), policy=default) for p in settings.outbox_dir.glob("*.eml")]
    assert mail["To"] == "ops@archive.example.org" and "1 findings" in str(mail["Subject"])
    assert f"missing\t{paths[0]}" in mail.get_content()  # type: ignore[attr-defined]
    assert main(["archive", "check", "--sample", "100", "--pass", "cli-1"]) == 1
    assert main(["archive", "check", "--sample", "0.1", "--pass", "cli-2"]) in (0, 1)  # a share under 1 %
    assert "(0.1 % sample)" in capsys.readouterr().out
    assert main(["archive", "check", "--sample", "0"]) == 1
    assert "--sample is a percentage" in capsys.readouterr().err
