"""Ardis's record of data product specifications: one row per specification id, so each is merged once."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from distribution.models import Base, _enum
from distribution.time import utcnow


class ProductState(str, enum.Enum):
    """Life of a submitted specification; ``archived`` and ``failed`` are final."""

    SUBMITTED = "submitted"
    FETCHED = "fetched"
    MERGED = "merged"
    ARCHIVED = "archived"
    FAILED = "failed"


class DataProduct(Base):
    """A submitted ``DpSpecification`` (its text as received) and what became of it."""

    __tablename__ = "data_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_id: Mapped[str] = mapped_column(String(200), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    instrument: Mapped[str] = mapped_column(String(64))
    spec_text: Mapped[str] = mapped_column(Text)
    spec_digest: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[ProductState] = mapped_column(
        _enum(ProductState),
        default=ProductState.SUBMITTED)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    header_in_place: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    granule_id: Mapped[int | None] = mapped_column(ForeignKey("granules.id"), nullable=True)
    airflow_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
