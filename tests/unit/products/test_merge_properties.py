"""Property tests of the merge semantics: priority, grouping by source order, selection patterns, DID round trip."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distribution.errors import UserError
from distribution.products.dictionary import DictionaryEntry, KeywordDictionary, parse_did, render_did
from distribution.products.merge import (
    KeywordClass,
    Kw,
    apply_rules,
    merge_keywords,
    parse_pattern,
    selected,
    source_keywords,
)
from distribution.products.spec import KeywordFilter, KeywordTransform, parse_location

TOKENS = st.sampled_from(["INS", "TEMP1", "TEMP2", "TEMP3", "DET", "MODE", "VAL", "TEL", "AIRM"])
ESO_NAMES = st.lists(TOKENS, min_size=1, max_size=3).map(" ".join)
VALUE_NAMES = st.sampled_from(["ORIGIN", "OBJECT", "TELESCOP", "VALUEKW", "DATE-OBS"])


@st.composite
def keywords(draw: st.DrawFn, source: str) -> list[Kw]:
    items = draw(st.lists(st.one_of(
        ESO_NAMES.map(lambda n: (KeywordClass.ESO, n)),
        VALUE_NAMES.map(lambda n: (KeywordClass.VALUE, n)),
        st.sampled_from(["COMMENT", "HISTORY"]).map(lambda n: (KeywordClass.COMMENTARY, n)),
    ), max_size=12))
    return [Kw(kind, name, f"{source}-{i}", "", source) for i, (kind, name) in enumerate(items)]


SOURCES = st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.tuples(*[keywords(f"s{i}") for i in range(n)]))


@given(SOURCES)
def test_highest_priority_value_wins_and_appears_once(groups: tuple[list[Kw], ...]) -> None:
    merged = merge_keywords(groups)
    values = [k for k in merged if k.kind is not KeywordClass.COMMENTARY]
    assert len({k.identity for k in values}) == len(values)
    for k in values:
        first = next(x for g in groups for x in g if x.identity == k.identity)
        assert k == first  # the earliest (highest-priority) source's keyword
    assert {k.identity for k in values} == {x.identity for g in groups for x in g
                                            if x.kind is not KeywordClass.COMMENTARY}


@given(SOURCES)
def test_value_then_commentary_each_grouped_by_source_order(groups: tuple[list[Kw], ...]) -> None:
    merged = merge_keywords(groups)
    kinds = [k.kind is KeywordClass.COMMENTARY for k in merged]
    assert kinds == sorted(kinds)  # every value keyword before every commentary keyword
    order = [int(k.source[1:]) for k in merged]
    split = kinds.count(False)
    assert order[:split] == sorted(order[:split]) and order[split:] == sorted(order[split:])
    commentary = [k for g in groups for k in g if k.kind is KeywordClass.COMMENTARY]
    assert merged[split:] == commentary  # none is overwritten, none lost


PATTERNS = st.lists(st.tuples(st.sampled_from("+-"), st.sampled_from("evc"),
                              st.sampled_from(["INS *", "INS TEMP[12] *", "*", "TEL ?IRM *", "ORIGIN", "COMMENT",
                                               "DET*"])).map(lambda t: f"{t[0]}{t[1]} {t[2]}"), max_size=5)


@given(keywords("s"), PATTERNS)
def test_filter_is_patterns_applied_in_order_to_a_set(kws: list[Kw], patterns: list[str]) -> None:
    chosen: set[int] = set()
    for text in patterns:
        sign, kind, glob = text[0], KeywordClass(text[1]), text[3:]
        hits = {i for i, k in enumerate(kws) if k.kind is kind and fnmatchcase(k.name, glob)}
        chosen = chosen | hits if sign == "+" else chosen - hits
    kept = apply_rules(kws, [KeywordFilter(tuple(patterns))])
    assert kept == [k for i, k in enumerate(kws) if i in chosen]


@given(keywords("s"))
def test_transform_renames_only_selected_eso_keywords(kws: list[Kw]) -> None:
    out = apply_rules(kws, [KeywordTransform(("+e INS *", "-e INS TEMP[12] *"), "^INS ", "INS2 ")])
    for before, after in zip(kws, out, strict=True):
        pats = [parse_pattern("+e INS *"), parse_pattern("-e INS TEMP[12] *")]
        expected = "INS2 " + before.name[4:] if selected(before, pats) else before.name
        assert after.name == expected and after.value == before.value


def test_transform_format_groups_as_ecmascript() -> None:
    kw = Kw(KeywordClass.ESO, "DET CHIP1 ID", 1)
    assert apply_rules([kw], [KeywordTransform(("+e DET *",), r"^DET CHIP(\d+)", "DET$1 CHIP")])[0].name == \
        "DET1 CHIP ID"


@pytest.mark.parametrize("text", ["+x INS", "+e", "e INS *", "+eINS", "+e  "])
def test_bad_selection_patterns_are_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_pattern(text)


def test_structural_keywords_are_the_targets_and_a_keyword_source_may_not_set_them() -> None:
    kws = [Kw(KeywordClass.VALUE, n, 1, "", "x") for n in ("SIMPLE", "NAXIS1", "BZERO", "CHECKSUM", "ORIGIN")]
    assert [k.name for k in source_keywords(kws, target=True)] == ["SIMPLE", "NAXIS1", "BZERO", "ORIGIN"]
    assert [k.name for k in source_keywords(kws, target=False)] == ["ORIGIN"]
    with pytest.raises(UserError, match="keyword NAXIS1 from source x"):
        source_keywords(kws, target=False, given=True)


@pytest.mark.parametrize(("text", "host", "path"), [
    ("fcs-host:/path/to/somefile.fits", "fcs-host", "/path/to/somefile.fits"),
    ("localhost:/data/a.fits", "", "/data/a.fits"),
    ("/data/a:b.fits", "", "/data/a:b.fits"),
    ("ops@dcs:/x.fits", "dcs", "/x.fits"),
])
def test_locations(text: str, host: str, path: str) -> None:
    loc = parse_location(text)
    assert (loc.host, loc.path) == (host, path)


NAMES = st.lists(st.sampled_from(["TEL", "AIRM", "START", "INS", "TEMPi", "VAL", "DET", "CHIPj"]),
                 min_size=1, max_size=4).map(" ".join)
ENTRIES = st.builds(DictionaryEntry, name=NAMES, type=st.sampled_from(["logical", "integer", "double", "string"]),
                    value_format=st.sampled_from(["", "%.3f", "%d", "%s"]), unit=st.sampled_from(["", "deg"]),
                    comment_format=st.sampled_from(["", "Airmass at start"]), klass=st.sampled_from(["", "header"]),
                    description=st.sampled_from(["", "A long description of the keyword."]))


@given(st.lists(ENTRIES, max_size=6, unique_by=lambda e: e.name))
def test_did_round_trip(entries: list[DictionaryEntry]) -> None:
    d = KeywordDictionary("ESO-ELT-DIC.TEST")
    for e in entries:
        d.add(e)
    back = parse_did(render_did(d))
    assert back.name == d.name and back.entries == d.entries


def test_did_index_placeholders_and_continuation_lines() -> None:
    d = parse_did("Dictionary Name: X\n\nParameter Name: DET CHIPi TEMPj\nType: double\n"
                  "Description: first line\n   second line\n")
    entry = d.lookup("DET CHIP12 TEMP3")
    assert entry is not None and entry.description == "first line second line"
    assert d.lookup("DET CHIPX TEMP3") is None
    assert entry.check("warm") == "'warm' is not a double" and entry.check(3) is None and entry.check(True)
