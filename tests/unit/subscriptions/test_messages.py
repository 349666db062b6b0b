"""Subscription request, acknowledgment, update and cancellation against ICD Tables 4.3.1-1 … 4.3.4-1."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.errors import UserError
from distribution.subscriptions.acknowledgment import Acknowledgment, parse_acknowledgment, render_acknowledgment
from distribution.subscriptions.fields import MessageError, Problem
from distribution.subscriptions.messages import (
    Distribution,
    FieldChange,
    SubscriptionCancellation,
    SubscriptionRequest,
    SubscriptionUpdate,
    User,
    apply_update,
    parse_cancellation,
    parse_request,
    parse_update,
    render_cancellation,
    render_request,
    render_update,
)
from tests.unit.icd_source import GOLDEN, ICD, icd_text

QUALIFIER = ("QAPercentOutofBoundsData(Ephemeris) >= 1 AND QAPercentOutofBoundsData(Ephemeris) <= 100 AND "
             "QAPercentMissingData(Ephemeris) >= 1 AND QAPercentMissingData(Ephemeris) <= 100")
LABUSER = User("labuser", "Lab", "User", "Q")
PUSH = SubscriptionRequest(
    LABUSER, "301-555-0100", "labuser@riverdale.com", "test 37176", "AM1EPHN0", 1,
    datetime(2002, 3, 19), datetime(2003, 3, 19, 23, 59), QUALIFIER,
    Distribution("FTP Push", "host.riverdale.com", "/usr/xx/yy/"))
DVD = SubscriptionRequest(
    User("labuser", "Lab", "User"), "301-555-0100", "labuser@riverdale.com", "L0 on DVD", "AM1EPHN0", 1,
    datetime(2002, 3, 19), datetime(2003, 3, 19, 23, 59), None, Distribution("Media", media_type="DVD"))
UPDATE = SubscriptionUpdate(LABUSER, 210, (FieldChange("expiration_date", "03/19/2003-23:59", "03/19/2004-23:59"),))
CANCEL = SubscriptionCancellation(LABUSER, 210)
ACCEPTED = Acknowledgment(PUSH, True, None, 210)
FAILED = Acknowledgment(PUSH, False, "matching subscribable event description could  not be found")


def golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("ascii")


@pytest.mark.parametrize(("name", "message", "render", "parse"), [
    ("subscription_request_example.txt", PUSH, render_request, parse_request),
    ("subscription_request_media_example.txt", DVD, render_request, parse_request),
    ("subscription_update_example.txt", UPDATE, render_update, parse_update),
    ("subscription_cancellation_example.txt", CANCEL, render_cancellation, parse_cancellation),
    ("subscription_ack_accepted_example.txt", ACCEPTED, render_acknowledgment, parse_acknowledgment),
    ("subscription_ack_failed_example.txt", FAILED, render_acknowledgment, parse_acknowledgment),
])
def test_golden_messages_byte_for_byte_and_back(name, message, render, parse) -> None:
    assert render(message) == golden(name)
    assert parse(golden(name)) == message


@pytest.mark.skipif(ICD is None, reason="ICD seeds not present")
def test_golden_labels_are_the_icd_table_cells() -> None:
    """Every fixed part of a golden line (label, blanks, Enable/INSERT/accepted) is printed so in the ICD."""
    text = icd_text()
    cells = ["User ID: ", "first name: ", "middle initial: ", "last name: ", "telephone: ", "Email Address: ",
             "notification text: ", "ESDT: ", "event:  INSERT", "FTP Push: Enable", "FTP Host: ",
             "FTP Destination: ", "Media: ", "start date: ", "expiration date: ", "status: accepted",
             "status:  failed; ", "SubscriptionID: ", "Update: ", "Update Expiration Date From: ",
             "Update Expiration Date To: ", "Cancel: ", "FTP Pull: Enable", "scp: Enable",
             "matching subscribable event description could  not be found"]
    for cell in cells:
        assert cell in text, cell
    written = {line.split(":")[0] for name in GOLDEN.glob("subscription_*_example.txt")
               if "notification" not in name.name for line in golden(name.name).splitlines()}
    assert written - {c.split(":")[0] for c in cells} == {"qualifier statement"}  # the one row without a cell


def test_subjects() -> None:
    assert ACCEPTED.subject == "L0 Data Subscription Request Acknowledgment"
    assert UPDATE.subject == "L0 Data Subscription Request Update"
    assert CANCEL.subject == "L0 Data Subscription Request Cancellation"
    ack = parse_acknowledgment(golden("subscription_ack_accepted_example.txt"), "Standing order Acknowledgment")
    assert ack.original.subject == "Standing order"


def test_labels_any_case_blanks_and_order_crlf() -> None:
    lines = golden("subscription_request_example.txt").splitlines()
    shuffled = [lines[-1], *reversed(lines[:-1])]
    text = "\r\n".join(re.sub(r"^([^:]+):\s*", lambda m: m.group(1).upper() + ":   ", line) for line in shuffled)
    assert parse_request("\n" + text + "\r\n\r\n") == PUSH


def _problems(text: str, parse=parse_request) -> list[str]:
    with pytest.raises(MessageError) as info:
        parse(text)
    assert isinstance(info.value, UserError)
    return [str(p) for p in info.value.problems]


def test_every_problem_is_reported_together_with_field_line_and_limit() -> None:
    text = golden("subscription_request_example.txt")
    text = text.replace("User ID: labuser", "User ID: labuser12345")
    text = text.replace("telephone: 301-555-0100", "telephone: (301) 555")
    text = text.replace("ESDT: AM1EPHN0.001", "ESDT: AM1EPHN0.001X")
    text = text.replace("start date: 03/19/2002-00:00", "start date: 2002-03-19")
    text = text.replace("event:  INSERT", "event: DELETE")
    assert _problems(text) == [
        "line 1, User ID: 'labuser12345' is 12 characters; at most 8",
        "line 5, telephone: '(301) 555' is not digits and hyphens",
        "line 8, ESDT: 'AM1EPHN0.001X' is 13 characters; at most 12",
        "line 9, event: 'DELETE' is not INSERT (the only subscribable event)",
        "line 13, start date: '2002-03-19' is not MM/DD/YYYY-HH:MM",
    ]
    assert str(MessageError("subscription request", [Problem("ESDT", 8, "x"), Problem("event", None, "y")])) == \
        "subscription request: line 8, ESDT: x; event: y"


@pytest.mark.parametrize(("edit", "message"), [
    (("User ID: labuser\n", ""), "User ID: is required"),
    (("User ID: labuser", "User ID: "), "line 1, User ID: is empty"),
    (("User ID: labuser", "User ID: lab_user"), "'lab_user' is not letters and digits"),
    (("first name: Lab", "first name: " + "L" * 21), "is 21 characters; at most 20"),
    (("middle initial: Q", "middle initial: QR"), "'QR' is 2 characters; at most 1"),
    (("last name: User", "last name: Us3r"), "'Us3r' is not alphabetic"),
    (("Email Address: labuser@riverdale.com", "Email Address: labuser"), "is not an e-mail address"),
    (("notification text: test 37176", "notification text: " + "t" * 256), "256 characters; at most 255"),
    (("notification text: test 37176", "notification text: caf\u00e9"), "printable ASCII"),
    (("ESDT: AM1EPHN0.001", "ESDT: AM1EPHN0.256"), "not ShortName.VersionID"),
    (("FTP Host: host.riverdale.com\n", ""), "FTP Host: is required with FTP Push"),
    (("FTP Push: Enable", "FTP Pull: Enable"), "line 11, FTP Host: is given only with FTP Push or scp"),
    (("FTP Push: Enable", "FTP Push: Yes"), "'Yes' is not Enable"),
    (("FTP Push: Enable", "FTP Push: Enable\nMedia: DLT"), "Media: only one distribution option"),
    (("FTP Push: Enable", "FTP Push: Enable\nMedia: 8mm"), "'8mm' is not one of DLT, CD-ROM, DVD"),
    (("FTP Destination: /usr/xx/yy/", "FTP Destination: /" + "d" * 255 + "/f"), "the path is 256 characters"),
    (("FTP Destination: /usr/xx/yy/", "FTP Destination: /" + "d" * 1023), "at most 1023"),
    (("expiration date: 03/19/2003-23:59", "expiration date: 02/30/2003-23:59"), "not a real date"),
    (("expiration date: 03/19/2003-23:59", "expiration date: 03/18/2002-23:59"), "is after the expiration"),
    (("qualifier statement: QA", "qualifier statement: QA = Day AND QA"), "statement: column 6: expected a value"),
    (("qualifier statement: QA", "qualifier statement: " + "Q" * 1004 + " = 1 AND QA"), "at most 1003"),
    (("ESDT: AM1EPHN0.001", "ESDT: AM1EPHN0.001\nESDT: AM1EPHN0.002"), "line 9, ESDT: given twice (first on line 8)"),
    (("ESDT: AM1EPHN0.001", "ESDT: AM1EPHN0.001\nPriority: high"), "line 9, Priority: not a field of"),
    (("ESDT: AM1EPHN0.001", "ESDT: AM1EPHN0.001\nRegards"), "line 9, message: not a 'field: value' line"),
])
def test_request_rules(edit: tuple[str, str], message: str) -> None:
    text = golden("subscription_request_example.txt").replace(*edit, 1)
    assert any(message in p for p in _problems(text)), _problems(text)


def test_limits_are_inclusive_and_scp_and_pull_and_no_option() -> None:
    request = replace(PUSH, user=User("ABCDEFGH", "F" * 20, "L" * 20), notification_text="n" * 255,
                      telephone="1" * 22, distribution=Distribution("scp", "h" * 79, "/" + "d" * 253 + "/f"))
    assert parse_request(render_request(request)) == request
    for dist in (Distribution("FTP Pull"), None, Distribution("Media", media_type="CD-ROM")):
        assert parse_request(render_request(replace(PUSH, distribution=dist))) == replace(PUSH, distribution=dist)
    assert "FTP Pull: Enable\n" in render_request(replace(PUSH, distribution=Distribution("FTP Pull")))


@pytest.mark.parametrize(("change", "message"), [
    ({"user": User("toolongid9", "A", "B")}, "at most 8"),
    ({"notification_text": "two\nlines"}, "printable ASCII"),
    ({"notification_text": " padded"}, "would read back as 'padded'"),
    ({"start": datetime(2002, 3, 19, 0, 0, 30)}, "would read back"),
    ({"distribution": Distribution("Media", media_type="dvd")}, "would read back"),
    ({"distribution": Distribution("Carrier pigeon")}, "unknown method"),
])
def test_writer_refuses_what_the_parser_would_not_give_back(change, message) -> None:
    with pytest.raises(MessageError, match=message):
        render_request(replace(PUSH, **change))


def test_update_yields_changes_validated_like_the_request() -> None:
    text = golden("subscription_update_example.txt") + (
        "Update Qualifier Statement From: " + QUALIFIER + "\nUpdate Qualifier Statement To:\n"
        "Update FTP Host From: host.riverdale.com\nUpdate FTP Host To: ftp.riverdale.com\n")
    update = parse_update(text)
    assert update.changes == (
        FieldChange("expiration_date", "03/19/2003-23:59", "03/19/2004-23:59"),
        FieldChange("qualifier", QUALIFIER, ""), FieldChange("ftp_host", "host.riverdale.com", "ftp.riverdale.com"))
    assert parse_update(render_update(update)) == update
    applied = apply_update(PUSH, update)
    assert applied == replace(PUSH, expiration=datetime(2004, 3, 19, 23, 59), qualifier=None,
                              distribution=replace(PUSH.distribution, host="ftp.riverdale.com"))


@pytest.mark.parametrize(("extra", "message"), [
    ("Update Start Date From: 03/19/2002-00:00\n", "Update Start Date To: is missing (line 8 has"),
    ("Update ESDT From: AM1EPHN0.001\nUpdate ESDT To: AM1EPHN0.002\n", "cannot be updated"),
    ("Update Media From: DLT\nUpdate Media To: Tape\n", "line 9, Update Media To: 'Tape' is not one of"),
    ("Update Telephone From: 301-555-0100\nUpdate Telephone To:\n", "Telephone may not be empty"),
    ("ESDT: AM1EPHN0.001\n", "line 8, ESDT: not a field of a subscription update"),
])
def test_update_problems(extra: str, message: str) -> None:
    problems = _problems(golden("subscription_update_example.txt") + extra, parse_update)
    assert any(message in p for p in problems), problems


def test_update_needs_id_and_a_change() -> None:
    assert _problems("User ID: labuser\nfirst name: Lab\nlast name: User\n", parse_update) == [
        "Update: is required (the Subscription ID)", "Update <field> From/To: at least one change is required"]
    assert "Update: 'x210' is not an integer of 1-8 digits" in _problems(
        golden("subscription_update_example.txt").replace("Update: 210", "Update: x210"), parse_update)[0]


def test_apply_update_checks_from_values_and_the_result() -> None:
    wrong = SubscriptionUpdate(LABUSER, 210, (FieldChange("expiration_date", "01/01/2003-00:00", "03/19/2004-23:59"),))
    with pytest.raises(MessageError, match="is not the subscription's current value '03/19/2003-23:59'"):
        apply_update(PUSH, wrong)
    early = SubscriptionUpdate(LABUSER, 210, (FieldChange("expiration_date", "03/19/2003-23:59", "01/01/2001-00:00"),))
    with pytest.raises(MessageError, match="start date: is after the expiration date"):
        apply_update(PUSH, early)
    unhost = SubscriptionUpdate(LABUSER, 210, (FieldChange("ftp_host", "host.riverdale.com", ""),))
    with pytest.raises(MessageError, match="FTP Host: is required with FTP Push"):
        apply_update(PUSH, unhost)
    stranger = replace(UPDATE, user=User("other", "O", "P"))
    with pytest.raises(MessageError, match="'other' is not the subscriber 'labuser'"):
        apply_update(PUSH, stranger)
    respaced = SubscriptionUpdate(LABUSER, 1, (FieldChange("qualifier", QUALIFIER.replace(" AND ", "  and "), ""),))
    assert apply_update(PUSH, respaced).qualifier is None
    with pytest.raises(MessageError, match="event: cannot be updated"):
        apply_update(PUSH, SubscriptionUpdate(LABUSER, 1, (FieldChange("event", "INSERT", "DELETE"),)))
    media = SubscriptionUpdate(LABUSER, 1, (FieldChange("media", "dvd", "CD-ROM"),))
    assert apply_update(DVD, media).distribution == Distribution("Media", media_type="CD-ROM")


def test_cancellation_with_the_original_request() -> None:
    with_original = SubscriptionCancellation(LABUSER, 210, PUSH)
    text = render_cancellation(with_original)
    assert text == golden("subscription_request_example.txt") + "Cancel: 210\n"
    assert parse_cancellation(text) == with_original
    assert "Cancel: is required" in _problems("User ID: labuser\nfirst name: Lab\nlast name: User\n",
                                              parse_cancellation)[0]
    with pytest.raises(MessageError, match="same user"):
        render_cancellation(SubscriptionCancellation(User("x", "Y", "Z"), 210, PUSH))


def test_acknowledgments_of_update_and_cancellation() -> None:
    for original in (UPDATE, CANCEL, SubscriptionCancellation(DVD.user, 7, DVD)):
        for ack in (Acknowledgment(original, True, None, 99999999), Acknowledgment(original, False, "no such ID", 1)):
            assert parse_acknowledgment(render_acknowledgment(ack)) == ack


@pytest.mark.parametrize(("ack", "message"), [
    (Acknowledgment(PUSH, True), "carries the SubscriptionID"),
    (Acknowledgment(PUSH, True, "fine", 1), "has no reason"),
    (Acknowledgment(PUSH, False, ""), "needs a reason"),
    (Acknowledgment(PUSH, False, "r" * 240), "at most 239"),
    (Acknowledgment(PUSH, False, "x", 123456789), "1-8 digits"),
])
def test_acknowledgment_writer_rules(ack: Acknowledgment, message: str) -> None:
    with pytest.raises(MessageError, match=message):
        render_acknowledgment(ack)


def test_acknowledgment_parser_problems() -> None:
    body = golden("subscription_request_example.txt")
    assert _problems(body, parse_acknowledgment) == ["status: is required"]
    assert _problems(body + "status: accepted\n", parse_acknowledgment) == [
        "SubscriptionID: is required when the status is accepted"]
    assert _problems(body + "status: maybe\n", parse_acknowledgment) == [
        "line 16, status: must be 'accepted' or 'failed; <reason>'"]
    assert parse_acknowledgment(body + "Status: FAILED;no\n").reason == "no"


# --- round trips and fuzzing --------------------------------------------------------------------

words = st.from_regex(r"[A-Za-z]([A-Za-z .'-]{0,18}[A-Za-z.'-])?", fullmatch=True)
free = st.from_regex(r"[!-~]([ -~]{0,60}[!-~])?", fullmatch=True)
minutes = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0))
users = st.builds(User, st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True), words, words,
                  st.one_of(st.none(), st.from_regex(r"[A-Za-z]", fullmatch=True)))
hosts = st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True)
paths = st.from_regex(r"/[!-~]{0,80}", fullmatch=True)
distributions = st.one_of(
    st.none(), st.just(Distribution("FTP Pull")),
    st.builds(Distribution, st.sampled_from(["FTP Push", "scp"]), hosts, paths),
    st.builds(lambda m: Distribution("Media", media_type=m), st.sampled_from(["DLT", "CD-ROM", "DVD"])))
qualifiers = st.one_of(st.none(), st.sampled_from([QUALIFIER, 'DayNightFlag = "Day"', "A < 1.5e3 AND B >= -2",
                                                   "RangeBeginningDateTime > 2002-03-19T14:28:32Z"]))


@st.composite
def requests(draw: st.DrawFn) -> SubscriptionRequest:
    start, end = sorted((draw(minutes), draw(minutes)))
    return SubscriptionRequest(
        draw(users), draw(st.from_regex(r"[0-9-]{0,10}[0-9]", fullmatch=True)),
        draw(st.from_regex(r"[a-z0-9._]{1,20}@[a-z0-9.-]{1,20}", fullmatch=True)), draw(free),
        draw(st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True)), draw(st.integers(1, 255)), start, end,
        draw(qualifiers), draw(distributions))


@settings(max_examples=150, deadline=None)
@given(requests())
def test_request_round_trip(request: SubscriptionRequest) -> None:
    assert parse_request(render_request(request)) == request


_DATES = st.builds(lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d}-{d.hour:02d}:{d.minute:02d}", minutes)
changes = st.one_of(
    st.builds(FieldChange, st.sampled_from(["start_date", "expiration_date"]), _DATES, _DATES),
    st.builds(FieldChange, st.just("notification_text"), free, free),
    st.builds(FieldChange, st.sampled_from(["qualifier"]), qualifiers.map(lambda q: q or ""),
              qualifiers.map(lambda q: q or "")),
    st.builds(FieldChange, st.just("media"), st.sampled_from(["DLT", "DVD", ""]), st.sampled_from(["CD-ROM", ""])),
)


@settings(max_examples=100, deadline=None)
@given(users, st.integers(0, 99999999), st.lists(changes, min_size=1, max_size=4, unique_by=lambda c: c.field),
       st.one_of(st.none(), free), requests())
def test_update_cancellation_and_ack_round_trip(user, number, change_list, reason, request) -> None:
    update = SubscriptionUpdate(user, number, tuple(change_list))
    assert parse_update(render_update(update)) == update
    cancellation = SubscriptionCancellation(request.user, number, request if number % 2 else None)
    assert parse_cancellation(render_cancellation(cancellation)) == cancellation
    for original in (update, cancellation, request):
        ack = Acknowledgment(original, reason is None, reason, number if reason is None or number % 3 else None)
        assert parse_acknowledgment(render_acknowledgment(ack)) == ack


field_lines = st.lists(st.one_of(
    st.sampled_from(golden("subscription_request_example.txt").splitlines()
                    + golden("subscription_update_example.txt").splitlines()
                    + ["Cancel: 1", "status: accepted", "SubscriptionID: 3", "status:  failed; x", "Media: DVD"]),
    st.text(max_size=40)), max_size=25).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), field_lines), st.text(max_size=20))
def test_any_text_parses_or_is_a_user_error(text: str, subject: str) -> None:
    for parse in (parse_request, parse_update, parse_cancellation, parse_acknowledgment):
        try:
            parse(text, subject)
        except UserError:
            pass
