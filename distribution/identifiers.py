"""Identifiers the ICD defines: granule URs, OrderID, RequestID, ESDT names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from distribution.errors import UserError

_SHORT_UR = re.compile(r"^SC:(?P<short>[A-Za-z0-9_]+)\.(?P<ver>\d{1,3}):(?P<dbid>\d+)$")
_ESDT = re.compile(r"^(?P<short>[A-Za-z0-9_]{1,32})\.(?P<ver>\d{1,3})$")


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
    return GranuleRef(m.group("short"), int(m.group("ver")), int(m.group("dbid")))


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
