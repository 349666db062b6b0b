"""Subscription qualifiers: which inserted granules a subscription wants (ICD 4.3.1, Table 4.3.1-1).

The ICD's Qualifier Statement is "a freeform text string containing a set of one
or more logical comparison statements ANDed together. Qualifiers may be spatial,
temporal, integer, string or floating point". It gives no grammar; Ardis reads::

    statement  := term ( AND term )*
    term       := attribute op value
                | BoundingRectangle OVERLAPS ( WEST = n , SOUTH = n , EAST = n , NORTH = n )
    attribute  := Name | Name(Parameter)        e.g. QAPercentMissingData(Ephemeris)
    op         := =  !=  <  <=  >  >=
    value      := number | "string" | ISO date/time (unquoted, e.g. 2002-03-19T14:28:32Z)

for example ``QAPercentMissingData < 10 AND DayNightFlag = "Day"``. The rules:

* Keywords (AND, OVERLAPS, WEST…) and attribute names are case-insensitive (the
  ODL reader upper-cases some names). OR, NOT and parentheses are not part of the
  ICD's "ANDed together" and are refused with a clear message.
* Strings are in double quotes (``\\"`` and ``\\\\`` escape); they compare only
  with ``=`` and ``!=``, and *case-insensitively*: enumerated ECS values such as
  DayNightFlag are written ``Day``, ``DAY`` or ``day`` by different producers.
* Numbers compare numerically with int or float attributes (or text that reads as
  a number); date/times with datetime attributes (or ISO text). Times without a
  zone are UTC, as the inventory's are; a zone offset is converted to UTC.
* Temporal: ``RangeBeginningDateTime`` and ``RangeEndingDateTime`` are the
  granule's begin and end times; "overlaps [a, b]" is
  ``RangeEndingDateTime >= a AND RangeBeginningDateTime <= b``.
* Spatial: ``BoundingRectangle OVERLAPS (...)`` (the ECS metadata group of that
  name) holds when the granule's bounding box and the given one share at least a
  point (edges count). A box whose WEST is greater than its EAST crosses the 180°
  meridian. ``WestBoundingCoordinate`` etc. are also plain numeric attributes.
* ``Name(Parameter)`` looks up the attribute of that exact name; failing that,
  ``Name`` when the granule's ParameterName is ``Parameter`` (what ingest records
  from a single-parameter ODL file).
* A missing attribute (or one without a value, or of a type the value cannot be
  compared with) never matches: a subscriber is never sent a granule on a guess.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Union

from distribution.errors import UserError
from distribution.inventory.metadata import GranuleMetadata

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
SIDES = ("WEST", "SOUTH", "EAST", "NORTH")
BOX_ATTRIBUTE = "BoundingRectangle"


class QualifierError(UserError):
    """A qualifier statement that cannot be read; says where (1-based column) and what was expected."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"qualifier statement, column {position}: {message}")
        self.position = position
        self.reason = message


@dataclass(frozen=True)
class Value:
    """A literal of the statement, typed, with the text it was written as (kept for the notice)."""

    kind: str  # "int", "float", "string" or "datetime"
    value: Any
    text: str


@dataclass(frozen=True)
class Comparison:
    attribute: str
    op: str
    value: Value

    @property
    def text(self) -> str:
        return f"{self.attribute} {self.op} {self.value.text}"


@dataclass(frozen=True)
class BoundingBox:
    """A box in degrees; west > east crosses the 180° meridian."""

    west: float
    south: float
    east: float
    north: float

    def __str__(self) -> str:
        return "(" + ", ".join(f"{s} = {_number_text(getattr(self, s.lower()))}" for s in SIDES) + ")"

    def overlaps(self, other: BoundingBox) -> bool:
        if max(self.south, other.south) > min(self.north, other.north):
            return False
        return any(a0 <= b1 and b0 <= a1 for a0, a1 in self._spans() for b0, b1 in other._spans())

    def _spans(self) -> list[tuple[float, float]]:
        if self.west <= self.east:
            return [(self.west, self.east)]
        return [(self.west, 180.0), (-180.0, self.east)]


@dataclass(frozen=True)
class Overlap:
    """``BoundingRectangle OVERLAPS (...)``; ``texts`` are the four numbers as written."""

    attribute: str
    box: BoundingBox
    texts: tuple[str, str, str, str]

    @property
    def text(self) -> str:
        sides = ", ".join(f"{s} = {t}" for s, t in zip(SIDES, self.texts))
        return f"{self.attribute} OVERLAPS ({sides})"


Term = Union[Comparison, Overlap]


@dataclass(frozen=True)
class Qualifier:
    terms: tuple[Term, ...]

    @property
    def text(self) -> str:
        """The statement in canonical form; ``parse_qualifier(q.text) == q``."""
        return " AND ".join(t.text for t in self.terms)


@dataclass(frozen=True)
class QualifierMatch:
    """Whether a granule qualified, and the attributes (as the qualifier names them) and values that held."""

    matched: bool
    values: tuple[tuple[str, Any], ...]

    def __bool__(self) -> bool:
        return self.matched


