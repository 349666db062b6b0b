"""The Subscription Event Notification (ICD 4.3.5, Table 4.3.5-1, Figure 4.3.5-1).

Sent by e-mail when an inserted granule satisfies a subscription; written as the
figure's text (kept at the end of the ICD file) prints it::

    Subscription Notification:
    UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[FN3:DSSDSRV]:21:SC:AM1EPHN0.001:25625
    ESDT Information:  AM1EPHN0.1:INSERT
    User Information:  labuser
    User String:  test 37176
    Subscription ID:  210
    Qualifier List:
     QAPercentMissingData(Ephemeris):  min = 1; max = 100
    Qualifying Metadata:
    Attribute<tabs>Value<blank>
     QAPercentMissingData(Ephemeris)<tabs>1<blank>

Two blanks after the colons, one blank before each list entry and one after each
value, as printed. Decisions:

* The event is ``ShortName.VersionID:INSERT`` with the version as a plain integer
  (``AM1EPHN0.1``), as the figure's ESDT Information line writes it; the subject
  ``Notification for Event: <ESDT Shortname.version>:INSERT`` uses the same name.
  The UR keeps its three-digit version (distribution.identifiers.long_ur).
* The figure's value column is aligned with runs of tabs that only a
  proportional font explains (20, 3 and 6 tabs); Ardis aligns values on the
  first 8-column tab stop after the longest name. Readers split on tab runs.
* No qualifier: the two list headings stay, with no entries under them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from distribution.identifiers import GranuleRef, long_ur
from distribution.subscriptions.fields import MessageError, Problem, printable
from distribution.subscriptions.messages import SubscriptionRequest
from distribution.subscriptions.qualifiers import QualifierMatch, qualifier_list, qualifying_metadata

HEADER = ("Attribute", "Value")


@dataclass(frozen=True)
class EventNotification:
    """Table 4.3.5-1; the two lists are (attribute, text) pairs as the notice prints them."""

    granule_ur: str
    short_name: str
    version_id: int
    user_id: str
    user_string: str
    subscription_id: int
    qualifier_list: tuple[tuple[str, str], ...] = ()
    qualifying_metadata: tuple[tuple[str, str], ...] = ()

    @property
    def event(self) -> str:
        return f"{self.short_name}.{self.version_id}:INSERT"


def notification_subject(notification: EventNotification) -> str:
    return f"Notification for Event: {notification.event}"


def build_notification(ref: GranuleRef, site: str, request: SubscriptionRequest, subscription_id: int,
                       match: QualifierMatch | None = None) -> EventNotification:
    """The notification for one inserted granule (``site`` names its server, as in ``[FN3:DSSDSRV]``)."""
    qualifier = request.parsed_qualifier()
    return EventNotification(
        long_ur(ref, site), ref.short_name, ref.version_id, request.user.user_id, request.notification_text,
        subscription_id, tuple(qualifier_list(qualifier)) if qualifier else (),
        tuple(qualifying_metadata(match)) if match else ())


def _tabs(length: int, column: int) -> str:
    return "\t" * (column // 8 - length // 8)


def _problems(n: EventNotification) -> list[Problem]:
    problems = []
    texts = [n.granule_ur, n.short_name, n.user_id, n.user_string, *(t for pair in n.qualifier_list for t in pair),
             *(t for pair in n.qualifying_metadata for t in pair)]
    if any(printable(t) for t in texts):
        problems.append(Problem("notification", None, "every value must be printable ASCII on one line"))
    for field, value in (("UR", n.granule_ur), ("ESDT", n.short_name), ("User Information", n.user_id)):
        if not re.fullmatch(r"[!-~]+", value) or (field == "ESDT" and ":" in value):
            problems.append(Problem(field, None, f"{value!r} must be one word"))
    if n.user_string != n.user_string.strip(" "):
        problems.append(Problem("User String", None, "may not start or end with blanks"))
    if not 1 <= n.version_id <= 255 or not 0 <= n.subscription_id <= 99999999:
        problems.append(Problem("ESDT Information", None, "version 1-255, Subscription ID up to 8 digits"))
    for heading, pairs in (("Qualifier List", n.qualifier_list), ("Qualifying Metadata", n.qualifying_metadata)):
        for name, text in pairs:
            empty = not text and heading == "Qualifying Metadata"
            if not re.fullmatch(r"[^\s:]+", name) or text != text.strip() or empty:
                problems.append(Problem(heading, None, f"entry {name!r}: {text!r} cannot be written and read back"))
    return problems


def render_notification(n: EventNotification) -> str:
    """The notification body (Figure 4.3.5-1); the subject is notification_subject(n)."""
    problems = _problems(n)
    if problems:
        raise MessageError("subscription notification", problems)
    lines = ["Subscription Notification:", n.granule_ur, f"ESDT Information:  {n.event}",
             f"User Information:  {n.user_id}", f"User String:  {n.user_string}",
             f"Subscription ID:  {n.subscription_id}", "Qualifier List:"]
    lines += [f" {name}:  {text}" for name, text in n.qualifier_list]
    lines.append("Qualifying Metadata:")
    rows = [(" " + name, value) for name, value in n.qualifying_metadata]
    column = (max(len(name) for name, _ in [HEADER, *rows]) // 8 + 1) * 8
    lines += [f"{name}{_tabs(len(name), column)}{value} " for name, value in [HEADER, *rows]]
    return "".join(line + "\n" for line in lines)


def _fail(line: int | None, field: str, message: str) -> MessageError:
    return MessageError("subscription notification", [Problem(field, line, message)])


def parse_notification(text: str) -> EventNotification:
    """Read a notification; blanks after colons and tab runs may vary, blank lines are skipped."""
    lines = [(i, raw.rstrip(" \t")) for i, raw in enumerate(re.split(r"\r\n|\r|\n", text), 1) if raw.strip()]
    pos = 0

    def heading(name: str) -> tuple[int, str]:
        nonlocal pos
        if pos >= len(lines):
            raise _fail(None, name, "is missing")
        number, line = lines[pos]
        label, colon, value = line.partition(":")
        if not colon or label.strip().lower() != name.lower():
            raise _fail(number, name, f"expected '{name}:' here, found {line[:60]!r}")
        pos += 1
        return number, value.strip(" \t")

    number, ur = heading("Subscription Notification")
    ur = ur.lstrip(": ")
    if not ur:
        if pos >= len(lines):
            raise _fail(None, "UR", "is missing")
        number, ur = lines[pos]
        pos += 1
    ur = ur.strip()
    number, esdt = heading("ESDT Information")
    m = re.fullmatch(r"([!-9;-~]+)\.(\d{1,3}):INSERT", esdt)
    if not m or not 1 <= int(m.group(2)) <= 255:
        raise _fail(number, "ESDT Information", f"{esdt!r} is not ShortName.VersionID:INSERT")
    _, user_id = heading("User Information")
    _, user_string = heading("User String")
    number, sid = heading("Subscription ID")
    if not re.fullmatch(r"\d{1,8}", sid):
        raise _fail(number, "Subscription ID", f"{sid!r} is not an integer of 1-8 digits")
    heading("Qualifier List")
    qualifiers = []
    while pos < len(lines) and lines[pos][1].startswith((" ", "\t")):
        number, line = lines[pos]
        name, colon, value = line.strip().partition(":")
        if not colon:
            raise _fail(number, "Qualifier List", f"entry {line.strip()!r} has no colon")
        qualifiers.append((name.strip(), value.strip()))
        pos += 1
    heading("Qualifying Metadata")
    metadata = []
    if pos < len(lines) and re.fullmatch(r"Attribute\s+Value", lines[pos][1].strip(), re.I):
        pos += 1
    for number, line in lines[pos:]:
        parts = re.split(r"\t+", line.strip(" "))
        if len(parts) != 2:
            raise _fail(number, "Qualifying Metadata", f"expected 'attribute<tab>value', found {line.strip()!r}")
        metadata.append((parts[0].strip(), parts[1].strip()))
    return EventNotification(ur, m.group(1), int(m.group(2)), user_id, user_string, int(sid),
                             tuple(qualifiers), tuple(metadata))
