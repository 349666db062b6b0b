"""Archiving pulled granules and building the PAN.

Each file group becomes one granule in one transaction: the granule row (a new
version when its LocalGranuleID is already archived — nothing is replaced), its
files moved into ``<archive>/<ESDT>/<granule id>/`` (hard links from ingest
staging, copies across file systems), an INSERT event for subscriptions, and the
ingest files marked SUCCESSFUL. A group with any file that did not arrive whole
is not archived, and its other files carry the first failure's disposition (the
granule is all or nothing). Browse, QA and production-history files in a granule's
own group are files of that granule; a LINKAGE group becomes a granule of its own
(collection Browse, QA or PH) linked to the granules its pointers name. A failed
PGE (DATA_TYPE FAILPGE) is archived as a granule of the FAILPGE collection.
"""

from __future__ import annotations

import logging
import shutil
from itertools import groupby
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.ingest import pan
from distribution.inventory.archive import check_lgid, get_or_create_collection, granule_directory, new_granule
from distribution.checksums import INTERNAL_CHECKSUM_TYPE, checksum_file, checksum_types
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import ArdisError, NotFound, RetryableError, UserError
from distribution.ingest.linkage import LinkageProblem, parse_linkage, resolve
from distribution.inventory.distributed import read_document
from distribution.inventory.mcf import conformance_problems, parse_mcf
from distribution.inventory.metadata import GranuleMetadata, read_metadata
from distribution.models import (
    GranuleEvent,
    GranuleFile,
    GranuleLink,
    IngestFile,
    IngestFileState,
    PdrRecord,
    PdrState,
)
from distribution.ingest.pdr import FAILED_PGE, GroupKind, duplicate_file_name
from distribution.orders.staging import place
from distribution.time import utcnow

log = logging.getLogger(__name__)
#: The metadata file of each kind of group (Table 4.5-4).
_METADATA_TYPES = ("METADATA", "BROWSE_METADATA", "QA_METADATA")


class GroupFailed(Exception):
    """A group that cannot be archived: ``disposition`` for the PAN, ``detail`` for the operator."""

    def __init__(self, disposition: str, detail: str) -> None:
        super().__init__(detail)
        self.disposition = disposition


def _stored_checksum(f: IngestFile) -> tuple[str | None, str | None, str | None]:
    """(type, value, origin) the archive keeps for a file."""
    if f.computed_type:
        verified = f.checksum_type == f.computed_type
        return f.computed_type, f.computed_value, "PROVIDER (verified)" if verified else "ARDIS"
    if f.checksum_type and f.checksum_type in checksum_types():
        return f.checksum_type, f.checksum_value, "PROVIDER (unverified)"
    return None, None, None


def _internal_checksum(f: IngestFile, archived: Path) -> tuple[str, str]:
    """The archive's own checksum of a file: the one computed while pulling it, else CKSUM of the archived file.

    Never the provider's value as sent: that one may be absent (``.met`` files, a
    provider without checksums) or never verified (outside ``verify_percent``).
    """
    if f.computed_type and f.computed_value:
        return f.computed_type, f.computed_value
    return INTERNAL_CHECKSUM_TYPE, checksum_file(archived, INTERNAL_CHECKSUM_TYPE)


def _metadata(files: list[IngestFile]) -> GranuleMetadata:
    meta_files = [f for f in files if f.file_type in _METADATA_TYPES]
    if not meta_files:
        return GranuleMetadata()
    f = meta_files[0]
    try:
        meta = read_metadata(Path(str(f.staged_path)))
        if meta.local_granule_id is not None:
            check_lgid(meta.local_granule_id)
    except (ArdisError, ValueError) as e:
        raise GroupFailed(pan.METADATA_PREPROCESSING_ERROR, f"{f.file_id}: {e}") from e
    return meta


