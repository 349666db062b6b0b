"""Ingest at a glance: providers' last poll, today's PDRs with their disposition, answers owed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.db import session_scope
from distribution.ingest.glance import answers_owed, pdrs_today, providers
from distribution.models import IngestFile, IngestFileState, PdrRecord, PdrState, Provider

NOW = datetime(2026, 12, 7, 12, 0, 0)


def _pdr(session: Session, provider: Provider, name: str, state: PdrState, when: datetime,
         dispositions: tuple[str, ...] = (), **fields: object) -> None:
    record = PdrRecord(provider=provider, name=name, digest=name, size=10, content=b"x", state=state,
                       discovered_at=when, **fields)
    for i, disposition in enumerate(dispositions):
        record.files.append(IngestFile(group_index=0, file_index=i, data_type="MOD09", data_version="1",
                                       group_kind="DATA", directory_id="/d", file_id=f"f{i}", file_type="SCIENCE",
                                       size=1, state=IngestFileState.ARCHIVED, disposition=disposition))
    session.add(record)


def test_ingest_at_a_glance(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        a = Provider(name="ALPHA", polling_directory="/PDR", last_polled_at=NOW - timedelta(minutes=2))
        b = Provider(name="BETA", method="sftp", polling_directory="/PDR", enabled=False)
        session.add_all([a, b])
        _pdr(session, a, "old.PDR", PdrState.RESPONDED, NOW - timedelta(days=1), response_kind="PAN")
        _pdr(session, a, "stuck.PDR", PdrState.ANSWERING, NOW - timedelta(days=1), response_kind="PAN")
        _pdr(session, a, "ok.PDR", PdrState.RESPONDED, NOW - timedelta(hours=2),
             ("SUCCESSFUL", "SUCCESSFUL", "CHECKSUM VERIFICATION FAILURE"), response_kind="PAN",
             airflow_run_id="ingest__1")
        _pdr(session, b, "bad.PDR", PdrState.REJECTED, NOW - timedelta(hours=1), detail="INVALID FILE COUNT")
        _pdr(session, b, "new.PDR", PdrState.PULLING, NOW - timedelta(minutes=1))
    with session_scope(settings.database_url) as session:
        listed = providers(session)
        today = pdrs_today(session, NOW)
        owed = answers_owed(session)
    assert [(p.name, p.method, p.enabled, p.last_polled_at) for p in listed] == [
        ("ALPHA", "local", True, NOW - timedelta(minutes=2)), ("BETA", "sftp", False, None)]
    assert [(p.name, p.state) for p in today] == [("new.PDR", "pulling"), ("bad.PDR", "rejected"), ("ok.PDR", "responded")]
    ok = today[2]
    assert (ok.provider, ok.files, ok.response_kind, ok.airflow_run_id) == ("ALPHA", 3, "PAN", "ingest__1")
    assert ok.dispositions == {"SUCCESSFUL": 2, "CHECKSUM VERIFICATION FAILURE": 1}
    assert today[1].detail == "INVALID FILE COUNT"
    assert [(o.name, o.kind, o.provider) for o in owed] == [
        ("stuck.PDR", "PAN", "ALPHA"), ("bad.PDR", "PDRD", "BETA"), ("new.PDR", "PAN", "BETA")]
