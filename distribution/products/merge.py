"""Merge semantics of the Data Product Specification: priority, selection patterns, transforms, dictionaries.

Pure functions on keyword lists (no files): :mod:`assemble` reads the sources
and writes the result.

* **Priority** (``DpSpecification`` / ``sources``: "in descending priority
  order. The only source with higher priority is if a /target/source file has
  been specified"): a keyword given by several sources takes the value and
  comment of the highest-priority one; commentary keywords (``COMMENT``,
  ``HISTORY``, blank) are never overwritten, all of them are kept.
* **Keyword order** ("value and commentary keywords are grouped by source
  order"): the target's structural cards (``SIMPLE`` … ``EXTEND``), then the
  value keywords (standard and ``HIERARCH ESO``) grouped by source order, then
  the commentary keywords grouped by source order; within a source its own order.
* **Selection patterns** (``keywordRules``): ``+e``/``-e`` ESO hierarchical
  keywords (matched without ``HIERARCH ESO``), ``+v``/``-v`` standard value
  keywords, ``+c``/``-c`` commentary keywords, each with a shell-style pattern
  (``*``, ``?``, ``[12]``), applied in order: a keyword is selected if the last
  pattern that matches it starts with ``+``. ``filter`` keeps only the selected
  keywords; ``transform`` renames them (``regex`` replaced by ``format``, once;
  ``$1`` and ``$&`` refer to groups as in ECMAScript). A ``FitsFileSource``
  without ``keywordRules`` gives all its keywords; the target source's too.
* **Structural keywords** (``SIMPLE``, ``BITPIX``, ``NAXISn``, ``EXTEND``,
  ``PCOUNT``, ``GCOUNT``, ``GROUPS``, ``XTENSION``, ``END``) are the target's
  alone ("the only file that can have a Data Unit in the primary HDU"); a file
  source's are skipped, a keyword source may not set them. ``BSCALE``, ``BZERO``
  and ``BLANK`` describe a primary data unit: only the target's are taken.
  ``CHECKSUM``/``DATASUM`` are dropped (stale once the header changes; the
  archive keeps its own checksums), and so are blank cards: they are the room a
  target keeps for the keywords merged into it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from distribution.errors import UserError
from distribution.products.dictionary import Dictionaries
from distribution.products.spec import KeywordFilter, KeywordRule

ESO_PREFIX = "HIERARCH ESO "
COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
_STRUCTURAL = re.compile(r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|XTENSION|END)$")
_DATA_DESCRIPTION = frozenset({"BSCALE", "BZERO", "BLANK"})
_DROPPED = frozenset({"CHECKSUM", "DATASUM"})


class MergeError(UserError):
    """Keywords that cannot be merged: each problem names the keyword and its source."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class KeywordClass(enum.Enum):
    """The selection-pattern classes: ``e`` ESO hierarchical, ``v`` standard value, ``c`` commentary."""

    ESO = "e"
    VALUE = "v"
    COMMENTARY = "c"


@dataclass(frozen=True)
class Kw:
    """One keyword on its way into the product; ``name`` of an ESO keyword is without ``HIERARCH ESO``."""

    kind: KeywordClass
    name: str
    value: object = None
    comment: str = ""
    source: str = ""

    @property
    def fits_name(self) -> str:
        return ESO_PREFIX + self.name if self.kind is KeywordClass.ESO else self.name

    @property
    def identity(self) -> tuple[KeywordClass, str]:
        return self.kind, self.name


def classify(fits_name: str, value: object = None, comment: str = "", source: str = "") -> Kw:
    """A keyword by its name as written in a header (``HIERARCH ESO INS TEMP1 VAL``, ``ORIGIN``, ``COMMENT``)."""
    upper = fits_name.strip()
    if upper.startswith(ESO_PREFIX):
        return Kw(KeywordClass.ESO, " ".join(upper[len(ESO_PREFIX):].split()), value, comment, source)
    if upper.startswith("ESO ") and len(upper) > 8:  # astropy's spelling of a HIERARCH ESO card
        return Kw(KeywordClass.ESO, " ".join(upper[4:].split()), value, comment, source)
    if upper in COMMENTARY:
        return Kw(KeywordClass.COMMENTARY, upper, value, comment, source)
    return Kw(KeywordClass.VALUE, upper, value, comment, source)


def is_structural(kw: Kw) -> bool:
    return kw.kind is KeywordClass.VALUE and bool(_STRUCTURAL.match(kw.name))


def is_blank(kw: Kw) -> bool:
    """A blank card: the header room a target reserves for keywords to come, never a keyword of the product."""
    return kw.kind is KeywordClass.COMMENTARY and not kw.name and not str(kw.value or "").strip()


@dataclass(frozen=True)
class Pattern:
    """One selection pattern, e.g. ``-e INS TEMP[12] *``."""

    include: bool
    kind: KeywordClass
    glob: str

    def matches(self, kw: Kw) -> bool:
        return kw.kind is self.kind and fnmatchcase(kw.name, self.glob)


