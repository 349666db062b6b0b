"""Searching the inventory: what the order portal (and scripts through its API) ask of the archive.

A search names any of: a collection (``ShortName.VVV``), a time range (a granule
matches when its [begin, end] overlaps it), free text (a part of the
LocalGranuleID, or a UR), a bounding box (``west``/``east``/``north``/``south``
in degrees; ``west > east`` crosses the antimeridian) matched against the
granule's own box (stored at insert, so the database filters it), and a
qualifier in the subscription qualifier language (``QAPercentMissingData < 50
AND DayNightFlag = "Day"``; ``distribution.subscriptions.qualifiers``). Results
are newest first unless sorted by time, size or id (ascending or descending),
one page at a time, with a count (counted up to COUNT_LIMIT, then "more than");
the newest version of each granule unless every version is asked for
(``versions=all``).

Data rights: a granule whose ``public_release_date`` lies in the future is
proprietary and shown only to members of its ``owner_group`` (and to operators,
who pass ``groups=None``); the rule is ``distribution.inventory.rights``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Select, and_, case, exists, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from distribution.inventory.archive import find_granule, granule_ur
from distribution.inventory.rights import access_clause, proprietary_until, user_groups
from distribution.config import Settings
from distribution.errors import NotFound, UserError
from distribution.identifiers import parse_esdt, parse_ur
from distribution.models import Collection, Granule
from distribution.subscriptions.dispatch import granule_metadata
from distribution.subscriptions.qualifiers import Qualifier, evaluate, parse_qualifier
from distribution.time import utcnow

__all__ = ["COUNT_LIMIT", "SORTS", "FieldErrors", "GranuleSummary", "SearchPage", "SearchQuery", "box_overlaps",
           "collections", "granule_detail", "matching_ids", "parse_search", "search_granules", "search_statement",
           "summaries", "user_groups", "visible_granule"]

PAGE_SIZES = (10, 25, 50, 100)
#: How many granules a qualifier search reads at most (the qualifier is applied to each in turn).
QUALIFIER_SCAN_LIMIT = 20_000
#: A result count stops here ("more than 10,000"): counting a million rows is what makes a search slow.
COUNT_LIMIT = 10_000
#: What results may be sorted by (``sort``), each ascending or descending (``order``).
SORTS = ("inserted", "time", "size", "id")
BOX_SIDES = ("west", "east", "north", "south")


class FieldErrors(UserError):
    """Form input refused, with a message per field (``errors``: field name → message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SearchQuery:
    collection: str = ""
    begin: datetime | None = None
    end: datetime | None = None
    text: str = ""
    qualifier: Qualifier | None = None
    page: int = 1
    page_size: int = 25
    #: Every version of a granule (``versions=all``); by default only the newest of each (ICD: none is deleted)
    all_versions: bool = False
    #: (west, east, north, south) in degrees; west > east crosses the antimeridian
    box: tuple[float, float, float, float] | None = None
    sort: str = "inserted"
    descending: bool = True


@dataclass(frozen=True)
class GranuleSummary:
    ur: str
    collection: str
    local_granule_id: str
    begin: datetime | None
    end: datetime | None
    inserted: datetime
    files: int
    size: int
    proprietary_until: date | None


@dataclass
class SearchPage:
    query: SearchQuery
    granules: list[GranuleSummary] = field(default_factory=list)
    total: int = 0
    #: True when a qualifier search stopped after QUALIFIER_SCAN_LIMIT granules, or the count at COUNT_LIMIT
    #: (the total is a lower bound).
    truncated: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))


