"""Subscription request, update and cancellation e-mails (ICD Tables 4.3.1-1, 4.3.3-1, 4.3.4-1).

A SIPS operator e-mails these to the DAAC; they are ``label: value`` lines, one
field per line, in the table's order (the parser takes any order). The field rules
are in fields.py; every problem in a message is reported together in one
MessageError (a UserError) naming field, line and limit.

Decisions where the ICD leaves room:

* Written labels are the tables' cells: ``User ID``, ``first name``, ``Email
  Address``, ``event:  INSERT`` (two blanks, as the table shows) … The Qualifier
  Statement row shows no label; Ardis writes ``qualifier statement:``.
* A request carries at most one distribution option (FTP Push, scp, FTP Pull or
  Media); FTP Host and FTP Destination come with FTP Push or scp and only then.
* middle initial and the Qualifier Statement are optional; every other field not
  marked "(optional)" is required and not empty. An optional field with an empty
  value is the same as no field. start date may not be after expiration date.
* Subjects may be up to 255 characters (Table 4.3.1-1); the 32 B that Tables
  4.3.3-1/4.3.4-1 give is shorter than their own example subjects.
* An update changes telephone, Email Address, notification text, start date,
  expiration date, Qualifier Statement, FTP Host, FTP Destination or Media
  (``Update Expiration Date From:`` / ``To:``); User ID, ESDT and the event name
  the subscription itself. An empty From/To of an optional field means "none".
* A cancellation may carry the original request ("It is suggested that the
  original subscription be included"); its ``Cancel:`` line is written last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Callable, TypeVar

from distribution.identifiers import parse_esdt
from distribution.subscriptions.fields import (
    RULES,
    Line,
    MessageError,
    Problem,
    check,
    format_date,
    label_key,
    parse_date,
    printable,
    read_lines,
    render_line,
    subscription_id,
)
from distribution.subscriptions.fields import BY_KEY as FIELD_BY_KEY
from distribution.subscriptions.qualifiers import Qualifier, parse_qualifier

REQUEST_SUBJECT = "L0 Data Subscription Request"
UPDATE_SUBJECT = "L0 Data Subscription Request Update"
CANCEL_SUBJECT = "L0 Data Subscription Request Cancellation"
FTP_PUSH, SCP, FTP_PULL, MEDIA = "FTP Push", "scp", "FTP Pull", "Media"
_OPTION_FIELDS = {"ftp_push": FTP_PUSH, "scp": SCP, "ftp_pull": FTP_PULL, "media": MEDIA}
_USER_FIELDS = ("user_id", "first_name", "middle_initial", "last_name")
_REQUIRED = ("user_id", "first_name", "last_name", "telephone", "email", "notification_text", "esdt", "event",
             "start_date", "expiration_date")
_OPTIONAL = ("middle_initial", "qualifier", "ftp_host", "ftp_destination", "media")
UPDATABLE = {
    "telephone": "Telephone", "email": "Email Address", "notification_text": "Notification Text",
    "start_date": "Start Date", "expiration_date": "Expiration Date", "qualifier": "Qualifier Statement",
    "ftp_host": "FTP Host", "ftp_destination": "FTP Destination", "media": "Media",
}


@dataclass(frozen=True)
class User:
    """Who subscribes: the User ID goes into every notification."""

    user_id: str
    first_name: str
    last_name: str
    middle_initial: str | None = None


@dataclass(frozen=True)
class Distribution:
    """The optional automatic delivery: method FTP Push or scp (host, destination), FTP Pull, or Media."""

    method: str
    host: str | None = None
    destination: str | None = None
    media_type: str | None = None  # DLT, CD-ROM or DVD with method Media


@dataclass(frozen=True)
class SubscriptionRequest:
    """Table 4.3.1-1. ``qualifier`` is the statement as written (see qualifiers.py)."""

    user: User
    telephone: str
    email: str
    notification_text: str
    short_name: str
    version_id: int
    start: datetime
    expiration: datetime
    qualifier: str | None = None
    distribution: Distribution | None = None
    subject: str = REQUEST_SUBJECT

    @property
    def esdt(self) -> str:
        return f"{self.short_name}.{self.version_id:03d}"

    def parsed_qualifier(self) -> Qualifier | None:
        return parse_qualifier(self.qualifier) if self.qualifier else None


@dataclass(frozen=True)
class FieldChange:
    """One ``Update <field> From:``/``To:`` pair; ``field`` is a key of UPDATABLE, values as written."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class SubscriptionUpdate:
    """Table 4.3.3-1."""

    user: User
    subscription_id: int
    changes: tuple[FieldChange, ...]
    subject: str = UPDATE_SUBJECT


