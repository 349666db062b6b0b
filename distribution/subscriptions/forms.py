"""The web door: a subscription form's fields made into the ICD's request, update or cancellation, applied
through ``store`` and acknowledged as Table 4.3.2-1 answers an e-mail.

The form names the request's fields (``user_id`` … ``qualifier``, see
``FORM_FIELDS``) plus ``method`` (``""`` notification only, ``FTP Pull``, ``FTP
Push``, ``scp``, ``Media``); dates are UTC, written ``MM/DD/YYYY-HH:MM`` or as a
browser's ``datetime-local`` gives them (``YYYY-MM-DDTHH:MM``). Every field is
checked by the messages' own rules and a problem is reported next to its field
(``FieldErrors``); a request the store refuses (an ESDT the archive has not, a
push host that is not its account's) is ``Refused`` with the failed
acknowledgment. An update is the ICD's: only the fields Table 4.3.3-1 lets
change, each ``From`` the current value; the distribution option itself stays.

The acknowledgment of a change is rebuilt from its history row
(``acknowledgment_of``), so the page the browser is sent to after a POST shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from distribution.errors import UserError
from distribution.inventory.catalog import FieldErrors
from distribution.subscriptions.acknowledgment import Acknowledgment, render_acknowledgment
from distribution.subscriptions.fields import RULES, MessageError, Problem, parse_date
from distribution.subscriptions.messages import (
    REQUEST_SUBJECT,
    UPDATABLE,
    FieldChange,
    SubscriptionCancellation,
    SubscriptionRequest,
    SubscriptionUpdate,
    User,
    Values,
    request_from_values,
    request_values,
)
from distribution.subscriptions.models import Subscription, SubscriptionHistory
from distribution.subscriptions.qualifiers import QualifierError, parse_qualifier
from distribution.subscriptions.store import (
    ConnectionLookup,
    _reason,
    cancel_subscription,
    create_subscription,
    get_subscription,
    request_of,
    update_subscription,
)

__all__ = ["Done", "FORM_FIELDS", "METHODS", "Refused", "acknowledgment_of", "browser_date", "cancel", "change",
           "check_qualifier", "form_values", "read_request", "subscribe"]

FORM_FIELDS = ("user_id", "first_name", "middle_initial", "last_name", "telephone", "email", "notification_text",
               "esdt", "start_date", "expiration_date", "qualifier", "method", "ftp_host", "ftp_destination", "media")
#: The form's distribution options and the request field that enables each ("" = notification only).
METHODS = {"": "", "FTP Pull": "ftp_pull", "FTP Push": "ftp_push", "scp": "scp", "Media": "media"}
_LABELS = {RULES[f].label.lower(): f for f in RULES} | {"start date": "start_date", "subject": "form"}
_ICD_DATE = re.compile(r"\d{2}/\d{2}/\d{4}-\d{2}:\d{2}")
_BROWSER_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?")


@dataclass(frozen=True)
class Done:
    """An accepted change: the subscription, its history row, and the acknowledgment to show."""

    subscription_id: int
    history_id: int
    acknowledgment: str


class Refused(UserError):
    """The store refused the request or change; ``acknowledgment`` is the failed one of Table 4.3.2-1."""

    def __init__(self, reason: str, acknowledgment: str) -> None:
        super().__init__(reason)
        self.acknowledgment = acknowledgment


def check_qualifier(text: str) -> dict[str, Any]:
    """What the page says while a qualifier is typed: ok and its canonical form, or the error and its column."""
    if not text.strip():
        return {"ok": True, "empty": True, "canonical": "", "error": None, "column": None}
    if len(text) > 1003:
        return {"ok": False, "empty": False, "canonical": None, "column": 1004,
                "error": f"the statement is {len(text)} characters; at most 1003"}
    try:
        qualifier = parse_qualifier(text)
    except QualifierError as e:
        return {"ok": False, "empty": False, "canonical": None, "error": str(e), "column": e.position}
    return {"ok": True, "empty": False, "canonical": qualifier.text, "error": None, "column": None}


def _date(value: str) -> str:
    """A form's date as the ICD writes it (a browser's ``datetime-local`` value is converted)."""
    value = value.strip()
    m = _BROWSER_DATE.fullmatch(value)
    return f"{m.group(2)}/{m.group(3)}/{m.group(1)}-{m.group(4)}:{m.group(5)}" if m else value


def browser_date(icd: str) -> str:
    """``MM/DD/YYYY-HH:MM`` as a ``datetime-local`` input's value."""
    if not _ICD_DATE.fullmatch(icd):
        return icd
    moment = parse_date(icd)
    return f"{moment:%Y-%m-%dT%H:%M}"


def _values(form: dict[str, str]) -> tuple[Values, dict[str, str]]:
    """The request's field values from the form, and the form's own problems (an unknown method)."""
    text = {k: str(form.get(k, "")).strip() for k in FORM_FIELDS}
    errors: dict[str, str] = {}
    values: Values = {f: (None, text[f]) for f in FORM_FIELDS if f not in ("method", "ftp_host", "ftp_destination",
                                                                         "media") and text[f]}
    values["event"] = (None, "INSERT")
    for f in ("start_date", "expiration_date"):
        if f in values:
            values[f] = (None, _date(text[f]))
    method = text["method"]
    if method not in METHODS:
        errors["method"] = f"{method!r} is not one of: notification only, " + ", ".join(m for m in METHODS if m)
    elif method == "Media":
        values["media"] = (None, text["media"])
        if not text["media"]:
            errors["media"] = "choose DLT, CD-ROM or DVD"
    elif method:
        values[METHODS[method]] = (None, "Enable")
        if method in ("FTP Push", "scp"):
            for f in ("ftp_host", "ftp_destination"):
                if text[f]:
                    values[f] = (None, text[f])
    return values, errors


