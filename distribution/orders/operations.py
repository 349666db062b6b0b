"""What an operator does to one request from the console: cancel it, retry it, resend its DN, extend its
pull area; and what each step of it last failed with.

Each is one small transaction on Ardis's rows; a refusal is a ``UserError`` with
the sentence the operator sees. Sending a resent notice is the caller's (the
outbox, ``notices.outbox.send_pending``), as for every notice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distribution.errors import UserError
from distribution.models import GranuleStatus, Notice, Request, RequestRetry, RequestState
from distribution.notices.outbox import enqueue_notice
from distribution.orders.placing import cancel_requests, get_request
from distribution.time import utcnow

__all__ = ["MAX_EXTENSION_DAYS", "RETRIED", "cancel_request", "extend_pull_area", "mark_retry_sent", "resend_notice",
           "retries", "retry_request", "step_errors", "unsent_retry"]

#: The longest an operator extends a pull area at once.
MAX_EXTENSION_DAYS = 30
#: The states a request is retried from: some of its granules failed.
RETRIED = (RequestState.FAILED, RequestState.PARTIAL)


def cancel_request(session: Session, request_id: str) -> Request:
    """Cancel one request that has not finished (its run sends the cancellation DN)."""
    request = get_request(session, request_id)
    if request.state.is_terminal:
        raise UserError(f"request {request_id} has finished ({request.state.value}): nothing to cancel")
    cancel_requests(session, [request])
    return request


def extend_pull_area(session: Session, request_id: str, days: int, now: datetime | None = None) -> datetime:
    """Keep a request's FTP pull area ``days`` longer (from its expiry, or from now if it has passed)."""
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise UserError(f"extend by 1 to {MAX_EXTENSION_DAYS} days")
    request = get_request(session, request_id)
    if not request.ftp_dir or request.ftp_expires_at is None:
        raise UserError(f"request {request_id} has no pull area")
    if request.pull_purged_at is not None:
        raise UserError(f"the pull area of request {request_id} was removed {request.pull_purged_at:%Y-%m-%d %H:%M}")
    request.ftp_expires_at = max(request.ftp_expires_at, now or utcnow()) + timedelta(days=days)
    session.flush()
    return request.ftp_expires_at


def resend_notice(session: Session, request_id: str) -> Notice:
    """A new outbox row with the request's last notice (its DN), to be sent once more; the first stays as sent."""
    request = get_request(session, request_id)
    last = session.scalar(select(Notice).where(Notice.request_pk == request.id, ~Notice.dedupe_key.contains(":resend-"))
                          .order_by(Notice.id.desc()).limit(1))
    if last is None:
        raise UserError(f"request {request_id} has no notice to resend yet")
    again = session.scalar(select(func.count()).select_from(Notice)
                           .where(Notice.dedupe_key.startswith(f"{last.dedupe_key}:resend-"))) or 0
    return enqueue_notice(session, dedupe_key=f"{last.dedupe_key}:resend-{again + 1}", kind=last.kind,
                          recipient=last.recipient, subject=last.subject, body=last.body, request_pk=request.id)


def step_errors(session: Session, request_id: str) -> dict[str, str]:
    """The last error each step left on the request's granules (``<step> failed - why``), by step."""
    errors: dict[str, str] = {}
    for rg in get_request(session, request_id).granules:
        for text in (rg.failure_explanation, rg.last_error):
            if text and " failed - " in text:
                step, why = text.split(" failed - ", 1)
                errors[step.strip()] = why.strip()
    return errors


def retry_request(session: Session, request_id: str, operator: str, now: datetime | None = None) -> RequestRetry:
    """Start the next attempt of a failed (or partly failed) electronic request; the retry to hand to Airflow.

    Recorded before Airflow is asked to run the steps again: the request's ``attempt`` goes
    up (so its DN has a new outbox key, ``notify.dn_key``: one new DN, never two for an
    attempt), its failed granules are pending again (delivered ones stay delivered), and a
    ``request_retries`` row says who asked and what the attempt before ended with. A retry
    Airflow has not taken yet (``sent_at`` empty) is returned again rather than a new attempt.
    """
    request = get_request(session, request_id)
    unsent = unsent_retry(session, request)
    if unsent is not None:
        return unsent
    if request.state not in RETRIED:
        raise UserError(f"request {request_id} is {request.state.value}: only a failed request is retried")
    if not request.media_type.is_electronic:
        raise UserError(f"request {request_id} is on {request.media_type.value}: mark its bad volume to be "
                        "written again instead")
    why = "; ".join([request.failure or ""] + [f"{step}: {e}" for step, e in step_errors(session, request_id).items()])
    retry = RequestRetry(request_pk=request.id, attempt=request.attempt + 1, requested_by=operator,
                         requested_at=now or utcnow(), previous_state=request.state.value,
                         previous_failure=why.strip("; "))
    try:
        with session.begin_nested():
            session.add(retry)
    except IntegrityError as e:  # another operator's retry of the same attempt, in the same moment
        raise UserError(f"request {request_id} is being retried already") from e
    for rg in request.granules:
        if rg.status == GranuleStatus.FAILED:
            rg.status, rg.failure_explanation, rg.last_error = GranuleStatus.PENDING, None, None
    request.attempt, request.state = retry.attempt, RequestState.NEW
    request.failure, request.finished_at = None, None
    session.flush()
    return retry


def retries(session: Session, request_id: str) -> list[RequestRetry]:
    """The operators' retries of a request, first first."""
    request = get_request(session, request_id)
    return list(session.scalars(select(RequestRetry).where(RequestRetry.request_pk == request.id)
                                .order_by(RequestRetry.attempt)))


def unsent_retry(session: Session, request: Request) -> RequestRetry | None:
    """The retry of the request's current attempt that Airflow has not taken yet (None: none)."""
    return session.scalar(select(RequestRetry).where(RequestRetry.request_pk == request.id,
                                                     RequestRetry.attempt == request.attempt,
                                                     RequestRetry.sent_at.is_(None)))


def mark_retry_sent(session: Session, retry_id: int, now: datetime | None = None) -> None:
    """Airflow took the retry (its steps are cleared to run again): asking again starts the next attempt."""
    retry = session.get(RequestRetry, retry_id)
    if retry is not None and retry.sent_at is None:
        retry.sent_at = now or utcnow()
