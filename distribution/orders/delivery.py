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
import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from distribution.inventory.archive import first_internal_type, linked_granules, superseded
from distribution.inventory.rights import groups_of, may_access
from distribution.orders.bundles import bundle_groups, make_bundle
from distribution.orders.claims import FileClaims
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.destinations import Address, host_problem
from distribution.errors import FileVanished, PermanentError, RetryableError
from distribution.models import (
    Granule,
    GranuleFile,
    GranuleStatus,
    MediaType,
    Request,
    RequestFile,
    RequestGranule,
    RequestState,
)
from distribution.orders.placing import get_request
from distribution.paths import under
from distribution.orders.reasons import public_reason
from distribution.inventory.distributed import distributed_metadata
from distribution.inventory.document import FileChecksum
from distribution.orders.staging import (discarded_on_failure, distribution_names, place, with_version,
                                         write_staged_text)
from distribution.time import utcnow
from distribution.orders.push import Endpoint, Pusher, open_pusher
from distribution.orders.verify import FileCheck, VerifyResult, verify_files

RETRIEVAL_FAILED = "Granule retrieval failed. Please contact User Services"
NOT_ENTITLED = "Granule is proprietary and not available to the user. Please contact User Services"

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


def load_granules(session: Session, request: Request) -> list[RequestGranule]:
    """The request's granules with their files, archive granules and archive files, in a few queries
    (one per relationship for the whole request, never one per granule); ``request.granules`` is filled."""
    loaded = session.scalars(
        select(RequestGranule).where(RequestGranule.request_pk == request.id)
        .options(selectinload(RequestGranule.granule).selectinload(Granule.files),
                 selectinload(RequestGranule.files).selectinload(RequestFile.granule_file))
    ).all()  # held while request.granules is read: the session keeps only weak references
    granules = list(request.granules)
    del loaded
    return granules


def stage_request(settings: Settings, request_id: str) -> dict[str, int]:
    """Link (or copy) every file of every pending granule into the staging area; the rows are written
    in bulk (one INSERT of many rows for new files, one UPDATE by primary key for a retry's)."""
    counts: Counter[str] = Counter()
    placed: list[str] = []  # what this try made: removed if it fails (a full disk gets its space back)
    with session_scope(settings.database_url) as session, discarded_on_failure(placed), session.no_autoflush:
        request = get_request(session, request_id)
        if not _open(request):
            return dict(counts)
        request.state = RequestState.STAGING
        root = staging_directory(settings, request)
        fmt = request.order.user.metadata_format or settings.metadata_format
        seen_names: dict[str, int] = {}
        new_rows: list[dict[str, object]] = []
        old_rows: list[dict[str, object]] = []
        pending = [rg for rg in load_granules(session, request)
                   if rg.status in (GranuleStatus.PENDING, GranuleStatus.STAGED)]
        older = superseded(session, [rg.granule_id for rg in pending])
        staged_ids: list[int] = []
        base = str(root)
        groups = None if request.order.rights_waived else groups_of(request.order.user)
        for rg in pending:
            if not may_access(groups, rg.granule, utcnow()):  # rights changed since the order: nothing leaves
                _fail(rg, NOT_ENTITLED)
                continue
            plan = _files_of(session, rg.granule, request.linked, fmt, older)
            names = [name for _, name, _ in plan]
            clash = next((n for n in names if seen_names.get(n, rg.directory_number) != rg.directory_number), None)
            clash = clash or next((n for n in names if names.count(n) > 1), None)
            if clash:
                _fail(rg, f"file name {clash} already used by granule {seen_names.get(clash, rg.directory_number)} "
                          "of this request")
                continue
            existing = {rf.granule_file_id: rf for rf in rg.files}
            rows: list[tuple[GranuleFile, str, str, int | None]] = []
            try:
                folder = f"{base}/{rg.directory_number:05d}/"  # strings, not Paths: 10,000 files a request
                os.makedirs(folder, exist_ok=True)  # once here rather than after a failed link per granule
                for gf, name, listed in plan:
                    staged = folder + name
                    dist_size: int | None = None
                    if gf.file_type == "METADATA":  # in the user's format, with the files' checksums
                        dist_size = write_staged_text(Path(staged),
                                                      distributed_metadata(Path(gf.archive_path), fmt, listed))
                        how = "written"
                    else:
                        how = place(gf.archive_path, staged)
                    counts[how] += 1
                    if how != "present":
                        placed.append(staged)
                    rows.append((gf, name, staged, dist_size))
            except FileVanished as e:
                log.warning("request %s, granule %s: %s", request.request_id, rg.directory_number, e)
                _fail(rg, f"{RETRIEVAL_FAILED} ({public_reason(e)})")
                continue
            for gf, name, staged_path, dist_size in rows:
                if gf.id in existing:
                    old_rows.append({"id": existing[gf.id].id, "staged_path": staged_path, "dist_size": dist_size})
                else:
                    new_rows.append({"request_granule_id": rg.id, "granule_file_id": gf.id, "dist_name": name,
                                     "staged_path": staged_path, "dist_size": dist_size})
            for name in names:
                seen_names[name] = rg.directory_number
            staged_ids.append(rg.id)
        if staged_ids:  # by primary key in one executemany, not one ORM flush per granule
            session.execute(update(RequestGranule), [{"id": i, "status": GranuleStatus.STAGED} for i in staged_ids])
        if new_rows:
            session.execute(insert(RequestFile.__table__), new_rows)  # Core executemany: no ORM per row
        if old_rows:
            session.execute(update(RequestFile), old_rows)
    return dict(counts)


