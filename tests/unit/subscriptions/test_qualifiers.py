"""Qualifier statements: parser errors, evaluation on every type, round trips and fuzzing."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.sample_data import MET_TEMPLATE
from distribution.errors import UserError
from distribution.inventory.metadata import GranuleMetadata, parse_odl
from distribution.subscriptions.qualifiers import (
    BoundingBox,
    QualifierError,
    evaluate,
    format_value,
    parse_qualifier,
    qualifier_list,
    qualifying_metadata,
)


@pytest.mark.parametrize(("text", "column", "message"), [
    ("", 1, "the statement is empty; expected an attribute name"),
    ("   ", 1, "the statement is empty"),
    ("QAPercentMissingData <", 23, "expected a value (a number, a \"string\" or an ISO date/time), "
                                   "found the end of the statement"),
    ('DayNightFlag = Day', 16, "found 'Day' (put strings in double quotes)"),
    ('DayNightFlag < "Day"', 14, "a string compares only with = or !=, not <"),
    ("A = 1 OR B = 2", 7, "only AND joins comparisons (ICD: \"ANDed together\"), found 'OR'"),
    ("NOT A = 1", 1, "expected an attribute name, found 'NOT'"),
    ("A = 1 B = 2", 7, "expected AND or the end of the statement, found 'B'"),
    ("A == 1", 4, "expected a value"),
    ("A is 1", 3, "expected an operator (= != < <= > >=) or OVERLAPS after 'A', found 'is'"),
    ("A =< 1", 4, "expected a value (a number, a \"string\" or an ISO date/time), found '<'"),
    ("A ~ 1", 3, "unexpected character '~'"),
    ('A = "open', 5, "string is not closed with a double quote"),
    ("A = 1 AND", 10, "expected an attribute name, found the end of the statement"),
    ("AND A = 1", 1, "expected an attribute name, found 'AND'"),
    ("RangeBeginningDateTime > 2002-13-01", 26, "2002-13-01 is not a valid date/time"),
    ("A = 1e999", 5, "number 1e999 is out of range"),
    ("X OVERLAPS (WEST = 1)", 3, "OVERLAPS applies to BoundingRectangle only, not 'X'"),
    ("BoundingRectangle OVERLAPS WEST = 1", 28, "expected '(', found 'WEST'"),
    ("BoundingRectangle OVERLAPS (WEST = 1, EAST = 2, NORTH = 3)", 58, "the box needs SOUTH too"),
    ("BoundingRectangle OVERLAPS (WEST = 1, WEST = 2)", 39, "WEST is given twice"),
    ("BoundingRectangle OVERLAPS (LEFT = 1)", 29, "expected WEST, SOUTH, EAST or NORTH, found 'LEFT'"),
    ("BoundingRectangle OVERLAPS (WEST = x)", 36, "expected a number of degrees for WEST, found 'x'"),
    ("BoundingRectangle OVERLAPS (WEST = 1 EAST = 2)", 38, "expected ',', found 'EAST'"),
    ("BoundingRectangle OVERLAPS (WEST=0, EAST=1, SOUTH=-91, NORTH=0)", 63, "SOUTH = -91 is outside -90..90"),
    ("BoundingRectangle OVERLAPS (WEST=0, EAST=181, SOUTH=0, NORTH=1)", 63, "EAST = 181 is outside -180..180"),
    ("BoundingRectangle OVERLAPS (WEST=0, EAST=1, SOUTH=10, NORTH=0)", 62, "SOUTH is north of NORTH"),
    ("BoundingRectangle < 3", 1, ""),  # a plain attribute of that name is allowed
])
def test_parser_errors_say_where_and_what_was_expected(text: str, column: int, message: str) -> None:
    if not message:
        assert parse_qualifier(text).terms[0].op == "<"
        return
    with pytest.raises(QualifierError) as info:
        parse_qualifier(text)
    assert isinstance(info.value, UserError)
    assert info.value.position == column
    assert message in str(info.value)
    assert str(info.value).startswith(f"qualifier statement, column {column}: ")


GRANULE = GranuleMetadata(
    local_granule_id="AM1EPHN0.A2002078.0000.001", begin_time=datetime(2002, 3, 19, 0, 0),
    end_time=datetime(2002, 3, 19, 1, 59, 59), west=-10.0, east=10.0, north=50.0, south=40.0,
    attributes={"QAPercentMissingData": 3, "CloudCover": 12.5, "DayNightFlag": "Day", "ParameterName": "Ephemeris",
                "ProcessingDate": "2002-03-20T10:00:00", "Flag": True})


@pytest.mark.parametrize(("text", "matched"), [
    # integer
    ("QAPercentMissingData < 10", True), ("QAPercentMissingData >= 3", True), ("QAPercentMissingData > 3", False),
    ("QAPercentMissingData = 3", True), ("QAPercentMissingData != 3", False), ("qapercentmissingdata <= 3", True),
    ("QAPercentMissingData < 3.5", True),
    # float
    ("CloudCover > 12.4", True), ("CloudCover <= 1.25e1", True), ("CloudCover < 12", False),
    ("CloudCover = 12.5", True),
    # string: equality without regard to case; != likewise
    ('DayNightFlag = "Day"', True), ('DayNightFlag = "DAY"', True), ('DayNightFlag = "Night"', False),
    ('DayNightFlag != "night"', True), ('DayNightFlag != "day"', False), ('DayNightFlag = "Day "', False),
    ('LocalGranuleID = "am1ephn0.a2002078.0000.001"', True),
    ('QAPercentMissingData = "3"', False),  # a number is not text
    # date/time: the granule's range, ISO text attributes, zones converted to UTC
    ("RangeBeginningDateTime >= 2002-03-19", True), ("RangeBeginningDateTime > 2002-03-19T00:00:00Z", False),
    ("RangeEndingDateTime < 2002-03-19T02:00", True), ("RangeEndingDateTime < 2002-03-19T03:00+02:00", False),
    ("RangeEndingDateTime <= 2002-03-19T01:59:59.000000", True),
    ("ProcessingDate > 2002-03-20T09:59:59Z", True), ("ProcessingDate < 2002-03-20", False),
    ("RangeEndingDateTime >= 2002-03-19T00:00Z AND RangeBeginningDateTime <= 2002-03-19T00:30Z", True),
    # spatial
    ("BoundingRectangle OVERLAPS (WEST = 0, SOUTH = 45, EAST = 20, NORTH = 60)", True),
    ("BoundingRectangle overlaps (north = 40, south = 30, east = -10, west = -20)", True),  # edges touch
    ("BoundingRectangle OVERLAPS (WEST = 11, SOUTH = 40, EAST = 20, NORTH = 50)", False),
    ("BoundingRectangle OVERLAPS (WEST = -10, SOUTH = 50.5, EAST = 10, NORTH = 60)", False),
    ("BoundingRectangle OVERLAPS (WEST = 170, SOUTH = -90, EAST = -5, NORTH = 90)", True),  # across 180°
    ("BoundingRectangle OVERLAPS (WEST = 170, SOUTH = -90, EAST = -11, NORTH = 90)", False),
    ("WestBoundingCoordinate = -10 AND NorthBoundingCoordinate > 49.9", True),
    # Name(Parameter): exact name, else Name when ParameterName is Parameter
    ("QAPercentMissingData(Ephemeris) < 10", True), ("QAPercentMissingData(Orbit) < 10", False),
    # missing, or not comparable: never a match
    ("NoSuchAttribute != 1", False), ('NoSuchAttribute != "x"', False), ("Flag = 1", False),
    ("DayNightFlag > 1", False), ("QAPercentMissingData > 2002-01-01", False),
    # AND: all terms must hold
    ('QAPercentMissingData < 10 AND DayNightFlag = "Day"', True),
    ('QAPercentMissingData < 10 AND DayNightFlag = "Night"', False),
])
def test_evaluation_on_every_type(text: str, matched: bool) -> None:
    result = evaluate(parse_qualifier(text), GRANULE)
    assert result.matched is matched
    assert bool(result) is matched


def test_match_reports_the_qualifying_attributes_and_values() -> None:
    q = parse_qualifier('QAPercentMissingData(Ephemeris) >= 1 AND QAPercentMissingData(Ephemeris) <= 100 AND '
                        'DayNightFlag = "day" AND RangeBeginningDateTime >= 2002-01-01 AND '
                        'BoundingRectangle OVERLAPS (WEST = 0, SOUTH = 0, EAST = 90, NORTH = 90) AND CloudCover < 20')
    result = evaluate(q, GRANULE)
    assert result.matched
    assert result.values == (
        ("QAPercentMissingData(Ephemeris)", 3), ("DayNightFlag", "Day"),
        ("RangeBeginningDateTime", datetime(2002, 3, 19)), ("BoundingRectangle", BoundingBox(-10, 40, 10, 50)),
        ("CloudCover", 12.5))
    assert qualifying_metadata(result) == [
        ("QAPercentMissingData(Ephemeris)", "3"), ("DayNightFlag", "Day"),
        ("RangeBeginningDateTime", "2002-03-19T00:00:00Z"),
        ("BoundingRectangle", "(WEST = -10, SOUTH = 40, EAST = 10, NORTH = 50)"), ("CloudCover", "12.5")]
    failed = evaluate(parse_qualifier('CloudCover < 20 AND Missing = 1'), GRANULE)
    assert not failed.matched and failed.values == (("CloudCover", 12.5),)


def test_a_granule_without_a_box_or_times_never_matches_them() -> None:
    bare = GranuleMetadata(attributes={"A": 1})
    for text in ("BoundingRectangle OVERLAPS (WEST = -180, SOUTH = -90, EAST = 180, NORTH = 90)",
                 "RangeBeginningDateTime > 1900-01-01", "RangeEndingDateTime < 2999-01-01"):
        assert not evaluate(parse_qualifier(text), bare).matched


def test_real_odl_metadata_with_upper_cased_names() -> None:
    met = MET_TEMPLATE.format(lgid="G1", produced="2002-03-20T00:00:00Z", daynight="Night",
                              begin=datetime(2002, 3, 19, 10), end=datetime(2002, 3, 19, 10, 5),
                              west=-75.5, north=40, east=-70, south=35.25, qa_missing=7)
    meta = parse_odl(met)
    assert "QAPERCENTMISSINGDATA" in meta.attributes
    q = parse_qualifier('QAPercentMissingData < 10 AND DayNightFlag = "night" AND '
                        "RangeBeginningDateTime >= 2002-03-19T10:00Z AND "
                        "BoundingRectangle OVERLAPS (WEST = -80, SOUTH = 30, EAST = -75.5, NORTH = 35.25)")
    result = evaluate(q, meta)
    assert result.matched
    assert dict(qualifying_metadata(result))["QAPercentMissingData"] == "7"


def test_qualifier_list_groups_ranges_as_the_icd_figure() -> None:
    q = parse_qualifier("QAPercentOutofBoundsData(Ephemeris) >= 1 AND QAPercentMissingData(Ephemeris) >= 1 AND "
                        "QAPercentOutofBoundsData(Ephemeris) <= 100 AND qapercentmissingdata(Ephemeris) <= 100 AND "
                        'DayNightFlag = "Day" AND CloudCover < 2.5e1 AND '
                        "BoundingRectangle OVERLAPS (WEST = -1, SOUTH = -2, EAST = 3.5, NORTH = 4)")
    assert qualifier_list(q) == [
        ("QAPercentOutofBoundsData(Ephemeris)", "min = 1; max = 100"),
        ("QAPercentMissingData(Ephemeris)", "min = 1; max = 100"),
        ("DayNightFlag", '= "Day"'), ("CloudCover", "< 2.5e1"),
        ("BoundingRectangle", "OVERLAPS (WEST = -1, SOUTH = -2, EAST = 3.5, NORTH = 4)")]


def test_literals_keep_their_text_and_strings_unescape() -> None:
    (term,) = parse_qualifier(r'Note = "say \"hi\" \\ bye"').terms
    assert term.value.value == 'say "hi" \\ bye'
    assert term.value.text == r'"say \"hi\" \\ bye"'
    assert evaluate(parse_qualifier(r'Note = "SAY \"HI\" \\ BYE"'),
                    GranuleMetadata(attributes={"note": 'say "hi" \\ bye'})).matched
    assert format_value(datetime(2002, 3, 19, 14, 28, 32)) == "2002-03-19T14:28:32Z"
    assert format_value(0.1) == "0.1" and format_value(7) == "7"


# --- round trips and fuzzing --------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}(\([A-Za-z0-9_.-]{1,10}\))?", fullmatch=True).filter(
    lambda n: n.upper() not in ("AND", "OR", "NOT", "OVERLAPS", "BOUNDINGRECTANGLE"))
numbers = st.one_of(st.integers(-10**6, 10**6).map(str),
                    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr))
strings = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=10).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.isoformat() + "Z")
comparisons = st.one_of(
    st.tuples(names, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), st.one_of(numbers, moments)),
    st.tuples(names, st.sampled_from(["=", "!="]), strings)).map(" ".join)
degrees = st.floats(-90, 90).map(lambda v: repr(round(v, 3)))
boxes = st.tuples(degrees, degrees, degrees, degrees).map(
    lambda b: f"BoundingRectangle OVERLAPS (WEST = {b[0]}, SOUTH = {min(b[1], b[3], key=float)}, EAST = {b[2]}, "
              f"NORTH = {max(b[1], b[3], key=float)})")
statements = st.lists(st.one_of(comparisons, boxes), min_size=1, max_size=5).map(" AND ".join)


@settings(max_examples=200, deadline=None)
@given(statements)
def test_canonical_text_round_trip(text: str) -> None:
    q = parse_qualifier(text)
    assert q.text == text
    assert parse_qualifier(q.text) == q
    assert parse_qualifier(text.replace(" AND ", "\n\tand  ")) == q


attribute_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                             st.datetimes(), moments)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), statements.map(lambda s: s[: len(s) // 2]),
                 st.lists(st.sampled_from(['A', '=', '"x"', 'AND', '(', ')', ',', '1', '2002-01-01', 'OVERLAPS',
                                           'BoundingRectangle', 'WEST', '<=', '"', '\\', '1e5']),
                          max_size=12).map(" ".join)),
       st.dictionaries(st.sampled_from(["A", "a", "B"]), attribute_values, max_size=3))
def test_any_text_parses_or_is_a_user_error_and_evaluation_never_raises(text: str, attributes: dict) -> None:
    try:
        q = parse_qualifier(text)
    except UserError:
        return
    result = evaluate(q, GranuleMetadata(attributes=attributes, west=0.0, east=1.0, south=0.0, north=1.0))
    assert isinstance(result.matched, bool)
    qualifying_metadata(result)
