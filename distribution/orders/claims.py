"""Per-file claims of a push, so that each file goes out once even when two runs of one request overlap.

A second run of a request, a retry started while an earlier try still runs, or a
zombie try all reach the deliver step with the same files to send. Before sending
a file a deliverer claims its ``request_files`` row with one conditional UPDATE
(not delivered yet, and unclaimed or its claim free again); only the deliverer
whose UPDATE hit the row sends the file, and it marks the file delivered in the
statement that drops its claim. On PostgreSQL a second UPDATE of the row waits for
the first to commit and then no longer matches; SQLite runs writers one at a time.

A claim is free again when

* its lease ran out: a live deliverer renews the leases it holds every quarter
  lease from a heartbeat thread, so only one that stopped (killed, hung, cut off
  from the database) lets a lease run out (``ARDIS_CLAIM_LEASE_SECONDS``);
* or its claimant was a process on this machine (same kernel boot, same PID
  namespace: the same process table) that no longer exists, such as a worker
  killed with SIGKILL: its retry takes the file over at once.

A deliverer that finds a file claimed by another live deliverer waits until that
one has sent it or given it up, so no run goes on to its DN while a file of the
request is still in flight.

In bulk: ``claim_many`` claims a batch's files in one UPDATE per chunk of rows;
``delivered`` records a file at once in memory and, within ``RECORD_SECONDS``, in
the database, together with the other files completed meanwhile (one UPDATE and
one commit per group, from the heartbeat thread's own connection); ``flush``
writes what is waiting now (before a granule is marked delivered, and when the
deliverer closes).

The one window left: a deliverer killed after the peer has the whole file and
before its UPDATE commits (up to ``RECORD_SECONDS``); the retry sends the files of
that window again, whole. A lost file is worse than a file sent twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from distribution.db import session_scope
from distribution.models import RequestFile
from distribution.time import utcnow

log = logging.getLogger(__name__)

#: How long a completed file may wait to be written as delivered (recorded in groups, not one commit each).
RECORD_SECONDS = 0.05
#: Rows per statement with an ``IN`` list (SQLite's bound-parameter limit is far above this).
CHUNK = 500


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _node() -> str:
    """This process table: kernel boot id and PID namespace ('' where there is no /proc)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat); None when gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def claimant_token() -> str:
    """``host|node|pid|start|nonce``: who claims, and enough to tell later whether it still runs."""
    pid = os.getpid()
    return "|".join((socket.gethostname()[:64], _node(), str(pid), _start_time(pid) or "", uuid.uuid4().hex[:12]))


def claimant_gone(token: str) -> bool:
    """True only when the claimant was a process of this process table that no longer runs.

    A claimant on another machine (or in another container) is never known to be
    gone: its lease decides. The start time guards against a reused PID.
    """
    parts = token.split("|")
    node = _node()
    if len(parts) != 5 or not node or parts[1] != node or not parts[2].isdigit() or not parts[3]:
        return False
    return _start_time(int(parts[2])) != parts[3]


