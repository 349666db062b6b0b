"""Taking PDRs from providers' directories, once each, and validating them.

A PDR is recorded by (provider, name, SHA-256 of its bytes) with INSERT … ON
CONFLICT DO NOTHING, so two overlapping polls, or a PDR left in place and seen at
every tick, give one ingest; a corrected PDR sent again under the same name is new
content and a new ingest. A listing entry whose name, size and time match a
recorded PDR is not read again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from distribution.ingest import pan
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import ArdisError, NotFound, RetryableError
from distribution.models import IngestFile, IngestFileState, PdrRecord, PdrState, Provider
from distribution.ingest.pdr import Pdr, PdrRejected, ValidationPolicy, validate_pdr
from distribution.ingest.pdrserver import PdrServer, PdrServerError, PdrTooLarge, RemoteFile
from distribution.ingest.providers import current_load, providers_due, validation_policy
from distribution.time import utcnow

log = logging.getLogger(__name__)
_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
MAX_PDR_BYTES = ValidationPolicy().max_pdr_bytes  # ICD 4.5.3: "at most 1 megabyte"
#: PDRs taken from one provider in one poll; the rest wait for the next tick.
MAX_PER_POLL = 200

#: Opens the PDR server of a provider (the Airflow side supplies the credentials).
ServerFor = Callable[[Provider], PdrServer]


@dataclass(frozen=True)
class Discovered:
    """A PDR recorded by this poll: the id of its ingest and where it came from."""

    pdr_id: int
    provider: str
    name: str


def _record(session: Session, provider: Provider, entry: RemoteFile, data: bytes | None,
            digest: str) -> int | None:
    """Insert the PDR once; the new row's id, or None when this PDR was recorded before."""
    insert = _INSERTS[session.get_bind().dialect.name]
    values = dict(provider_id=provider.id, name=entry.name, digest=digest, size=entry.size, mtime=entry.mtime,
                  content=data if data is not None else b"", state=PdrState.NEW, discovered_at=utcnow(),
                  originating_system="", total_size=0)
    if data is None:  # over the size limit: answered with a short PDRD, never parsed
        values.update(state=PdrState.REJECTED, response_kind="PDRD",
                      response_text=pan.render_pdrd(pan.ShortPdrd(PdrTooLarge.disposition)),
                      detail=f"the PDR has {entry.size} bytes; at most {MAX_PDR_BYTES}")
    result = session.execute(insert(PdrRecord).values(**values)
                             .on_conflict_do_nothing(index_elements=["provider_id", "name", "digest"]))
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.scalar(select(PdrRecord.id).where(PdrRecord.provider_id == provider.id,
                                                     PdrRecord.name == entry.name, PdrRecord.digest == digest))


def poll_provider(settings: Settings, provider_name: str, server_for: ServerFor) -> list[Discovered]:
    """List one provider's directory and record each new PDR; returns what this poll recorded."""
    url = settings.database_url
    with session_scope(url) as session:
        provider = session.scalar(select(Provider).where(Provider.name == provider_name))
        if provider is None:
            raise NotFound(f"no provider {provider_name!r}")
        found: list[Discovered] = []
        with server_for(provider) as server:
            listing = server.list_pdrs()
            names = [e.name for e in listing]
            seen = {(r.name, r.size, r.mtime) for i in range(0, len(names), 500) for r in session.execute(
                select(PdrRecord.name, PdrRecord.size, PdrRecord.mtime).where(
                    PdrRecord.provider_id == provider.id, PdrRecord.name.in_(names[i:i + 500])))}
            for entry in listing:
                if (entry.name, entry.size, entry.mtime) in seen:
                    continue
                if len(found) >= MAX_PER_POLL:
                    break
                try:
                    data: bytes | None = server.read_pdr(entry.name, MAX_PDR_BYTES)
                    digest = hashlib.sha256(data).hexdigest()
                except PdrTooLarge:
                    data, digest = None, f"over-limit:{entry.size}:{entry.mtime}"
                except PdrServerError as e:
                    if isinstance(e, RetryableError):
                        raise
                    log.warning("provider %s: %s skipped: %s", provider.name, entry.name, e)  # gone, unreadable
                    continue
                pdr_id = _record(session, provider, entry, data, digest)
                session.commit()  # each PDR is taken on its own: a later failure loses none
                if pdr_id is not None:
                    found.append(Discovered(pdr_id, provider.name, entry.name))
                    log.info("provider %s: took %s as ingest %s", provider.name, entry.name, pdr_id)
        provider.last_polled_at = utcnow()
    return found


