"""Reaching Airflow from the ``ardis`` command: only as another process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from distribution.config import Settings
from distribution.destinations import Address
from distribution.errors import UserError
from distribution.models import MediaType

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def plugins_folder() -> Path:
    return Path(os.environ.get("AIRFLOW__CORE__PLUGINS_FOLDER") or PLUGINS)


def dag_for(media_type: str) -> str:
    """The DAG that carries a request of this delivery method."""
    kind = MediaType(media_type).drive_kind
    return f"ardis_media_{kind}" if kind else "ardis_distribution"


def trigger_media_rewrite(settings: Settings, request_id: str, media_id: str) -> str:
    """A new run of the request's media DAG: it writes only the volumes marked bad."""
    from distribution.db import session_scope
    from distribution.orders import get_request

    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        order_id, media = str(request.order.order_id), request.media_type.value
    return _trigger([request_id, order_id, media, f"request-{request_id}-rewrite-{media_id}"])


def trigger_distribution_run(request_id: str, order_id: str, media_type: str) -> str:
    """Start the request's run now; on any failure say so (the dispatcher will start it)."""
    return _trigger([request_id, order_id, media_type])


def _airflow_off() -> bool:
    """``ARDIS_TRIGGER=off``: the ``ardis`` command starts no Airflow process (tests, no Airflow here)."""
    return os.environ.get("ARDIS_TRIGGER", "airflow") == "off"


def _run_plugin(module: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``python -m ardis_airflow.<module> ARGS`` with the plugins folder on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins_folder()), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", f"ardis_airflow.{module}", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def undefined_connections(conn_ids: list[str]) -> list[str] | None:
    """The ids among ``conn_ids`` that Airflow does not define; None when Airflow could not be asked."""
    if not conn_ids:
        return []
    if _airflow_off():
        return None
    try:
        proc = _run_plugin("connections", conn_ids)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode not in (0, 3):
        return None
    return [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("missing: ")]


def push_account(conn_id: str) -> Address | None:
    """Host and port of an Airflow connection (``python -m ardis_airflow.connections``); None: no such one."""
    try:
        proc = _run_plugin("connections", [conn_id])
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"cannot look up the push account {conn_id}: {e}") from e
    if proc.returncode == 3:
        return None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"cannot look up the push account {conn_id}: {last[:200]}")
    found = [line.split()[2:] for line in proc.stdout.splitlines() if line.startswith("push-account: ")]
    if not found:
        raise UserError(f"cannot look up the push account {conn_id}: no answer")
    host, port = (found[-1] + ["", ""])[:2]
    return Address("" if host == "-" else host, int(port) if port.isdigit() else None)


def _trigger(args: list[str]) -> str:
    if _airflow_off():
        return "not triggered (ARDIS_TRIGGER=off); the dispatcher DAG will start it"
    try:
        proc = _run_plugin("trigger", args)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"not triggered ({e}); the dispatcher DAG will start it"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"not triggered ({last}); the dispatcher DAG will start it"
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else "triggered"
