"""The weekly archive check through a real ``dag.test()`` run (issue 16 item 8).

The DAG promises: compare the archive's files with the inventory, report to operations,
never delete anything. A small archive with one corrupted file: the run succeeds, the
operations mail names that file as checksum drift, and the archive is byte for byte as it was.
"""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devkit.sample_data import load_samples
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import GranuleFile
from tests.dags.conftest import run_dag, task_states

pytestmark = pytest.mark.dags


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_weekly_check_reports_a_corrupted_file_to_operations(dagbag: Any, sqlite_settings: Settings,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    monkeypatch.setenv("ARDIS_OPERATIONS_EMAIL", "ops@archive.example.org")
    monkeypatch.delenv("ARDIS_SMTP_CONN_ID", raising=False)
    with session_scope(settings.database_url) as session:
        load_samples(session, settings, tmp_path / "in", scale=1 / 256)
        paths = [Path(p) for p in session.scalars(select(GranuleFile.archive_path).order_by(GranuleFile.id))]
    corrupted = next(p for p in paths if p.suffix != ".met")
    flipped = bytearray(corrupted.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01  # one bit, same size: only a checksum can see it
    corrupted.write_bytes(bytes(flipped))
    before = _snapshot(settings.archive_root)

    dag_run = run_dag(dagbag, "ardis_archive_check", {})

    assert task_states(dag_run) == {"check_archive": "success"}
    mails = [email.message_from_bytes(p.read_bytes(), policy=default) for p in settings.outbox_dir.glob("*.eml")]
    [mail] = [m for m in mails if "archive check" in str(m["Subject"])]
    assert mail["To"] == "ops@archive.example.org"
    assert "1 findings" in str(mail["Subject"])
    body = mail.get_content()  # type: ignore[attr-defined]
    [finding] = [line for line in body.splitlines() if line.startswith(("missing", "extra", "size", "checksum"))]
    assert finding.startswith(f"checksum\t{corrupted}\t")
    assert f"{len(paths)} files checked (100 % sample)" in body and "Nothing was deleted." in body
    assert _snapshot(settings.archive_root) == before  # reported, not repaired, moved or deleted
