"""Credentials from Airflow Connections, turned into Ardis's plain types.

Ardis never stores a password: a request names a connection id, and the task
reads it here at run time. A connection that is not defined is a permanent
error (``MissingConnection``): waiting does not define it, so the request fails
at once with that reason in its DN instead of being retried for hours.

The ``ardis`` command asks Airflow's REST API (``GET /api/v2/connections/{id}``)
whether a connection exists before taking an order; it never imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from distribution.config import Settings
from distribution.orders.delivery import Credentials
from distribution.orders.destinations import Address
from distribution.errors import MissingConnection
from distribution.notices.outbox import OutboxFolder, SmtpTransport, Transport


def get_connection(conn_id: str, what: str) -> Any:
    """The Airflow connection ``conn_id``; MissingConnection (permanent) when it is not defined."""
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as e:
        raise MissingConnection(f"no credentials are set up at the archive for {what} "
                                f"(Airflow connection {conn_id} is not defined)") from e


def _known_hosts(host: str, port: int | None, extra: dict[str, object]) -> str | None:
    """``known_hosts`` text from the extra ``known_hosts`` or ``host_key`` (SFTPHook's name)."""
    if extra.get("known_hosts"):
        return str(extra["known_hosts"])
    key = str(extra.get("host_key") or "").strip()
    if not key:
        return None
    pattern = f"[{host}]:{port}" if port and port != 22 else host
    return f"{pattern} {key}\n"


def push_credentials(conn_id: str) -> Credentials | None:
    """Credentials of a push destination, or None when the request names no connection."""
    if not conn_id:
        return None
    conn = get_connection(conn_id, "the destination")
    extra = conn.extra_dejson
    private_key = extra.get("private_key")
    if not private_key and extra.get("key_file"):
        private_key = Path(str(extra["key_file"])).read_text()
    return Credentials(
        host=conn.host or "",
        port=conn.port,
        username=conn.login or "",
        password=conn.password or "",
        private_key=str(private_key) if private_key else None,
        known_hosts=_known_hosts(conn.host or "", conn.port, extra),
    )


def push_account(conn_id: str) -> Address | None:
    """Host and port of a push connection (what a destination is checked against), None if there is none."""
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return Address(conn.host or "", conn.port)


def notice_transport(settings: Settings) -> Transport:
    """SMTP through the configured Airflow connection, else the outbox folder."""
    if not settings.smtp_conn_id:
        return OutboxFolder(settings.outbox_dir)
    conn = get_connection(settings.smtp_conn_id, "the mail relay")
    extra = conn.extra_dejson
    return SmtpTransport(
        host=conn.host or "localhost",
        port=conn.port or 25,
        username=conn.login or "",
        password=conn.password or "",
        starttls=bool(extra.get("starttls", False)),
        ssl=bool(extra.get("ssl", False)),
        timeout=float(extra.get("timeout", 30)),
    )

