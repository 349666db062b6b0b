"""A user's own details as the portal edits them: what an order needs (e-mail, name, organization, address).

The same ``User`` row ``ardis order create`` and the order form fill; here every
field is checked and set as given (an emptied field is emptied), with a message
per field. The address is printed on the packing list: a few short lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from distribution.inventory.catalog import FieldErrors
from distribution.models import User
from distribution.orders.placing import Contact, upsert_user
from distribution.orders.queries import find_user

__all__ = ["ADDRESS_LINES", "PROFILE_FIELDS", "profile_values", "save_profile"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Each one-line field and its longest value (the column's size).
PROFILE_FIELDS = {"first_name": 64, "last_name": 64, "organization": 128, "phone": 32, "email": 255}
#: How many lines, and how long, a shipping address may be (the packing list's address block).
ADDRESS_LINES, ADDRESS_WIDTH = 6, 60


def profile_values(record: User | None) -> dict[str, Any]:
    """The form's values: the record's, or empty."""
    values: dict[str, Any] = {name: getattr(record, name) if record else "" for name in PROFILE_FIELDS}
    values["shipping_address"] = record.shipping_address if record else ""
    values["checksum_list"] = bool(record and record.checksum_list)
    return values


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: str(fields.get(name, "")).strip() for name in PROFILE_FIELDS}
    errors: dict[str, str] = {}
    for name, limit in PROFILE_FIELDS.items():
        if len(values[name]) > limit:
            errors[name] = f"at most {limit} characters"
        elif any(c in values[name] for c in "\r\n\t") or not values[name].isprintable():
            errors[name] = "one line of printable characters"
    if not values["email"]:
        errors["email"] = "an e-mail address is needed: the order's notices go to it"
    elif "email" not in errors and not _EMAIL.fullmatch(values["email"]):
        errors["email"] = f"not a valid e-mail address: {values['email']!r}"
    lines = [line.strip() for line in str(fields.get("shipping_address", "")).replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if len(lines) > ADDRESS_LINES:
        errors["shipping_address"] = f"at most {ADDRESS_LINES} lines"
    elif any(len(line) > ADDRESS_WIDTH or not line.isprintable() for line in lines):
        errors["shipping_address"] = f"lines of at most {ADDRESS_WIDTH} printable characters"
    values["shipping_address"] = "\n".join(lines)
    values["checksum_list"] = fields.get("checksum_list") in ("on", "1", "true", True)
    if errors:
        raise FieldErrors(errors)
    return values


def save_profile(session: Session, user_id: str, fields: Mapping[str, Any]) -> User:
    """Create or update the user's record from the profile form; FieldErrors names each wrong field."""
    values = _checked(fields)
    user = find_user(session, user_id)
    if user is None:
        user = upsert_user(session, Contact(user_id=user_id, email=values["email"]))
    for name, value in values.items():
        setattr(user, name, value)
    session.flush()
    return user
