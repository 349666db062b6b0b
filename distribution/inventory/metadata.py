"""Reading the few inventory attributes Ardis needs from a granule's metadata file.

ECS metadata comes as ODL (``.met``) or XML (``.xml``) (ICD 4.3.6.2, 5.3). Ardis needs
LocalGranuleID, the temporal range, the bounding box and any product-specific
attributes for qualifiers; the rest of the file travels with the granule untouched.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from distribution.errors import PermanentError

# ODL tokens, each matched without backtracking (disjoint first characters, no nested
# quantifiers), so that reading a file is linear in its size whatever it holds.
_TOKEN = re.compile(
    r"(?P<space>[\s;,]+)"
    r"|(?P<comment>/\*(?:[^*\n]|\*(?!/))*(?:\*/)?)"
    r"|(?P<string>\"[^\"]*\"?)"
    r"|(?P<equals>=)"
    r"|(?P<word>(?:[^\s=;,\"()/]|/(?!\*))+)"
    r"|(?P<other>.)",
    re.S,
)
MAX_DEPTH = 256  # deeper OBJECT nesting than any ECS file has: further OBJECTs are ignored

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


def _coordinate(key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError as e:
        raise PermanentError(f"metadata {key} is not a number: {value[:40]!r}") from e


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


def _list_end(text: str, start: int) -> int:
    """The end of the parenthesised list (ODL set/sequence, maybe nested) opened at ``start``."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            close = text.find('"', i + 1)
            i = n if close < 0 else close + 1
            continue
        depth += (c == "(") - (c == ")")
        i += 1
        if depth == 0:
            break
    return i


def _statements(text: str) -> Iterator[tuple[str, str | None]]:
    """``(KEYWORD, raw value)`` for each ``KEYWORD = value`` and ``(KEYWORD, None)`` for a bare keyword."""
    pos, n = 0, len(text)
    key: str | None = None
    expect_value = False
    while pos < n:
        if text[pos] == "(":
            end = _list_end(text, pos)
            if expect_value and key is not None:
                yield key, text[pos:end]
            key, expect_value, pos = None, False, end
            continue
        m = _TOKEN.match(text, pos)
        assert m is not None  # the last alternative matches any character
        pos, kind = m.end(), m.lastgroup
        if kind in ("space", "comment"):
            continue
        if kind == "equals":
            expect_value = key is not None
            continue
        if expect_value and key is not None and kind in ("string", "word"):
            yield key, m.group()
            key, expect_value = None, False
            continue
        if key is not None:
            yield key, None
        key, expect_value = (m.group(), False) if kind == "word" else (None, False)
    if key is not None:
        yield key, None


def _odl_values(text: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The VALUE of every closed OBJECT (first of each name) and the ADDITIONALATTRIBUTES pairs."""
    values: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    stack: list[list[Any]] = []  # [NAME, raw VALUE or None], innermost last
    open_count: dict[str, int] = {}
    attribute_name: str | None = None
    for key, raw in _statements(text):
        keyword = key.upper()
        if keyword == "END" and raw is None:
            break
        if keyword == "OBJECT" and raw is not None:
            if len(stack) < MAX_DEPTH:
                name = _unquote(raw).upper()
                stack.append([name, None])
                open_count[name] = open_count.get(name, 0) + 1
        elif keyword == "VALUE" and raw is not None and stack and stack[-1][1] is None:
            stack[-1][1] = raw
        elif keyword == "END_OBJECT" and stack:
            name = _unquote(raw).upper() if raw is not None else stack[-1][0]
            if not open_count.get(name):
                continue
            index = len(stack) - 1
            while stack[index][0] != name:
                index -= 1
            frame = stack[index]
            for dropped in stack[index:]:
                open_count[dropped[0]] -= 1
            del stack[index:]
            if frame[1] is None:
                continue
            values.setdefault(name, _unquote(frame[1]))
            if name == "ADDITIONALATTRIBUTENAME":
                quoted = frame[1].startswith('"') and frame[1].endswith('"') and len(frame[1]) > 2
                attribute_name = frame[1][1:-1] if quoted else None
            elif name == "PARAMETERVALUE" and attribute_name is not None:
                attributes[attribute_name] = _number(_unquote(frame[1]))
                attribute_name = None
    return values, attributes


def parse_odl(text: str) -> GranuleMetadata:
    """Pick the attributes Ardis indexes out of ODL metadata (``.met``); linear in the size of ``text``."""
    values, attributes = _odl_values(text)
    meta = GranuleMetadata(local_granule_id=values.get("LOCALGRANULEID") or None)
    meta.begin_time = _datetime(values.get("RANGEBEGINNINGDATE"), values.get("RANGEBEGINNINGTIME"))
    meta.end_time = _datetime(values.get("RANGEENDINGDATE"), values.get("RANGEENDINGTIME"))
    for attr, key in (("west", "WESTBOUNDINGCOORDINATE"), ("east", "EASTBOUNDINGCOORDINATE"),
                      ("north", "NORTHBOUNDINGCOORDINATE"), ("south", "SOUTHBOUNDINGCOORDINATE")):
        if key in values:
            setattr(meta, attr, _coordinate(key, values[key]))
    # Product-specific and QA attributes, for subscription qualifiers.
    meta.attributes.update(attributes)
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
