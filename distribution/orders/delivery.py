"""Electronic distribution of one request: stage → verify → deliver → notify.

Each step is a function of (settings, RequestID) that an Airflow task calls. The
state of record is Ardis's database: a step retried after a crash finds what the
earlier try did (staged links, delivered files) and finishes the rest; nothing is
delivered or announced twice. Retryable errors are raised for Airflow to retry;
permanent ones fail the granules they concern, are recorded for the DN, and are
raised so the step shows as failed.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from distribution.inventory.archive import first_internal_type
from distribution.orders.claims import FileClaims
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.destinations import Address, host_problem
from distribution.errors import FileVanished, PermanentError, RetryableError
from distribution.models import GranuleStatus, MediaType, Request, RequestFile, RequestGranule, RequestState
from distribution.orders.placing import get_request
from distribution.paths import under
from distribution.orders.reasons import public_reason
from distribution.orders.staging import discarded_on_failure, distribution_names, place
from distribution.time import utcnow
from distribution.orders.push import Endpoint, Pusher, open_pusher
from distribution.orders.verify import FileCheck, VerifyResult, verify_files

RETRIEVAL_FAILED = "Granule retrieval failed. Please contact User Services"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What an Airflow Connection supplies for a push (never stored by Ardis)."""

    host: str = ""
    port: int | None = None
    username: str = ""
    password: str = ""
    private_key: str | None = None
    known_hosts: str | None = None


_METHOD = {MediaType.FTP_PUSH: "ftp", MediaType.SCP: "sftp", MediaType.SMB_PUSH: "smb"}


def endpoint_with(credentials: Credentials | None, method: str, host: str, port: int | None,
                  directory: str) -> Endpoint:
    """An endpoint from Ardis's own record of a place and a connection's credentials (host/port as fallback)."""
    creds = credentials or Credentials()
    return Endpoint(
        method=method,
        host=host or creds.host,
        port=port or creds.port,
        directory=directory,
        username=creds.username,
        password=creds.password,
        private_key=creds.private_key,
        known_hosts=creds.known_hosts,
    )


def push_endpoint(request: Request, credentials: Credentials | None) -> Endpoint:
    """The request's destination with the connection's credentials filled in.

    Checked at every push: the credentials go only to the connection's own host
    (a subscription's connection must name one; distribution/orders/destinations.py).
    """
    if credentials is not None:
        why = host_problem(request.conn_id, Address(credentials.host, credentials.port), request.host,
                           request.port, require_conn_host=request.order.source == "subscription")
        if why:
            raise PermanentError(why)
    return endpoint_with(credentials, _METHOD[request.media_type], request.host, request.port, request.directory)


def pull_login(settings: Settings, request: Request) -> str:
    """The FTP login that sees this request's pull directory (per order or per user)."""
    return request.order.user.user_id if settings.ftp_login_mode == "user" else str(request.order.order_id)


def pull_directory(settings: Settings, request: Request) -> Path:
    return under(settings.pull_root, pull_login(settings, request), str(request.request_id))


def staging_directory(settings: Settings, request: Request) -> Path:
    return under(settings.staging_root, str(request.request_id))


def _open(request: Request) -> bool:
    """Whether the request still wants work done (not cancelled, not finished)."""
    return not request.state.is_terminal


def _fail(rg: RequestGranule, explanation: str) -> None:
    rg.status = GranuleStatus.FAILED
    rg.failure_explanation = explanation