def discover(settings: Settings, server_for: ServerFor) -> tuple[list[Discovered], list[str]]:
    """Poll every due provider; one that cannot be reached is reported and never stops the others."""
    with session_scope(settings.database_url) as session:
        names = [p.name for p in providers_due(session, utcnow())]
    found: list[Discovered] = []
    problems: list[str] = []
    for name in names:
        try:
            found += poll_provider(settings, name, server_for)
        except ArdisError as e:
            log.warning("provider %s: %s", name, e)
            problems.append(f"{name}: {e}")
        except Exception as e:  # noqa: BLE001 - one provider's fault never stops the others' polls
            log.exception("provider %s: unexpected failure", name)
            problems.append(f"{name}: {type(e).__name__}: {e}")
    return found, problems


def _files(record: PdrRecord, pdr: Pdr) -> list[IngestFile]:
    rows = []
    now = utcnow()
    for g, group in enumerate(pdr.groups, 1):
        for f, spec in enumerate(group.files, 1):
            row = IngestFile(group_index=g, file_index=f, data_type=group.data_type, data_version=group.data_version,
                             group_kind=group.kind.value, directory_id=spec.directory_id, file_id=spec.file_id,
                             file_type=spec.file_type, size=spec.size, checksum_type=spec.checksum_type,
                             checksum_value=spec.checksum_value, state=IngestFileState.PENDING)
            if group.problem:  # Table 4.5-4 make-up: reported in the PAN, nothing is pulled for the group
                row.state = IngestFileState.FAILED
                row.disposition = group.problem
                row.detail = group.problem_detail
                row.time_stamp = pan.stamp_for(group.problem, now)
            rows.append(row)
    return rows


def validate(settings: Settings, pdr_id: int) -> str:
    """Validate a recorded PDR: its files to pull, or the PDRD to send. Idempotent; returns the state."""
    with session_scope(settings.database_url) as session:
        record = session.get(PdrRecord, pdr_id)
        if record is None:
            raise NotFound(f"no ingest {pdr_id}")
        if record.state is not PdrState.NEW:
            return record.state.value
        policy = validation_policy(session, record.provider, settings)
        result = validate_pdr(record.content, policy, current_load(session, record.provider))
        if isinstance(result, Pdr):
            record.originating_system = result.originating_system
            record.total_size = result.total_size
            record.files = _files(record, result)
            record.state = PdrState.PULLING
        else:
            record.state = PdrState.REJECTED
            record.response_kind = "PDRD"
            record.response_text = pan.render_pdrd(result)
            record.detail = str(PdrRejected(result))
        return record.state.value


def pdrs_without_run(settings: Settings) -> list[PdrRecord]:
    """Ingests not yet answered whose run was never started (a lost trigger, a restart)."""
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(PdrRecord).where(
            PdrRecord.state != PdrState.RESPONDED, PdrRecord.airflow_run_id.is_(None)).order_by(PdrRecord.id)))


def begin(settings: Settings, pdr_id: int, run_id: str | None) -> None:
    """Record the Airflow run that carries this ingest (the sweep then leaves it alone)."""
    with session_scope(settings.database_url) as session:
        record = session.get(PdrRecord, pdr_id)
        if record is None:
            raise NotFound(f"no ingest {pdr_id}")
        record.airflow_run_id = run_id