def _moment(text: str, end_of_day: bool) -> datetime:
    """An ISO date or date/time; naive times are UTC (as the inventory's), a zone is converted to UTC."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise UserError("a date (2002-03-19) or date and time (2002-03-19T14:28:00)") from e
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _box(fields: Mapping[str, str], errors: dict[str, str]) -> tuple[float, float, float, float] | None:
    """The bounding box of the four fields, all or none; each wrong side named."""
    given = {k: fields.get(k, "").strip() for k in BOX_SIDES}
    if not any(given.values()):
        return None
    sides: dict[str, float] = {}
    for name, text in given.items():
        limit = 180.0 if name in ("west", "east") else 90.0
        try:
            sides[name] = float(text)
        except ValueError:
            errors[name] = f"degrees from -{limit:g} to {limit:g}" if text else "give all four sides of the box"
            continue
        if not -limit <= sides[name] <= limit:
            errors[name] = f"degrees from -{limit:g} to {limit:g}"
    if len(sides) < 4:
        return None
    if sides["south"] > sides["north"]:
        errors["south"] = "the south side is north of the north side"
        return None
    return sides["west"], sides["east"], sides["north"], sides["south"]


def parse_search(fields: Mapping[str, str]) -> SearchQuery:
    """A search from form fields (``collection``, ``begin``, ``end``, ``text``, ``qualifier``, ``west``,
    ``east``, ``north``, ``south``, ``sort``, ``order``, ``page``, ``page_size``, ``versions=all``);
    FieldErrors names each field that is wrong."""
    errors: dict[str, str] = {}
    box = _box(fields, errors)
    sort = fields.get("sort", "").strip().lower() or "inserted"
    if sort not in SORTS:
        errors["sort"] = "one of " + ", ".join(SORTS)
    order = fields.get("order", "").strip().lower() or "desc"
    if order not in ("asc", "desc"):
        errors["order"] = "asc or desc"
    collection = fields.get("collection", "").strip()
    if collection:
        try:
            parse_esdt(collection)
        except UserError as e:
            errors["collection"] = str(e)
    moments: dict[str, datetime | None] = {"begin": None, "end": None}
    for name in moments:
        if value := fields.get(name, "").strip():
            try:
                moments[name] = _moment(value, end_of_day=name == "end")
            except UserError as e:
                errors[name] = str(e)
    if moments["begin"] and moments["end"] and moments["begin"] > moments["end"]:
        errors["end"] = "the end is before the beginning"
    qualifier = None
    if text := fields.get("qualifier", "").strip():
        try:
            qualifier = parse_qualifier(text)
        except UserError as e:
            errors["qualifier"] = str(e)
    free = fields.get("text", "").strip()
    if len(free) > 200:
        errors["text"] = "at most 200 characters"
    try:
        page = max(1, int(fields.get("page") or 1))
        size = int(fields.get("page_size") or 25)
    except ValueError:
        errors["page"] = "a whole number"
        page, size = 1, 25
    if errors:
        raise FieldErrors(errors)
    return SearchQuery(collection.upper() if collection else "", moments["begin"], moments["end"], free,
                       qualifier, page, size if size in PAGE_SIZES else 25,
                       all_versions=fields.get("versions", "").strip().lower() == "all", box=box, sort=sort,
                       descending=order == "desc")


def _visible(groups: set[str] | None) -> list[ColumnElement[bool]]:
    return access_clause(groups, utcnow())


def box_overlaps(box: tuple[float, float, float, float]) -> ColumnElement[bool]:
    """Granules whose box overlaps ``box``; either may cross the antimeridian (west > east)."""
    west, east, north, south = box
    latitude = and_(Granule.south <= north, Granule.north >= south)
    crossing = Granule.west > Granule.east
    if west <= east:  # a granule crossing the antimeridian covers [west, 180] and [-180, east]
        # -180 and 180 are one meridian: a box ending there meets a granule beginning on the other side
        seam = ([Granule.east == 180.0] if west == -180.0 else []) + ([Granule.west == -180.0] if east == 180.0 else [])
        longitude = or_(and_(~crossing, or_(and_(Granule.west <= east, Granule.east >= west), *seam)),
                        and_(crossing, or_(Granule.west <= east, Granule.east >= west)))
    else:  # the box covers [west, 180] and [-180, east]: a crossing granule always meets it in longitude
        longitude = or_(crossing, Granule.east >= west, Granule.west <= east)
    return and_(latitude, longitude)


def _granule_box() -> ColumnElement[Any]:
    """``models.GRANULE_BOX_SQL`` as an expression PostgreSQL matches to ``ix_granules_box`` (the literal 360
    must stay a constant in the SQL, not a parameter, for the planner to see the index's expression)."""
    unrolled = case((Granule.west > Granule.east, Granule.east + literal_column("360")), else_=Granule.east)
    return func.box(func.point(Granule.west, Granule.south), func.point(unrolled, Granule.north))


def box_overlaps_plane(box: tuple[float, float, float, float]) -> ColumnElement[bool]:
    """``box_overlaps`` for PostgreSQL through the GiST index: both boxes unrolled past 180° when they cross
    the antimeridian, then the search box tried as it is and shifted by ±360° (both begin in [-180, 180], so
    no other turn can meet); the same granules as ``box_overlaps`` (tests/unit/inventory/test_catalog.py)."""
    west, east, north, south = box
    east = east + 360 if west > east else east
    granule = _granule_box()
    return or_(*(granule.op("&&")(func.box(func.point(west + turn, south), func.point(east + turn, north)))
                 for turn in (-360.0, 0.0, 360.0)))


def _ordering(query: SearchQuery) -> list[Any]:
    key = {"inserted": Granule.inserted_at, "time": Granule.begin_time, "size": Granule.total_size,
           "id": Granule.id}[query.sort]
    if query.descending:
        return [key.desc(), Granule.id.desc()]
    return [key.asc(), Granule.id.asc()]


def _after_longest(begin: datetime) -> ColumnElement[bool]:
    """A granule ending after ``begin`` began at most the longest granule's span before it: a lower bound on
    ``begin_time`` that lets the index answer a time search (the span is the max of an index, ``ix_granules_span``;
    PostgreSQL only, where timestamps subtract to intervals)."""
    other = aliased(Granule)
    span = select(func.max(func.coalesce(other.end_time, other.begin_time) - other.begin_time)).scalar_subquery()
    return or_(Granule.begin_time >= literal(begin, DateTime) - span, Granule.begin_time.is_(None))


def _filtered(query: SearchQuery, groups: set[str] | None, dialect: str = "") -> Select[tuple[Granule]]:
    stmt = select(Granule).join(Collection).where(*_visible(groups))
    if not query.all_versions:  # the newest version of each LocalGranuleID
        newer = aliased(Granule)
        stmt = stmt.where(~exists().where(newer.collection_id == Granule.collection_id,
                                          newer.local_granule_id == Granule.local_granule_id,
                                          newer.granule_version > Granule.granule_version))
    if query.collection:
        short, version = parse_esdt(query.collection)
        stmt = stmt.where(func.upper(Collection.short_name) == short.upper(), Collection.version_id == version)
    if query.begin:
        stmt = stmt.where(func.coalesce(Granule.end_time, Granule.begin_time) >= query.begin)
        if dialect == "postgresql":
            stmt = stmt.where(_after_longest(query.begin))
    if query.end:
        stmt = stmt.where(Granule.begin_time <= query.end)
    if query.box:
        stmt = stmt.where(box_overlaps_plane(query.box) if dialect == "postgresql" else box_overlaps(query.box))
    if query.text:
        ids = []
        if query.text.startswith(("UR:", "SC:")):
            try:
                ids.append(Granule.id == parse_ur(query.text).db_id)
            except UserError:
                ids.append(Granule.id == -1)
        pattern = "%" + query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Granule.local_granule_id.ilike(pattern, escape="\\"), *ids))
    return stmt