@dataclass(frozen=True)
class SubscriptionCancellation:
    """Table 4.3.4-1, optionally with the original request in the body."""

    user: User
    subscription_id: int
    original: SubscriptionRequest | None = None
    subject: str = CANCEL_SUBJECT


T = TypeVar("T")
Values = dict[str, tuple[int | None, str]]  # field -> (line number, value)


def _check_subject(subject: str, problems: list[Problem]) -> None:
    why = printable(subject) or (f"is {len(subject)} characters; at most 255" if len(subject) > 255 else None)
    if why:
        problems.append(Problem("Subject", None, why))


def _label(field: str) -> str:
    return RULES[field].label


def split_fields(lines: list[Line], problems: list[Problem]) -> tuple[Values, list[Line]]:
    """Request fields by name (a repeated field is a problem) and the lines that are none of them."""
    values: Values = {}
    other: list[Line] = []
    for line in lines:
        field = FIELD_BY_KEY.get(line.key)
        if field is None:
            other.append(line)
        elif field in values:
            problems.append(Problem(_label(field), line.number, f"given twice (first on line {values[field][0]})"))
        else:
            values[field] = (line.number, line.value)
    return values, other


def unknown_lines(lines: list[Line], what: str, problems: list[Problem]) -> None:
    for line in lines:
        problems.append(Problem(line.label, line.number, f"not a field of {what}"))


def _user(values: Values, problems: list[Problem], required: tuple[str, ...]) -> User | None:
    start = len(problems)
    for field in _USER_FIELDS:
        _value(values, field, problems, field in required)
    if len(problems) > start:
        return None
    return User(values["user_id"][1], values["first_name"][1], values["last_name"][1],
                values.get("middle_initial", (None, None))[1] or None)


def _value(values: Values, field: str, problems: list[Problem], required: bool) -> None:
    line, value = values.get(field, (None, ""))
    if not value:
        values.pop(field, None)
        if required:
            problems.append(Problem(_label(field), line, "is required" if line is None else "is empty"))
        return
    why = check(field, value)
    if why:
        problems.append(Problem(_label(field), line, why))


def request_from_values(values: Values, subject: str, problems: list[Problem]) -> SubscriptionRequest | None:
    """Build a request from field values, adding every problem found; None when there is any."""
    start = len(problems)
    values = dict(values)
    _check_subject(subject, problems)
    user = _user(values, problems, _REQUIRED)
    for field in RULES:
        if field not in _USER_FIELDS:
            _value(values, field, problems, field in _REQUIRED)
    options = [f for f in _OPTION_FIELDS if f in values]
    for extra in options[1:]:
        problems.append(Problem(_label(extra), values[extra][0],
                                f"only one distribution option may be given (also {_label(options[0])})"))
    method = _OPTION_FIELDS[options[0]] if options else None
    for field in ("ftp_host", "ftp_destination"):
        if method in (FTP_PUSH, SCP) and field not in values:
            problems.append(Problem(_label(field), None, f"is required with {method}"))
        elif method not in (FTP_PUSH, SCP) and field in values:
            problems.append(Problem(_label(field), values[field][0], "is given only with FTP Push or scp"))
    if "start_date" in values and "expiration_date" in values and not check("start_date", values["start_date"][1]) \
            and not check("expiration_date", values["expiration_date"][1]) \
            and parse_date(values["start_date"][1]) > parse_date(values["expiration_date"][1]):
        problems.append(Problem("start date", values["start_date"][0], "is after the expiration date"))
    if len(problems) > start or user is None:
        return None
    text = {field: value for field, (_, value) in values.items()}
    distribution = None
    if method is not None:
        distribution = Distribution(method, text.get("ftp_host"), text.get("ftp_destination"),
                                    text["media"].upper() if method == MEDIA else None)
    short_name, version_id = parse_esdt(text["esdt"])
    return SubscriptionRequest(
        user, text["telephone"], text["email"], text["notification_text"], short_name, version_id,
        parse_date(text["start_date"]), parse_date(text["expiration_date"]), text.get("qualifier"),
        distribution, subject)


