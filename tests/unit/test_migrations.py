"""Migrations run from empty on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from distribution import db
from distribution.models import Base


def test_migrations_match_models(db_url: str) -> None:
    with db.get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_then_upgrade_from_empty(sqlite_url: str) -> None:
    db.downgrade(sqlite_url, "base")
    db.upgrade(sqlite_url)
    with db.get_engine(sqlite_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
