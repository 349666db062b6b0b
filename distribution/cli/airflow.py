"""Reaching Airflow from the ``ardis`` command: one documented path, Airflow's api-server over HTTP.

``ARDIS_AIRFLOW_URL`` is the api-server's base URL; the token is
``ARDIS_AIRFLOW_TOKEN``, or one obtained from ``POST /auth/token`` with
``ARDIS_AIRFLOW_USERNAME`` / ``ARDIS_AIRFLOW_PASSWORD``. A run is started by the
Ardis plugin's ``POST /ardis/api/requests/{id}/runs`` (the plugin knows the DAG
and run id; this module names neither); a connection is looked up with
``GET /api/v2/connections/{id}``. Without ``ARDIS_AIRFLOW_URL``, or when the
server cannot be reached, the run is left to the dispatcher DAG and a
connection cannot be checked here (the run checks it). The domain never
imports Airflow, nor runs its code in a child process.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from distribution.config import airflow_url
from distribution.orders.destinations import Address
from distribution.errors import UserError

__all__ = ["AirflowUnreachable", "airflow_names", "push_account", "start_run", "undefined_connections"]

TIMEOUT = 30.0
_tokens: dict[tuple[str, str], str] = {}


class AirflowUnreachable(Exception):
    """Airflow's api-server could not be asked (not configured, down, refused the login, answered oddly)."""


def _token(url: str) -> str | None:
    """A token for the api-server: the given one, one from the username and password, or None (no login)."""
    if token := os.environ.get("ARDIS_AIRFLOW_TOKEN", "").strip():
        return token
    username = os.environ.get("ARDIS_AIRFLOW_USERNAME", "")
    if not username:
        return None
    if (url, username) not in _tokens:
        status, body = _send(url, "POST", "/auth/token", None,
                             {"username": username, "password": os.environ.get("ARDIS_AIRFLOW_PASSWORD", "")})
        if status not in (200, 201) or not isinstance(body, dict) or not body.get("access_token"):
            raise AirflowUnreachable(f"Airflow refused the login of {username} ({status}: {_detail(body)})")
        _tokens[(url, username)] = str(body["access_token"])
    return _tokens[(url, username)]


def _send(url: str, method: str, path: str, token: str | None, body: dict[str, Any] | None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as e:
        return e.code, _json(e.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise AirflowUnreachable(f"Airflow at {url} did not answer: {getattr(e, 'reason', e)}") from e


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode("utf-8", "replace")[:200]


def _detail(body: Any) -> str:
    return str(body.get("detail") if isinstance(body, dict) else body)[:200]


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One API call with the configured credentials; AirflowUnreachable when it cannot be made."""
    url = airflow_url()
    if not url:
        raise AirflowUnreachable("ARDIS_AIRFLOW_URL is not set")
    return _send(url, method, path, _token(url), body)


def start_run(request_id: str, media_id: str | None = None) -> str:
    """Start the request's run (with ``media_id``: the run that writes that bad volume again) now.

    Returns what happened in words; never fails: when Airflow cannot be asked the
    dispatcher DAG starts the run on its next tick.
    """
    path = f"/ardis/api/requests/{urllib.parse.quote(request_id, safe='')}/runs"
    try:
        status, answer = _call("POST", path, {"media_id": media_id} if media_id else {})
    except AirflowUnreachable as e:
        return f"left to the dispatcher DAG ({e})"
    if status in (200, 201) and isinstance(answer, dict):
        return f"run {answer.get('run_id')} of {answer.get('dag_id')} {answer.get('status')}"
    return f"not triggered ({status}: {_detail(answer)}); the dispatcher DAG will start it"


def airflow_names() -> dict[str, Any]:
    """Ardis's DAG ids and pool names as the plugin defines them, and which DAGs are parsed.

    Raises AirflowUnreachable when the plugin's API cannot be asked.
    """
    status, answer = _call("GET", "/ardis/api/names")
    if status != 200 or not isinstance(answer, dict):
        raise AirflowUnreachable(f"Airflow answered {status} for Ardis's names: {_detail(answer)}")
    return answer


def _connection(conn_id: str) -> dict[str, Any] | None:
    """Airflow's connection ``conn_id`` (secrets redacted by Airflow), None when it is not defined."""
    status, answer = _call("GET", f"/api/v2/connections/{urllib.parse.quote(conn_id, safe='')}")
    if status == 404:
        return None
    if status != 200 or not isinstance(answer, dict):
        raise AirflowUnreachable(f"Airflow answered {status} for connection {conn_id}: {_detail(answer)}")
    return answer


def undefined_connections(conn_ids: list[str]) -> list[str] | None:
    """The ids among ``conn_ids`` that Airflow does not define; None when Airflow could not be asked."""
    if not conn_ids:
        return []
    try:
        return [c for c in conn_ids if _connection(c) is None]
    except AirflowUnreachable:
        return None


def push_account(conn_id: str) -> Address | None:
    """Host and port of an Airflow connection; None: no such one. UserError when Airflow cannot be asked."""
    try:
        conn = _connection(conn_id)
    except AirflowUnreachable as e:
        raise UserError(f"cannot look up the push account {conn_id}: {e}") from e
    if conn is None:
        return None
    port = conn.get("port")
    return Address(str(conn.get("host") or ""), int(port) if isinstance(port, int) else None)
