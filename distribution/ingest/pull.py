"""Pulling a valid PDR's files into ingest staging, checksummed in the same pass.

Each file is copied to ``<ingest_root>/<pdr id>/<group>/<FILE_ID>`` by the PDR
server's ``fetch``, which computes the checksum while copying (one pass over the
data), then checked: FILE_SIZE (POST-TRANSFER FILE SIZE CHECK FAILURE) and, as
the provider agreed, the checksum (CHECKSUM VERIFICATION FAILURE). What happened
to every file is in ``ingest_files``; a retried pull takes only the files not yet
pulled. A failure that may pass (network, connection: footnote 8 of Table 4.5-7)
leaves the file ``retrying`` and the step raises RetryableError once the other
files are done, so Airflow retries it on the ICD's schedule; when the retries run
out the archive step reports those files with their last disposition.

Which checksum is computed while copying:

* the provider gave one and this file falls in the provider's verification
  percentage (picked by a hash of the PDR and the file's path, so a retry picks the
  same files): that type, and the values must agree;
* none was given (or one of a type Ardis cannot compute, such as ECS) and the
  provider's agreement says to compute one: CKSUM;
* otherwise none (the provider's value, if any, is recorded unverified).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribution.ingest import pan
from distribution.checksums import checksum_types
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound, PermanentError, RetryableError
from distribution.ingest.intake import ServerFor
from distribution.models import IngestFile, IngestFileState, PdrRecord, PdrState, Provider
from distribution.paths import under
from distribution.ingest.pdrserver import PdrServerError
from distribution.time import utcnow

log = logging.getLogger(__name__)
TODO = (IngestFileState.PENDING, IngestFileState.RETRYING)


def staging_path(settings: Settings, f: IngestFile) -> Path:
    return under(settings.ingest_root, str(f.pdr_id), str(f.group_index), f.file_id)


def sampled(pdr_id: int, f: IngestFile, percent: int) -> bool:
    """Whether this file is among the provider's ``percent`` % to verify (stable across retries)."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    key = hashlib.sha256(f"{pdr_id}:{f.directory_id}/{f.file_id}".encode()).digest()
    return int.from_bytes(key[:4], "big") % 100 < percent


def checksum_to_compute(provider: Provider, pdr_id: int, f: IngestFile) -> str | None:
    """The checksum type to compute while copying this file (see the module docstring)."""
    if f.checksum_type and f.checksum_type in checksum_types():
        return f.checksum_type if sampled(pdr_id, f, provider.verify_percent) else None
    return "CKSUM" if provider.compute_cksum else None  # none given, or one Ardis cannot compute (ECS)


def _fail(f: IngestFile, disposition: str, detail: str, *, retrying: bool = False) -> None:
    f.state = IngestFileState.RETRYING if retrying else IngestFileState.FAILED
    f.disposition = disposition
    f.detail = detail
    f.time_stamp = pan.stamp_for(disposition, utcnow())


def _check(f: IngestFile, size: int, computed: str | None, ctype: str | None) -> None:
    """FILE_SIZE first, then the checksum; the file is ``pulled`` only when both hold."""
    if size != f.size:
        _fail(f, pan.SIZE_CHECK_FAILURE, f"{f.file_id}: {size} bytes arrived, the PDR says {f.size}")
        return
    if ctype and f.checksum_type == ctype and computed != f.checksum_value:
        _fail(f, pan.CHECKSUM_VERIFICATION_FAILURE,
              f"{f.file_id}: {ctype} {computed} computed, the PDR says {f.checksum_value}")
        return
    f.state = IngestFileState.PULLED
    f.computed_type, f.computed_value = (ctype, computed) if ctype else (None, None)
    f.disposition, f.detail, f.time_stamp = None, None, None


def pull_files(settings: Settings, pdr_id: int, server_for: ServerFor) -> dict[str, int]:
    """Pull every file not yet pulled; commits after each file. Returns counts by file state."""
    url = settings.database_url
    with session_scope(url) as session:
        record = session.get(PdrRecord, pdr_id)
        if record is None:
            raise NotFound(f"no ingest {pdr_id}")
        if record.state is not PdrState.PULLING:
            return _counts(session, pdr_id)
        provider = record.provider
        todo = [f.id for f in record.files if f.state in TODO]
    retry: RetryableError | None = None
    if todo:
        try:
            with server_for(provider) as server:
                for file_id in todo:
                    with session_scope(url) as session:
                        f = session.get(IngestFile, file_id)
                        assert f is not None
                        ctype = checksum_to_compute(provider, pdr_id, f)
                        dst = staging_path(settings, f)
                        try:
                            dst.parent.mkdir(parents=True, exist_ok=True)
                            got = server.fetch(f.directory_id, f.file_id, dst, ctype)
                        except PdrServerError as e:
                            log.warning("ingest %s: %s/%s: %s", pdr_id, f.directory_id, f.file_id, e)
                            _fail(f, e.disposition, str(e), retrying=isinstance(e, RetryableError))
                            if isinstance(e, RetryableError):
                                retry = e
                            continue
                        except OSError as e:
                            _fail(f, pan.RESOURCE_ALLOCATION_FAILURE, f"cannot stage {dst}: {e.strerror}")
                            continue
                        f.staged_path = str(dst)
                        _check(f, got.size, got.checksum, ctype)
        except PdrServerError as e:  # could not connect at all: every file left waits for the retry
            with session_scope(url) as session:
                for f in session.scalars(select(IngestFile).where(IngestFile.id.in_(todo),
                                                                   IngestFile.state.in_(TODO))):
                    _fail(f, e.disposition, str(e), retrying=isinstance(e, RetryableError))
            if not isinstance(e, RetryableError):
                raise PermanentError(f"ingest {pdr_id}: {e}") from e
            retry = e
    if retry is not None:
        raise RetryableError(f"ingest {pdr_id}: some files could not be pulled yet: {retry}") from retry
    with session_scope(url) as session:
        return _counts(session, pdr_id)


def _counts(session: Session, pdr_id: int) -> dict[str, int]:
    rows = session.execute(select(IngestFile.state, func.count()).where(IngestFile.pdr_id == pdr_id)
                           .group_by(IngestFile.state))
    return {state.value: int(n) for state, n in rows}
