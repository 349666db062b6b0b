"""The ``label: value`` lines of the subscription e-mails and the rules of their fields (ICD 4.3.1-4.3.4).

Every size in Tables 4.3.1-1 … 4.3.4-1 counts "a content category, a colon, 1
blank, and a value string", so the limit on a value is the table's size minus its
label, colon and blank:

=================  ======  ==================  ==========================================
field              table   value limit         content
=================  ======  ==================  ==========================================
User ID            17 B    8                   letters and digits (the table says so)
first name         32 B    20                  letters (and blank, ``-``, ``'``, ``.``)
middle initial     17 B    1                   one letter; optional (not everyone has one)
last name          31 B    20                  as first name
telephone          33 B    22                  digits and hyphens
Email Address      --      254                 ``local@domain`` (RFC 5321's limit; the table gives none)
notification text  374 B   255                 free text ("including 255 B of free text")
ESDT               18 B    12                  ``ShortName.VVV``
event              13 B    ``INSERT``
FTP Host           89 B    79                  host name or address
FTP Destination    1040 B  1023, path <= 254   (footnote 3)
Media              13 B    DLT, CD-ROM, DVD
start date         28 B    ``MM/DD/YYYY-HH:MM``
expiration date    33 B    ``MM/DD/YYYY-HH:MM``
qualifier stmt.    1024 B  1003                see qualifiers.py (the table shows no label;
                                               Ardis writes ``qualifier statement:``)
Subscription ID    16 B    8 digits            ``Update: NNNNNNNN``, ``Cancel: NNNNNNNN``
=================  ======  ==================  ==========================================

Labels are matched without regard to case or blanks (``Email address``,
``SubscriptionID``, ``Subscription ID``); values lose surrounding blanks. Every
value is printable ASCII on one line. Blank lines are ignored; any other line that
is not a known field is an error, so a mistyped label is never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from distribution.errors import UserError
from distribution.identifiers import parse_esdt
from distribution.subscriptions.qualifiers import QualifierError, parse_qualifier

DATE_FORMAT = "%m/%d/%Y-%H:%M"
MEDIA_TYPES = ("DLT", "CD-ROM", "DVD")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a message: the field (as the ICD names it), the line (1-based) and why."""

    field: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}"


