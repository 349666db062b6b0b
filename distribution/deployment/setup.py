"""``ardis setup``: make an installation ready to run, idempotently, and say what it did.

What ``airflow-init`` (docker-compose) and an administrator run after an upgrade or
after adding a drive:

1. Ardis's database migrated to head (``ardis db upgrade``) and its folders created;
2. Airflow's pools: one per drive kind with one slot per configured drive
   (``ARDIS_OPTICAL_DRIVES``, ``ARDIS_TAPE_DRIVES``; created, or resized when the
   drives changed), and the pool that bounds electronic deliveries across every DAG
   (``ARDIS_MAX_DELIVERIES``, default 7: ISDC ran up to seven requests at once);
3. every Airflow connection the configuration names — ``ARDIS_SMTP_CONN_ID``, each FTP or
   SFTP provider's, each active push subscription's — checked to exist.

Airflow is whatever implements ``Airflow``: the ``ardis setup`` command passes its REST client
(``distribution.cli.setup.RestAirflow``, through the api-server only): the pool names come
from the Ardis plugin's ``GET /ardis/api/names`` (its names module defines them; nothing here
imports the plugin) and the pools and connections from Airflow's REST API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, text

from distribution import db
from distribution.config import Settings
from distribution.models import Provider
from distribution.shipping.drives import configured_drives
from distribution.subscriptions.models import DistributionMethod, Subscription, SubscriptionState

__all__ = ["DEFAULT_MAX_DELIVERIES", "Airflow", "PoolChange", "PoolWanted", "SetupReport", "max_deliveries",
           "named_connections", "render_report", "run_setup", "wanted_pools"]

DEFAULT_MAX_DELIVERIES = 7
#: Subscription methods that push, and so need a connection with the destination's credentials.
_PUSHES = (DistributionMethod.FTP_PUSH, DistributionMethod.SCP)


def max_deliveries() -> int:
    """``ARDIS_MAX_DELIVERIES``: electronic deliveries running at once across all DAGs (default 7)."""
    raw = os.environ.get("ARDIS_MAX_DELIVERIES", "").strip()
    try:
        value = int(raw) if raw else DEFAULT_MAX_DELIVERIES
    except ValueError as e:
        raise ValueError(f"ARDIS_MAX_DELIVERIES must be a whole number, not {raw!r}") from e
    if value < 1:
        raise ValueError(f"ARDIS_MAX_DELIVERIES must be at least 1, not {raw!r}")
    return value


class Airflow(Protocol):
    """What setup asks of Airflow (the command passes its REST client); each raises when Airflow cannot answer."""

    def names(self) -> dict[str, Any]: ...

    def pool_slots(self, name: str) -> int | None: ...

    def set_pool(self, name: str, slots: int, description: str, exists: bool) -> None: ...

    def missing_connections(self, conn_ids: list[str]) -> list[str]: ...


@dataclass(frozen=True)
class PoolWanted:
    """A pool as the configuration wants it."""

    name: str
    slots: int
    description: str


@dataclass(frozen=True)
class PoolChange:
    """What setup did to one pool."""

    name: str
    before: int | None  # None: there was no such pool
    after: int

    @property
    def verb(self) -> str:
        if self.before is None:
            return "created"
        return "unchanged" if self.before == self.after else "resized"


@dataclass
class SetupReport:
    database: str
    pools: list[PoolChange] = field(default_factory=list)
    #: conn_id -> what names it (a setting, a provider, a subscription)
    connections: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def wanted_pools(settings: Settings, names: dict[str, Any]) -> list[PoolWanted]:
    """The pools Airflow must have: a slot per configured drive of each kind, and the delivery pool."""
    wanted = []
    for kind, pool in sorted(names["pools"].items()):
        drives = configured_drives(settings, kind)
        listed = ", ".join(d.name for d in drives) or "none"
        wanted.append(PoolWanted(pool, len(drives), f"Ardis: {kind} drives, one slot each ({listed})"))
    limit = max_deliveries()
    wanted.append(PoolWanted(names["delivery_pool"], limit,
                             f"Ardis: electronic deliveries at once across all DAGs (ARDIS_MAX_DELIVERIES={limit})"))
    return wanted


def named_connections(settings: Settings) -> dict[str, list[str]]:
    """Every Airflow connection the configuration names, and what names it."""
    named: dict[str, list[str]] = {}

    def add(conn_id: str, who: str) -> None:
        if conn_id:
            named.setdefault(conn_id, []).append(who)

    add(settings.smtp_conn_id, "ARDIS_SMTP_CONN_ID")
    with db.session_scope(settings.database_url) as session:
        for provider in session.scalars(select(Provider).order_by(Provider.name)):
            if provider.method != "local":
                add(provider.conn_id, f"provider {provider.name}")
        subscriptions = select(Subscription).where(Subscription.state == SubscriptionState.ACTIVE,
                                                   Subscription.method.in_(_PUSHES)).order_by(Subscription.id)
        for sub in session.scalars(subscriptions):
            add(sub.conn_id, f"subscription {sub.id}")
    return named


def run_setup(settings: Settings, airflow: Airflow) -> SetupReport:
    """Migrate, create or resize the pools, check the connections; what was done (idempotent)."""
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    with db.get_engine(settings.database_url).connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    report = SetupReport(database=str(revision))
    names = airflow.names()
    for pool in wanted_pools(settings, names):
        before = airflow.pool_slots(pool.name)
        if before != pool.slots:
            airflow.set_pool(pool.name, pool.slots, pool.description, exists=before is not None)
        report.pools.append(PoolChange(pool.name, before, pool.slots))
    report.connections = named_connections(settings)
    report.missing = airflow.missing_connections(sorted(report.connections))
    return report


def render_report(report: SetupReport) -> str:
    """What setup did, one line each."""
    lines = [f"database: at revision {report.database}"]
    for p in report.pools:
        change = f"{p.before} -> {p.after} slots" if p.verb == "resized" else f"{p.after} slots"
        lines.append(f"pool {p.name}: {p.verb} ({change})")
    if not report.connections:
        lines.append("connections: the configuration names none")
    for conn_id, who in sorted(report.connections.items()):
        state = "MISSING" if conn_id in report.missing else "defined"
        lines.append(f"connection {conn_id}: {state} (named by {', '.join(who)})")
    return "\n".join(lines)
