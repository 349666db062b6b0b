"""Ardis's record of ESO Phase 3 (seed 000): programs, their permissions, collections, releases and their history.

Tables of their own (migration 0009); the archived files are ordinary granules
(``granules``/``granule_files``) and ``phase3_release_files`` says which release
brought each one, in which category, and which later release superseded it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from distribution.models import Base, User, _enum
from distribution.time import utcnow


class ReleaseState(str, enum.Enum):
    """The seed's "release states": 1. Open, 2. Closed, 3a. Valid, 3b. Error, 4. ToBeArchived, 5. Archived;
    and Published (issue 17)."""

    OPEN = "Open"
    CLOSED = "Closed"
    VALID = "Valid"
    ERROR = "Error"
    TO_BE_ARCHIVED = "ToBeArchived"
    ARCHIVED = "Archived"
    PUBLISHED = "Published"


class Phase3Program(Base):
    """"1. Create Phase 3 Program" (ESO/EDP): a program and its PI; its group owns unpublished data."""

    __tablename__ = "phase3_programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    pi_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    pi: Mapped[User] = relationship()

    @property
    def group(self) -> str:
        """The data-rights group of the program's unpublished granules (``Granule.owner_group``)."""
        return f"phase3:{self.code}"


class Phase3Grant(Base):
    """"2. Manage Program Permissions": a Co-Investigator's access, granted and perhaps revoked by the PI."""

    __tablename__ = "phase3_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("phase3_programs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    user: Mapped[User] = relationship()


class Phase3Collection(Base):
    """"3. Create Collection": a program's collection, archived as the Ardis collection ``esdt``."""

    __tablename__ = "phase3_collections"
    __table_args__ = (UniqueConstraint("program_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("phase3_programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    esdt: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    program: Mapped[Phase3Program] = relationship()


class Phase3Release(Base):
    """"3. … and Release": one delivery of data into a collection (``create``) or a change to it (``update``)."""

    __tablename__ = "phase3_releases"
    __table_args__ = (UniqueConstraint("collection_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("phase3_collections.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8), default="create")
    state: Mapped[ReleaseState] = mapped_column(_enum(ReleaseState), default=ReleaseState.OPEN, index=True)
    release_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    error_report: Mapped[str | None] = mapped_column(Text, nullable=True)
    airflow_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    collection: Mapped[Phase3Collection] = relationship()
    history: Mapped[list[Phase3ReleaseEvent]] = relationship(order_by="Phase3ReleaseEvent.id")

    @property
    def path(self) -> str:
        """``program/collection/release``, the seed's upload path."""
        return f"{self.collection.program.code}/{self.collection.name}/{self.name}"


class Phase3ReleaseEvent(Base):
    """One transition of a release: who moved it, when, from what to what, and why."""

    __tablename__ = "phase3_release_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("phase3_releases.id"), index=True)
    from_state: Mapped[ReleaseState | None] = mapped_column(_enum(ReleaseState), nullable=True)
    to_state: Mapped[ReleaseState] = mapped_column(_enum(ReleaseState))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Phase3ReleaseFile(Base):
    """A file a release archived (a line of ``CONTENT.ESO``); superseded files stay, flagged."""

    __tablename__ = "phase3_release_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("phase3_releases.id"), index=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("phase3_collections.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
    science_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"))
    granule_file_id: Mapped[int] = mapped_column(ForeignKey("granule_files.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(300))
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("phase3_releases.id"), nullable=True)
    superseded_how: Mapped[str | None] = mapped_column(String(8), nullable=True)
