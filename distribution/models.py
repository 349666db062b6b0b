"""Ardis's own database: the state of record for the inventory, orders and notices.

Airflow only runs and shows the steps; everything a retried step needs to find
its half-done work is here. Identifiers follow the ICD: OrderID and RequestID are
10 characters, a granule's UR is built from its database id.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from distribution.time import utcnow


class Base(DeclarativeBase):
    """Declarative base of every Ardis table."""


class MediaType(str, enum.Enum):
    """Delivery methods, spelled as the DN's MEDIATYPE (Table 4.3.6-1)."""

    FTP_PULL = "FtpPull"
    FTP_PUSH = "FtpPush"
    SCP = "scp"
    SMB_PUSH = "SmbPush"
    CDROM = "CDROM"
    DVD = "DVD"
    DLT = "DLT"

    @property
    def is_electronic(self) -> bool:
        return self in (MediaType.FTP_PULL, MediaType.FTP_PUSH, MediaType.SCP, MediaType.SMB_PUSH)

    @property
    def drive_kind(self) -> str | None:
        """The drive a physical medium needs, ``optical`` or ``tape`` (its DAG is ``ardis_media_<kind>``)."""
        return None if self.is_electronic else "tape" if self is MediaType.DLT else "optical"


class RequestState(str, enum.Enum):
    """Life of a distribution request; terminal states are final."""

    NEW = "new"
    STAGING = "staging"
    VERIFYING = "verifying"
    DELIVERING = "delivering"
    NOTIFYING = "notifying"
    COMPLETE = "complete"  # every granule delivered
    PARTIAL = "partial"  # some granules failed, some delivered
    FAILED = "failed"  # every granule failed
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (RequestState.COMPLETE, RequestState.PARTIAL, RequestState.FAILED, RequestState.CANCELLED)