def request_values(request: SubscriptionRequest) -> dict[str, str]:
    """The request's fields as text, in the table's order; absent optional fields left out."""
    user, dist = request.user, request.distribution
    out = {"user_id": user.user_id, "first_name": user.first_name, "middle_initial": user.middle_initial or "",
           "last_name": user.last_name, "telephone": request.telephone, "email": request.email,
           "notification_text": request.notification_text, "esdt": request.esdt, "event": "INSERT"}
    if dist is not None:
        option = next((f for f, m in _OPTION_FIELDS.items() if m == dist.method), None)
        if option is None:
            problem = Problem("distribution", None, f"unknown method {dist.method!r}")
            raise MessageError("subscription request", [problem])
        out[option] = (dist.media_type or "") if option == "media" else "Enable"
        out["ftp_host"], out["ftp_destination"] = dist.host or "", dist.destination or ""
    out.update(start_date=format_date(request.start), expiration_date=format_date(request.expiration),
               qualifier=request.qualifier or "")
    order = list(RULES)
    return {f: v for f, v in sorted(out.items(), key=lambda kv: order.index(kv[0])) if v}


def _lines(values: dict[str, str]) -> list[str]:
    return [render_line(_label(f), v, RULES[f].separator) for f, v in values.items()]


def parse_lines(what: str, builder: Callable[[list[Line], str, list[Problem]], T | None], text: str,
                subject: str) -> T:
    """Run a builder over a body's lines; MessageError lists every problem found."""
    problems: list[Problem] = []
    result = builder(read_lines(text, problems), subject, problems)
    if problems or result is None:
        raise MessageError(what, problems)
    return result


def request_from_lines(lines: list[Line], subject: str, problems: list[Problem]) -> SubscriptionRequest | None:
    values, other = split_fields(lines, problems)
    unknown_lines(other, "a subscription request", problems)
    return request_from_values(values, subject, problems)


def parse_request(text: str, subject: str = REQUEST_SUBJECT) -> SubscriptionRequest:
    """Read a subscription request body (Table 4.3.1-1); MessageError lists every problem."""
    return parse_lines("subscription request", request_from_lines, text, subject)


def _written(what: str, obj: Any, text: str, parse: Any) -> str:
    """Refuse to write what the parser would refuse or read back differently."""
    if any(printable(v) for v in _strings(obj)):
        raise MessageError(what, [Problem("value", None, "must be printable ASCII on one line")])
    try:
        back = parse(text, obj.subject)
    except MessageError as e:
        raise MessageError(what, [replace(p, line=None) for p in e.problems]) from e
    if back != obj:
        raise MessageError(what, [Problem(k, None, f"{v!r} would read back as {getattr(back, k)!r}")
                                  for k, v in vars(obj).items() if getattr(back, k) != v])
    return text


def _strings(obj: Any) -> list[str]:
    out: list[str] = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str):
            out.append(value)
        elif hasattr(value, "__dataclass_fields__"):
            out.extend(_strings(value))
        elif isinstance(value, tuple):
            for item in value:
                out.extend(_strings(item))
    return out