def _check_mcf(mcf: str | None, files: list[IngestFile]) -> None:
    """The granule's metadata against its collection's MCF (ICD 5.2.1): "METADATA PREPROCESSING ERROR" if it
    does not conform."""
    meta_files = [f for f in files if f.file_type in _METADATA_TYPES]
    if not mcf or not meta_files:
        return
    f = meta_files[0]
    try:
        problems = conformance_problems(parse_mcf(mcf), read_document(Path(str(f.staged_path))))
    except (ArdisError, ValueError) as e:
        raise GroupFailed(pan.METADATA_PREPROCESSING_ERROR, f"{f.file_id}: {e}") from e
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise GroupFailed(pan.METADATA_PREPROCESSING_ERROR,
                          f"{f.file_id} does not conform to the collection's MCF: {'; '.join(problems[:3])}{more}")


def _collection_name(files: list[IngestFile]) -> str:
    first = files[0]
    if first.group_kind == GroupKind.FAILED_PGE.value:
        return f"{FAILED_PGE}.001"
    if first.group_kind == GroupKind.LINKAGE.value:
        return f"{first.data_type}.001"
    return f"{first.data_type}.{int(first.data_version):03d}"


def _insert_group(session: Session, settings: Settings, record: PdrRecord, files: list[IngestFile]) -> int:
    """Archive one complete group as a granule; returns its id. Raises GroupFailed."""
    twice = duplicate_file_name(f.file_id for f in files)
    if twice is not None:  # validation marks such a group already; kept for groups recorded before it did
        raise GroupFailed(pan.DUPLICATE_FILE_NAME, f"{twice} is listed twice")
    linked = []
    if files[0].group_kind == GroupKind.LINKAGE.value:
        linkage = next(f for f in files if f.file_type == "LINKAGE")
        try:
            linked = resolve(session, parse_linkage(Path(str(linkage.staged_path)).read_bytes()))
        except LinkageProblem as e:
            raise GroupFailed(e.disposition, f"{linkage.file_id}: {e}") from e
    meta = _metadata(files)
    try:
        collection = get_or_create_collection(session, _collection_name(files))
    except (UserError, ValueError) as e:
        raise GroupFailed(pan.DATA_CONVERSION_FAILURE, str(e)) from e
    _check_mcf(collection.mcf, files)
    granule = new_granule(session, collection, meta.local_granule_id, meta, source_pdr_id=record.id)
    target = granule_directory(settings, granule)
    if target.exists():  # left by a try whose transaction rolled back: that id was never archived
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for seq, f in enumerate(files, 1):
        dst = target / f.file_id
        place(Path(str(f.staged_path)), dst)
        ctype, cvalue, origin = _stored_checksum(f)
        itype, ivalue = _internal_checksum(f, dst)
        granule.files.append(GranuleFile(seq=seq, name=f.file_id, file_type=f.file_type, size=f.size,
                                         checksum_type=ctype, checksum_value=cvalue, checksum_origin=origin,
                                         archive_path=str(dst), internal_checksum_type=itype,
                                         internal_checksum_value=ivalue, internal_checksum_origin="archive"))
    granule.total_size = sum(f.size for f in granule.files)
    for science in linked:
        session.add(GranuleLink(granule_id=science.id, linked_granule_id=granule.id, link_type=files[0].data_type))
    session.add(GranuleEvent(granule_id=granule.id, event="INSERT"))
    now = utcnow()
    for f in files:
        f.state, f.disposition, f.detail = IngestFileState.ARCHIVED, pan.SUCCESSFUL, None
        f.time_stamp, f.granule_id = now, granule.id
    session.flush()
    return granule.id


def _fail_group(files: list[IngestFile], disposition: str, detail: str) -> None:
    """The granule is not archived: a file that failed keeps its own reason, the others take the group's."""
    now = utcnow()
    for f in files:
        if f.state is IngestFileState.FAILED and f.disposition:
            continue
        f.state, f.disposition, f.detail = IngestFileState.FAILED, disposition, detail
        f.time_stamp = pan.stamp_for(disposition, now)