def _field_errors(problems: list[Problem], errors: dict[str, str]) -> FieldErrors:
    for p in problems:
        name = _LABELS.get(p.field.lower(), "form")
        errors.setdefault(name, p.message)
    return FieldErrors(errors)


def read_request(form: dict[str, str]) -> SubscriptionRequest:
    """The ICD request the form asks for; FieldErrors names each wrong field (by the form's names)."""
    values, errors = _values(form)
    problems: list[Problem] = []
    request = request_from_values(values, REQUEST_SUBJECT, problems)
    if problems or errors or request is None:
        raise _field_errors(problems, errors)
    return request


def form_values(sub: Subscription | None = None, **defaults: str) -> dict[str, str]:
    """The form's fields for ``sub`` (or blank with ``defaults``), dates as ``datetime-local`` values."""
    values = {f: "" for f in FORM_FIELDS}
    if sub is not None:
        request = request_values(request_of(sub))
        values.update({k: v for k, v in request.items() if k in values})
        values["method"] = next((m for m, option in METHODS.items() if option and option in request), "")
    values.update({k: v for k, v in defaults.items() if k in values and v})
    for f in ("start_date", "expiration_date"):
        values[f] = browser_date(values[f])
    return values


def _history_id(session: Session, sub: Subscription) -> int:
    session.flush()
    session.expire(sub, ["history"])
    return sub.history[-1].id


def subscribe(session: Session, form: dict[str, str], *, actor: str, source: str, create_user: bool,
              connections: ConnectionLookup | None) -> Done:
    """Create the subscription the form asks for; FieldErrors (a field) or Refused (the failed acknowledgment)."""
    request = read_request(form)
    try:
        with session.begin_nested():
            sub = create_subscription(session, request, actor=actor, source=source, connections=connections,
                                      create_user=create_user)
    except UserError as e:
        raise Refused(str(e), render_acknowledgment(Acknowledgment(request, False, _reason(e)))) from e
    history_id = _history_id(session, sub)
    return Done(sub.id, history_id, acknowledgment_of(session, sub, history_id) or "")


def _user(sub: Subscription) -> User:
    return User(sub.user_id, sub.first_name, sub.last_name, sub.middle_initial)


def change(session: Session, subscription_id: int, form: dict[str, str], *, actor: str,
           connections: ConnectionLookup | None) -> Done:
    """Apply the fields of the form that differ from the subscription, as one ICD update.

    The subscriber, the ESDT and the distribution option are the subscription's
    (the form's are ignored); FieldErrors when a field is wrong or nothing changed.
    """
    sub = get_subscription(session, subscription_id)
    current = request_values(request_of(sub))
    mine = {**form_values(sub), **{k: v for k, v in form.items() if k in UPDATABLE}}
    wanted = request_values(read_request({**mine, **{k: current.get(k, "") for k in
                                                     ("user_id", "first_name", "middle_initial", "last_name",
                                                      "esdt")}}))
    changes = tuple(FieldChange(f, current.get(f, ""), wanted.get(f, "")) for f in UPDATABLE
                    if current.get(f, "") != wanted.get(f, ""))
    if not changes:
        raise FieldErrors({"form": "nothing was changed"})
    update = SubscriptionUpdate(_user(sub), sub.id, changes)
    try:
        with session.begin_nested():
            update_subscription(session, update, actor=actor, connections=connections)
    except UserError as e:
        raise Refused(str(e), render_acknowledgment(Acknowledgment(update, False, _reason(e), sub.id))) from e
    history_id = _history_id(session, sub)
    return Done(sub.id, history_id, acknowledgment_of(session, sub, history_id) or "")


def cancel(session: Session, subscription_id: int, *, actor: str) -> Done:
    """Cancel (final); UserError when it is already cancelled."""
    sub = cancel_subscription(session, subscription_id, actor=actor)
    history_id = _history_id(session, sub)
    return Done(sub.id, history_id, acknowledgment_of(session, sub, history_id) or "")


def acknowledgment_of(session: Session, sub: Subscription, history_id: int) -> str | None:
    """The accepted acknowledgment of the change history row ``history_id`` of ``sub`` recorded; None if none.

    Rebuilt from what the row keeps: the request as created, the update's field
    changes, or the cancellation; other rows (expired, backfilled, linked) have none.
    """
    row = session.get(SubscriptionHistory, history_id)
    if row is None or row.subscription_id != sub.id:
        return None
    original: SubscriptionRequest | SubscriptionUpdate | SubscriptionCancellation
    try:
        if row.action == "created" and isinstance(row.detail.get("request"), dict):
            problems: list[Problem] = []
            built = request_from_values({k: (None, str(v)) for k, v in row.detail["request"].items()},
                                        REQUEST_SUBJECT, problems)
            if built is None:
                return None
            original = built
        elif row.action == "updated":
            changes = tuple(FieldChange(c["field"], str(c["from"] or ""), str(c["to"] or ""))
                            for c in row.detail.get("changes", []) if c.get("field") in UPDATABLE)
            if not changes:
                return None
            original = SubscriptionUpdate(_user(sub), sub.id, changes)
        elif row.action == "cancelled":
            original = SubscriptionCancellation(_user(sub), sub.id)
        else:
            return None
        return render_acknowledgment(Acknowledgment(original, True, None, sub.id))
    except (MessageError, KeyError, TypeError):
        return None
