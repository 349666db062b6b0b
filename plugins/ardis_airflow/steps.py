"""Task bodies of the electronic distribution DAG: one Ardis function each.

Tasks pass the RequestID (from the run's conf) and nothing else; what a step
did is in Ardis's database.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context

from ardis_airflow.connections import notice_transport, push_credentials
from distribution import delivery, housekeeping, notify
from distribution.airflow_bridge import dag_for
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.models import MediaType
from distribution.orders import get_request


def run_request_id() -> str:
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    request_id = str(conf.get("request_id") or context["params"].get("request_id") or "").strip()
    if not request_id:
        raise UserError("this run has no request_id in its conf")
    return request_id


def _conn_id(request_id: str) -> str:
    with session_scope(load_settings().database_url) as session:
        request = get_request(session, request_id)
        return request.conn_id if request.media_type != MediaType.FTP_PULL else ""


def begin() -> str:
    context = get_current_context()
    return delivery.begin_request(load_settings(), run_request_id(), context["dag_run"].run_id)


def stage() -> dict[str, int]:
    return delivery.stage_request(load_settings(), run_request_id())


def verify() -> dict[str, int]:
    return delivery.verify_request(load_settings(), run_request_id())


def deliver() -> dict[str, int]:
    request_id = run_request_id()
    return delivery.deliver_request(load_settings(), request_id, push_credentials(_conn_id(request_id)))


def notify_user() -> dict[str, Any]:
    settings = load_settings()
    request_id = run_request_id()
    result = notify.notify_request(settings, request_id, notice_transport(settings),
                                   push_credentials(_conn_id(request_id)))
    return {"state": result.state, "notice_id": result.notice_id, "scp_copy": result.scp_copy}


def outcome() -> str:
    return delivery.request_outcome(load_settings(), run_request_id())


def requests_to_dispatch() -> list[dict[str, Any]]:
    """Trigger arguments for every request still without a run."""
    return [
        {
            "trigger_dag_id": dag_for(r.media_type),
            "trigger_run_id": f"request-{r.request_id}",
            "conf": {"request_id": r.request_id, "order_id": r.order_id},
            "note": f"Order {r.order_id} / Request {r.request_id} ({r.media_type})",
        }
        for r in housekeeping.requests_without_run(load_settings())
    ]


def purge_expired_pull_areas() -> list[str]:
    return housekeeping.purge_expired_pull_areas(load_settings())


def purge_finished_staging() -> list[str]:
    return housekeeping.purge_finished_staging(load_settings())


def resend_pending_notices() -> list[int]:
    settings = load_settings()
    return housekeeping.send_pending_notices(settings, notice_transport(settings))
