"""The last step of a request: its Distribution Notice, written once and sent once.

The DN goes through the outbox (a database row first, then e-mail or an ``.eml``
file); for scp it is also written as ``<RequestID>.notifyscp`` next to the data,
and if that copy fails the e-mail alone carries it (ICD 4.3.6.4).

A request never ends without its DN: the row is written before anything that
can fail for reasons of the destination or the mail relay (credentials, the scp
copy, the transport) is even looked up, and the destination fields are cut to
what Table 4.3.6-1 lets a DN carry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.delivery import Credentials, close_unfinished_granules, final_state, load_granules, push_endpoint
from distribution.errors import ArdisError, RetryableError
from distribution.models import GranuleStatus, MediaType, Notice, NoticeState, Request, RequestState
from distribution.notices.dn import DistributionNotice, DnFile, DnGranule, dn_subject, flatten, render_dn
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.orders.checksum_list import dn_checksum
from distribution.orders.placing import get_request
from distribution.time import utcnow
from distribution.orders.push import open_pusher

log = logging.getLogger(__name__)

FAILED = "The request failed"
CANCELLED = "The request was cancelled"


@dataclass
class NotifyResult:
    state: str
    notice_id: int
    scp_copy: str  # "written", "failed: ...", "not applicable"


def _dn_line(value: str, limit: int) -> str:
    """A free-text field as a DN can carry it: line breaks become blanks (others are kept), within the size."""
    return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")[:limit]


def build_notice(settings: Settings, request: Request) -> DistributionNotice:
    """The DN of a request as its granules stand now (Table 4.3.6-1)."""
    state = final_state(request)
    failure = {RequestState.CANCELLED: CANCELLED, RequestState.FAILED: FAILED}.get(state)
    show_checksums = request.order.user.checksum_list
    granules = []
    session = object_session(request)
    for rg in load_granules(session, request) if session is not None else request.granules:  # one pass, no N+1
        files: list[DnFile] = []
        if rg.status == GranuleStatus.DELIVERED and request.bundle and rg.bundle is not None:  # the bundle, its checksum, always
            # (a request's one bundle is listed under its first granule: [] for the others)
            files += [DnFile(p["name"], p["size"], p["checksum_type"], p["checksum"]) for p in rg.bundle]
        elif rg.status == GranuleStatus.DELIVERED:
            for rf in rg.files:
                gf = rf.granule_file
                checksum_type, checksum_value = dn_checksum(settings, rf, show_checksums)
                files.append(
                    DnFile(name=rf.dist_name, size=rf.size, checksum_type=checksum_type, checksum_value=checksum_value)
                )
        else:
            files.append(DnFile(name="N/A", size=0, checksum_type=None, checksum_value=None))
        explanation = None if rg.status == GranuleStatus.DELIVERED else rg.failure_explanation or "unknown"
        granules.append(
            DnGranule(ur=granule_ur(rg.granule, settings), esdt=rg.granule.collection.esdt, failure=explanation,
                      files=files)
        )
    pull = request.media_type == MediaType.FTP_PULL
    placed = pull and state in (RequestState.COMPLETE, RequestState.PARTIAL)  # a failed pull placed nothing
    return DistributionNotice(
        order_id=str(request.order.order_id),
        request_id=str(request.request_id),
        userstring=_dn_line(request.userstring, 255),
        finished=request.finished_at or utcnow(),
        media_type=request.media_type.value,
        ftp_host=flatten(settings.ftp_host if pull else request.host)[:64].strip(),
        ftp_dir=(request.ftp_dir or "") if placed else "" if pull else _dn_line(request.directory, 255),
        ftp_expires=request.ftp_expires_at if placed else None,
        granules=granules,
        failure=failure,
    )


def dn_key(request: Request, kind: str = "dn") -> str:
    """The outbox key of a request's DN (``dn:<RequestID>``), one per attempt: ``…:attempt-<n>`` after a retry.

    The outbox sends one notice per key, so a retried request gets exactly one new DN
    and an attempt never gets two; ``kind`` names the DN's companions (``dn-scp``, …).
    """
    key = f"{kind}:{request.request_id}"
    return key if (request.attempt or 1) == 1 else f"{key}:attempt-{request.attempt}"


def _enqueue_dn(session: Session, settings: Settings, request: Request) -> Notice:
    notice = build_notice(settings, request)
    preamble = settings.failed_preamble if notice.failure else settings.preamble
    return enqueue_notice(
        session,
        dedupe_key=dn_key(request),
        kind="dn-failed" if notice.failure else "dn",
        recipient=request.notify_email or request.order.user.email,
        subject=dn_subject(settings.archive_name, str(request.order.order_id)),
        body=render_dn(notice, preamble),
        request_pk=request.id,
    )


def _write_scp_copy(session: Session, request: Request, dn: Notice, credentials: CredentialSource) -> str:
    """Copy the DN beside the data once; remember success as a sent 'dn-scp' notice.

    The copy is optional (ICD 4.3.6.4): when the credentials are gone or the host
    refuses, the reason is logged and returned, and the e-mail alone carries the DN.
    """
    key = dn_key(request, "dn-scp")
    done = session.scalar(select(Notice).where(Notice.dedupe_key == key))
    if done is not None:
        return "written"
    name = f"{request.request_id}.notifyscp"
    try:
        with open_pusher(push_endpoint(request, credentials())) as pusher:
            pusher.put_text(name, dn.body)
    except ArdisError as e:
        log.warning("DN copy %s to %s skipped; the DN goes by e-mail only: %s", name, request.host, e)
        return f"failed: {e}"
    session.add(
        Notice(
            dedupe_key=key,
            kind="dn-scp",
            request_pk=request.id,
            recipient=f"scp://{request.host}{request.directory}/{name}",
            subject=dn.subject,
            body=dn.body,
            message_id=dn.message_id,
            state=NoticeState.SENT,
            sent_at=utcnow(),
            sent_via="scp",
        )
    )
    return "written"


CredentialSource = Callable[[], Credentials | None]


def copy_dn_again(settings: Settings, request_id: str, credentials: CredentialSource,
                  transport: Callable[[], Transport], *, last_try: bool) -> str:
    """Retry the scp copy of the DN (ICD 4.3.6.4) on the retry schedule: the step that calls this is retried.

    Returns ``written`` or ``not applicable``; raises RetryableError while tries are left. On the last
    try a failure is final: operations get a notice saying so (once), and ``failed for good: …`` is
    returned (the user already has the DN by e-mail, so the request's outcome does not change).
    """
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if request.media_type != MediaType.SCP or request.state not in (RequestState.COMPLETE,
                                                                         RequestState.PARTIAL):
            return "not applicable"
        dn = session.scalar(select(Notice).where(Notice.dedupe_key == dn_key(request)))
        if dn is None:
            return "not applicable"
        result = _write_scp_copy(session, request, dn, credentials)
        if result == "written":
            return result
        if not last_try:
            raise RetryableError(f"DN copy to {request.host}: {result}")
        notice = enqueue_notice(
            session,
            dedupe_key=dn_key(request, "ops-dn-scp-failed"),
            kind="ops",
            recipient=settings.operations_email or settings.mail_from,
            subject=f"{settings.archive_name}: DN copy for request {request.request_id} failed for good",
            body=(f"The copy of the Distribution Notice {request.request_id}.notifyscp to scp://{request.host}"
                  f"{request.directory} failed on every try of the retry schedule.\n"
                  f"The user has the DN by e-mail ({request.notify_email or request.order.user.email}).\n"
                  f"Last error: {result.removeprefix('failed: ')}\n"),
            request_pk=request.id,
        )
        notice_id = notice.id
    send_pending(settings.database_url, transport(), notice_ids=[notice_id],
                 mail_from=settings.mail_from)
    return f"failed for good: {result.removeprefix('failed: ')}"


def _no_credentials() -> Credentials | None:
    return None


def notify_request(
    settings: Settings, request_id: str, transport: Callable[[], Transport],
    credentials: CredentialSource = _no_credentials,
) -> NotifyResult:
    """Close the request, write its DN once, copy it for scp, and send it.

    ``transport`` and ``credentials`` are looked up only once the DN is written:
    a missing SMTP or destination connection cannot keep a request from its DN
    (the outbox row waits for housekeeping; the scp copy is skipped, with the reason).
    """
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if not request.state.is_terminal or request.state == RequestState.CANCELLED:
            close_unfinished_granules(session, request)
            request.state = final_state(request)
            request.finished_at = request.finished_at or utcnow()
        if request.state == RequestState.CANCELLED:
            request.failure = CANCELLED
        elif request.state == RequestState.FAILED:
            request.failure = FAILED
        dn = _enqueue_dn(session, settings, request)
        scp_copy = "not applicable"
        if request.media_type == MediaType.SCP and request.state in (RequestState.COMPLETE, RequestState.PARTIAL):
            scp_copy = _write_scp_copy(session, request, dn, credentials)
        state, notice_id = request.state.value, dn.id
    send_pending(settings.database_url, transport(), notice_ids=[notice_id], mail_from=settings.mail_from)
    return NotifyResult(state=state, notice_id=notice_id, scp_copy=scp_copy)
