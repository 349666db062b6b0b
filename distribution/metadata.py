"""Reading the few inventory attributes Ardis needs from a granule's metadata file.

ECS metadata comes as ODL (``.met``) or XML (``.xml``) (ICD 4.3.6.2, 5.3). Ardis needs
LocalGranuleID, the temporal range, the bounding box and any product-specific
attributes for qualifiers; the rest of the file travels with the granule untouched.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from distribution.errors import PermanentError

_ODL_OBJECT = re.compile(
    r"OBJECT\s*=\s*\"?(?P<name>[A-Za-z0-9_]+)\"?\s*;?(?P<body>.*?)END_OBJECT\s*=\s*\"?(?P=name)\"?",
    re.S | re.I,
)
_ODL_VALUE = re.compile(r"\bVALUE\s*=\s*(?P<value>\"[^\"]*\"|\([^)]*\)|[^\s;]+)", re.S | re.I)


@dataclass
class GranuleMetadata:
    """What the inventory records about a granule from its metadata file."""

    local_granule_id: str | None = None
    begin_time: datetime | None = None
    end_time: datetime | None = None
    west: float | None = None
    east: float | None = None
    north: float | None = None
    south: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _number(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def _datetime(day: str | None, time: str | None) -> datetime | None:
    if not day:
        return None
    text = f"{day}T{(time or '00:00:00').rstrip('Z')}"
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_odl(text: str) -> GranuleMetadata:
    """Pick the attributes Ardis indexes out of ODL metadata (``.met``)."""
    values: dict[str, str] = {}
    for m in _ODL_OBJECT.finditer(text):
        v = _ODL_VALUE.search(m.group("body"))
        if v:
            values.setdefault(m.group("name").upper(), _unquote(v.group("value")))
    meta = GranuleMetadata(local_granule_id=values.get("LOCALGRANULEID") or None)
    meta.begin_time = _datetime(values.get("RANGEBEGINNINGDATE"), values.get("RANGEBEGINNINGTIME"))
    meta.end_time = _datetime(values.get("RANGEENDINGDATE"), values.get("RANGEENDINGTIME"))
    for attr, key in (("west", "WESTBOUNDINGCOORDINATE"), ("east", "EASTBOUNDINGCOORDINATE"),
                      ("north", "NORTHBOUNDINGCOORDINATE"), ("south", "SOUTHBOUNDINGCOORDINATE")):
        if key in values:
            setattr(meta, attr, float(values[key]))
    # Product-specific and QA attributes, for subscription qualifiers.
    for m in re.finditer(r"ADDITIONALATTRIBUTENAME.*?VALUE\s*=\s*\"([^\"]+)\".*?PARAMETERVALUE.*?VALUE\s*="
                         r"\s*(\"[^\"]*\"|[^\s;]+)", text, re.S):
        meta.attributes[m.group(1)] = _number(_unquote(m.group(2)))
    for key in ("QAPERCENTMISSINGDATA", "QAPERCENTOUTOFBOUNDSDATA", "DAYNIGHTFLAG", "PARAMETERNAME"):
        if key in values:
            meta.attributes[key] = _number(values[key])
    return meta


def parse_xml(text: str) -> GranuleMetadata:
    """The same attributes from ECS XML metadata (``.xml``)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise PermanentError(f"metadata XML is not well formed: {e}") from e

    def find(tag: str) -> str | None:
        node = root.find(f".//{tag}")
        return node.text.strip() if node is not None and node.text else None

    meta = GranuleMetadata(local_granule_id=find("LocalGranuleID"))
    meta.begin_time = _datetime(find("RangeBeginningDate"), find("RangeBeginningTime"))
    meta.end_time = _datetime(find("RangeEndingDate"), find("RangeEndingTime"))
    for attr, tag in (("west", "WestBoundingCoordinate"), ("east", "EastBoundingCoordinate"),
                      ("north", "NorthBoundingCoordinate"), ("south", "SouthBoundingCoordinate")):
        value = find(tag)
        if value is not None:
            setattr(meta, attr, float(value))
    return meta


def read_metadata(path: Path) -> GranuleMetadata:
    """Read a ``.met`` or ``.xml`` file; anything else is a clear permanent error."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as e:
        raise PermanentError(f"metadata file not found: {path}") from e
    if path.suffix.lower() == ".xml":
        return parse_xml(text)
    if path.suffix.lower() == ".met":
        return parse_odl(text)
    raise PermanentError(f"metadata file must end in .met or .xml: {path.name}")


def is_metadata_name(name: str) -> bool:
    return name.lower().endswith((".met", ".xml"))