# --- lexer ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?(?![\w.:-]))
      | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\([A-Za-z0-9_.\-]+\))?)
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[(),])""",
    re.X,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # datetime number string name op punct end
    text: str
    pos: int  # 1-based column


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m:
            ch = text[i]
            if ch == '"':
                raise QualifierError("string is not closed with a double quote", i + 1)
            raise QualifierError(f"unexpected character {ch!r}", i + 1)
        if m.lastgroup != "ws":
            out.append(_Token(m.lastgroup or "", m.group(), i + 1))
        i = m.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


def _shown(tok: _Token) -> str:
    return "the end of the statement" if tok.kind == "end" else repr(tok.text)


# --- parser --------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.toks[self.i]

    def take(self) -> _Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str, tok: _Token | None = None) -> QualifierError:
        tok = tok or self.peek()
        return QualifierError(f"expected {expected}, found {_shown(tok)}", tok.pos)

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "name" and tok.text.upper() == word

    def expect_punct(self, ch: str) -> None:
        if self.peek().text != ch or self.peek().kind != "punct":
            raise self.fail(repr(ch))
        self.take()

    def statement(self) -> Qualifier:
        terms = [self.term()]
        while self.peek().kind != "end":
            if self.keyword("OR") or self.keyword("NOT"):
                raise QualifierError(f"only AND joins comparisons (ICD: \"ANDed together\"), "
                                     f"found {self.peek().text!r}", self.peek().pos)
            if not self.keyword("AND"):
                raise self.fail("AND or the end of the statement")
            self.take()
            terms.append(self.term())
        return Qualifier(tuple(terms))

    def term(self) -> Term:
        tok = self.take()
        if tok.kind != "name" or tok.text.upper() in ("AND", "OR", "NOT", "OVERLAPS"):
            raise self.fail("an attribute name", tok)
        if self.keyword("OVERLAPS"):
            if tok.text.upper() != BOX_ATTRIBUTE.upper():
                raise QualifierError(f"OVERLAPS applies to {BOX_ATTRIBUTE} only, not {tok.text!r}", self.peek().pos)
            self.take()
            return self.overlap(tok.text)
        op = self.take()
        if op.kind != "op":
            raise self.fail("an operator (= != < <= > >=) or OVERLAPS after " + repr(tok.text), op)
        value = self.value()
        if value.kind == "string" and op.text not in ("=", "!="):
            raise QualifierError(f"a string compares only with = or !=, not {op.text}", op.pos)
        return Comparison(tok.text, op.text, value)

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "number":
            if re.fullmatch(r"[+-]?\d+", tok.text):
                return Value("int", int(tok.text), tok.text)
            number = float(tok.text)
            if math.isinf(number):
                raise QualifierError(f"number {tok.text} is out of range", tok.pos)
            return Value("float", number, tok.text)
        if tok.kind == "string":
            return Value("string", re.sub(r"\\(.)", r"\1", tok.text[1:-1], flags=re.S), tok.text)
        if tok.kind == "datetime":
            try:
                return Value("datetime", _utc(datetime.fromisoformat(tok.text)), tok.text)
            except ValueError as e:
                raise QualifierError(f"{tok.text} is not a valid date/time ({e})", tok.pos) from e
        error = self.fail("a value (a number, a \"string\" or an ISO date/time)", tok)
        if tok.kind == "name":
            error = QualifierError(error.reason + " (put strings in double quotes)", tok.pos)
        raise error

    def overlap(self, attribute: str) -> Overlap:
        self.expect_punct("(")
        found: dict[str, tuple[float, str]] = {}
        while True:
            side = self.take()
            if side.kind != "name" or side.text.upper() not in SIDES:
                raise self.fail("WEST, SOUTH, EAST or NORTH", side)
            if side.text.upper() in found:
                raise QualifierError(f"{side.text.upper()} is given twice", side.pos)
            eq = self.take()
            if eq.text != "=":
                raise self.fail(f"'=' after {side.text.upper()}", eq)
            number = self.take()
            if number.kind != "number" or math.isinf(float(number.text)):
                raise self.fail(f"a number of degrees for {side.text.upper()}", number)
            found[side.text.upper()] = (float(number.text), number.text)
            if self.peek().text == ")" and self.peek().kind == "punct":
                break
            self.expect_punct(",")
        close = self.take()
        missing = [s for s in SIDES if s not in found]
        if missing:
            raise QualifierError(f"the box needs {', '.join(missing)} too", close.pos)
        w, s, e, n = (found[k][0] for k in SIDES)
        for name, v, limit in (("WEST", w, 180), ("EAST", e, 180), ("SOUTH", s, 90), ("NORTH", n, 90)):
            if not -limit <= v <= limit:
                raise QualifierError(f"{name} = {found[name][1]} is outside -{limit}..{limit} degrees", close.pos)
        if s > n:
            raise QualifierError("SOUTH is north of NORTH", close.pos)
        texts = tuple(found[k][1] for k in SIDES)
        return Overlap(attribute, BoundingBox(w, s, e, n), texts)  # type: ignore[arg-type]


def parse_qualifier(text: str) -> Qualifier:
    """Read a Qualifier Statement; QualifierError (a UserError) says where and what was expected."""
    if not text.strip():
        raise QualifierError("the statement is empty; expected an attribute name", 1)
    return _Parser(text).statement()


# --- evaluation ----------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _number_text(v: float) -> str:
    return str(int(v)) if math.isfinite(v) and v == int(v) and abs(v) < 1e15 else repr(v)


def _lookup(meta: GranuleMetadata, name: str) -> Any:
    """The granule's value for an attribute name (case-insensitive), or None."""
    key = name.upper()
    typed = {
        "RANGEBEGINNINGDATETIME": meta.begin_time, "RANGEENDINGDATETIME": meta.end_time,
        "WESTBOUNDINGCOORDINATE": meta.west, "EASTBOUNDINGCOORDINATE": meta.east,
        "NORTHBOUNDINGCOORDINATE": meta.north, "SOUTHBOUNDINGCOORDINATE": meta.south,
        "LOCALGRANULEID": meta.local_granule_id,
    }
    if typed.get(key) is not None:
        return typed[key]
    attributes = {k.upper(): v for k, v in meta.attributes.items()}
    if key in attributes:
        return attributes[key]
    m = re.fullmatch(r"(.+)\((.+)\)", key)
    if m and m.group(1) in attributes and str(attributes.get("PARAMETERNAME", "")).upper() == m.group(2):
        return attributes[m.group(1)]
    return None