def _summary(granule: Granule, settings: Settings) -> GranuleSummary:
    until = proprietary_until(granule, utcnow())
    return GranuleSummary(granule_ur(granule, settings), granule.collection.esdt, granule.local_granule_id or "",
                          granule.begin_time, granule.end_time, granule.inserted_at, len(granule.files),
                          granule.total_size, until)  # stored when archived (migration 0018)


def search_statement(query: SearchQuery, groups: set[str] | None, dialect: str = "") -> Select[tuple[Granule]]:
    """The granules ``query`` finds for ``groups``, in its order (no page), for the database ``dialect``."""
    return _filtered(query, groups, dialect).order_by(*_ordering(query))


def search_granules(session: Session, settings: Settings, query: SearchQuery,
                    groups: set[str] | None) -> SearchPage:
    """One page of the granules ``query`` finds that a member of ``groups`` may see (None: every granule)."""
    dialect = session.get_bind().dialect.name
    stmt = _filtered(query, groups, dialect)
    newest = search_statement(query, groups, dialect)
    offset = (query.page - 1) * query.page_size
    page = SearchPage(query)
    if query.qualifier is None:
        counted = session.scalar(select(func.count()).select_from(
            stmt.with_only_columns(Granule.id).limit(COUNT_LIMIT + 1).subquery())) or 0
        page.total, page.truncated = min(counted, COUNT_LIMIT), counted > COUNT_LIMIT
        rows = session.scalars(newest.options(selectinload(Granule.files), selectinload(Granule.collection))
                               .offset(offset).limit(query.page_size)).all()
        page.granules = [_summary(g, settings) for g in rows]
        return page
    matched: list[Granule] = []
    scanned = 0
    for granule in session.scalars(newest.limit(QUALIFIER_SCAN_LIMIT).execution_options(yield_per=500)):
        scanned += 1
        if evaluate(query.qualifier, granule_metadata(granule)):
            matched.append(granule)
    page.truncated = scanned >= QUALIFIER_SCAN_LIMIT
    page.total = len(matched)
    page.granules = [_summary(g, settings) for g in matched[offset:offset + query.page_size]]
    return page


