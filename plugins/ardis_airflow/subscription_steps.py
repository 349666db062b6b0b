"""Task bodies of the subscription DAGs: one Ardis function each.

``dispatch`` sweeps every unprocessed INSERT (whatever asset event started the
run) and returns trigger arguments for the electronic requests its orders hold;
media requests are left for the media DAG. Notices go out in a separate task
(``steps.resend_pending_notices``), so a mail relay that is down never makes a
retried dispatch lose the triggers of what it already placed.
"""

from __future__ import annotations

import logging
from typing import Any

from ardis_airflow.connections import notice_transport, push_account
from ardis_airflow.names import request_run_id
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.models import MediaType
from distribution.subscriptions.dispatch import dispatch_pending
from distribution.subscriptions.inbox import answer_mail
from distribution.subscriptions.store import expire_subscriptions

log = logging.getLogger(__name__)


def dispatch() -> list[dict[str, Any]]:
    """Fire subscriptions for every unprocessed INSERT; trigger arguments for the new electronic requests."""
    result = dispatch_pending(load_settings())
    log.info("subscriptions: %d events, %d firings, %d requests", result.events, result.firings,
             len(result.requests))
    for why in result.held:
        log.warning("order held: %s", why)
    return [
        {"trigger_run_id": request_run_id(r.request_id), "conf": {"request_id": r.request_id, "order_id": r.order_id},
         "note": f"Subscription order {r.order_id} / Request {r.request_id} ({r.media_type})"}
        for r in result.requests if MediaType(r.media_type).is_electronic
    ]


def expire() -> list[int]:
    """Mark subscriptions past their expiration date expired (recorded in their history)."""
    with session_scope(load_settings().database_url) as session:
        return expire_subscriptions(session)


def answer_incoming_mail() -> list[dict[str, Any]]:
    """Apply and acknowledge the subscription e-mails in the incoming maildir (push accounts checked here)."""
    settings = load_settings()
    return [{"key": o.key, "sender": o.sender, "accepted": o.accepted, "subscription_id": o.subscription_id}
            for o in answer_mail(settings, notice_transport(settings), push_account)]
