"""Time in Ardis: naive UTC datetimes in the database, ICD formats on the wire."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (portable across SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def naive_utc(value: datetime | None) -> datetime | None:
    """``value`` as the database keeps it: naive UTC (an aware time is converted first)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def dn_time(value: datetime) -> str:
    """``MM/DD/YYYY HH:MM:SS`` as FINISHED and FTPEXPR write it (Table 4.3.6-1)."""
    return value.strftime("%m/%d/%Y %H:%M:%S")


def parse_dn_time(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%m/%d/%Y %H:%M:%S")