def render_request(request: SubscriptionRequest) -> str:
    """The e-mail body, one field per line in the table's order; the subject is ``request.subject``."""
    text = "".join(line + "\n" for line in _lines(request_values(request)))
    return _written("subscription request", request, text, parse_request)


def _user_lines(user: User) -> list[str]:
    values = {"user_id": user.user_id, "first_name": user.first_name, "middle_initial": user.middle_initial or "",
              "last_name": user.last_name}
    return _lines({f: v for f, v in values.items() if v})


# --- update ---------------------------------------------------------------------------------------

_CHANGE = re.compile(r"update(?P<field>.+?)(?P<end>from|to)")
_CHANGE_KEYS = {label_key(label): f for f, label in UPDATABLE.items()} | {
    label_key(RULES[f].label): f for f in UPDATABLE} | {"qualifier": "qualifier", "emailaddress": "email"}


def _subscription_id(line: Line | None, label: str, problems: list[Problem]) -> int | None:
    if line is None:
        problems.append(Problem(label, None, "is required (the Subscription ID)"))
        return None
    why = subscription_id(line.value)
    if why:
        problems.append(Problem(label, line.number, why))
        return None
    return int(line.value)


def _change_value(field: str, line: Line, problems: list[Problem]) -> None:
    if not line.value:
        if field not in _OPTIONAL:
            problems.append(Problem(line.label, line.number, f"{UPDATABLE[field]} may not be empty"))
        return
    why = check(field, line.value)
    if why:
        problems.append(Problem(line.label, line.number, why))


def parse_update(text: str, subject: str = UPDATE_SUBJECT) -> SubscriptionUpdate:
    """Read a Subscription Update body (Table 4.3.3-1); each field's values obey the request's rules."""
    return parse_lines("subscription update", update_from_lines, text, subject)


def update_from_lines(lines: list[Line], subject: str, problems: list[Problem]) -> SubscriptionUpdate | None:
    start = len(problems)
    _check_subject(subject, problems)
    values, other = split_fields(lines, problems)
    id_line: Line | None = None
    pairs: dict[str, dict[str, Line]] = {}
    for line in other:
        m = _CHANGE.fullmatch(line.key)
        if line.key == "update" and id_line is None:
            id_line = line
        elif m and m.group("field") in _CHANGE_KEYS:
            field = _CHANGE_KEYS[m.group("field")]
            side = pairs.setdefault(field, {})
            if m.group("end") in side:
                problems.append(Problem(line.label, line.number, "given twice"))
            side[m.group("end")] = line
            _change_value(field, line, problems)
        elif m:
            problems.append(Problem(line.label, line.number, "cannot be updated; fields that can: "
                                    + ", ".join(UPDATABLE.values())))
        else:
            unknown_lines([line], "a subscription update", problems)
    unknown_lines([Line(n, "", _label(f), v) for f, (n, v) in values.items() if f not in _USER_FIELDS],
             "a subscription update", problems)
    user = _user(values, problems, ("user_id", "first_name", "last_name"))
    number = _subscription_id(id_line, "Update", problems)
    for field, side in pairs.items():
        for end in ("from", "to"):
            if end not in side:
                other_end = side["to" if end == "from" else "from"]
                problems.append(Problem(f"Update {UPDATABLE[field]} {end.title()}", other_end.number,
                                        f"is missing (line {other_end.number} has the {other_end.label})"))
    if not pairs:
        problems.append(Problem("Update <field> From/To", None, "at least one change is required"))
    if len(problems) > start or user is None or number is None:
        return None
    changes = tuple(FieldChange(f, side["from"].value, side["to"].value) for f, side in pairs.items())
    return SubscriptionUpdate(user, number, changes, subject)