def _coerce(kind: str, found: Any) -> Any:
    """The granule's value in the literal's type, or None when it cannot be compared."""
    if found is None or isinstance(found, bool):
        return None
    if kind in ("int", "float"):
        if isinstance(found, (int, float)):
            return None if isinstance(found, float) and math.isnan(found) else found
        if isinstance(found, str):
            try:
                number = float(found)
            except ValueError:
                return None
            return None if math.isnan(number) else number
        return None
    if kind == "string":
        return found.casefold() if isinstance(found, str) else None
    if isinstance(found, datetime):
        return _utc(found)
    if isinstance(found, str):
        try:
            return _utc(datetime.fromisoformat(found.strip()))
        except ValueError:
            return None
    return None


_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _granule_box(meta: GranuleMetadata) -> BoundingBox | None:
    sides = (meta.west, meta.south, meta.east, meta.north)
    if any(v is None or not math.isfinite(v) for v in sides):
        return None
    return BoundingBox(*sides)  # type: ignore[arg-type]


def evaluate(qualifier: Qualifier, meta: GranuleMetadata) -> QualifierMatch:
    """Test a granule against every term; a missing attribute never matches.

    ``values`` holds, for each term that held, the attribute as the qualifier names
    it and the granule's value (a BoundingBox for OVERLAPS), once per attribute:
    they are the notification's "Qualifying Metadata".
    """
    values: dict[str, tuple[str, Any]] = {}
    matched = True
    for term in qualifier.terms:
        if isinstance(term, Overlap):
            box = _granule_box(meta)
            held, found = box is not None and box.overlaps(term.box), box
        else:
            found = _lookup(meta, term.attribute)
            mine = _coerce(term.value.kind, found)
            theirs = term.value.value.casefold() if term.value.kind == "string" else term.value.value
            held = mine is not None and bool(_COMPARE[term.op](mine, theirs))
        if held:
            values.setdefault(term.attribute.upper(), (term.attribute, found))
        matched = matched and held
    return QualifierMatch(matched, tuple(values.values()))


# --- text for the event notification --------------------------------------------------------------


def qualifier_list(qualifier: Qualifier) -> list[tuple[str, str]]:
    """The notification's Qualifier List: per attribute, ``min = 1; max = 100`` (Figure 4.3.5-1).

    ``>=`` is written ``min = v`` and ``<=`` ``max = v`` as in the figure; other
    operators as ``op v``; OVERLAPS as ``OVERLAPS (WEST = …)``.
    """
    groups: dict[str, tuple[str, list[str]]] = {}
    for term in qualifier.terms:
        if isinstance(term, Overlap):
            part = term.text[len(term.attribute) + 1:]
        elif term.op in (">=", "<="):
            part = f"{'min' if term.op == '>=' else 'max'} = {term.value.text}"
        else:
            part = f"{term.op} {term.value.text}"
        groups.setdefault(term.attribute.upper(), (term.attribute, []))[1].append(part)
    return [(name, "; ".join(parts)) for name, parts in groups.values()]


def format_value(value: Any) -> str:
    """A qualifying value as the notification shows it: ``0``, ``0.5``, ``Day``, ``2002-03-19T14:28:32Z``."""
    if isinstance(value, datetime):
        return _utc(value).isoformat() + "Z"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def qualifying_metadata(match: QualifierMatch) -> list[tuple[str, str]]:
    """The match's (attribute, value) pairs as notification text."""
    return [(name, format_value(value)) for name, value in match.values]