class GranuleStatus(str, enum.Enum):
    """Per-granule progress inside a request."""

    PENDING = "pending"
    STAGED = "staged"
    VERIFIED = "verified"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NoticeState(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the value (e.g. "FtpPull"), portable across SQLite and PostgreSQL.
    return Enum(cls, native_enum=False, length=16, values_callable=lambda c: [m.value for m in c])


class Collection(Base):
    """An ESDT: short name + version (e.g. MOD09GHK.003)."""

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("short_name", "version_id", name="uq_collection_esdt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_name: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    mcf: Mapped[str | None] = mapped_column(Text, nullable=True)  # its Metadata Configuration File (ICD 5.2.1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    granules: Mapped[list[Granule]] = relationship(back_populates="collection")

    @property
    def esdt(self) -> str:
        """``ShortName.VVV`` as the DN's ESDT field writes it."""
        return f"{self.short_name}.{self.version_id:03d}"


#: A granule's box as a PostgreSQL ``box`` (x = longitude), east unrolled by 360° when it crosses the antimeridian
#: (catalog.box_overlaps_plane); as PostgreSQL prints it back, so alembic's comparison finds it unchanged.
GRANULE_BOX_SQL = ("box(point(west, south), point(\nCASE\n    WHEN west > east THEN east + 360::double precision\n"
                   "    ELSE east\nEND, north))")


class Granule(Base):
    """One granule of a collection, as archived."""

    __tablename__ = "granules"
    __table_args__ = (
        UniqueConstraint("collection_id", "local_granule_id", "granule_version", name="uq_granule_lgid"),
        # The portal's search orders and filters by these (benchmarks/bench_search.py, migration 0012).
        Index("ix_granules_inserted", "inserted_at", "id"),
        Index("ix_granules_begin", "begin_time", "id"),
        Index("ix_granules_end", "end_time"),
        Index("ix_granules_latitude", "south", "north"),
        # The longest granule bounds a time search from below (catalog._time_overlap): max() reads this index.
        Index("ix_granules_span", text("(coalesce(end_time, begin_time) - begin_time)")).ddl_if(dialect="postgresql"),
        # A box search (GiST answers `&&`); largest (or smallest) first, overall or in a collection (0018).
        Index("ix_granules_box", text(GRANULE_BOX_SQL), postgresql_using="gist").ddl_if(dialect="postgresql"),
        Index("ix_granules_size", "total_size", "id"),
        Index("ix_granules_collection_size", "collection_id", "total_size", "id"),
        # A part of a LocalGranuleID (ILIKE '%…%'): trigrams on PostgreSQL (pg_trgm); a plain index on SQLite.
        Index("ix_granules_lgid_trgm", "local_granule_id", postgresql_using="gin",
              postgresql_ops={"local_granule_id": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    local_granule_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    granule_version: Mapped[int] = mapped_column(Integer, default=1)
    inserted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    begin_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    west: Mapped[float | None] = mapped_column(Float, nullable=True)
    east: Mapped[float | None] = mapped_column(Float, nullable=True)
    north: Mapped[float | None] = mapped_column(Float, nullable=True)
    south: Mapped[float | None] = mapped_column(Float, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public_release_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    owner_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The sum of its files' sizes, set when it is archived (a granule's files never change): the portal sorts by it.
    total_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The PDR it came in with (None: added by hand); the ISDC rule keeps every version.
    source_pdr_id: Mapped[int | None] = mapped_column(ForeignKey("pdrs.id"), nullable=True, index=True)

    collection: Mapped[Collection] = relationship(back_populates="granules")
    files: Mapped[list[GranuleFile]] = relationship(
        back_populates="granule", order_by="GranuleFile.seq", cascade="all, delete-orphan"
    )


class GranuleFile(Base):
    """One file of a granule in the archive, with its stored checksum."""

    __tablename__ = "granule_files"
    __table_args__ = (UniqueConstraint("granule_id", "seq", name="uq_granule_file_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[str] = mapped_column(String(16), default="SCIENCE")
    size: Mapped[int] = mapped_column(BigInteger)
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum_value: Mapped[str | None] = mapped_column(String(255), nullable=True)
    checksum_origin: Mapped[str | None] = mapped_column(String(64), nullable=True)
    archive_path: Mapped[str] = mapped_column(String(1024))
    # Computed by Ardis from the archived bytes (whatever the provider sent), verified before every
    # delivery, never shown in a DN. Origin "archive" (at ingest or archive add) or "first verification"
    # (rows archived before it existed). None: not known yet.
    internal_checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    internal_checksum_value: Mapped[str | None] = mapped_column(String(255), nullable=True)
    internal_checksum_origin: Mapped[str | None] = mapped_column(String(32), nullable=True)

    granule: Mapped[Granule] = relationship(back_populates="files")


class User(Base):
    """A person or system that orders data."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), unique=True)
    first_name: Mapped[str] = mapped_column(String(64), default="")
    last_name: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(32), default="")
    organization: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(32), default="")
    fax: Mapped[str] = mapped_column(String(32), default="")
    shipping_address: Mapped[str] = mapped_column(Text, default="")
    checksum_list: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_format: Mapped[str | None] = mapped_column(String(8), nullable=True)  # xml | met; None: the default
    groups: Mapped[str] = mapped_column(String(255), default="")


class CartItem(Base):
    """A granule in a portal user's cart (by Ardis user id, lower case: the record may not exist yet)."""

    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("user_id", "granule_id", name="uq_cart_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    granule: Mapped[Granule] = relationship()


class Order(Base):
    """An order: one or more requests placed together by one user."""

    __tablename__ = "orders"
    #: A form's one-time token (``source`` = ``portal:<token>``) makes one order per user, whoever races.
    __table_args__ = (Index("uq_order_portal_token", "user_id", "source", unique=True,
                            sqlite_where=text("source LIKE 'portal:%'"),
                            postgresql_where=text("source LIKE 'portal:%'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(10), unique=True, nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(32), default="cli")
    #: An operator's own order: data rights do not apply to it (checked again when each request is staged).
    rights_waived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship()
    requests: Mapped[list[Request]] = relationship(back_populates="order", order_by="Request.id")


class Request(Base):
    """A distribution request: one delivery method and destination inside an order."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str | None] = mapped_column(String(10), unique=True, nullable=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    media_type: Mapped[MediaType] = mapped_column(_enum(MediaType))
    state: Mapped[RequestState] = mapped_column(_enum(RequestState), default=RequestState.NEW, index=True)
    # Destination of a push: host[:port], directory (or share/path for SMB), and the
    # Airflow Connection that holds the credentials (never the credentials themselves).
    host: Mapped[str] = mapped_column(String(255), default="")
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    directory: Mapped[str] = mapped_column(String(1024), default="")
    conn_id: Mapped[str] = mapped_column(String(255), default="")
    notify_email: Mapped[str] = mapped_column(String(255), default="")
    #: Linked granules that go with each science granule: ``BROWSE,QA,PH`` or a part of it; "" for none.
    linked: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: ``tar.gz`` or ``tar.zst``: the data goes as compressed tar bundles (every method); "" for plain files.
    bundle: Mapped[str] = mapped_column(String(8), default="", server_default="")
    #: ``granule``: one bundle per granule; ``request``: the whole request in one bundle (a directory per granule).
    bundle_per: Mapped[str] = mapped_column(String(8), default="granule", server_default="granule")
    userstring: Mapped[str] = mapped_column(String(255), default="")
    ftp_dir: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ftp_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    airflow_run_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    pull_purged_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Physical media: the shipment the operator confirmed.
    carrier: Mapped[str] = mapped_column(String(64), default="", server_default="")
    tracking_number: Mapped[str] = mapped_column(String(64), default="", server_default="")
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The media DN's Completion Date: fixed once (the first volume's text), the same on every copy.
    media_dn_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: 1, then one more each time an operator retries the failed request: each attempt has its own DN.
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    order: Mapped[Order] = relationship(back_populates="requests")
    granules: Mapped[list[RequestGranule]] = relationship(
        back_populates="request", order_by="RequestGranule.directory_number", cascade="all, delete-orphan"
    )


class RequestGranule(Base):
    """A granule inside a request, with its own status and failure explanation."""

    __tablename__ = "request_granules"
    __table_args__ = (
        UniqueConstraint("request_pk", "granule_id", name="uq_request_granule"),
        UniqueConstraint("request_pk", "directory_number", name="uq_request_granule_dir"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"))
    directory_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[GranuleStatus] = mapped_column(_enum(GranuleStatus), default=GranuleStatus.PENDING)
    failure_explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    volume_number: Mapped[int | None] = mapped_column(Integer, nullable=True)  # physical media: which volume
    #: The bundle parts that carry this granule (name, size, checksum_type, checksum), for the DN.
    bundle: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)

    request: Mapped[Request] = relationship(back_populates="granules")
    granule: Mapped[Granule] = relationship()
    files: Mapped[list[RequestFile]] = relationship(
        back_populates="request_granule", order_by="RequestFile.id", cascade="all, delete-orphan"
    )


class RequestFile(Base):
    """A staged copy of one granule file: its distribution name and delivery progress."""

    __tablename__ = "request_files"
    __table_args__ = (UniqueConstraint("request_granule_id", "granule_file_id", name="uq_request_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_granule_id: Mapped[int] = mapped_column(ForeignKey("request_granules.id"), index=True)
    granule_file_id: Mapped[int] = mapped_column(ForeignKey("granule_files.id"))
    dist_name: Mapped[str] = mapped_column(String(255))
    #: Size of a file Ardis wrote for this request (the metadata in the user's format); None: the archive file's.
    dist_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    staged_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The deliverer sending this file now and the end of its lease (see distribution/orders/claims.py).
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    request_granule: Mapped[RequestGranule] = relationship(back_populates="files")
    granule_file: Mapped[GranuleFile] = relationship()

    @property
    def written(self) -> bool:
        """Whether Ardis wrote this file for the request (so the archive's size and checksum are not its own)."""
        return self.dist_size is not None

    @property
    def size(self) -> int:
        return self.dist_size if self.dist_size is not None else self.granule_file.size


class Notice(Base):
    """An outgoing message (DN, PAN, notification): the outbox row.

    ``dedupe_key`` makes each notice exist once; ``state`` moves pending → sending
    → sent under an atomic claim, so a retried or concurrent sender never sends twice.
    """

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    request_pk: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True, index=True)
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(512))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[NoticeState] = mapped_column(_enum(NoticeState), default=NoticeState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_via: Mapped[str | None] = mapped_column(String(255), nullable=True)


class PdrState(str, enum.Enum):
    """Life of one PDR taken from a provider; ``responded`` is final."""

    NEW = "new"  # seen and recorded, not validated yet
    REJECTED = "rejected"  # a PDRD is owed
    PULLING = "pulling"
    ARCHIVING = "archiving"
    ANSWERING = "answering"  # the PAN is built, not yet delivered everywhere
    RESPONDED = "responded"


class IngestFileState(str, enum.Enum):
    PENDING = "pending"
    RETRYING = "retrying"  # the last try failed in a way that may pass (network, connection)
    PULLED = "pulled"
    FAILED = "failed"
    ARCHIVED = "archived"


class Provider(Base):
    """A data provider and its PDR server (ICD 4.5.1: what the Operations Agreement sets).

    Credentials for an FTP or SFTP server live in the Airflow Connection ``conn_id``.
    """

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(16), default="local")  # local | ftp | sftp
    host: Mapped[str] = mapped_column(String(255), default="")
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    conn_id: Mapped[str] = mapped_column(String(255), default="")
    # local: the provider's area, where absolute DIRECTORY_IDs start (as a chrooted FTP server shows it);
    # ftp/sftp: the directory relative DIRECTORY_IDs start from ('' = where the login lands).
    root_directory: Mapped[str] = mapped_column(String(1024), default="")
    polling_directory: Mapped[str] = mapped_column(String(1024))
    polling_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    respond_to_server: Mapped[bool] = mapped_column(Boolean, default=True)
    response_email: Mapped[str] = mapped_column(String(255), default="")
    request_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    volume_threshold: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum_mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    verify_percent: Mapped[int] = mapped_column(Integer, default=100)
    compute_cksum: Mapped[bool] = mapped_column(Boolean, default=True)
    compute_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    extra_file_types: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metadata_optional: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PdrRecord(Base):
    """One PDR as taken from a provider's directory, once: the ingest request of record.

    (provider, name, digest) is unique: a PDR seen again, or by two overlapping polls,
    is taken once; the same name with new content (a corrected PDR) is a new ingest.
    """

    __tablename__ = "pdrs"
    __table_args__ = (UniqueConstraint("provider_id", "name", "digest", name="uq_pdr_seen"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the PDR as received (bytes: it may hold NULs)
    state: Mapped[PdrState] = mapped_column(_enum(PdrState), default=PdrState.NEW, index=True)
    originating_system: Mapped[str] = mapped_column(String(255), default="")
    total_size: Mapped[int] = mapped_column(BigInteger, default=0)
    response_kind: Mapped[str | None] = mapped_column(String(8), nullable=True)  # PDRD | PAN
    response_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_written_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    response_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    airflow_run_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    discovered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    provider: Mapped[Provider] = relationship()
    files: Mapped[list[IngestFile]] = relationship(
        back_populates="pdr", order_by="(IngestFile.group_index, IngestFile.file_index)",
        cascade="all, delete-orphan")


class IngestFile(Base):
    """One FILE_SPEC of a valid PDR: where it is, what it became, and its PAN disposition."""

    __tablename__ = "ingest_files"
    __table_args__ = (UniqueConstraint("pdr_id", "group_index", "file_index", name="uq_ingest_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pdr_id: Mapped[int] = mapped_column(ForeignKey("pdrs.id"), index=True)
    group_index: Mapped[int] = mapped_column(Integer)
    file_index: Mapped[int] = mapped_column(Integer)
    data_type: Mapped[str] = mapped_column(String(64))
    data_version: Mapped[str] = mapped_column(String(16))
    group_kind: Mapped[str] = mapped_column(String(16))
    directory_id: Mapped[str] = mapped_column(String(1024))
    file_id: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum_value: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[IngestFileState] = mapped_column(_enum(IngestFileState), default=IngestFileState.PENDING)
    staged_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    computed_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    computed_value: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    time_stamp: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    granule_id: Mapped[int | None] = mapped_column(ForeignKey("granules.id"), nullable=True)

    pdr: Mapped[PdrRecord] = relationship(back_populates="files")


class GranuleEvent(Base):
    """An INSERT of a granule, for subscriptions to consume (swept, never trusted to one asset event)."""

    __tablename__ = "granule_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), unique=True)
    event: Mapped[str] = mapped_column(String(16), default="INSERT")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)

    granule: Mapped[Granule] = relationship()


class GranuleLink(Base):
    """A browse, QA or production-history granule linked to a science granule (Table 4.5-3 pointers)."""

    __tablename__ = "granule_links"
    __table_args__ = (UniqueConstraint("granule_id", "linked_granule_id", name="uq_granule_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), index=True)
    linked_granule_id: Mapped[int] = mapped_column(ForeignKey("granules.id"), index=True)
    link_type: Mapped[str] = mapped_column(String(16))  # Browse | QA | PH


class VolumeState(str, enum.Enum):
    """One physical volume: planned → built (image ready) → loaded → written → verified; bad means rewrite."""

    PLANNED = "planned"
    BUILT = "built"
    LOADED = "loaded"
    WRITTEN = "written"
    VERIFIED = "verified"
    BAD = "bad"


class Volume(Base):
    """A disc or tape of a media request: ``Media k of n``, its Media_ID and what happened to it."""

    __tablename__ = "volumes"
    __table_args__ = (UniqueConstraint("request_pk", "number", name="uq_volume_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    media_id: Mapped[str] = mapped_column(String(32), unique=True)
    medium: Mapped[str] = mapped_column(String(16))
    state: Mapped[VolumeState] = mapped_column(_enum(VolumeState), default=VolumeState.PLANNED)
    planned_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    image_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    drive: Mapped[str] = mapped_column(String(64), default="")
    media_serial: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str | None] = mapped_column(Text, nullable=True)  # the DN text put on the volume, fixed at build
    # Where the bytes went: {"disc": path or device}, or one {"tape", "drive", "granules", "complete"} a cartridge.
    written_to: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    files_checked: Mapped[int] = mapped_column(Integer, default=0)
    rewrites: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    written_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: When its image was (last) built: since then it waits for a blank medium (operations are told if too long).
    built_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: The Airflow run and map index of the step that asks for its blank medium (the console's load form).
    load_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True, index=True)
    load_map_index: Mapped[int | None] = mapped_column(Integer, nullable=True)

    request: Mapped[Request] = relationship()


class RequestRetry(Base):
    """An operator's retry of a failed request, recorded before Airflow is asked to run its steps again: the
    attempt it starts (2, 3, …); ``sent_at`` empty until Airflow took it (a retry asked again resends it)."""

    __tablename__ = "request_retries"
    __table_args__ = (UniqueConstraint("request_pk", "attempt", name="uq_request_retry_attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    previous_state: Mapped[str] = mapped_column(String(16))
    previous_failure: Mapped[str] = mapped_column(Text, default="")  # what the attempt before ended with
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    request: Mapped[Request] = relationship()


class OperatorAnswer(Base):
    """A person's answer to a step that waited for one, recorded before anything acts on it.

    One row per step of a run (``run_id``, ``step``, ``map_index``): the first answer
    recorded is the one that counts, so a retried step takes it instead of asking again.
    """

    __tablename__ = "operator_answers"
    __table_args__ = (UniqueConstraint("run_id", "step", "map_index", name="uq_operator_answer_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(250))
    step: Mapped[str] = mapped_column(String(250))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    request_id: Mapped[str] = mapped_column(String(10), default="", index=True)
    chosen_options: Mapped[list[str]] = mapped_column(JSON, default=list)
    params_input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    responded_by: Mapped[str] = mapped_column(String(256), default="")
    responded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    try_number: Mapped[int] = mapped_column(Integer, default=1)  # the try of the step that took the answer
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