def _settle(files: list[IngestFile]) -> IngestFile | None:
    """Pulling is over: a file still waiting failed for good. The group's first failure, if any."""
    for f in files:
        if f.state is IngestFileState.RETRYING:
            f.state = IngestFileState.FAILED  # its retries ran out; it keeps its last disposition
        elif f.state is IngestFileState.PENDING:
            f.state = IngestFileState.FAILED
            f.disposition, f.detail = pan.ECS_INTERNAL_ERROR, "the file was never pulled"
            f.time_stamp = None
    return next((f for f in files if f.state is IngestFileState.FAILED), None)


def _groups(session: Session, pdr_id: int) -> list[list[int]]:
    rows = session.execute(select(IngestFile.group_index, IngestFile.id).where(IngestFile.pdr_id == pdr_id)
                           .order_by(IngestFile.group_index, IngestFile.file_index))
    return [[file_id for _, file_id in grp] for _, grp in groupby(rows, key=lambda r: r[0])]


def archive_files(settings: Settings, pdr_id: int) -> list[int]:
    """Archive every complete group not yet archived, then build the PAN; returns the new granule ids.

    Idempotent: a group archived by an earlier try is skipped. A full disk
    (RetryableError) stops here to be retried; every other failure is the group's.
    """
    url = settings.database_url
    with session_scope(url) as session:
        record = session.get(PdrRecord, pdr_id)
        if record is None:
            raise NotFound(f"no ingest {pdr_id}")
        if record.state not in (PdrState.PULLING, PdrState.ARCHIVING):
            return []
        record.state = PdrState.ARCHIVING
        groups = _groups(session, pdr_id)
    inserted: list[int] = []
    for ids in groups:
        with session_scope(url) as session:
            files = list(session.scalars(select(IngestFile).where(IngestFile.id.in_(ids))
                                         .order_by(IngestFile.file_index)))
            if all(f.state is IngestFileState.ARCHIVED for f in files):
                continue
            failed = _settle(files)
            if failed is not None:
                _fail_group(files, str(failed.disposition), f"not archived: {failed.file_id}: {failed.detail}")
                continue
        try:
            with session_scope(url) as session:
                record = session.get(PdrRecord, pdr_id)
                files = list(session.scalars(select(IngestFile).where(IngestFile.id.in_(ids))
                                             .order_by(IngestFile.file_index)))
                inserted.append(_insert_group(session, settings, record, files))
        except GroupFailed as e:
            _record_failure(url, ids, e.disposition, str(e))
        except RetryableError:
            raise
        except (ArdisError, OSError) as e:
            _record_failure(url, ids, pan.DATA_ARCHIVE_ERROR, f"{type(e).__name__}: {e}")
    finish_pan(settings, pdr_id)
    log.info("ingest %s: archived granules %s", pdr_id, inserted)
    return inserted


def _record_failure(url: str, ids: list[int], disposition: str, detail: str) -> None:
    log.warning("ingest group failed: %s: %s", disposition, detail)
    with session_scope(url) as session:
        files = list(session.scalars(select(IngestFile).where(IngestFile.id.in_(ids))))
        _fail_group(files, disposition, detail)


def finish_pan(settings: Settings, pdr_id: int) -> str:
    """Give every file its final disposition and store the PAN (short or long, 4.5.5); returns its text."""
    with session_scope(settings.database_url) as session:
        record = session.get(PdrRecord, pdr_id)
        if record is None:
            raise NotFound(f"no ingest {pdr_id}")
        if record.state in (PdrState.ANSWERING, PdrState.RESPONDED) and record.response_text:
            return record.response_text
        now = utcnow()
        for f in record.files:
            if f.state is not IngestFileState.ARCHIVED and f.state is not IngestFileState.FAILED:
                f.state = IngestFileState.FAILED
                f.disposition = f.disposition or pan.ECS_INTERNAL_ERROR
                f.time_stamp = pan.stamp_for(f.disposition, now)
        message = pan.pan_for([pan.PanFile(f.directory_id, f.file_id, str(f.disposition), f.time_stamp)
                               for f in record.files])
        record.response_kind, record.response_text = "PAN", pan.render_pan(message)
        record.state = PdrState.ANSWERING
        return record.response_text

