"""Identifiers the ICD defines: granule URs, OrderID, RequestID, ESDT names."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from distribution.errors import NotFound, UserError

_SHORT_UR = re.compile(r"^SC:(?P<short>[A-Za-z0-9_]+)\.(?P<ver>\d{1,3}):(?P<dbid>\d+)$")
_ESDT = re.compile(r"^(?P<short>[A-Za-z0-9_]{1,32})\.(?P<ver>\d{1,3})$")
# A user id names the user's FTP pull folder (ARDIS_FTP_LOGIN_MODE=user): never ".", ".." or a hidden name.
_USER_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,31}")
# Database keys are 64-bit signed integers (BIGINT on PostgreSQL, INTEGER on SQLite).
MAX_DB_ID = 2**63 - 1


@dataclass(frozen=True)
class GranuleRef:
    """What a UR names: the collection and the granule's database id."""

    short_name: str
    version_id: int
    db_id: int

    @property
    def short_ur(self) -> str:
        return f"SC:{self.short_name}.{self.version_id:03d}:{self.db_id}"


def _segment(text: str) -> str:
    # Each UR component is preceded by its length in characters.
    return f"{len(text)}:{text}"


def long_ur(ref: GranuleRef, site: str) -> str:
    """The full UR, e.g. ``UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[FN3:DSSDSRV]:21:SC:AM1EPHN0.001:25625``."""
    return "UR:" + _segment("DsShESDTUR") + ":UR:" + _segment("DsShSciServerUR") + ":" + _segment(
        f"[{site}:DSSDSRV]"
    ) + ":" + _segment(ref.short_ur)


def parse_ur(text: str) -> GranuleRef:
    """Accept the long UR or the short ``SC:ESDT.VVV:id`` form."""
    text = text.strip()
    short = text
    if text.startswith("UR:"):
        # The last length-prefixed segment is the short UR.
        m = re.search(r":(\d+):(SC:[^:]+:\d+)$", text)
        if not m or int(m.group(1)) != len(m.group(2)):
            raise UserError(f"not a granule UR: {text!r}")
        short = m.group(2)
    m = _SHORT_UR.match(short)
    if not m:
        raise UserError(f"not a granule UR: {text!r}")
    return GranuleRef(m.group("short"), int(m.group("ver")), parse_db_id(m.group("dbid"), "granule"))


def parse_db_id(text: str, what: str) -> int:
    """A database key given by a person: digits; one too large for the database is simply not there."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise UserError(f"not a {what} id: {text!r}")
    if len(value.lstrip("0")) > 19 or int(value) > MAX_DB_ID:
        raise NotFound(f"no {what} {value}")
    return int(value)


def db_id_argument(what: str) -> Callable[[str], int]:
    """An argparse type for a database key: not digits is a usage error (ValueError), too large is NotFound."""

    def convert(text: str) -> int:
        if not (text.isascii() and text.isdigit()):
            raise ValueError(text)
        return parse_db_id(text, what)

    convert.__name__ = f"{what} id"
    return convert


def check_user_id(user_id: str) -> str:
    """The one rule for user ids, wherever they are taken (orders, subscriptions, the CLI)."""
    if not _USER_ID.fullmatch(user_id):
        raise UserError(f"user id must be 1-32 letters, digits, '.', '_' or '-', not starting with '.': "
                        f"{user_id!r}")
    return user_id


def parse_esdt(text: str) -> tuple[str, int]:
    """``MOD09GHK.003`` → (``MOD09GHK``, 3); versions run 1 to 255 (Table 4.3.6-1)."""
    m = _ESDT.match(text.strip())
    if not m or not 1 <= int(m.group("ver")) <= 255:
        raise UserError(f"not an ESDT ShortName.VersionID (version 001-255): {text!r}")
    return m.group("short"), int(m.group("ver"))


def format_id(prefix: str, pk: int) -> str:
    """A 10-digit OrderID or RequestID from a site prefix and a database key."""
    digits = 10 - len(prefix)
    if pk >= 10**digits:
        raise OverflowError(f"identifier space of prefix {prefix} is exhausted")
    return f"{prefix}{pk:0{digits}d}"