def matching_ids(session: Session, query: SearchQuery, groups: set[str] | None, limit: int) -> list[int]:
    """The ids of the first ``limit`` granules ``query`` finds (in its order): "add every result" to a cart."""
    stmt = search_statement(query, groups, session.get_bind().dialect.name)
    if query.qualifier is None:
        return list(session.scalars(stmt.with_only_columns(Granule.id).limit(limit)))
    found: list[int] = []
    for granule in session.scalars(stmt.limit(QUALIFIER_SCAN_LIMIT).execution_options(yield_per=500)):
        if len(found) >= limit:
            break
        if evaluate(query.qualifier, granule_metadata(granule)):
            found.append(granule.id)
    return found


def summaries(session: Session, settings: Settings, ids: list[int], groups: set[str] | None) -> list[GranuleSummary]:
    """The granules of ``ids`` that ``groups`` may see, in the order of ``ids``."""
    found = {g.id: g for g in session.scalars(select(Granule).where(Granule.id.in_(ids), *_visible(groups))
                                               .options(selectinload(Granule.files),
                                                        selectinload(Granule.collection)))}
    return [_summary(found[i], settings) for i in ids if i in found]


def visible_granule(session: Session, reference: str, groups: set[str] | None) -> Granule:
    """The granule a UR (or ESDT:LocalGranuleID) names, if a member of ``groups`` may see it; NotFound otherwise
    (a proprietary granule is not told apart from a missing one)."""
    granule = find_granule(session, reference)
    if groups is not None and session.scalar(select(Granule.id).where(Granule.id == granule.id,
                                                                      *_visible(groups))) is None:
        raise NotFound(f"no granule {reference.strip()}")
    return granule


def granule_detail(session: Session, settings: Settings, reference: str, groups: set[str] | None) -> dict[str, object]:
    """What the granule page shows: identity, dates, bounding box, attributes and files."""
    g = visible_granule(session, reference, groups)
    summary = _summary(g, settings)
    return {
        "summary": summary,
        "box": {"west": g.west, "east": g.east, "north": g.north, "south": g.south},
        "attributes": dict(sorted((g.attributes or {}).items())),
        "version": g.granule_version,
        "files": [{"name": f.name, "type": f.file_type, "size": f.size,
                   "checksum": f"{f.checksum_type}:{f.checksum_value}" if f.checksum_type else ""} for f in g.files],
    }


def collections(session: Session) -> list[str]:
    """Every collection's ESDT, sorted."""
    return sorted(c.esdt for c in session.scalars(select(Collection)))
