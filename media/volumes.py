"""Volume planning: split a request's granules over as few volumes as fit.

A granule is never split across volumes; one that is larger than a volume is
rejected with the reason. A granule the caller gives as several pieces (items of one
key and directory: the parts of a bundle, each cut to fit a volume, ``largest_file``)
goes piece by piece, each piece whole, on this or a later volume than the piece
before it; the pieces that share a volume are one item there. Every entry is charged what it really costs on the
medium (tar headers and padding exactly; ISO sectors, directory records and UDF
file entries by a model checked against real images in the tests), plus the
fixed per-volume overhead and a configurable headroom, so a plan that fits fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from media.errors import GranuleTooLarge, MediaError
from media.layout import (
    ISO_FIXED,
    ISO_MAX_DIRECTORIES,
    UDF_FILE_LIMIT,
    Entry,
    GranuleItem,
    TextFile,
    VolumeFile,
    check_volume,
    fixed_entries,
    granule_entries,
    iso_entry_bytes,
    needs_udf,
    tar_entry_bytes,
    tar_stream_bytes,
    volume_entries,
)

DEFAULT_RECORD_SIZE = 128 * 1024


@dataclass(frozen=True)
class Medium:
    """A kind of medium: its name (as in the DN's MEDIA TYPE), capacity in bytes, and format."""

    name: str
    capacity: int
    kind: str  # "optical" (ISO image) or "tape" (tar stream)


CD = Medium("CDROM", 681_984_000, "optical")
DVD = Medium("DVD+R", 4_700_372_992, "optical")
DVD9 = Medium("DVD-9", 8_547_991_552, "optical")
BD = Medium("BD-R", 25_025_314_816, "optical")
MEDIA: dict[str, Medium] = {m.name: m for m in (CD, DVD, DVD9, BD)} | {"CD": CD, "DVD": DVD, "BD": BD}


def tape(capacity: int, name: str = "DLT") -> Medium:
    """A tape medium of the given native capacity (tapes differ: DLT, LTO-n)."""
    if capacity <= 0:
        raise MediaError(f"tape capacity must be positive, got {capacity}")
    return Medium(name, capacity, "tape")


@dataclass(frozen=True)
class VolumePlan:
    """One volume of a request: ``Media number of count``, its Media_ID and what goes on it."""

    number: int
    count: int
    media_id: str
    medium: Medium
    items: tuple[GranuleItem, ...]
    texts: tuple[TextFile, ...]
    planned_bytes: int

    @property
    def label(self) -> str:
        """The DN's ``Media k of n`` line."""
        return f"Media {self.number} of {self.count}"

    def entries(self) -> list[Entry]:
        return volume_entries(self.items, self.texts)

    def iter_entries(self) -> Iterator[Entry]:
        """``entries()`` one at a time, unchecked (the writers check names as they go): flat memory."""
        yield from fixed_entries(self.texts)
        for item in self.items:
            yield from granule_entries(item)

    @property
    def needs_udf(self) -> bool:
        """Whether a file of the volume needs UDF (4 GiB or more)."""
        return self.medium.kind == "optical" and any(f.size >= UDF_FILE_LIMIT for g in self.items for f in g.files)


def _joined(items: list[GranuleItem]) -> tuple[GranuleItem, ...]:
    """The items of one volume with the pieces of a granule (same key and directory) made one item."""
    out: dict[tuple[str, str], GranuleItem] = {}
    for item in items:
        seen = out.get((item.key, item.directory))
        out[(item.key, item.directory)] = item if seen is None else GranuleItem(
            item.key, item.directory, seen.files + item.files)
    return tuple(out.values())


def largest_file(medium: Medium, directory: str, name: str, *, headroom: float = 0.01,
                 texts: Iterable[TextFile] = (), record_size: int = DEFAULT_RECORD_SIZE) -> int:
    """The largest file (``directory/name``) that fits an otherwise empty volume with ``texts``: the size a
    bundle is cut to so that each part goes on a volume (found on the planner's own costs, by bisection)."""
    usable = int(medium.capacity * (1 - headroom))
    fixed = _cost(medium, volume_entries((), tuple(texts)))

    def fits(size: int) -> bool:
        item = GranuleItem("largest", directory, (VolumeFile(Path(name), name, size),))
        cost = _cost(medium, list(granule_entries(item)))
        return _Bin(medium, record_size, fixed).with_(cost) <= usable

    low, high = 0, usable + 1  # fits(low); not fits(high)
    if not fits(low):
        raise MediaError(f"not even an empty file fits one {medium.name} with its texts")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def media_id(request_id: str, number: int) -> str:
    """``<RequestID>_<VolumeID>`` with a three-digit VolumeID, e.g. ``0300018199_001``."""
    return f"{request_id}_{number:03d}"


@dataclass(frozen=True)
class _Cost:
    """What entries cost on a medium; it does not depend on the volume, so it is worked out once per granule."""

    base: int
    udf_extra: int
    udf: bool
    directories: int


def _cost(medium: Medium, entries: list[Entry]) -> _Cost:
    directories = sum(e.is_dir for e in entries)
    if medium.kind == "tape":
        return _Cost(sum(tar_entry_bytes(e) for e in entries), 0, False, directories)
    costs = [iso_entry_bytes(e) for e in entries]
    return _Cost(sum(c[0] for c in costs), sum(c[1] for c in costs), needs_udf(entries), directories)


class _Bin:
    """Running cost of one volume being filled."""

    def __init__(self, medium: Medium, record_size: int, fixed: _Cost) -> None:
        self.medium, self.record_size = medium, record_size
        self.items: list[GranuleItem] = []
        self.base = self.udf_extra = 0
        self.udf = False
        self.directories = 1  # the root (ISO 9660 path tables number directories in 16 bits)
        self.add(fixed)

    def total(self, base: int, udf_extra: int, udf: bool) -> int:
        if self.medium.kind == "tape":
            return tar_stream_bytes(base, self.record_size)
        return ISO_FIXED + base + (udf_extra if udf else 0)

    def add(self, cost: _Cost) -> None:
        self.base, self.udf_extra = self.base + cost.base, self.udf_extra + cost.udf_extra
        self.udf = self.udf or cost.udf
        self.directories += cost.directories

    def takes_directories(self, cost: _Cost) -> bool:
        """Whether the entries' directories still fit an optical volume's path tables (tapes have no limit)."""
        # one spare for the hidden RR_MOVED that a deep tree needs
        return self.medium.kind == "tape" or self.directories + cost.directories < ISO_MAX_DIRECTORIES

    def with_(self, cost: _Cost) -> int:
        return self.total(self.base + cost.base, self.udf_extra + cost.udf_extra, self.udf or cost.udf)

    @property
    def used(self) -> int:
        return self.total(self.base, self.udf_extra, self.udf)


def plan_volumes(
    request_id: str,
    granules: Sequence[GranuleItem],
    medium: Medium,
    *,
    headroom: float = 0.01,
    texts: Iterable[TextFile] = (),
    record_size: int = DEFAULT_RECORD_SIZE,
    rejected: list[GranuleTooLarge] | None = None,
) -> list[VolumePlan]:
    """Place granules on volumes, first fit in the given order (each volume keeps that order).

    ``headroom`` is the fraction of the capacity kept free. ``texts`` go on every
    volume (their size is charged on each). A granule larger than a volume raises
    GranuleTooLarge naming it, its size and the usable capacity — or, when the caller
    passes a ``rejected`` list, goes there (``.key`` names it) and the rest is planned.
    NameClash/BadName for bad layouts.
    """
    if not 0 <= headroom < 1:
        raise MediaError(f"headroom must be in [0, 1), got {headroom}")
    usable = int(medium.capacity * (1 - headroom))
    text_list = tuple(texts)
    fixed = _cost(medium, volume_entries((), text_list))
    bins: list[_Bin] = []
    after: dict[str, int] = {}  # a granule's next piece goes on the volume of its last piece or a later one
    for item in granules:
        cost = _cost(medium, list(granule_entries(item)))
        empty = _Bin(medium, record_size, fixed)
        alone = empty.with_(cost)
        if alone > usable or not empty.takes_directories(cost):
            too_large = GranuleTooLarge(
                f"granule {item.key} needs {alone:,} bytes on {medium.name}, more than one volume holds "
                f"({usable:,} bytes usable of {medium.capacity:,})" if alone > usable else
                f"granule {item.key} has {cost.directories:,} directories, more than an ISO 9660 "
                f"volume holds ({ISO_MAX_DIRECTORIES - 2:,} besides the root and RR_MOVED)"
            )
            if rejected is None:
                raise too_large
            too_large.key = item.key
            rejected.append(too_large)
            continue
        start = after.get(item.key, 0)
        target = next((b for b in bins[start:] if b.with_(cost) <= usable and b.takes_directories(cost)), None)
        if target is None:
            target = empty
            bins.append(target)
        target.add(cost)  # a later piece on the same volume is charged its directory again: an upper bound
        target.items.append(item)
        after[item.key] = bins.index(target)
    count = len(bins)
    plans = [
        VolumePlan(n, count, media_id(request_id, n), medium, _joined(b.items), text_list, b.used)
        for n, b in enumerate(bins, start=1)
    ]
    for p in plans:
        check_volume(p.items, p.texts)  # NameClash for duplicate directory numbers or paths on one volume
    return plans
