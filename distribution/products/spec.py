"""The ESO ELT Data Product Specification (seed 002): ``parse_spec`` / ``render_spec`` and its typed model.

A specification is checked against the published JSON Schema
(``dp_specification.schema.json`` in this package, :func:`json_schema`) and then
against what a schema cannot say (a regex that does not compile, two sources
with one ``sourceName``, a ``fileId`` that is not a file name). Every problem is
reported once, with its JSON path (``$.sources[2].keywordRules[0].regex``), all
in one :class:`SpecError`.

Strict JSON: the seed's Listing 3 has a trailing comma after the target source's
``location``. Ardis refuses it ("line 79 column 52: trailing comma"): a
specification is written by a program (daqOcmServer), and a producer that emits
invalid JSON is a fault to report, not to guess around. The same listing without
the comma is valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from distribution.errors import UserError

SCHEMA_FILE = "dp_specification.schema.json"

#: A keyword value as the specification may give it.
KeywordValue = str | int | float | bool


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with a specification, where it is (a JSON path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(UserError):
    """A specification that cannot be used; ``problems`` holds one entry per problem."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("invalid data product specification: " + "; ".join(map(str, problems)))


@dataclass(frozen=True)
class _NamedKeyword:
    name: str
    value: KeywordValue
    comment: str = ""


@dataclass(frozen=True)
class ValueKeyword(_NamedKeyword):
    """``valueKeyword``: a standard FITS value keyword (name of at most 8 characters)."""

    type: Literal["valueKeyword"] = "valueKeyword"


@dataclass(frozen=True)
class EsoKeyword(_NamedKeyword):
    """``esoKeyword``: an ESO hierarchical keyword; "OCS TEMPL ID" is written ``HIERARCH ESO OCS TEMPL ID``."""

    type: Literal["esoKeyword"] = "esoKeyword"


@dataclass(frozen=True)
class LiteralKeyword:
    """``literalKeyword``: one whole card as written, e.g. ``COMMENT Example of a commentary keyword.``"""

    value: str
    type: Literal["literalKeyword"] = "literalKeyword"


Keyword = ValueKeyword | EsoKeyword | LiteralKeyword


@dataclass(frozen=True)
class KeywordFilter:
    """Keyword rule ``filter``: keep only the keywords the selection patterns select."""

    selection_patterns: tuple[str, ...]
    type: Literal["filter"] = "filter"


@dataclass(frozen=True)
class KeywordTransform:
    """Keyword rule ``transform``: rename the selected keywords by ``regex`` and ``format``."""

    selection_patterns: tuple[str, ...]
    regex: str
    format: str
    type: Literal["transform"] = "transform"


KeywordRule = KeywordFilter | KeywordTransform


@dataclass(frozen=True)
class Location:
    """A ``location`` (``host:/path``); ``host`` is empty for a local file (no host, or ``localhost``)."""

    host: str
    path: str
    user: str = ""

    @property
    def is_local(self) -> bool:
        return not self.host

    def __str__(self) -> str:
        if not self.host:
            return self.path
        return f"{self.user + '@' if self.user else ''}{self.host}:{self.path}"


@dataclass(frozen=True)
class FitsFileSource:
    """``FitsFileSource``: primary-HDU keywords (selected by keyword rules) and HDU extensions of a FITS file."""

    source_name: str
    location: str
    keyword_rules: tuple[KeywordRule, ...] | None = None
    type: Literal["fitsFile"] = "fitsFile"

    @property
    def where(self) -> Location:
        return parse_location(self.location)


@dataclass(frozen=True)
class FitsKeywordsSource:
    """``FitsKeywordsSource``: keywords for the Data Product primary HDU, in descending priority."""

    source_name: str
    keywords: tuple[Keyword, ...]
    type: Literal["fitsKeywords"] = "fitsKeywords"


Source = FitsFileSource | FitsKeywordsSource


@dataclass(frozen=True)
class Target:
    """``target``: ``fileId``, optional ``filePrefix``, optional ``source`` (the in-place target file)."""

    file_id: str
    file_prefix: str = ""
    source: FitsFileSource | None = None

    @property
    def file_name(self) -> str:
        """``filePrefix + fileId + .fits``, the product's file name."""
        return f"{self.file_prefix}{self.file_id}.fits"


@dataclass(frozen=True)
class DpSpecification:
    """``DpSpecification``: how one Data Product is assembled from the outputs of a Data Acquisition."""

    id: str
    sources: tuple[Source, ...]
    target: Target
    keyword_dictionaries: tuple[str, ...] = field(default_factory=tuple)

    @property
    def instrument(self) -> str:
        """The instrument prefix of ``id`` (``MICADO.2021-…`` → ``MICADO``): each ICS has a unique one."""
        return self.id.split(".", 1)[0]

    def file_sources(self) -> list[FitsFileSource]:
        """Every FITS file the product needs, the target source first."""
        found = [self.target.source] if self.target.source else []
        return found + [s for s in self.sources if isinstance(s, FitsFileSource)]


def parse_location(text: str) -> Location:
    """``[user@]host:/path`` or a plain path; ``localhost`` counts as local."""
    head, sep, rest = text.partition(":")
    if not sep or "/" in head or not head:
        return Location("", rest if sep and not head else text)
    user, _, host = head.rpartition("@")
    return Location("" if host == "localhost" else host, rest, user if host != "localhost" else "")


