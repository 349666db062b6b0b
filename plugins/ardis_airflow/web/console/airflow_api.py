"""Airflow's own REST API on this api-server, called by the console as the logged-in operator.

The console never writes Airflow's rows: it sends the operator's own token, so Airflow
checks the operator's rights (and a step's assignment) and records who did what.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from airflow.configuration import conf

__all__ = ["api_base", "call"]


def api_base() -> str:
    """This api-server's base URL as the server reaches itself (``[api] base_url``, else 127.0.0.1 and its port)."""
    base = conf.get("api", "base_url", fallback="") or ""
    return base.rstrip("/") or f"http://127.0.0.1:{conf.getint('api', 'port', fallback=8080)}"


def call(method: str, path: str, body: dict[str, Any], token: str) -> tuple[int, str]:
    """``method`` ``path`` (``/api/v2/…``) with a JSON body, as the token's user; (HTTP status, detail)."""
    request = urllib.request.Request(api_base() + path, data=json.dumps(body).encode(), method=method, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, ""
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            detail = str(json.loads(raw).get("detail", ""))
        except (ValueError, AttributeError):
            detail = raw[:200].decode(errors="replace")
        return e.code, detail
    except (urllib.error.URLError, OSError) as e:
        return 502, f"Airflow's API did not answer: {e}"