def _files_of(session: Session, granule: Granule, linked: str, fmt: str,
              older: set[int]) -> list[tuple[GranuleFile, str, list[FileChecksum]]]:
    """Each file to stage for a science granule with the distribution name it takes, and for a metadata
    file the files its granule's metadata lists: the granule's own files, then those of the browse, QA and
    production-history granules linked to it that the request asks for (same directory, same DN entry).
    ``older`` holds the request's granules known to have a newer version (looked up once per request)."""
    wanted = [t for t in linked.split(",") if t]
    plan: list[tuple[GranuleFile, str, list[FileChecksum]]] = []
    links = linked_granules(session, granule.id, wanted)
    older = older | superseded(session, [g.id for g in links]) if links else older
    for g in [granule, *links]:
        names = distribution_names(g.local_granule_id, g.files, f".{fmt}")
        if g.id in older:  # an older version ordered: its names say which
            names = with_version(names, str(g.local_granule_id), g.granule_version)
        listed = [FileChecksum(n, f.size, f.checksum_type, f.checksum_origin, f.checksum_value)
                  for f, n in zip(g.files, names, strict=True) if f.file_type != "METADATA"]
        plan += [(gf, name, listed) for gf, name in zip(g.files, names, strict=True)]
    return plan


def verify_request(settings: Settings, request_id: str) -> dict[str, int]:
    """Recompute the stored checksum of every staged file; a mismatch fails its granule."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if not _open(request):
            return {}
        request.state = RequestState.VERIFYING
        staged = [rg for rg in load_granules(session, request) if rg.status == GranuleStatus.STAGED]
        checks = []
        for rg in staged:
            for rf in rg.files:
                gf = rf.granule_file
                written = rf.dist_size is not None  # the user's metadata: its archived source is what is checked
                checks.append(
                    FileCheck(
                        path=Path(gf.archive_path) if written else Path(str(rf.staged_path)),
                        checksum_type=gf.checksum_type,
                        expected_value=gf.checksum_value,
                        expected_size=gf.size,
                        key=rf.id,
                        internal_type=gf.internal_checksum_type or first_internal_type(gf),
                        internal_value=gf.internal_checksum_value,
                    )
                )
        results = {r.key: r for r in verify_files(checks, workers=settings.verify_workers)}
        record_internal_checksums(session, staged, results)
        failed = 0
        now = utcnow()
        verified_files: list[dict[str, object]] = []
        verified: list[dict[str, object]] = []
        for rg in staged:
            errors = [f"{rf.dist_name}: {results[rf.id].error}" for rf in rg.files if not results[rf.id].ok]
            if errors:
                _fail(rg, "checksum verification failed - " + "; ".join(errors))
                failed += 1
                continue
            verified_files += [{"id": rf.id, "verified_at": now} for rf in rg.files]
            verified.append({"id": rg.id, "status": GranuleStatus.VERIFIED})
        # By primary key, a few executemany statements for the whole request: no ORM flush per row.
        if verified_files:
            session.execute(update(RequestFile), verified_files)
        if verified:
            session.execute(update(RequestGranule), verified)
        return {"verified": len(staged) - failed, "failed": failed, "files": len(checks)}


def record_internal_checksums(session: Session, staged: list[RequestGranule],
                              results: dict[object, VerifyResult]) -> None:
    """Rows without an internal checksum get the one just computed, if the file passed every other check
    (written by primary key in one executemany).

    From then on a change to the file is caught; a change made before this first
    verification cannot be told from the original.
    """
    rows = [{"id": rf.granule_file.id, "internal_checksum_type": first_internal_type(rf.granule_file),
             "internal_checksum_value": results[rf.id].internal_value,
             "internal_checksum_origin": "first verification"}
            for rg in staged for rf in rg.files
            if rf.granule_file.internal_checksum_value is None and results[rf.id].ok and results[rf.id].internal_value]
    if rows:
        session.execute(update(GranuleFile), list({row["id"]: row for row in rows}.values()))


def deliver_request(settings: Settings, request_id: str, credentials: Credentials | None = None) -> dict[str, int]:
    """Put every verified granule where the request says; resumes after a failed try."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        if not _open(request):
            return {}
        request.state = RequestState.DELIVERING
        session.commit()
        todo = [rg for rg in load_granules(session, request) if rg.status == GranuleStatus.VERIFIED]
        if request.media_type == MediaType.FTP_PULL:
            delivered = _deliver_pull(settings, session, request, todo)
        else:
            delivered = _deliver_push(settings, session, request, todo, credentials)
        if request.finished_at is None and (delivered or any(rg.status == GranuleStatus.DELIVERED
                                                             for rg in request.granules)):
            request.finished_at = utcnow()
        return {"delivered": delivered}