def render_update(update: SubscriptionUpdate) -> str:
    """The body of Table 4.3.3-1: user lines, ``Update: N``, then each From/To pair."""
    lines = _user_lines(update.user) + [render_line("Update", str(update.subscription_id))]
    for change in update.changes:
        if change.field not in UPDATABLE:
            raise MessageError("subscription update", [Problem(change.field, None, "cannot be updated")])
        name = UPDATABLE[change.field]
        lines += [f"Update {name} From: {change.old}".rstrip(" "), f"Update {name} To: {change.new}".rstrip(" ")]
    return _written("subscription update", update, "".join(line + "\n" for line in lines), parse_update)


def apply_update(request: SubscriptionRequest, update: SubscriptionUpdate) -> SubscriptionRequest:
    """The request as the update makes it; every From must equal the subscription's current value."""
    problems: list[Problem] = []
    if update.user.user_id != request.user.user_id:
        problems.append(Problem("User ID", None, f"{update.user.user_id!r} is not the subscriber "
                                                 f"{request.user.user_id!r}"))
    current = request_values(request)
    values: Values = {f: (None, v) for f, v in current.items()}
    for change in update.changes:
        if change.field not in UPDATABLE:
            problems.append(Problem(change.field, None, "cannot be updated"))
            continue
        now = current.get(change.field, "")
        if _canonical(change.field, change.old) != _canonical(change.field, now):
            problems.append(Problem(f"Update {UPDATABLE[change.field]} From", None,
                                    f"{change.old!r} is not the subscription's current value {now!r}"))
        values[change.field] = (None, change.new)
    updated = request_from_values(values, request.subject, problems)
    if problems or updated is None:
        raise MessageError("subscription update", problems)
    return updated


def _canonical(field: str, value: str) -> str:
    value = value.strip()
    if field == "media":
        return value.upper()
    if field in ("start_date", "expiration_date") and not check(field, value):
        return format_date(parse_date(value))
    if field == "email":
        return value.lower()
    if field == "qualifier" and value and not check(field, value):
        return parse_qualifier(value).text  # blanks and the case of AND do not matter
    return value


# --- cancellation ---------------------------------------------------------------------------------


def parse_cancellation(text: str, subject: str = CANCEL_SUBJECT) -> SubscriptionCancellation:
    """Read a Subscription Cancellation body (Table 4.3.4-1), with or without the original request."""
    return parse_lines("subscription cancellation", cancellation_from_lines, text, subject)


def cancellation_from_lines(lines: list[Line], subject: str,
                             problems: list[Problem]) -> SubscriptionCancellation | None:
    start = len(problems)
    values, other = split_fields(lines, problems)
    cancel = [line for line in other if line.key == "cancel"]
    strays = [line for line in other if line.key != "cancel"] + cancel[1:]
    unknown_lines(strays, "a subscription cancellation", problems)
    number = _subscription_id(cancel[0] if cancel else None, "Cancel", problems)
    _check_subject(subject, problems)
    original = None
    if any(f not in _USER_FIELDS for f in values):
        original = request_from_values(values, REQUEST_SUBJECT, problems)
        user = original.user if original else None
    else:
        user = _user(values, problems, ("user_id", "first_name", "last_name"))
    if len(problems) > start or user is None or number is None:
        return None
    return SubscriptionCancellation(user, number, original, subject)


def render_cancellation(cancellation: SubscriptionCancellation) -> str:
    """User lines (or the whole original request), then ``Cancel: N``."""
    original = cancellation.original
    if original is not None and (original.user != cancellation.user or original.subject != REQUEST_SUBJECT):
        raise MessageError("subscription cancellation", [Problem(
            "original", None, "the original request must be the same user's, with the standard subject")])
    lines = _lines(request_values(original)) if original else _user_lines(cancellation.user)
    text = "".join(line + "\n" for line in lines + [render_line("Cancel", str(cancellation.subscription_id))])
    return _written("subscription cancellation", cancellation, text, parse_cancellation)
