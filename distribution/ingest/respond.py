"""Answering a PDR: its PDRD or PAN back to the PDR server and/or by e-mail (ICD 4.5.4, 4.5.5).

The answer has the PDR's name with ``.PDRD`` or ``.PAN``; by e-mail that name is
the subject. Each way is done once: the e-mail is an outbox notice (enqueued once,
sent once), and the server copy is recorded when written, so a retried step only
does what is left. When the ingest stopped before its PAN was built (a step that
failed for good), the PAN is built here from what the database knows.
"""

from __future__ import annotations

import logging

from distribution.ingest import pan
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import ArdisError, NotFound, PermanentError, RetryableError
from distribution.ingest.insert import finish_pan
from distribution.ingest.intake import ServerFor
from distribution.models import PdrRecord, PdrState
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.orders.staging import remove_tree
from distribution.time import utcnow

log = logging.getLogger(__name__)


def _ensure_answer(settings: Settings, pdr_id: int) -> None:
    """A PDRD or PAN exists for the ingest, whatever happened before."""
    with session_scope(settings.database_url) as session:
        record = session.get(PdrRecord, pdr_id)
        if record is None:
            raise NotFound(f"no ingest {pdr_id}")
        if record.state is PdrState.NEW:  # validation itself failed: nothing was pulled
            record.state, record.response_kind = PdrState.REJECTED, "PDRD"
            record.response_text = pan.render_pdrd(pan.ShortPdrd(pan.ECS_INTERNAL_ERROR))
            record.detail = record.detail or "the PDR could not be validated"
        pending = record.state in (PdrState.PULLING, PdrState.ARCHIVING)
    if pending:
        finish_pan(settings, pdr_id)


def respond(settings: Settings, pdr_id: int, server_for: ServerFor, transport: Transport) -> str:
    """Deliver the ingest's PDRD or PAN everywhere its provider wants it; returns the response file name."""
    _ensure_answer(settings, pdr_id)
    url = settings.database_url
    with session_scope(url) as session:
        record = session.get(PdrRecord, pdr_id)
        assert record is not None and record.response_kind and record.response_text is not None
        name = pan.response_name(record.name, record.response_kind)
        provider = record.provider
        if record.state is PdrState.RESPONDED:
            return name
        notice_id = None
        if provider.response_email:
            notice = enqueue_notice(session, dedupe_key=f"ingest-{pdr_id}-{record.response_kind}",
                                    kind=record.response_kind, recipient=provider.response_email, subject=name,
                                    body=record.response_text)
            record.response_notice_id = notice_id = notice.id
        to_server = provider.respond_to_server and record.response_written_at is None
        text = record.response_text
    failures: list[ArdisError] = []  # one way failing never keeps the answer from going the other way
    if notice_id is not None:
        try:
            send_pending(url, transport, notice_ids=[notice_id], mail_from=settings.mail_from)
        except ArdisError as e:
            failures.append(e)
    if to_server:
        try:
            with server_for(provider) as server:
                server.write_response(name, text)
            with session_scope(url) as session:
                session.get(PdrRecord, pdr_id).response_written_at = utcnow()  # type: ignore[union-attr]
        except ArdisError as e:
            failures.append(e)
    if failures:
        kind = RetryableError if any(isinstance(e, RetryableError) for e in failures) else PermanentError
        raise kind(f"ingest {pdr_id}: {name} not delivered everywhere: "
                   + "; ".join(str(e) for e in failures)) from failures[0]
    with session_scope(url) as session:
        record = session.get(PdrRecord, pdr_id)
        assert record is not None
        record.state, record.finished_at = PdrState.RESPONDED, utcnow()
    remove_tree(settings.ingest_root / str(pdr_id), settings.ingest_root)
    log.info("ingest %s: %s answered", pdr_id, name)
    return name