def _deliver_pull(settings: Settings, session: Session, request: Request, todo: list[RequestGranule]) -> int:
    """Link the verified files into the pull area; the rows are written by primary key in bulk."""
    target = pull_directory(settings, request)
    base = str(target)  # strings, not Paths: 10,000 files a request
    placed: list[str | Path] = []  # a failed try leaves nothing in the pull area that no DN announces
    now = utcnow()
    files: list[dict[str, object]] = []
    with discarded_on_failure(placed):
        if request.bundle:  # the bundles are written into the pull area itself
            split = settings.bundle_split_bytes or None
            for group in bundle_groups(request, todo):
                placed += [path for path, _ in make_bundle(request, group, target, split)]
        for rg in todo:
            for rf in rg.files:
                destination = f"{base}/{rf.dist_name}"
                if not request.bundle and place(str(rf.staged_path), destination) != "present":
                    placed.append(destination)
                if rf.delivered_at is None:
                    files.append({"id": rf.id, "delivered_at": now})
        if files:
            session.execute(update(RequestFile), files)
        if todo:
            session.execute(update(RequestGranule), [{"id": rg.id, "status": GranuleStatus.DELIVERED} for rg in todo])
    if not todo and not any(rg.status == GranuleStatus.DELIVERED for rg in request.granules):
        return 0  # nothing was placed: no pull directory to announce
    request.ftp_dir = f"/{request.request_id}"
    if request.ftp_expires_at is None:
        request.ftp_expires_at = utcnow() + timedelta(hours=settings.ftp_expiry_hours)
    return len(todo)


#: Files per batch of a push: claimed together, then sent over the one connection as a stream.
PUSH_BATCH_FILES = 1000


def _batches(granules: list[RequestGranule]) -> list[list[RequestGranule]]:
    """Whole granules, about ``PUSH_BATCH_FILES`` files per batch."""
    batches: list[list[RequestGranule]] = [[]]
    count = 0
    for rg in granules:
        if count >= PUSH_BATCH_FILES:
            batches.append([])
            count = 0
        batches[-1].append(rg)
        count += len(rg.files)
    return batches


