"""The order form: its fields read into the domain's ``Contact`` and ``RequestSpec``, checked by the same
``check_spec`` / ``create_order`` that ``ardis order create`` uses, and each complaint put next to its field."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ardis_airflow.web.portal.people import connection_problem, user_id_of
from distribution.inventory.catalog import visible_granule
from distribution.errors import UserError
from distribution.models import MediaType, User
from distribution.orders.placing import PUSH_METHODS, Contact, Destination, RequestSpec, check_spec, parse_media_type

__all__ = ["METHODS", "OrderForm", "blank_form", "new_token", "read_form"]

_TOKEN = re.compile(r"[0-9a-f]{24}")
#: Every delivery method, with what the form asks for it.
METHODS: list[tuple[str, str]] = [
    (MediaType.FTP_PULL.value, "FTP pull: fetch the files from the archive's FTP server"),
    (MediaType.FTP_PUSH.value, "FTP push to your server"),
    (MediaType.SCP.value, "scp (SFTP) push to your server"),
    (MediaType.SMB_PUSH.value, "SMB push to your share"),
    (MediaType.CDROM.value, "CD-ROM, shipped"),
    (MediaType.DVD.value, "DVD, shipped"),
    (MediaType.DLT.value, "DLT tape, shipped"),
]
#: Which field a domain complaint is about, by a word it contains (first match wins).
_FIELD_OF = (("USERSTRING", "userstring"), ("host", "host"), ("directory", "directory"), ("port", "port"),
             ("connection", "conn_id"), ("shipping address", "shipping_address"), ("e-mail", "email"),
             ("granule", "granules"))


def new_token() -> str:
    """A one-time token for a form: the order it creates is found again when the form is sent twice."""
    return secrets.token_hex(12)


@dataclass
class OrderForm:
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    contact: Contact | None = None
    spec: RequestSpec | None = None

    @property
    def source(self) -> str:
        """``Order.source`` of the order this form creates (``portal:<token>``)."""
        return f"portal:{self.values['token']}"

    def complain(self, error: UserError) -> None:
        """Put a domain complaint next to the field it is about (or above the form)."""
        text = str(error)
        name = next((f for word, f in _FIELD_OF if word.lower() in text.lower()), "form")
        if name == "email" and self.values.get("notify_email") and self.values["notify_email"] in text:
            name = "notify_email"
        self.errors.setdefault(name, text)


def blank_form(user: Any, record: User | None, urs: list[str]) -> dict[str, Any]:
    """The form's first values: the user's details on record and the granules asked for."""
    return {"token": new_token(), "granules": urs, "method": MediaType.FTP_PULL.value, "host": "", "port": "",
            "directory": "", "conn_id": "", "userstring": "", "notify_email": "",
            "email": record.email if record else "", "first_name": record.first_name if record else "",
            "last_name": record.last_name if record else "", "organization": record.organization if record else "",
            "shipping_address": record.shipping_address if record else "",
            "checksums": bool(record and record.checksum_list), "user_id": user_id_of(user)}


def read_form(session: Session, user: Any, fields: dict[str, Any], groups: set[str] | None) -> OrderForm:
    """The posted form read and checked; ``errors`` empty means ``contact`` and ``spec`` are ready to order."""
    v = {k: (val.strip() if isinstance(val, str) else val) for k, val in fields.items()}
    v["granules"] = [u for u in fields.get("granules", []) if u.strip()]
    v["checksums"] = fields.get("checksums") in ("on", "1", "true", True)
    v["user_id"] = user_id_of(user)
    form = OrderForm(v)
    if not _TOKEN.fullmatch(str(v.get("token", ""))):
        v["token"] = new_token()
        form.errors["form"] = "the form was not complete; check it and send it again"
    try:
        media = parse_media_type(str(v.get("method", "")))
    except UserError as e:
        form.errors["method"] = str(e)
        return form
    port = None
    if v.get("port"):
        try:
            port = int(v["port"])
        except ValueError:
            form.errors["port"] = "a port number"
    if not v["granules"]:
        form.errors["granules"] = "choose at least one granule (search, then Order)"
    for ur in v["granules"]:
        try:
            visible_granule(session, ur, groups)
        except UserError as e:
            form.errors.setdefault("granules", str(e))
    conn_id = str(v.get("conn_id", ""))
    if media in PUSH_METHODS:
        if not conn_id:
            form.errors["conn_id"] = "a push needs the Airflow connection that holds your server's login"
        elif problem := connection_problem(user, conn_id):
            form.errors["conn_id"] = problem
    elif conn_id:
        form.errors["conn_id"] = f"{media.value} needs no connection"
    if not media.is_electronic and not v.get("shipping_address"):
        form.errors["shipping_address"] = "physical media are shipped: give the address"
    form.contact = Contact(user_id=v["user_id"], email=str(v.get("email", "")), first_name=str(v.get("first_name", "")),
                           last_name=str(v.get("last_name", "")), organization=str(v.get("organization", "")),
                           shipping_address=str(v.get("shipping_address", "")).replace("\r\n", "\n"),
                           checksum_list=v["checksums"])
    form.spec = RequestSpec(media, list(v["granules"]),
                            Destination(host=str(v.get("host", "")), port=port,
                                        directory=str(v.get("directory", "")), conn_id=conn_id),
                            userstring=str(v.get("userstring", "")), notify_email=str(v.get("notify_email", "")))
    try:
        check_spec(form.spec)
    except UserError as e:
        form.complain(e)
    return form