@cache
def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the specification (a file of this package)."""
    loaded: dict[str, Any] = json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    return loaded


def _path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _schema_problems(doc: Any) -> list[SpecProblem]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json_schema())
    problems = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        problems.append(SpecProblem(_path(e.absolute_path), e.message))
    return problems


def _bad_file_name(name: str) -> str | None:
    if "/" in name or "\0" in name or name in (".", ".."):
        return "must be usable in a file name (no '/', NUL, '.' or '..')"
    return None


def _semantic_problems(doc: dict[str, Any]) -> list[SpecProblem]:
    """What the schema cannot say; only called on a document the schema accepts."""
    problems = []
    target = doc["target"]
    for key in ("fileId", "filePrefix"):
        why = _bad_file_name(target.get(key, "x"))
        if why:
            problems.append(SpecProblem(f"$.target.{key}", why))
    named: list[tuple[str, dict[str, Any]]] = [(f"$.sources[{i}]", s) for i, s in enumerate(doc["sources"])]
    if "source" in target:
        named.insert(0, ("$.target.source", target["source"]))
    seen: dict[str, str] = {}
    for where, source in named:
        name = source["sourceName"]
        if name in seen:
            problems.append(SpecProblem(f"{where}.sourceName", f"{name!r} is also the name of {seen[name]}"))
        seen.setdefault(name, where)
        if source["type"] == "fitsFile" and not parse_location(source["location"]).path.startswith("/"):
            problems.append(SpecProblem(f"{where}.location", "must be host:/absolute/path or /absolute/path"))
        for r, rule in enumerate(source.get("keywordRules", [])):
            if rule["type"] == "transform":
                try:
                    re.compile(rule["regex"])
                except re.error as e:
                    problems.append(SpecProblem(f"{where}.keywordRules[{r}].regex", f"not a regular expression: {e}"))
    return problems


def _json_problem(text: str, e: json.JSONDecodeError) -> SpecProblem:
    before = text[: e.pos].rstrip()
    what = e.msg
    if before.endswith(",") and text[e.pos: e.pos + 1] in "}]":
        what = "trailing comma (not allowed in JSON)"
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1)
        return SpecProblem("$", f"line {line} column {column}: {what}")
    return SpecProblem("$", f"line {e.lineno} column {e.colno}: {what}")


def _file_source(d: dict[str, Any]) -> FitsFileSource:
    rules: tuple[KeywordRule, ...] | None = None
    if "keywordRules" in d:
        rules = tuple(
            KeywordFilter(tuple(r["selectionPatterns"])) if r["type"] == "filter"
            else KeywordTransform(tuple(r["selectionPatterns"]), r["regex"], r["format"])
            for r in d["keywordRules"]
        )
    return FitsFileSource(d["sourceName"], d["location"], rules)


def _keyword(d: dict[str, Any]) -> Keyword:
    if d["type"] == "literalKeyword":
        return LiteralKeyword(d["value"])
    cls = ValueKeyword if d["type"] == "valueKeyword" else EsoKeyword
    return cls(d["name"], d["value"], d.get("comment", ""))


def spec_from_dict(doc: Any) -> DpSpecification:
    """The typed specification of a decoded JSON document; raises SpecError naming every problem."""
    problems = _schema_problems(doc)
    if not problems:
        problems = _semantic_problems(doc)
    if problems:
        raise SpecError(problems)
    sources: list[Source] = [
        FitsKeywordsSource(s["sourceName"], tuple(_keyword(k) for k in s["keywords"]))
        if s["type"] == "fitsKeywords" else _file_source(s)
        for s in doc["sources"]
    ]
    t = doc["target"]
    target = Target(t["fileId"], t.get("filePrefix", ""), _file_source(t["source"]) if "source" in t else None)
    return DpSpecification(doc["id"], tuple(sources), target, tuple(doc.get("keywordDictionaries", [])))


def parse_spec(text: str | bytes) -> DpSpecification:
    """Parse a specification (strict JSON, then the schema, then the rest); raises SpecError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SpecError([SpecProblem("$", f"not UTF-8 text: byte {e.start}")]) from e
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError([_json_problem(text, e)]) from e
    return spec_from_dict(doc)


def _rule_dict(rule: KeywordRule) -> dict[str, Any]:
    if isinstance(rule, KeywordFilter):
        return {"type": "filter", "selectionPatterns": list(rule.selection_patterns)}
    return {"type": "transform", "selectionPatterns": list(rule.selection_patterns), "regex": rule.regex,
            "format": rule.format}


def _source_dict(s: Source) -> dict[str, Any]:
    if isinstance(s, FitsKeywordsSource):
        keywords: list[dict[str, Any]] = []
        for k in s.keywords:
            if isinstance(k, LiteralKeyword):
                keywords.append({"type": k.type, "value": k.value})
            else:
                keywords.append({"type": k.type, "name": k.name, "value": k.value}
                                | ({"comment": k.comment} if k.comment else {}))
        return {"type": "fitsKeywords", "sourceName": s.source_name, "keywords": keywords}
    out: dict[str, Any] = {"type": "fitsFile", "sourceName": s.source_name, "location": s.location}
    if s.keyword_rules is not None:
        out["keywordRules"] = [_rule_dict(r) for r in s.keyword_rules]
    return out


def spec_to_dict(spec: DpSpecification) -> dict[str, Any]:
    """The JSON document of a specification (the seed's member names and order)."""
    target: dict[str, Any] = {"fileId": spec.target.file_id}
    if spec.target.file_prefix:
        target["filePrefix"] = spec.target.file_prefix
    if spec.target.source is not None:
        target["source"] = _source_dict(spec.target.source)
    doc: dict[str, Any] = {"id": spec.id, "sources": [_source_dict(s) for s in spec.sources], "target": target}
    if spec.keyword_dictionaries:
        doc["keywordDictionaries"] = list(spec.keyword_dictionaries)
    return doc


def render_spec(spec: DpSpecification) -> str:
    """The specification as JSON text (2-space indent, as the seed's listings); parse_spec reads it back equal."""
    return json.dumps(spec_to_dict(spec), indent=2, ensure_ascii=False) + "\n"
