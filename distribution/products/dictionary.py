"""ESO Data Interface Dictionaries (``*.did``): the types and formats of keywords, ``parse_did`` / ``render_did``.

The DPS's ``keywordDictionaries`` names the dictionaries "to load when
validating and formatting keywords". A dictionary is a text file of
``Field Name: value`` lines; a header (``Dictionary Name:``, ``Scope:`` …) and
then one record per ``Parameter Name:``; a line starting with white space
continues the field above it::

    Parameter Name:     TEL AIRM START
    Class:              header
    Type:               double
    Value Format:       %.3f
    Comment Format:     Airmass at start

An ESO name token with lower-case letters is an index placeholder
(``DET CHIPi ID`` is ``DET CHIP1 ID``, ``DET CHIP12 ID`` …). A value of the wrong
type is an error naming the keyword and the source that gave it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from distribution.errors import UserError

#: DID type names and what they accept.
_TYPES = {"logical": "logical", "boolean": "logical", "integer": "integer", "int": "integer",
          "double": "double", "float": "double", "real": "double", "string": "string", "char": "string"}


class DictionaryError(UserError):
    """A dictionary that cannot be read, or a keyword value it forbids."""


@dataclass(frozen=True)
class DictionaryEntry:
    """One ``Parameter Name`` record of a dictionary."""

    name: str
    type: str
    value_format: str = ""
    unit: str = ""
    comment_format: str = ""
    klass: str = ""
    description: str = ""

    def check(self, value: object) -> str | None:
        """Why ``value`` is not of this entry's type, or None."""
        ok = {
            "logical": isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "double": isinstance(value, (int, float)) and not isinstance(value, bool),
            "string": isinstance(value, str),
        }.get(self.type, True)
        return None if ok else f"{value!r} is not {'an' if self.type == 'integer' else 'a'} {self.type}"

    def formatted(self, value: object) -> object:
        """The value as the dictionary's ``Value Format`` gives it (a double rounded to ``%.3f`` …)."""
        if self.type == "double" and self.value_format and isinstance(value, (int, float)):
            try:
                return float(self.value_format % value)
            except (TypeError, ValueError):
                return value
        return value


@dataclass
class KeywordDictionary:
    """A loaded dictionary: its name (``Dictionary Name``) and entries by ESO name."""

    name: str
    entries: dict[str, DictionaryEntry] = field(default_factory=dict)
    _patterns: list[tuple[re.Pattern[str], DictionaryEntry]] = field(default_factory=list, repr=False)

    def add(self, entry: DictionaryEntry) -> None:
        self.entries[entry.name] = entry
        if any(c.islower() for c in entry.name):
            tokens = [re.sub(r"[a-z]+", r"\\d+", re.escape(t)) for t in entry.name.split(" ")]
            self._patterns.append((re.compile(" ".join(tokens) + r"\Z"), entry))

    def lookup(self, name: str) -> DictionaryEntry | None:
        """The entry for a keyword (ESO name without ``HIERARCH ESO``, or a standard name)."""
        found = self.entries.get(name)
        if found is not None:
            return found
        return next((e for p, e in self._patterns if p.match(name)), None)


_FIELD = re.compile(r"^([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$")
_KEYS = {"Parameter Name": "name", "Type": "type", "Value Format": "value_format", "Unit": "unit",
         "Comment Format": "comment_format", "Comment Field": "comment_format", "Class": "klass",
         "Description": "description"}


def _fields(text: str) -> Iterable[tuple[int, str, str]]:
    """(line number, field name, value) with continuation lines joined."""
    current: list[object] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and current is not None:
            current[2] = f"{current[2]} {line.strip()}".strip()
            continue
        m = _FIELD.match(line)
        if not m:
            raise DictionaryError(f"line {number}: not 'Field Name: value': {line.strip()[:60]!r}")
        if current is not None:
            yield current[0], current[1], current[2]  # type: ignore[misc]
        current = [number, m.group(1).strip(), m.group(2).strip()]
    if current is not None:
        yield current[0], current[1], current[2]  # type: ignore[misc]


def parse_did(text: str, origin: str = "dictionary") -> KeywordDictionary:
    """Read a dictionary; raises DictionaryError naming the line of the first problem."""
    dictionary = KeywordDictionary(origin)
    record: dict[str, str] | None = None
    start = 0

    def finish() -> None:
        if record is None:
            return
        kind = _TYPES.get(record.get("type", "").lower())
        if kind is None:
            raise DictionaryError(f"{origin} line {start}: {record['name']}: unknown Type {record.get('type')!r}")
        dictionary.add(DictionaryEntry(**{**record, "type": kind}))

    for number, name, value in _fields(text):
        if name == "Parameter Name":
            finish()
            record, start = {"name": " ".join(value.split())}, number
        elif record is None:
            if name == "Dictionary Name":
                dictionary.name = value
        elif name in _KEYS:
            record[_KEYS[name]] = value
    finish()
    return dictionary


def render_did(dictionary: KeywordDictionary) -> str:
    """A dictionary as DID text; parse_did reads it back equal."""
    lines = [f"{'Dictionary Name:':<20}{dictionary.name}", ""]
    names = {v: k for k, v in _KEYS.items() if k != "Comment Field"}
    for e in dictionary.entries.values():
        for attr in ("name", "klass", "type", "value_format", "unit", "comment_format", "description"):
            value = getattr(e, attr)
            if value or attr in ("name", "type"):
                lines.append(f"{names[attr] + ':':<20}{value}")
        lines.append("")
    return "\n".join(lines)


class Dictionaries:
    """The dictionaries a specification names, searched in the order given."""

    def __init__(self, loaded: list[KeywordDictionary] | None = None) -> None:
        self.loaded = loaded or []

    def lookup(self, name: str) -> tuple[KeywordDictionary, DictionaryEntry] | None:
        for d in self.loaded:
            entry = d.lookup(name)
            if entry is not None:
                return d, entry
        return None


def find_dictionary(name: str, search: Iterable[Path]) -> Path:
    """A dictionary file by name: absolute as given, else the first of ``search`` that holds it."""
    candidate = Path(name)
    if candidate.is_absolute():
        if candidate.is_file():
            return candidate
        raise DictionaryError(f"keyword dictionary {name} not found")
    tried = []
    for directory in search:
        if (directory / name).is_file():
            return directory / name
        tried.append(str(directory))
    raise DictionaryError(f"keyword dictionary {name} not found in {', '.join(tried) or 'no directory'}")


def load_dictionaries(names: Iterable[str], search: Iterable[Path]) -> Dictionaries:
    """Load the named dictionaries (``keywordDictionaries``); raises DictionaryError."""
    dirs = list(search)
    loaded = []
    for name in names:
        path = find_dictionary(name, dirs)
        try:
            text = path.read_text(encoding="latin-1")
        except OSError as e:
            raise DictionaryError(f"keyword dictionary {path}: {e.strerror}") from e
        loaded.append(parse_did(text, path.name))
    return Dictionaries(loaded)