def parse_pattern(text: str) -> Pattern:
    """``+e INS *`` → Pattern(True, ESO, "INS *"); raises UserError for anything else."""
    if len(text) < 4 or text[0] not in "+-" or text[1] not in "evc" or text[2] != " " or not text[3:].strip():
        raise UserError(f"selection pattern {text!r} is not '+e|-e|+v|-v|+c|-c PATTERN'")
    return Pattern(text[0] == "+", KeywordClass(text[1]), text[3:])


def selected(kw: Kw, patterns: Sequence[Pattern]) -> bool:
    """Selected if the last matching pattern includes it (same as applying them in order to a set)."""
    result = False
    for p in patterns:
        if p.matches(kw):
            result = p.include
    return result


def _ecma_format(fmt: str) -> str:
    """A ``format`` with ``$1``/``$&``/``$$`` as Python's re replacement (other backslashes literal)."""
    out = fmt.replace("\\", "\\\\")
    out = re.sub(r"\$(\$|&|\d+)", lambda m: "$" if m.group(1) == "$" else
                 "\\g<0>" if m.group(1) == "&" else f"\\g<{m.group(1)}>", out)
    return out


def apply_rules(keywords: Iterable[Kw], rules: Sequence[KeywordRule] | None) -> list[Kw]:
    """A file source's keywords after its ``keywordRules`` (None: all of them), in their order."""
    result = list(keywords)
    for rule in rules or ():
        patterns = [parse_pattern(p) for p in rule.selection_patterns]
        if isinstance(rule, KeywordFilter):
            result = [k for k in result if selected(k, patterns)]
            continue
        regex, fmt = re.compile(rule.regex), _ecma_format(rule.format)
        result = [replace(k, name=regex.sub(fmt, k.name, count=1)) if selected(k, patterns) else k for k in result]
    return result


def source_keywords(keywords: Iterable[Kw], *, target: bool, given: bool = False) -> list[Kw]:
    """What a source may contribute: structural keywords are the target's alone (a keyword source may not give one).

    ``given``: the keywords were written in the specification (a ``FitsKeywordsSource``),
    so a structural one is an error rather than something the file naturally has.
    """
    out, problems = [], []
    for k in keywords:
        if k.kind is KeywordClass.VALUE and k.name in _DROPPED or is_blank(k):
            continue
        describes_data = is_structural(k) or (k.kind is KeywordClass.VALUE and k.name in _DATA_DESCRIPTION)
        if describes_data and given:
            problems.append(f"keyword {k.name} from source {k.source}: describes the target's data unit and "
                            "cannot be set by a source")
        elif target or not describes_data:
            out.append(k)
    if problems:
        raise MergeError(problems)
    return out


def merge_keywords(groups: Sequence[Sequence[Kw]]) -> list[Kw]:
    """The product's keywords from each source's keywords, highest priority first (the target's group first).

    Structural keywords (only the target has them) keep their place at the top;
    then value keywords grouped by source order, then commentary keywords grouped
    by source order. A value keyword appears once, with the highest-priority value.
    """
    seen: set[tuple[KeywordClass, str]] = set()
    structural: list[Kw] = []
    values: list[Kw] = []
    commentary: list[Kw] = []
    for group in groups:
        for k in group:
            if k.kind is KeywordClass.COMMENTARY:
                commentary.append(k)
                continue
            if k.identity in seen:
                continue
            seen.add(k.identity)
            (structural if is_structural(k) else values).append(k)
    return structural + values + commentary


def apply_dictionaries(keywords: Sequence[Kw], dictionaries: Dictionaries) -> list[Kw]:
    """Check each keyword's type against the dictionaries and format its value; MergeError names every violation."""
    out, problems = [], []
    for k in keywords:
        found = None if k.kind is KeywordClass.COMMENTARY else dictionaries.lookup(k.name)
        if found is None:
            out.append(k)
            continue
        dictionary, entry = found
        why = entry.check(k.value)
        if why:
            problems.append(f"keyword {k.name} from source {k.source}: {why} ({dictionary.name})")
            continue
        out.append(replace(k, value=entry.formatted(k.value)))
    if problems:
        raise MergeError(problems)
    return out


def with_extend(keywords: list[Kw], has_extensions: bool) -> list[Kw]:
    """``EXTEND = T`` right after the last ``NAXISn`` when the product has extensions and the target lacks it."""
    if not has_extensions:
        return keywords
    for i, k in enumerate(keywords):
        if k.kind is KeywordClass.VALUE and k.name == "EXTEND":
            return keywords if k.value is True else keywords[:i] + [replace(k, value=True)] + keywords[i + 1:]
    last = max((i for i, k in enumerate(keywords) if k.kind is KeywordClass.VALUE and
                re.fullmatch(r"NAXIS\d*", k.name)), default=-1)
    extend = Kw(KeywordClass.VALUE, "EXTEND", True, "FITS file may contain extensions", "ardis")
    return keywords[: last + 1] + [extend] + keywords[last + 1:]
