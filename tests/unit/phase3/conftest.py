"""A Phase 3 program with its PI, one CoI and a stranger, on a fresh Ardis database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import User
from distribution.phase3.programs import Actor, create_program, grant_coi
from distribution.phase3.releases import create_collection, create_release

OPERATOR = Actor.archive_operator()
SYSTEM = Actor.archive_system()
PI, COI, STRANGER = Actor("pi1"), Actor("coi1"), Actor("stranger1")


@dataclass(frozen=True)
class World:
    settings: Settings
    release_id: int


def add_users(session: Session) -> None:
    for name in ("pi1", "coi1", "stranger1"):
        session.add(User(user_id=name, email=f"{name}@example.org"))
    session.flush()


def make_world(settings: Settings, release_date: str | None = None) -> World:
    with session_scope(settings.database_url) as session:
        add_users(session)
        create_program(session, OPERATOR, "196.B-0001", "pi1", "A survey")
        grant_coi(session, PI, "196.B-0001", "coi1")
        create_collection(session, COI, "196.B-0001", "SURVEY1")
        release = create_release(session, PI, "196.B-0001", "SURVEY1", "DR1")
        return World(settings, release.id)


@pytest.fixture
def world(sqlite_settings: Settings) -> Iterator[World]:
    yield make_world(sqlite_settings)
