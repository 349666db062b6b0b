"""Names for the three trees of an image: ISO 9660 (8.3), Joliet (<= 64) and Rock Ridge (original).

pycdlib takes what it is given: a duplicate path merges, an over-long or lower-case
ISO 9660 name or a Joliet name past 64 characters goes through. So Ardis makes the
names itself, checks them here, and keeps them unique per directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from media.errors import BadName, NameClash

ISO_FILE = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{0,3})?;1$")
ISO_DIR = re.compile(r"^[A-Z0-9_]{1,8}$")
JOLIET_MAX = 64
CANDIDATES = 10_000_000  # suffixes tried before a name counts as impossible
JOLIET_BAD = set('*/:;?\\') | {chr(c) for c in range(32)}
_JOLIET_BAD_RE = re.compile("[*/:;?\\\\\x00-\x1f\U00010000-\U0010ffff]")  # JOLIET_BAD and beyond UCS-2
_NOT_D_CHARS = re.compile(r"[^A-Z0-9_]")


def _d_chars(text: str) -> str:
    return _NOT_D_CHARS.sub("_", text.upper())


def check_iso_name(name: str, is_dir: bool) -> str:
    """Raise BadName unless ``name`` is a valid level-1 ISO 9660 name."""
    if not (ISO_DIR if is_dir else ISO_FILE).match(name):
        raise BadName(f"not a valid ISO 9660 {'directory' if is_dir else 'file'} name: {name!r}")
    return name


def check_joliet_name(name: str) -> str:
    """Raise BadName unless ``name`` is a valid Joliet name (<= 64 UCS-2 characters)."""
    if not name or len(name) > JOLIET_MAX or _JOLIET_BAD_RE.search(name):
        raise BadName(f"not a valid Joliet name: {name!r}")
    return name


@dataclass
class _Dir:
    iso: set[str] = field(default_factory=set)
    joliet: set[str] = field(default_factory=set)
    rr: set[str] = field(default_factory=set)
    next_n: dict[str, int] = field(default_factory=dict)  # first candidate -> suffix to try next


@dataclass(frozen=True, slots=True)
class Names:
    """The absolute paths of one entry in each tree."""

    iso_path: str
    joliet_path: str
    rr_name: str
    rr_path: str


class NameTable:
    """Gives every volume path its ISO 9660, Joliet and Rock Ridge names, unique per directory."""

    def __init__(self) -> None:
        self._dirs: dict[str, _Dir] = {"": _Dir()}
        self._names: dict[str, Names] = {"": Names("", "", "", "")}

    def add(self, path: str, is_dir: bool) -> Names:
        parent_key, _, rr = path.rpartition("/")  # volume paths are checked: no empty or '.' parts
        parent = self._names.get(parent_key)
        if parent is None:
            raise BadName(f"{path!r}: its directory was not added first")
        d = self._dirs[parent_key]
        if rr in d.rr:
            raise NameClash(f"{path!r} appears twice on the volume")
        d.rr.add(rr)
        iso = check_iso_name(self._unique(d, d.iso, iso_candidates, rr, is_dir), is_dir)
        joliet = check_joliet_name(self._unique(d, d.joliet, joliet_candidates, rr, is_dir))
        names = Names(f"{parent.iso_path}/{iso}", f"{parent.joliet_path}/{joliet}", rr, f"{parent.rr_path}/{rr}")
        self._names[path] = names
        if is_dir:
            self._dirs[path] = _Dir()
        return names

    @staticmethod
    def _unique(d: _Dir, used: set[str], make: Callable[[str, bool, int], Iterator[str]], name: str, is_dir: bool) -> str:
        """The first free candidate; the suffix counter per base name keeps 100,000 clashes linear."""
        first = next(make(name, is_dir, 0))
        counter = f"{id(used)}:{first}"
        start = d.next_n.get(counter, 0)
        for n, c in enumerate(make(name, is_dir, start), start=start):
            key = c.upper()
            if key not in used:
                used.add(key)
                d.next_n[counter] = n + 1
                return c
        raise NameClash(f"no free name left for {first!r}")


def iso_parts(name: str, is_dir: bool) -> tuple[str, str]:
    """(stem, tail) of a name's ISO 9660 candidates: ``STEM.EXT;1``, then ``STE_1.EXT;1`` ... (dirs: no tail)."""
    if is_dir:
        return _d_chars(name.replace(".", "_"))[:8] or "_", ""
    base, dot, suffix = name.rpartition(".")
    if not dot or not base:
        base, suffix = name, ""
    return (_d_chars(base)[:8] or "_"), "." + _d_chars(suffix)[:3] + ";1"


def iso_candidate(parts: tuple[str, str], n: int) -> str:
    """The ``n``-th ISO 9660 candidate (0: the plain name)."""
    stem, tail = parts
    if n == 0:
        return stem + tail
    digits = "_" + str(n)
    return stem[: 8 - len(digits)] + digits + tail


def joliet_parts(name: str) -> tuple[str, str, str]:
    """(name with bad characters replaced, stem, ``.ext``) of a name's Joliet candidates."""
    clean = _JOLIET_BAD_RE.sub("_", name)
    stem, dot, ext = clean.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        return clean, clean, ""
    return clean, stem, dot + ext


def joliet_candidate(parts: tuple[str, str, str], n: int) -> str:
    """The ``n``-th Joliet candidate: the name cut to 64 keeping a short extension, then ``~n``."""
    clean, stem, ext = parts
    if n == 0:
        return clean if len(clean) <= JOLIET_MAX else stem[: JOLIET_MAX - len(ext)] + ext
    suffix = f"~{n}" + ext
    return stem[: JOLIET_MAX - len(suffix)] + suffix


def iso_candidates(name: str, is_dir: bool, start: int) -> Iterator[str]:
    parts = iso_parts(name, is_dir)
    return (iso_candidate(parts, n) for n in range(start, CANDIDATES))


def joliet_candidates(name: str, is_dir: bool, start: int) -> Iterator[str]:
    parts = joliet_parts(name)
    return (joliet_candidate(parts, n) for n in range(start, CANDIDATES))