def begin_request(settings: Settings, request_id: str, run_id: str | None) -> str:
    """Record which Airflow run carries the request; returns its state."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if run_id and request.airflow_run_id != run_id:
            request.airflow_run_id = run_id
        return request.state.value


def stage_request(settings: Settings, request_id: str) -> dict[str, int]:
    """Link (or copy) every file of every pending granule into the staging area."""
    counts: Counter[str] = Counter()
    placed: list[Path] = []  # what this try made: removed if it fails (a full disk gets its space back)
    with session_scope(settings.database_url) as session, discarded_on_failure(placed):
        request = get_request(session, request_id)
        if not _open(request):
            return dict(counts)
        request.state = RequestState.STAGING
        root = staging_directory(settings, request)
        seen_names: dict[str, int] = {}
        for rg in request.granules:
            if rg.status not in (GranuleStatus.PENDING, GranuleStatus.STAGED):
                continue
            granule = rg.granule
            names = distribution_names(granule.local_granule_id, granule.files)
            clash = next((n for n in names if seen_names.get(n, rg.directory_number) != rg.directory_number), None)
            if clash:
                _fail(rg, f"file name {clash} already used by granule {seen_names[clash]} of this request")
                continue
            existing = {rf.granule_file_id: rf for rf in rg.files}
            try:
                for gf, name in zip(granule.files, names, strict=True):
                    rf = existing.get(gf.id) or RequestFile(granule_file=gf, dist_name=name)
                    if gf.id not in existing:
                        rg.files.append(rf)
                    staged = root / f"{rg.directory_number:05d}" / name
                    how = place(Path(gf.archive_path), staged)
                    counts[how] += 1
                    if how != "present":
                        placed.append(staged)
                    rf.staged_path = str(staged)
            except FileVanished as e:
                log.warning("request %s, granule %s: %s", request.request_id, rg.directory_number, e)
                _fail(rg, f"{RETRIEVAL_FAILED} ({public_reason(e)})")
                continue
            for name in names:
                seen_names[name] = rg.directory_number
            rg.status = GranuleStatus.STAGED
    return dict(counts)


def verify_request(settings: Settings, request_id: str) -> dict[str, int]:
    """Recompute the stored checksum of every staged file; a mismatch fails its granule."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if not _open(request):
            return {}
        request.state = RequestState.VERIFYING
        staged = [rg for rg in request.granules if rg.status == GranuleStatus.STAGED]
        checks = []
        for rg in staged:
            for rf in rg.files:
                gf = rf.granule_file
                checks.append(
                    FileCheck(
                        path=Path(str(rf.staged_path)),
                        checksum_type=gf.checksum_type,
                        expected_value=gf.checksum_value,
                        expected_size=gf.size,
                        key=rf.id,
                        internal_type=gf.internal_checksum_type or first_internal_type(gf),
                        internal_value=gf.internal_checksum_value,
                    )
                )
        results = {r.key: r for r in verify_files(checks, workers=settings.verify_workers)}
        record_internal_checksums(staged, results)
        failed = 0
        now = utcnow()
        for rg in staged:
            errors = [f"{rf.dist_name}: {results[rf.id].error}" for rf in rg.files if not results[rf.id].ok]
            if errors:
                _fail(rg, "checksum verification failed - " + "; ".join(errors))
                failed += 1
                continue
            for rf in rg.files:
                rf.verified_at = now
            rg.status = GranuleStatus.VERIFIED
        return {"verified": len(staged) - failed, "failed": failed, "files": len(checks)}


def record_internal_checksums(staged: list[RequestGranule], results: dict[object, VerifyResult]) -> None:
    """Rows without an internal checksum get the one just computed, if the file passed every other check.

    From then on a change to the file is caught; a change made before this first
    verification cannot be told from the original.
    """
    for rg in staged:
        for rf in rg.files:
            gf, result = rf.granule_file, results[rf.id]
            if gf.internal_checksum_value is None and result.ok and result.internal_value:
                gf.internal_checksum_type = first_internal_type(gf)
                gf.internal_checksum_value = result.internal_value
                gf.internal_checksum_origin = "first verification"


def deliver_request(settings: Settings, request_id: str, credentials: Credentials | None = None) -> dict[str, int]:
    """Put every verified granule where the request says; resumes after a failed try."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if not _open(request):
            return {}
        request.state = RequestState.DELIVERING
        session.commit()
        todo = [rg for rg in request.granules if rg.status == GranuleStatus.VERIFIED]
        if request.media_type == MediaType.FTP_PULL:
            delivered = _deliver_pull(settings, session, request, todo)
        else:
            delivered = _deliver_push(settings, session, request, todo, credentials)
        if request.finished_at is None and any(rg.status == GranuleStatus.DELIVERED for rg in request.granules):
            request.finished_at = utcnow()
        return {"delivered": delivered}


def _deliver_pull(settings: Settings, session: Session, request: Request, todo: list[RequestGranule]) -> int:
    target = pull_directory(settings, request)
    placed: list[Path] = []  # a failed try leaves nothing in the pull area that no DN announces
    with discarded_on_failure(placed):
        for rg in todo:
            for rf in rg.files:
                if place(Path(str(rf.staged_path)), target / rf.dist_name) != "present":
                    placed.append(target / rf.dist_name)
                rf.delivered_at = rf.delivered_at or utcnow()
            rg.status = GranuleStatus.DELIVERED
    if not any(rg.status == GranuleStatus.DELIVERED for rg in request.granules):
        return 0  # nothing was placed: no pull directory to announce
    request.ftp_dir = f"/{request.request_id}"
    if request.ftp_expires_at is None:
        request.ftp_expires_at = utcnow() + timedelta(hours=settings.ftp_expiry_hours)
    return len(todo)


def _push_files(pusher: Pusher, claims: FileClaims, rg: RequestGranule) -> bool:
    """Send the granule's files that this deliverer can claim; False while another deliverer holds one."""
    complete = True
    for rf in rg.files:
        if rf.delivered_at is not None:
            continue
        if not claims.claim(rf):
            complete = complete and rf.delivered_at is not None
            continue
        pusher.put_file(Path(str(rf.staged_path)), rf.dist_name)
        claims.delivered(rf)  # a retry or another run must not resend this file
    return complete


