"""Seed 000, "updating or superseding a release": the release description file ``CONTENT.ESO`` and ``CHANGES.USER``.

``CONTENT.ESO`` is what the archive holds of a collection after its archived
releases (seed: "view release contents (only for archived releases) — download
release description file"): one tab-separated ``FILE`` line per current file —
name, category, size in bytes, checksum (``TYPE:value``), the science file an
ancillary file belongs to (``-`` for a science file) and the release that
archived it — after ``#`` comment lines. The seed names the file but not its
layout; this is Ardis's, read back by :func:`parse_content`.

``CHANGES.USER`` is the PI's list of changes for an ``update`` release, one per
line: ``DELETE file`` or ``REPLACE file`` (seed: "2. Create CHANGES.USER —
DELETE file, REPLACE file"); blank lines and ``#`` comments are ignored. New
files need no line: a file of the update not in ``CONTENT.ESO`` is added.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from distribution.errors import UserError

CONTENT_NAME = "CONTENT.ESO"
CHANGES_NAME = "CHANGES.USER"
DESCRIPTION_NAME = "release-description.tar"
_FIELDS = ("name", "category", "size", "checksum", "science", "release")


@dataclass(frozen=True)
class ContentLine:
    """One archived file of a collection, as ``CONTENT.ESO`` lists it."""

    name: str
    category: str
    size: int
    checksum: str
    science: str | None
    release: str


def render_content(title: str, lines: Iterable[ContentLine]) -> str:
    """The ``CONTENT.ESO`` text: a title comment, the column names, one ``FILE`` line per file."""
    out = [f"# CONTENT.ESO {title}", "# FILE\t" + "\t".join(_FIELDS)]
    for line in lines:
        values = [line.name, line.category, str(line.size), line.checksum, line.science or "-", line.release]
        if any("\t" in v or "\n" in v for v in values):
            raise ValueError(f"a CONTENT.ESO value cannot hold a tab or a line end: {values!r}")
        out.append("FILE\t" + "\t".join(values))
    return "\n".join(out) + "\n"


def parse_content(text: str) -> dict[str, ContentLine]:
    """``CONTENT.ESO`` back into its lines, by file name; UserError naming the first bad line."""
    found: dict[str, ContentLine] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if parts[0] != "FILE" or len(parts) != len(_FIELDS) + 1 or not parts[3].isdigit():
            raise UserError(f"{CONTENT_NAME} line {number} is not FILE and {len(_FIELDS)} tab-separated fields: "
                            f"{raw[:80]!r}")
        name, category, size, checksum, science, release = parts[1:]
        if name in found:
            raise UserError(f"{CONTENT_NAME} line {number}: {name} is listed twice")
        found[name] = ContentLine(name, category, int(size), checksum, None if science == "-" else science, release)
    return found


@dataclass(frozen=True)
class Change:
    """One line of ``CHANGES.USER``."""

    action: str  # DELETE | REPLACE
    name: str


def render_changes(changes: Iterable[Change]) -> str:
    return "".join(f"{c.action} {c.name}\n" for c in changes)


def parse_changes(text: str) -> list[Change]:
    """``CHANGES.USER`` into its changes, in order; UserError for a line that is neither DELETE nor REPLACE."""
    changes: list[Change] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        action, _, name = line.partition(" ")
        name = name.strip()
        if action not in ("DELETE", "REPLACE") or not name or " " in name or "/" in name:
            raise UserError(f"{CHANGES_NAME} line {number} is not 'DELETE file' or 'REPLACE file': {raw[:80]!r}")
        if name in seen:
            raise UserError(f"{CHANGES_NAME} line {number}: {name} is changed twice")
        seen.add(name)
        changes.append(Change(action, name))
    return changes