class MessageError(UserError):
    """A subscription e-mail that breaks the ICD's rules; every problem found is reported at once."""

    def __init__(self, what: str, problems: list[Problem]) -> None:
        super().__init__(f"{what}: " + "; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Line:
    number: int
    key: str  # the label lower-cased without blanks: "userid", "updateexpirationdatefrom"
    label: str  # as written
    value: str


def label_key(label: str) -> str:
    return re.sub(r"\s+", "", label).lower()


def read_lines(text: str, problems: list[Problem]) -> list[Line]:
    """Split a body into field lines; a line without a colon is a problem, blank lines are skipped."""
    out: list[Line] = []
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        if not raw.strip():
            continue
        label, colon, value = raw.partition(":")
        if not colon or not label.strip():
            problems.append(Problem("message", number, f"not a 'field: value' line: {_clip(raw)!r}"))
            continue
        out.append(Line(number, label_key(label), label.strip(), value.strip(" \t")))
    return out


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def printable(value: str) -> str | None:
    if re.search(r"[^\x20-\x7e]", value):
        return "must be printable ASCII on one line"
    return None


def _limit(n: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return f"{_clip(value)!r} is {len(value)} characters; at most {n}" if len(value) > n else None
    return check


def _pattern(regex: str, what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if re.fullmatch(regex, value) else f"{_clip(value)!r} is not {what}"
    return check


def _esdt(value: str) -> str | None:
    try:
        parse_esdt(value)
    except UserError:
        return f"{value!r} is not ShortName.VersionID (version 001-255)"
    return None


def _date(value: str) -> str | None:
    if not re.fullmatch(r"\d{2}/\d{2}/\d{4}-\d{2}:\d{2}", value):
        return f"{_clip(value)!r} is not MM/DD/YYYY-HH:MM"
    try:
        datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        return f"{value!r} is not a real date and time"
    return None


def _qualifier(value: str) -> str | None:
    try:
        parse_qualifier(value)
    except QualifierError as e:
        return f"column {e.position}: {e.reason}"
    return None


def _destination(value: str) -> str | None:
    directory = value.rpartition("/")[0]
    return f"the path is {len(directory)} characters; at most 254" if len(directory) > 254 else None


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value.upper() in choices else f"{_clip(value)!r} is not one of {', '.join(choices)}"
    return check


_NAME = r"[A-Za-z][A-Za-z .'-]*"


@dataclass(frozen=True)
class Rule:
    """How a field is labelled when written, and what its value must be."""

    label: str
    checks: tuple[Callable[[str], str | None], ...]
    separator: str = " "


RULES: dict[str, Rule] = {
    "user_id": Rule("User ID", (_limit(8), _pattern(r"[A-Za-z0-9]+", "letters and digits"))),
    "first_name": Rule("first name", (_limit(20), _pattern(_NAME, "alphabetic"))),
    "middle_initial": Rule("middle initial", (_limit(1), _pattern(r"[A-Za-z]", "one letter"))),
    "last_name": Rule("last name", (_limit(20), _pattern(_NAME, "alphabetic"))),
    "telephone": Rule("telephone", (_limit(22), _pattern(r"[0-9-]*[0-9][0-9-]*", "digits and hyphens"))),
    "email": Rule("Email Address", (_limit(254), _pattern(r"[^@\s]+@[^@\s]+", "an e-mail address"))),
    "notification_text": Rule("notification text", (_limit(255),)),
    "esdt": Rule("ESDT", (_limit(12), _esdt)),
    # Table 4.3.1-1 shows 'event:  INSERT' with two blanks; Ardis writes it as shown.
    "event": Rule("event", (_pattern(r"(?i)INSERT", "INSERT (the only subscribable event)"),), "  "),
    "ftp_push": Rule("FTP Push", (_pattern(r"(?i)enable", "Enable"),)),
    "scp": Rule("scp", (_pattern(r"(?i)enable", "Enable"),)),
    "ftp_host": Rule("FTP Host", (_limit(79), _pattern(r"[A-Za-z0-9._:\[\]-]+", "a host name"))),
    "ftp_destination": Rule("FTP Destination", (_limit(1023), _destination)),
    "ftp_pull": Rule("FTP Pull", (_pattern(r"(?i)enable", "Enable"),)),
    "media": Rule("Media", (_one_of(*MEDIA_TYPES),)),
    "start_date": Rule("start date", (_date,)),
    "expiration_date": Rule("expiration date", (_date,)),
    "qualifier": Rule("qualifier statement", (_limit(1003), _qualifier)),
}
BY_KEY = {label_key(rule.label): name for name, rule in RULES.items()}
BY_KEY["subscriptionqualifier"] = BY_KEY["qualifierstatement"]
BY_KEY["qualifier"] = BY_KEY["qualifierstatement"]
BY_KEY["e-mailaddress"] = BY_KEY["emailaddress"]


def check(field: str, value: str) -> str | None:
    """The first rule ``value`` breaks, or None; ``field`` is a key of RULES."""
    for rule in (printable, *RULES[field].checks):
        problem = rule(value)
        if problem:
            return problem
    return None


def subscription_id(value: str) -> str | None:
    return None if re.fullmatch(r"\d{1,8}", value) else f"{_clip(value)!r} is not an integer of 1-8 digits"


def format_date(moment: datetime) -> str:
    """``MM/DD/YYYY-HH:MM`` (by hand: strftime does not pad years before 1000)."""
    return f"{moment.month:02d}/{moment.day:02d}/{moment.year:04d}-{moment.hour:02d}:{moment.minute:02d}"


def parse_date(value: str) -> datetime:
    return datetime.strptime(value, DATE_FORMAT)


def render_line(label: str, value: str, separator: str = " ") -> str:
    return f"{label}:{separator}{value}"
