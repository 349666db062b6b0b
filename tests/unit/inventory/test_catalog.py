"""Inventory search for the portal (``distribution.inventory.catalog``)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from distribution.inventory.archive import granule_ur
from distribution.inventory.catalog import FieldErrors, granule_detail, parse_search, search_granules, user_groups
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.errors import NotFound
from distribution.models import Granule
from distribution.time import utcnow


def _archive(settings: Settings, tmp_path: Path) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 256)]


def _search(settings: Settings, groups: set[str] | None = None, **fields: str) -> tuple[list[str], int]:
    with session_scope(settings.database_url) as session:
        page = search_granules(session, settings, parse_search(fields), groups)
        return [g.local_granule_id for g in page.granules], page.total


def test_search_by_collection_time_text_and_qualifier(settings: Settings, tmp_path: Path) -> None:
    _archive(settings, tmp_path)
    everything, total = _search(settings)
    assert total == 4 and len(everything) == 4
    assert everything[0].startswith("MOD13A1")  # newest first
    assert _search(settings, collection="ast_l1bt.001")[1] == 2
    # The samples begin an hour apart from 2002-05-03T11:00 and last five minutes.
    assert _search(settings, begin="2002-05-03T12:02", end="2002-05-03T13:01")[0] == [
        "AST_L1BT_00305042002163000_13684", "AST_L1BT_00305042002163000_13683"]
    assert _search(settings, end="2002-05-02")[1] == 0
    assert _search(settings, text="13684")[0] == ["AST_L1BT_00305042002163000_13684"]
    assert _search(settings, text="a%")[1] == 0  # LIKE wildcards are plain text
    with session_scope(settings.database_url) as session:
        flags = [{k.lower(): v for k, v in g.attributes.items()}["daynightflag"] for g in session.query(Granule)]
    night = sum(1 for flag in flags if flag.lower() == "night")
    assert 0 < night < 4
    assert _search(settings, qualifier='DayNightFlag = "night"')[1] == night
    assert _search(settings, qualifier='DayNightFlag = "night"', collection="MOD09GHK.003")[1] <= 1
    names, total = _search(settings, page_size="10", page="2")
    assert (names, total) == ([], 4)


def test_search_by_ur(settings: Settings, tmp_path: Path) -> None:
    urs = _archive(settings, tmp_path)
    assert _search(settings, text=urs[1])[0] == ["AST_L1BT_00305042002163000_13683"]
    assert _search(settings, text="UR:nonsense")[1] == 0


def test_bad_search_fields_are_named() -> None:
    with pytest.raises(FieldErrors) as caught:
        parse_search({"collection": "nodot", "begin": "yesterday", "end": "2002-01-01",
                      "qualifier": "A = 1 OR B = 2", "page": "x"})
    assert set(caught.value.errors) == {"collection", "begin", "qualifier", "page"}
    with pytest.raises(FieldErrors) as caught:
        parse_search({"begin": "2002-02-01", "end": "2002-01-01"})
    assert set(caught.value.errors) == {"end"}


def test_proprietary_granules_only_for_their_group(settings: Settings, tmp_path: Path) -> None:
    urs = _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        granules = session.query(Granule).order_by(Granule.id).all()
        granules[0].public_release_date = utcnow().date() + timedelta(days=30)
        granules[0].owner_group = "pi-team"
        granules[1].public_release_date = date(2001, 1, 1)  # released: public
        granules[1].owner_group = "other"
    assert _search(settings, groups=set())[1] == 3
    assert _search(settings, groups=user_groups("x, pi-team"))[1] == 4
    assert _search(settings, groups=None)[1] == 4  # an operator
    with session_scope(settings.database_url) as session:
        with pytest.raises(NotFound):
            granule_detail(session, settings, urs[0], set())
        detail = granule_detail(session, settings, urs[0], {"pi-team"})
        assert detail["summary"].proprietary_until is not None  # type: ignore[attr-defined]
        assert [f["type"] for f in detail["files"]] == ["SCIENCE", "METADATA"]  # type: ignore[index]


def test_the_newest_version_unless_every_version_is_asked_for(settings: Settings, tmp_path: Path) -> None:
    """ICD: no version is ever deleted; a search shows the newest of each granule, ``versions=all`` every one."""
    first = _archive(settings, tmp_path / "v1")
    again = _archive(settings, tmp_path / "v2")  # the same LocalGranuleIDs archived again: version 2 of each
    assert set(first).isdisjoint(again)
    names, total = _search(settings)
    assert total == 4 and len(set(names)) == 4
    with session_scope(settings.database_url) as session:
        shown = search_granules(session, settings, parse_search({}), None).granules
        assert {g.ur for g in shown} == set(again)
    assert _search(settings, versions="all")[1] == 8
    assert _search(settings, text="13684")[0] == ["AST_L1BT_00305042002163000_13684"]


def _boxes(settings: Settings, tmp_path: Path) -> list[str]:
    """Four granules with known boxes: over Europe, over the antimeridian (170E..170W), over Hawaii, none."""
    _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        granules = session.query(Granule).order_by(Granule.id).all()
        for g, box in zip(granules, [(0.0, 20.0, 60.0, 40.0), (170.0, -170.0, 10.0, -10.0),
                                     (-161.0, -154.0, 23.0, 18.0), (None, None, None, None)]):
            g.west, g.east, g.north, g.south = box
        return [g.local_granule_id or "" for g in granules]


def test_search_by_bounding_box_and_across_the_antimeridian(settings: Settings, tmp_path: Path) -> None:
    europe, dateline, hawaii, _ = _boxes(settings, tmp_path)
    box = {"west": "10", "east": "30", "north": "50", "south": "45"}
    assert _search(settings, **box)[0] == [europe]
    assert _search(settings, **{**box, "north": "39", "south": "30"})[1] == 0  # south of it
    # A box crossing the antimeridian (175E .. 160W) meets both the dateline granule and Hawaii's.
    assert sorted(_search(settings, west="175", east="-160", north="30", south="-5")[0]) == sorted([dateline, hawaii])
    # A box inside the granule that itself crosses: 178E..179E and -175..-172
    assert _search(settings, west="178", east="179", north="1", south="0")[0] == [dateline]
    assert _search(settings, west="-175", east="-172", north="1", south="0")[0] == [dateline]
    # Both cross: always meet in longitude.
    assert _search(settings, west="179", east="-179", north="1", south="0")[0] == [dateline]
    assert _search(settings, west="-150", east="-100", north="90", south="-90")[1] == 0
    assert _search(settings, west="-180", east="180", north="90", south="-90")[1] == 3  # no box: never matched


def test_bad_boxes_and_sorts_are_named() -> None:
    for fields, names in [({"west": "10"}, {"east", "north", "south"}),
                          ({"west": "181", "east": "0", "north": "1", "south": "0"}, {"west"}),
                          ({"west": "0", "east": "1", "north": "1", "south": "2"}, {"south"}),
                          ({"west": "x", "east": "1", "north": "91", "south": "0"}, {"west", "north"}),
                          ({"sort": "colour", "order": "up"}, {"sort", "order"})]:
        with pytest.raises(FieldErrors) as caught:
            parse_search(fields)
        assert set(caught.value.errors) == names, fields


def test_sort_by_time_size_and_id_both_ways(settings: Settings, tmp_path: Path) -> None:
    _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        rows = [(g.id, g.begin_time, sum(f.size for f in g.files), g.local_granule_id)
                for g in session.query(Granule)]
    for sort, key in [("time", 1), ("size", 2), ("id", 0)]:
        expected = [r[3] for r in sorted(rows, key=lambda r: (r[key], r[0]))]
        assert _search(settings, sort=sort, order="asc")[0] == expected, sort
        assert _search(settings, sort=sort, order="desc")[0] == expected[::-1], sort
    assert len({r[2] for r in rows}) == 4  # the sizes differ, so the size order is a real test


def test_counts_stop_at_the_limit_and_every_result_up_to_a_limit(settings: Settings, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from distribution.inventory import catalog
    _archive(settings, tmp_path)
    monkeypatch.setattr(catalog, "COUNT_LIMIT", 3)
    with session_scope(settings.database_url) as session:
        page = search_granules(session, settings, parse_search({}), None)
        assert (page.total, page.truncated, len(page.granules)) == (3, True, 4)
        ids = catalog.matching_ids(session, parse_search({"sort": "id", "order": "asc"}), None, 3)
        assert ids == sorted(g.id for g in session.query(Granule))[:3]
        night = catalog.matching_ids(session, parse_search({"qualifier": 'DayNightFlag = "night"'}), None, 10)
        assert len(night) == _search(settings, qualifier='DayNightFlag = "night"')[1]


def test_the_index_box_search_finds_what_the_plain_comparisons_find(settings: Settings, tmp_path: Path) -> None:
    """On PostgreSQL the box search goes through the GiST index (``box_overlaps_plane``); for 300 granule boxes
    and 300 search boxes, crossing the antimeridian or not, touching at the edges or not, it finds exactly the
    granules the plain comparisons (``box_overlaps``, SQLite's path) find."""
    import random

    from sqlalchemy import select, text

    from distribution.inventory.catalog import box_overlaps, box_overlaps_plane
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the GiST path is PostgreSQL's")
    _archive(settings, tmp_path)
    rng = random.Random(13)

    def box() -> tuple[float, float, float, float]:
        west, east = (rng.choice([-180, -175, -10, 0, 170, 175, 179.5, 180]) if rng.random() < 0.3
                      else rng.uniform(-180, 180) for _ in range(2))
        south = rng.uniform(-90, 80)
        return west, east, min(90.0, south + rng.choice([0.0, 5.0, 40.0])), south

    with session_scope(settings.database_url) as session:
        template = session.query(Granule).first()
        assert template is not None
        for _ in range(300):
            west, east, north, south = box()
            session.add(Granule(collection_id=template.collection_id, local_granule_id=None, west=west,
                                east=east, north=north, south=south, attributes={}))
        session.flush()
        for _ in range(300):
            query = box()
            plain = set(session.scalars(select(Granule.id).where(box_overlaps(query))))
            plane = set(session.scalars(select(Granule.id).where(box_overlaps_plane(query))))
            assert plane == plain, (query, sorted(plane ^ plain))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.execute(text("EXPLAIN " + str(select(Granule.id).where(box_overlaps_plane(
            (170.0, -170.0, 10.0, -10.0))).compile(session.get_bind(), compile_kwargs={"literal_binds": True}))))
                         .scalars())
        assert "ix_granules_box" in plan, plan  # the expression is the index's, as written in models


def test_a_granules_size_is_stored_when_archived_and_the_size_sort_can_use_its_index(
        settings: Settings, tmp_path: Path) -> None:
    from sqlalchemy import text

    from distribution.inventory.catalog import search_statement
    _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        for g in session.query(Granule):
            assert g.total_size == sum(f.size for f in g.files) > 0, g.local_granule_id
        if settings.database_url.startswith("postgresql"):
            session.execute(text("SET LOCAL enable_seqscan = off"))
            stmt = search_statement(parse_search({"sort": "size", "order": "desc",
                                                  "collection": "MOD09GHK.003"}), set(), "postgresql").limit(25)
            plan = "\n".join(session.execute(text("EXPLAIN " + str(stmt.compile(
                session.get_bind(), compile_kwargs={"literal_binds": True})))).scalars())
            assert "ix_granules_collection_size" in plan or "ix_granules_size" in plan, plan