def _deliver_push(
    settings: Settings, session: Session, request: Request, todo: list[RequestGranule],
    credentials: Credentials | None
) -> int:
    if not todo:
        return 0
    delivered = 0
    try:
        with FileClaims(session, settings.database_url, settings.claim_lease_seconds) as claims, \
                open_pusher(push_endpoint(request, credentials)) as pusher:
            pending = todo
            while pending:
                waiting = []
                for rg in pending:
                    try:
                        if not _push_files(pusher, claims, rg):
                            waiting.append(rg)  # another run is sending one of its files
                            continue
                    except PermanentError as e:
                        log.warning("request %s, granule %s: delivery failed: %s", request.request_id,
                                    rg.directory_number, e)
                        _fail(rg, f"delivery failed - {public_reason(e)}")
                        session.commit()
                        continue
                    rg.status = GranuleStatus.DELIVERED
                    rg.last_error = None
                    delivered += 1
                    session.commit()
                if waiting:
                    claims.wait()
                    for rg in waiting:
                        session.refresh(rg)
                pending = [rg for rg in waiting if rg.status == GranuleStatus.VERIFIED]
    except RetryableError as e:
        for rg in todo:
            if rg.status == GranuleStatus.VERIFIED:
                rg.last_error = f"delivery failed - {public_reason(e)}"
        session.commit()
        raise
    except PermanentError as e:
        for rg in todo:
            if rg.status == GranuleStatus.VERIFIED:
                _fail(rg, f"delivery failed - {public_reason(e)}")
        session.commit()
        raise
    return delivered


def record_step_error(settings: Settings, request_id: str, step: str, error: BaseException) -> None:
    """Keep why a step failed on every granule still on its way: the DN gives it if no later try succeeds.

    The user's text is ``public_reason`` (no path, no address); the operator's log gets the whole error.
    """
    log.warning("request %s: %s failed: %s", request_id, step, error)
    reason = f"{step} failed - {public_reason(error)}"
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        for rg in request.granules:
            if rg.status in (GranuleStatus.PENDING, GranuleStatus.STAGED, GranuleStatus.VERIFIED):
                rg.last_error = reason


def close_unfinished_granules(session: Session, request: Request) -> None:
    """Before the DN: a granule still on its way did not make it; say why."""
    for rg in request.granules:
        if rg.status in (GranuleStatus.DELIVERED, GranuleStatus.FAILED):
            continue
        if request.state == RequestState.CANCELLED or rg.status == GranuleStatus.CANCELLED:
            rg.status = GranuleStatus.CANCELLED
            rg.failure_explanation = rg.failure_explanation or "Request Canceled"
        else:
            _fail(rg, rg.last_error or "distribution did not complete")


def final_state(request: Request) -> RequestState:
    statuses = [rg.status for rg in request.granules]
    delivered = statuses.count(GranuleStatus.DELIVERED)
    if request.state == RequestState.CANCELLED and not delivered:
        return RequestState.CANCELLED
    if delivered == len(statuses):
        return RequestState.COMPLETE
    return RequestState.PARTIAL if delivered else RequestState.FAILED


def request_outcome(settings: Settings, request_id: str) -> str:
    """The request's final state; a failed request fails the last step so the run shows it."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        state = request.state
    if state == RequestState.FAILED:
        raise PermanentError(f"request {request_id} failed: no granule was distributed")
    return state.value
