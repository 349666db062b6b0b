"""Ingest at a glance for the operator: providers and their last poll, today's PDRs, the answers owed.

Read-only (no Airflow). "Today" is the UTC day of ``now``. A PDR owes its
provider an answer until it is ``responded``: a PDRD when it was rejected, a PAN
otherwise (still being pulled or archived, or built and not delivered yet).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from distribution.models import PdrRecord, PdrState, Provider
from distribution.time import utcnow


@dataclass(frozen=True)
class ProviderLine:
    name: str
    method: str
    enabled: bool
    polling_interval_seconds: int
    last_polled_at: datetime | None


@dataclass(frozen=True)
class PdrLine:
    """A PDR and what became of it: its state, the answer's kind, each file disposition counted."""

    pdr_id: int
    provider: str
    name: str
    state: str
    discovered_at: datetime
    files: int
    response_kind: str
    detail: str
    airflow_run_id: str
    dispositions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Owed:
    pdr_id: int
    provider: str
    name: str
    kind: str  # PAN | PDRD
    state: str
    discovered_at: datetime


def providers(session: Session) -> list[ProviderLine]:
    return [ProviderLine(p.name, p.method, p.enabled, p.polling_interval_seconds, p.last_polled_at)
            for p in session.scalars(select(Provider).order_by(Provider.name))]


def pdrs_today(session: Session, now: datetime | None = None) -> list[PdrLine]:
    """The PDRs taken today, newest first."""
    today = datetime.combine((now or utcnow()).date(), time.min)
    rows = session.scalars(
        select(PdrRecord).options(joinedload(PdrRecord.provider), selectinload(PdrRecord.files))
        .where(PdrRecord.discovered_at >= today).order_by(PdrRecord.discovered_at.desc(), PdrRecord.id.desc())
    )
    return [PdrLine(
        pdr_id=r.id, provider=r.provider.name, name=r.name, state=r.state.value, discovered_at=r.discovered_at,
        files=len(r.files), response_kind=r.response_kind or "", detail=r.detail or "",
        airflow_run_id=r.airflow_run_id or "",
        dispositions=dict(Counter(f.disposition for f in r.files if f.disposition)),
    ) for r in rows]


def answers_owed(session: Session) -> list[Owed]:
    """Every PDR not answered yet, oldest first."""
    rows = session.scalars(
        select(PdrRecord).options(joinedload(PdrRecord.provider))
        .where(PdrRecord.state != PdrState.RESPONDED).order_by(PdrRecord.discovered_at, PdrRecord.id)
    )
    return [Owed(r.id, r.provider.name, r.name, "PDRD" if r.state is PdrState.REJECTED else "PAN", r.state.value,
                 r.discovered_at) for r in rows]