def _push_batch(pusher: Pusher, claims: FileClaims, session: Session, request: Request,
                granules: list[RequestGranule]) -> list[RequestGranule]:
    """Send the batch's files this deliverer can claim over the connection, each recorded as it is whole;
    a permanent failure of one file fails its granule and the rest go on. Returns the granules still
    waiting for a file another deliverer holds."""
    mine = claims.claim_many([rf for rg in granules for rf in rg.files if rf.delivered_at is None])
    by_name = {rf.dist_name: rf for rf in mine}
    failed: set[int] = set()
    todo = mine
    while todo:
        try:
            for name, _ in pusher.put_files((Path(str(rf.staged_path)), rf.dist_name) for rf in todo):
                claims.delivered(by_name[name])  # a retry or another run must not resend this file
            todo = []
        except PermanentError as e:
            culprit = by_name.get(str(getattr(e, "path", None)))
            if culprit is None:
                raise  # not about one file: the whole delivery fails
            rg = culprit.request_granule
            log.warning("request %s, granule %s: delivery failed: %s", request.request_id, rg.directory_number, e)
            _fail(rg, f"delivery failed - {public_reason(e)}")
            session.commit()  # no write transaction held while files are recorded on another connection
            failed.add(rg.id)
            todo = [rf for rf in todo if rf.delivered_at is None and rf.request_granule_id not in failed]
    session.commit()  # the flush writes on its own connection: nothing of ours may hold the write lock
    claims.flush()  # the files' rows first: a granule is delivered only when each of its files is recorded
    waiting = []
    for rg in granules:
        if rg.id in failed:
            continue
        if all(rf.delivered_at is not None for rf in rg.files):
            rg.status = GranuleStatus.DELIVERED
            rg.last_error = None
        else:
            waiting.append(rg)  # another run is sending one of its files
    session.commit()
    return waiting


def _push_bundles(settings: Settings, pusher: Pusher, claims: FileClaims, session: Session, request: Request,
                  granules: list[RequestGranule]) -> list[RequestGranule]:
    """Bundle each group (a granule, or the whole request) in the staging area and push its parts, each
    part's size checked; the group's files are recorded delivered when every part is whole at the peer.

    A group is sent by the deliverer that claims all its files (another holding some: it gives its own
    claims up and waits); a retry keeps the parts an earlier try made and recorded, and sends them again
    whole (the peer's partial file replaced). Returns the granules still waiting for another deliverer."""
    target = staging_directory(settings, request) / "bundles"
    waiting: list[RequestGranule] = []
    for group in bundle_groups(request, granules):
        files = [rf for rg in group for rf in rg.files if rf.delivered_at is None]
        mine = claims.claim_many(files)
        if len(mine) < sum(rf.delivered_at is None for rf in files):
            claims.release(mine)  # another deliverer holds part of the group: the bundle is its to send
            waiting += group
            continue
        try:
            if mine:
                parts = make_bundle(request, group, target, settings.bundle_split_bytes or None)
                session.commit()  # the parts are recorded before they go: a retry finds them
                sizes = {part["name"]: part["size"] for _, part in parts}
                for name, sent in pusher.put_files((path, part["name"]) for path, part in parts):
                    if sent != sizes[name]:  # the pushers check it too; this is what the DN announces
                        raise RetryableError(f"{name}: {sent} bytes at the peer, {sizes[name]} made")
                for rf in mine:
                    claims.delivered(rf)
        except (FileVanished, PermanentError) as e:
            if not isinstance(e, FileVanished) and getattr(e, "path", None) is None:
                raise  # not about this bundle: the whole delivery fails
            log.warning("request %s: bundle of granule %s failed: %s", request.request_id,
                        group[0].directory_number, e)
            for rg in group:
                _fail(rg, f"delivery failed - {public_reason(e)}")
            session.commit()
            continue
        session.commit()
        claims.flush()  # the files' rows first: a granule is delivered only when each of its files is recorded
        for rg in group:
            rg.status, rg.last_error = GranuleStatus.DELIVERED, None
        session.commit()
    return waiting


def _deliver_push(
    settings: Settings, session: Session, request: Request, todo: list[RequestGranule],
    credentials: Credentials | None
) -> int:
    if not todo:
        return 0
    try:
        with FileClaims(session, settings.database_url, settings.claim_lease_seconds) as claims, \
                open_pusher(push_endpoint(request, credentials)) as pusher:
            pending = todo
            while pending:
                if request.bundle:
                    waiting = _push_bundles(settings, pusher, claims, session, request, pending)
                else:
                    waiting = [rg for batch in _batches(pending)
                               for rg in _push_batch(pusher, claims, session, request, batch)]
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
    return sum(rg.status == GranuleStatus.DELIVERED for rg in todo)


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
