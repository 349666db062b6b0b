"""Subscriptions' tables: standing orders, their history, and the firings that make "exactly once" true.

Imported by models.py, so one ``Base.metadata`` holds every Ardis table.

* ``subscriptions`` keeps the request's fields as the ICD names them (Table
  4.3.1-1) plus an optional Airflow connection id for push credentials (never a
  password); SubscriptionID is the row's integer id.
* ``subscription_history`` is append-only: who did what and when (created,
  updated with its field changes, cancelled, expired, backfilled).
* ``subscription_firings`` holds one row per (subscription, granule), unique: the
  dispatcher inserts it with ON CONFLICT DO NOTHING and only the transaction whose
  insert landed sends the notification and places the order. An order that could
  not be placed (media orders before the media DAG exists) is held on the row with
  why, and placed by a later sweep once it is accepted.
* ``subscription_withheld`` holds one row per (subscription, granule) the
  subscriber may not have yet (data rights: proprietary to a group they are not
  in); the sweep fires it once the granule is theirs (released, or group granted).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from distribution.models import Base, User, _enum
from distribution.time import utcnow


class SubscriptionState(str, enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"  # past its expiration date; an update of that date can make it active again
    CANCELLED = "cancelled"  # final


class DistributionMethod(str, enum.Enum):
    """The request's optional distribution option (Table 4.3.1-1)."""

    FTP_PUSH = "FTP Push"
    FTP_PULL = "FTP Pull"
    SCP = "scp"
    MEDIA = "Media"


class Subscription(Base):
    """A standing order: every new granule of an ESDT that satisfies the qualifier fires it once."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscription_esdt_state", "short_name", "version_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the SubscriptionID
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(8))
    first_name: Mapped[str] = mapped_column(String(20))
    middle_initial: Mapped[str | None] = mapped_column(String(1), nullable=True)
    last_name: Mapped[str] = mapped_column(String(20))
    telephone: Mapped[str] = mapped_column(String(22))
    email: Mapped[str] = mapped_column(String(254))
    notification_text: Mapped[str] = mapped_column(String(255))  # the USERSTRING of every notice
    short_name: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16), default="INSERT")
    start_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    qualifier: Mapped[str | None] = mapped_column(Text, nullable=True)  # the statement as written
    method: Mapped[DistributionMethod | None] = mapped_column(_enum(DistributionMethod), nullable=True)
    host: Mapped[str | None] = mapped_column(String(79), nullable=True)
    destination: Mapped[str | None] = mapped_column(String(1023), nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(8), nullable=True)  # DLT, CD-ROM, DVD
    conn_id: Mapped[str] = mapped_column(String(255), default="")
    #: Linked granules each firing's order asks for (``BROWSE,QA,PH`` or a part, as requests keep it); "" none.
    #: Not a field of the ICD's e-mail (Table 4.3.1-1): the operator sets it (``ardis subscription submit --with``,
    #: ``ardis subscription linked``), as the ICD leaves the distribution's details to the DAAC's agreement.
    linked: Mapped[str] = mapped_column(String(32), default="", server_default="")
    state: Mapped[SubscriptionState] = mapped_column(_enum(SubscriptionState), default=SubscriptionState.ACTIVE)
    source: Mapped[str] = mapped_column(String(32), default="cli")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship()
    history: Mapped[list[SubscriptionHistory]] = relationship(
        back_populates="subscription", order_by="SubscriptionHistory.id")

    @property
    def esdt(self) -> str:
        return f"{self.short_name}.{self.version_id:03d}"


class SubscriptionHistory(Base):
    """One change of a subscription: ``action`` created | updated | cancelled | expired | backfilled."""

    __tablename__ = "subscription_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255))  # an e-mail sender, "cli:<login>", "ardis"
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. the field changes
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    subscription: Mapped[Subscription] = relationship(back_populates="history")


class SubscriptionFiring(Base):
    """A subscription fired for a granule: once, whoever races (the UNIQUE pair is the guarantee)."""

    __tablename__ = "subscription_firings"
    __table_args__ = (UniqueConstraint("subscription_id", "granule_id", name="uq_subscription_firing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("granule_events.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="insert")  # insert | backfill
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), nullable=True)
    order_pk: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # why no order was placed
    # Tries at placing a held order: the fencing token of a retry, so two sweeps never place it twice.
    order_attempts: Mapped[int] = mapped_column(Integer, default=0)
    fired_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SubscriptionWithheld(Base):
    """A firing held back by data rights: fired by a later sweep once the subscriber may have the granule."""

    __tablename__ = "subscription_withheld"
    __table_args__ = (UniqueConstraint("subscription_id", "granule_id", name="uq_subscription_withheld"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("granule_events.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="insert")  # what would have fired: insert | backfill
    withheld_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: When the sweep settled it (fired, or dropped because the subscription was cancelled); None: still waiting.
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class MailMessage(Base):
    """A subscription e-mail taken from the incoming maildir, once (its Message-ID or key is unique)."""

    __tablename__ = "subscription_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(512))
    accepted: Mapped[bool | None] = mapped_column(nullable=True)
    subscription_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
