"""A push goes only to the host of the connection whose credentials it carries.

An Airflow connection holds a subscriber's login and password (or key) for one
host. Were a request or a subscription free to name another host, the password
would be sent there. So the host of a push destination must be the
connection's, and its port too when both name one. Names are compared as
written (case, brackets and a final dot aside), without DNS: ``localhost`` is
not ``127.0.0.1``, so the operator writes the connection's host the way
subscribers write their FTP Host. A connection without a host lends its
credentials to whatever host the destination names: subscription pushes refuse
it (``require_conn_host``). The rule is checked where a subscription is taken or
updated and again at every push, since a connection can change in between.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """Host and port of an Airflow connection (nothing secret)."""

    host: str
    port: int | None = None


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def split_host(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` (the FTP Host field allows all three)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return text, None


def host_problem(conn_id: str, conn: Address, host: str, port: int | None, *,
                 require_conn_host: bool) -> str | None:
    """Why a push to ``host``/``port`` may not use the credentials of ``conn_id``; None when it may."""
    if not normal_host(conn.host):
        if require_conn_host:
            return f"the push account {conn_id} names no host, so it cannot be used for {host or 'this push'}"
        return None
    if host and normal_host(host) != normal_host(conn.host):
        return f"{host} is not the host of the push account {conn_id}"
    if port is not None and conn.port is not None and port != conn.port:
        return f"port {port} is not the port of the push account {conn_id}"
    return None
