"""The Subscription Event Notification against Figure 4.3.5-1 of the ICD, byte for byte."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.errors import UserError
from distribution.identifiers import GranuleRef, long_ur
from distribution.inventory.metadata import GranuleMetadata
from distribution.subscriptions.fields import MessageError
from distribution.subscriptions.messages import parse_request
from distribution.subscriptions.notification import (
    EventNotification,
    build_notification,
    notification_subject,
    parse_notification,
    render_notification,
)
from distribution.subscriptions.qualifiers import evaluate
from tests.unit.icd_source import GOLDEN, ICD, icd_text, single_spaced

FIGURE = EventNotification(
    "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[FN3:DSSDSRV]:21:SC:AM1EPHN0.001:25625", "AM1EPHN0", 1,
    "labuser", "test 37176", 210,
    (("QAPercentOutofBoundsData(Ephemeris)", "min = 1; max = 100"),
     ("QAPercentMissingData(Ephemeris)", "min = 1; max = 100")),
    (("QAPercentOutofBoundsData(Ephemeris)", "0"), ("QAPercentMissingData(Ephemeris)", "1")))
# The one deviation (see the notification module and tests/golden/README.md): the figure's
# tab runs come from a proportional font; Ardis aligns on 8-column tab stops.
FIGURE_TABS = {"Attribute" + "\t" * 20 + "Value \n": "Attribute" + "\t" * 4 + "Value \n",
               " QAPercentOutofBoundsData(Ephemeris)\t\t\t0 \n": " QAPercentOutofBoundsData(Ephemeris)\t0 \n",
               " QAPercentMissingData(Ephemeris)" + "\t" * 6 + "1 \n": " QAPercentMissingData(Ephemeris)\t1 \n"}


def golden() -> str:
    return (GOLDEN / "subscription_notification_example.txt").read_bytes().decode("ascii")


def test_figure_4_3_5_1_byte_for_byte_but_the_tab_runs() -> None:
    text = golden()
    for figure, ardis in FIGURE_TABS.items():
        assert text.count(figure) == 1
        text = text.replace(figure, ardis)
    assert render_notification(FIGURE) == text


def test_golden_file_parses_back_tab_runs_and_all() -> None:
    assert parse_notification(golden()) == FIGURE
    assert parse_notification(golden().replace("\n", "\r\n\r\n").replace(":  ", ": ")) == FIGURE


@pytest.mark.skipif(ICD is None, reason="ICD seeds not present")
def test_golden_file_is_the_icd_figure() -> None:
    raw = icd_text()
    figure = raw[raw.rindex("Subscription Notification:"): raw.rindex("Thank you for using the Earth Observing")]
    assert single_spaced(figure).rstrip("\n") + "\n" == golden()


def test_subject_and_event_name() -> None:
    assert notification_subject(FIGURE) == "Notification for Event: AM1EPHN0.1:INSERT"


def test_built_from_a_request_a_granule_and_its_match() -> None:
    """End to end: the request golden, a granule's metadata, the qualifier's verdict, the UR from identifiers."""
    request = parse_request((GOLDEN / "subscription_request_example.txt").read_text())
    meta = GranuleMetadata(attributes={"QAPERCENTOUTOFBOUNDSDATA": 2, "QAPERCENTMISSINGDATA": 1,
                                       "PARAMETERNAME": "Ephemeris"})
    match = evaluate(request.parsed_qualifier(), meta)
    assert match.matched
    ref = GranuleRef("AM1EPHN0", 1, 25625)
    notification = build_notification(ref, "FN3", request, 210, match)
    assert notification == replace(FIGURE, qualifying_metadata=(
        ("QAPercentOutofBoundsData(Ephemeris)", "2"), ("QAPercentMissingData(Ephemeris)", "1")))
    assert notification.granule_ur == long_ur(ref, "FN3") == FIGURE.granule_ur
    assert render_notification(notification) == render_notification(FIGURE).replace("\t0 \n", "\t2 \n")


def test_no_qualifier_keeps_both_headings() -> None:
    request = replace(parse_request((GOLDEN / "subscription_request_example.txt").read_text()), qualifier=None)
    notification = build_notification(GranuleRef("AM1EPHN0", 1, 7), "FN3", request, 3)
    text = render_notification(notification)
    assert text.endswith("Subscription ID:  3\nQualifier List:\nQualifying Metadata:\nAttribute\tValue \n")
    assert parse_notification(text) == notification


@pytest.mark.parametrize(("change", "field"), [
    ({"granule_ur": "UR:1 2"}, "UR"), ({"user_id": ""}, "User Information"), ({"user_string": "a\nb"}, "printable"),
    ({"user_string": " x"}, "User String"), ({"version_id": 256}, "version 1-255"),
    ({"qualifier_list": (("A B", "x"),)}, "Qualifier List"), ({"qualifying_metadata": (("A", ""),)}, "Metadata"),
    ({"qualifying_metadata": (("A", "a\tb"),)}, "printable"),
])
def test_writer_refuses_what_cannot_be_read_back(change, field) -> None:
    with pytest.raises(MessageError, match=field):
        render_notification(replace(FIGURE, **change))


@pytest.mark.parametrize(("text", "message"), [
    ("", "Subscription Notification: is missing"),
    ("Hello:\n", "line 1, Subscription Notification: expected 'Subscription Notification:' here"),
    ("Subscription Notification:\n", "UR: is missing"),
    ("Subscription Notification: : UR:x\nESDT Information:  X:INSERT\n", "line 2, ESDT Information: 'X:INSERT'"),
    ("Subscription Notification: UR:x\nESDT Information: X.1:INSERT\nUser Information: u\nUser String:\n"
     "Subscription ID: 21O\n", "line 5, Subscription ID: '21O' is not an integer"),
    (re.sub(r"(MissingData\(Ephemeris\))\t+", r"\1 ", golden()),
     "line 13, Qualifying Metadata: expected 'attribute<tab>value'"),
])
def test_parser_errors(text: str, message: str) -> None:
    with pytest.raises(MessageError) as info:
        parse_notification(text)
    assert message in str(info.value)


words = st.from_regex(r"[!-9;-~]{1,20}", fullmatch=True)
texts = st.from_regex(r"([!-~]([ -~]{0,30}[!-~])?)?", fullmatch=True)
notifications = st.builds(
    EventNotification, st.from_regex(r"UR:[!-~]{1,60}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True), st.integers(1, 255), words, texts,
    st.integers(0, 99999999),
    st.lists(st.tuples(words, texts), max_size=4).map(tuple),
    st.lists(st.tuples(words, texts.filter(bool)), max_size=4).map(tuple))


@settings(max_examples=200, deadline=None)
@given(notifications)
def test_round_trip(notification: EventNotification) -> None:
    assert parse_notification(render_notification(notification)) == notification


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200),
                 st.lists(st.sampled_from(golden().splitlines() + ["", "\t", " x: y", "a\tb\tc"]),
                          max_size=16).map("\n".join)))
def test_any_text_parses_or_is_a_user_error(text: str) -> None:
    try:
        parse_notification(text)
    except UserError:
        pass