class FileClaims:
    """The claims of one deliverer (one call of the deliver step) on the files of a request.

    Use as a context manager: it renews the leases while it is open and gives up
    what it still holds when it closes (an error, a retryable failure).
    """

    def __init__(self, session: Session, url: str, lease_seconds: float) -> None:
        self.session = session
        self.url = url
        self.lease = timedelta(seconds=lease_seconds)
        self.token = claimant_token()
        self.poll_seconds = min(1.0, lease_seconds / 8)
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="claims-heartbeat", daemon=True)
        self._completed: list[int] = []  # delivered, not yet written (ids)
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._written = 0.0  # monotonic time of the last write of delivered files

    def __enter__(self) -> FileClaims:
        self._heartbeat.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._heartbeat.join()
        try:
            self.session.commit()  # the flush writes on its own connection: the caller's transaction ends first
            self.flush()
        except SQLAlchemyError as e:  # those files go again on the retry, whole
            log.warning("could not record the files %s delivered: %s", self.token, e)
        try:
            self.session.execute(
                update(RequestFile)
                .where(RequestFile.claimed_by == self.token, RequestFile.delivered_at.is_(None))
                .values(claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            self.session.commit()
        except SQLAlchemyError as e:  # the lease frees them anyway
            self.session.rollback()
            log.warning("could not give up the claims of %s: %s", self.token, e)

    def _beat(self) -> None:
        renew_every = self.lease.total_seconds() / 4
        renewed = time.monotonic()
        while not self._stop.wait(RECORD_SECONDS):
            try:
                self.flush()
                if time.monotonic() - renewed >= renew_every:
                    renewed = time.monotonic()
                    with session_scope(self.url) as session:
                        session.execute(
                            update(RequestFile)
                            .where(RequestFile.claimed_by == self.token, RequestFile.delivered_at.is_(None))
                            .values(claim_expires_at=utcnow() + self.lease)
                        )
            except SQLAlchemyError as e:
                log.warning("claim heartbeat of %s failed: %s", self.token, e)

    def _take(self, rf: RequestFile, condition: ColumnElement[bool]) -> bool:
        result = self.session.execute(
            update(RequestFile)
            .where(RequestFile.id == rf.id, RequestFile.delivered_at.is_(None), condition)
            .values(claimed_by=self.token, claim_expires_at=utcnow() + self.lease)
            .execution_options(synchronize_session=False)
        )
        self.session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def claim_many(self, files: list[RequestFile]) -> list[RequestFile]:
        """The files of ``files`` this deliverer may send now, claimed in one UPDATE per chunk of rows; the
        others are delivered or held by another live deliverer (their ``delivered_at`` is brought up to date)."""
        by_id = {rf.id: rf for rf in files}
        free = or_(RequestFile.claimed_by.is_(None), RequestFile.claimed_by == self.token,
                   RequestFile.claim_expires_at < utcnow())
        mine: list[RequestFile] = []
        for ids in _chunks(list(by_id)):
            self.session.execute(
                update(RequestFile)
                .where(RequestFile.id.in_(ids), RequestFile.delivered_at.is_(None), free)
                .values(claimed_by=self.token, claim_expires_at=utcnow() + self.lease)
                .execution_options(synchronize_session=False)
            )
            rows = self.session.execute(select(RequestFile.id, RequestFile.claimed_by, RequestFile.delivered_at)
                                        .where(RequestFile.id.in_(ids))).all()
            self.session.commit()
            for row_id, holder, delivered_at in rows:
                rf = by_id[row_id]
                set_committed_value(rf, "delivered_at", delivered_at)
                if delivered_at is not None:
                    continue
                if holder == self.token or (holder and claimant_gone(holder)
                                            and self._take(rf, RequestFile.claimed_by == holder)):
                    if holder != self.token:
                        log.warning("%s: taken over from %s, a process that no longer runs", rf.dist_name, holder)
                    mine.append(rf)
        return mine

    def release(self, files: list[RequestFile]) -> None:
        """Give up the claims held on ``files`` (not sent): a group that goes whole (a bundle) and of which
        another deliverer holds a part is left to that one rather than both waiting on each other."""
        for ids in _chunks([rf.id for rf in files]):
            self.session.execute(
                update(RequestFile)
                .where(RequestFile.id.in_(ids), RequestFile.claimed_by == self.token,
                       RequestFile.delivered_at.is_(None))
                .values(claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )
        self.session.commit()

    def delivered(self, rf: RequestFile) -> None:
        """The file is at the peer, whole: recorded in the database (its claim dropped in the same statement)
        at once when nothing was written for ``RECORD_SECONDS`` (slow files, one by one), else with the
        other files completing meanwhile by the heartbeat thread within ``RECORD_SECONDS``. The caller's
        session must not hold a write transaction (the record goes on another connection)."""
        set_committed_value(rf, "delivered_at", utcnow())
        with self._lock:
            self._completed.append(rf.id)
            due = time.monotonic() - self._written >= RECORD_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the files delivered so far: one UPDATE per chunk, one transaction (own connection)."""
        with self._writing:
            with self._lock:
                ids, self._completed = self._completed, []
            if not ids:
                return
            now = utcnow()
            try:
                with session_scope(self.url) as session:
                    for chunk in _chunks(ids):
                        mine = session.execute(
                            update(RequestFile)
                            .where(RequestFile.id.in_(chunk), RequestFile.claimed_by == self.token)
                            .values(delivered_at=func.coalesce(RequestFile.delivered_at, now), claimed_by=None,
                                    claim_expires_at=None)
                        ).rowcount  # type: ignore[attr-defined]
                        if mine != len(chunk):  # a lease ran out during the transfer: delivered all the same
                            log.warning("%d files: claim lost during the transfer; another deliverer may send "
                                        "them too", len(chunk) - mine)
                            session.execute(
                                update(RequestFile)
                                .where(RequestFile.id.in_(chunk), RequestFile.delivered_at.is_(None))
                                .values(delivered_at=now)
                            )
            except BaseException:
                with self._lock:
                    self._completed[:0] = ids  # written by the next flush
                raise
            self._written = time.monotonic()

    def wait(self) -> None:
        """Pause before looking again at files another deliverer holds."""
        time.sleep(self.poll_seconds)
