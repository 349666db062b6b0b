"""Data providers: where each one's PDR server is and what its Operations Agreement says.

ICD 4.5.1 leaves to the agreement between archive and provider the polling
interval, where PANs and PDRDs go (back to the PDR server, by e-mail, or both),
the thresholds of Table 4.5-5 and whether checksums are mandatory. Those are the
columns of :class:`~distribution.models.Provider`; the credentials of an FTP or
SFTP server stay in the Airflow Connection the provider names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.orders.delivery import Credentials, endpoint_with
from distribution.errors import NotFound, UserError
from distribution.models import Collection, PdrRecord, PdrState, Provider
from distribution.ingest.pdr import Load, Thresholds, ValidationPolicy
from distribution.ingest.pdrserver import PdrServer, open_pdr_server
from distribution.remote import Endpoint

METHODS = ("local", "ftp", "sftp")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
#: PDRs of these states are "in flight" for the thresholds of Table 4.5-5.
IN_FLIGHT = (PdrState.PULLING, PdrState.ARCHIVING)


@dataclass(frozen=True)
class ProviderSpec:
    """What an operator configures for a provider (``ardis provider add``)."""

    name: str
    polling_directory: str
    method: str = "local"
    root_directory: str = ""
    host: str = ""
    port: int | None = None
    conn_id: str = ""
    polling_interval_seconds: int = 60
    respond_to_server: bool = True
    response_email: str = ""
    request_threshold: int | None = None
    volume_threshold: int | None = None
    checksum_mandatory: bool = False
    verify_percent: int = 100
    compute_cksum: bool = True
    extra_file_types: dict[str, list[str]] = field(default_factory=dict)
    metadata_optional: list[str] = field(default_factory=list)


def _check(spec: ProviderSpec) -> None:
    if not _NAME.fullmatch(spec.name):
        raise UserError(f"provider name must be 1-64 letters, digits, '.', '_' or '-': {spec.name!r}")
    if spec.method not in METHODS:
        raise UserError(f"provider method must be one of {', '.join(METHODS)}, not {spec.method!r}")
    if not spec.polling_directory.strip():
        raise UserError("a provider needs its polling directory")
    if spec.method == "local" and not spec.root_directory.startswith("/"):
        raise UserError("a local provider needs the absolute path of its area (root directory)")
    if spec.method != "local" and not (spec.host or spec.conn_id):
        raise UserError(f"an {spec.method} provider needs a host or a connection id")
    if spec.polling_interval_seconds < 1:
        raise UserError("the polling interval is at least 1 second")
    if not 0 <= spec.verify_percent <= 100:
        raise UserError(f"verify percentage must be 0 to 100, not {spec.verify_percent}")
    if spec.response_email and not _EMAIL.fullmatch(spec.response_email):
        raise UserError(f"not an e-mail address: {spec.response_email!r}")
    if not spec.respond_to_server and not spec.response_email:
        raise UserError("PANs and PDRDs must go somewhere: the PDR server, an e-mail address, or both")
    for limit in (spec.request_threshold, spec.volume_threshold):
        if limit is not None and limit < 1:
            raise UserError("thresholds are positive numbers (leave them out for no limit)")


def add_provider(session: Session, spec: ProviderSpec) -> Provider:
    """Create the provider, or update the one of that name (its history of PDRs stays)."""
    _check(spec)
    provider = session.scalar(select(Provider).where(Provider.name == spec.name)) or Provider(name=spec.name)
    for key, value in vars(spec).items():
        setattr(provider, key, value)
    session.add(provider)
    session.flush()
    return provider


def get_provider(session: Session, name: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.name == name))
    if provider is None:
        raise NotFound(f"no provider {name!r}")
    return provider


def providers_due(session: Session, now: datetime) -> list[Provider]:
    """Enabled providers whose polling interval has passed since their last poll."""
    due = []
    for provider in session.scalars(select(Provider).where(Provider.enabled.is_(True)).order_by(Provider.name)):
        last = provider.last_polled_at
        if last is None or now - last >= timedelta(seconds=provider.polling_interval_seconds):
            due.append(provider)
    return due


def _versions(session: Session) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for short, version in session.execute(select(Collection.short_name, Collection.version_id)):
        found.setdefault(short, []).append(version)
    return found


def collection_lookups(session: Session) -> tuple[Callable[[str], str | None], Callable[[str, str], bool]]:
    """The archive's collections, for DATA_TYPE/DATA_VERSION checks (read once per PDR)."""
    versions = _versions(session)

    def latest(data_type: str) -> str | None:
        known = versions.get(data_type)
        return f"{max(known):03d}" if known else None

    def has(data_type: str, version: str) -> bool:
        return version.isdigit() and int(version) in versions.get(data_type, ())

    return latest, has


def validation_policy(session: Session, provider: Provider, settings: Settings) -> ValidationPolicy:
    """The provider's agreement (and the archive's own limits) as the PDR validator reads it."""
    latest, has = collection_lookups(session)
    return ValidationPolicy(
        known_collections=latest,
        known_versions=has,
        extra_file_types={k: frozenset(t.upper() for t in v) for k, v in (provider.extra_file_types or {}).items()},
        metadata_optional=frozenset(provider.metadata_optional or ()),
        thresholds=Thresholds(provider_requests=provider.request_threshold, provider_volume=provider.volume_threshold,
                              system_requests=settings.system_request_threshold or None,
                              system_volume=settings.system_volume_threshold or None),
        checksum_mandatory=provider.checksum_mandatory,
    )


def current_load(session: Session, provider: Provider) -> Load:
    """PDRs in flight now, for the provider and for the whole archive."""
    def counts(*where: object) -> tuple[int, int]:
        row = session.execute(select(func.count(PdrRecord.id), func.coalesce(func.sum(PdrRecord.total_size), 0))
                              .where(PdrRecord.state.in_(IN_FLIGHT), *where)).one()
        return int(row[0]), int(row[1])

    mine = counts(PdrRecord.provider_id == provider.id)
    everyone = counts()
    return Load(provider_requests=mine[0], provider_volume=mine[1],
                system_requests=everyone[0], system_volume=everyone[1])


def open_server(provider: Provider, credentials: Credentials | None) -> PdrServer:
    """A connection (not yet entered) to the provider's PDR server and its polling directory."""
    return open_pdr_server(provider_endpoint(provider, credentials), provider.polling_directory)


def provider_endpoint(provider: Provider, credentials: Credentials | None) -> Endpoint:
    """Where the provider's PDR server is, with the connection's credentials filled in."""
    return endpoint_with(credentials, provider.method, provider.host, provider.port, provider.root_directory)
