"""Task bodies of the electronic distribution DAG: one Ardis function each.

Tasks pass the RequestID (from the run's conf) and nothing else; what a step
did is in Ardis's database. When stage, verify or deliver fails, why is kept
on the request's unfinished granules, so the DN gives the last cause (a full
disk, a refused login), not "did not complete".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.sdk import get_current_context
from sqlalchemy.exc import SQLAlchemyError

from ardis_airflow.connections import notice_transport, push_credentials
from ardis_airflow.names import dag_for, request_run_id
from ardis_airflow.rewrites import pending_rewrites
from distribution.orders import delivery, housekeeping, notify
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.errors import ArdisError, PermanentError, UserError
from distribution.models import MediaType
from distribution.orders.placing import get_request
from distribution.shipping import alerts

#: Run states in which a run may still write a volume.
_GOING = ("queued", "running")


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


@contextmanager
def _recorded(settings: Settings, request_id: str, step: str, *,
              unexpected_is_permanent: bool = False) -> Iterator[None]:
    """Record a failing step's error for the DN, then let it fail the task.

    A database error is not recorded (the database is what failed; Airflow retries
    the step). ``unexpected_is_permanent``: an error Ardis did not classify fails
    the step at once instead of being retried for hours.
    """
    try:
        yield
    except SQLAlchemyError:
        raise  # the database itself failed: nothing can be recorded, Airflow retries the step
    except ArdisError as e:
        delivery.record_step_error(settings, request_id, step, e)
        raise
    except Exception as e:
        if not unexpected_is_permanent:
            delivery.record_step_error(settings, request_id, step, e)
            raise
        error = PermanentError(f"unexpected {type(e).__name__}: {e}")
        delivery.record_step_error(settings, request_id, step, error)
        raise error from e


def begin() -> str:
    """Record the run; a push whose connection is not defined fails here, before anything is staged."""
    settings = load_settings()
    request_id = run_request_id()
    state = delivery.begin_request(settings, request_id, get_current_context()["dag_run"].run_id)
    with _recorded(settings, request_id, "delivery"):
        push_credentials(_conn_id(request_id))
    return state


def stage() -> dict[str, int]:
    settings = load_settings()
    request_id = run_request_id()
    with _recorded(settings, request_id, "staging"):
        return delivery.stage_request(settings, request_id)


def verify() -> dict[str, int]:
    settings = load_settings()
    request_id = run_request_id()
    with _recorded(settings, request_id, "verification"):
        return delivery.verify_request(settings, request_id)


def deliver() -> dict[str, int]:
    settings = load_settings()
    request_id = run_request_id()
    with _recorded(settings, request_id, "delivery", unexpected_is_permanent=True):
        return delivery.deliver_request(settings, request_id, push_credentials(_conn_id(request_id)))


def notify_user() -> dict[str, Any]:
    """The DN, always: credentials and the mail transport are looked up only after it is written."""
    settings = load_settings()
    request_id = run_request_id()
    conn_id = _conn_id(request_id)
    result = notify.notify_request(settings, request_id, lambda: notice_transport(settings),
                                   lambda: push_credentials(conn_id))
    return {"state": result.state, "notice_id": result.notice_id, "scp_copy": result.scp_copy}


def copy_dn() -> str:
    """The scp copy of the DN (ICD 4.3.6.4), retried on the retry schedule; operations told after the last try."""
    settings = load_settings()
    request_id = run_request_id()
    conn_id = _conn_id(request_id)
    ti = get_current_context()["ti"]
    last_try = int(ti.try_number or 1) > int(ti.task.retries or 0)
    return notify.copy_dn_again(settings, request_id, lambda: push_credentials(conn_id),
                                lambda: notice_transport(settings), last_try=last_try)


def outcome() -> str:
    return delivery.request_outcome(load_settings(), run_request_id())


def requests_to_dispatch() -> list[dict[str, Any]]:
    """Trigger arguments for every request still without a run, and every bad volume with no run going."""
    settings = load_settings()
    firsts = [
        {
            "trigger_dag_id": dag_for(r.media_type),
            "trigger_run_id": request_run_id(r.request_id),
            "conf": {"request_id": r.request_id, "order_id": r.order_id},
            "note": f"Order {r.order_id} / Request {r.request_id} ({r.media_type})",
        }
        for r in housekeeping.requests_without_run(settings)
    ]
    ti = get_current_context()["ti"]
    rewrites = [rw.trigger_kwargs() for rw in pending_rewrites(settings)
                if not ti.get_dr_count(dag_id=rw.dag_id, run_ids=list(rw.runs), states=list(_GOING))]
    return firsts + rewrites


def purge_expired_pull_areas() -> list[str]:
    return housekeeping.purge_expired_pull_areas(load_settings())


def purge_finished_staging() -> list[str]:
    return housekeeping.purge_finished_staging(load_settings())


def alert_blank_media_waits() -> list[str]:
    settings = load_settings()
    return alerts.alert_blank_media_waits(settings, lambda: notice_transport(settings))


def resend_pending_notices() -> list[int]:
    settings = load_settings()
    return housekeeping.send_pending_notices(settings, notice_transport(settings))
