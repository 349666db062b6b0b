"""A specification's way through Ardis: submit → fetch → merge → archive, each step a function of its own.

Each step finds its half-done work in Ardis's database (``data_products``) and
the product's workspace (``<staging>/products/<id>/``), so Airflow can retry it.
The same specification ``id`` is recorded, merged and archived once: a second
submission of the same text is acknowledged as a duplicate, of a different text
refused, unless the product failed: then the id may be submitted again once the
cause is fixed (:func:`submit`). A permanent failure (missing source, dictionary violation, invalid
product) marks the product failed with its reason; nothing reaches the archive
until the archive step commits the granule, its files and its INSERT event together,
and an archive step that fails (a full archive disk included) removes the granule
directory it began. A failed product's workspace is removed by ``outcome``.

Settings (environment): ``ARDIS_DP_COLLECTIONS`` maps instrument prefixes to
collections (``MICADO=MICADO_RAW.001,TEST=ELT_TEST.001``); ``ARDIS_DP_DICTIONARIES``
lists directories holding the ``*.did`` files (``:``-separated; default
``<ARDIS_HOME>/dictionaries``); ``ARDIS_DP_DROP_DIR`` is the drop directory
polled for specifications (default ``<ARDIS_HOME>/dp-drop``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from distribution.inventory.archive import NewFile, add_granule, granule_directory
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound, PermanentError, RetryableError, UserError
from distribution.identifiers import parse_esdt
from distribution.models import Granule, GranuleEvent
from distribution.products.assemble import CredentialsFor, fetch_source, merge_product, verify_product
from distribution.products.dictionary import load_dictionaries
from distribution.products.models import DataProduct, ProductState
from distribution.products.spec import DpSpecification, parse_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """What a submission became: the product's id and whether it is new."""

    product_id: int
    spec_id: str
    new: bool
    state: str
    #: Not empty when the submission replaced a failed product of the same id (its number and reason).
    replaced: str = ""


def collection_for(instrument: str) -> str:
    """The collection (``ShortName.VVV``) an instrument's products are archived in (``ARDIS_DP_COLLECTIONS``)."""
    configured = os.environ.get("ARDIS_DP_COLLECTIONS", "")
    for item in filter(None, (i.strip() for i in configured.split(","))):
        name, sep, esdt = item.partition("=")
        if not sep:
            raise UserError(f"ARDIS_DP_COLLECTIONS takes INSTRUMENT=ShortName.VVV items, not {item!r}")
        if name.strip() == instrument:
            parse_esdt(esdt.strip())
            return esdt.strip()
    raise UserError(f"no collection configured for instrument {instrument}: add {instrument}=ShortName.VVV "
                    "to ARDIS_DP_COLLECTIONS")


def dictionary_dirs(settings: Settings, *extra: Path) -> list[Path]:
    """Where ``keywordDictionaries`` are looked for: ``extra`` first, then ARDIS_DP_DICTIONARIES."""
    configured = os.environ.get("ARDIS_DP_DICTIONARIES", "")
    dirs = [Path(p) for p in configured.split(":") if p] or [settings.home / "dictionaries"]
    return [*extra, *dirs]


def drop_directory(settings: Settings) -> Path:
    return Path(os.environ.get("ARDIS_DP_DROP_DIR") or settings.home / "dp-drop")


def workspace(settings: Settings, product_id: int) -> Path:
    return settings.staging_root / "products" / str(product_id)


def retired_spec_id(spec_id: str, product_id: int) -> str:
    """The ``spec_id`` a failed product keeps once its specification id is submitted again (``ID~failed-7``)."""
    suffix = f"~failed-{product_id}"
    return spec_id[: 200 - len(suffix)] + suffix


def submit(settings: Settings, text: str | bytes, origin: str = "") -> Submitted:
    """Record a specification (checked first); the same id again is the same product, never a second one.

    Except after a failure: a specification id whose product failed (nothing
    archived) may be submitted again, with the same text or a corrected one,
    once its cause is fixed. The failed product stays as history under
    :func:`retired_spec_id`, its workspace is removed, and the submission is a
    new product with a new merge run (``dp-<new id>``). An id that was archived,
    or is still on its way, is merged once.
    """
    spec = parse_spec(text)
    collection_for(spec.instrument)
    raw = text.encode() if isinstance(text, str) else text
    digest = hashlib.sha256(raw).hexdigest()
    for _ in range(2):
        try:
            with session_scope(settings.database_url) as session:
                found = session.scalar(select(DataProduct).where(DataProduct.spec_id == spec.id))
                retried = ""
                if found is not None and found.state is ProductState.FAILED and found.granule_id is None:
                    retried = f" (product {found.id} failed: {found.detail or 'no reason recorded'})"
                    log.info("data product %s resubmitted after failure%s", spec.id, retried)
                    found.spec_id = retired_spec_id(spec.id, found.id)  # kept as history, no longer the id's
                    session.flush()
                    shutil.rmtree(workspace(settings, found.id), ignore_errors=True)
                    found = None
                if found is not None:
                    if found.spec_digest != digest:
                        raise UserError(f"specification {spec.id} was already submitted with other content "
                                        f"(product {found.id}, {found.state.value}); an id is merged once")
                    return Submitted(found.id, spec.id, False, found.state.value)
                record = DataProduct(spec_id=spec.id, file_name=spec.target.file_name, instrument=spec.instrument,
                                     spec_text=raw.decode("utf-8"), spec_digest=digest, origin=origin[:255])
                session.add(record)
                session.flush()
                return Submitted(record.id, spec.id, True, ProductState.SUBMITTED.value, retried)
        except IntegrityError:  # submitted at the same moment by someone else: read theirs
            continue
    raise RetryableError(f"could not record specification {spec.id}")


def _load(settings: Settings, product_id: int) -> tuple[DataProduct, DpSpecification]:
    with session_scope(settings.database_url) as session:
        record = session.get(DataProduct, product_id)
        if record is None:
            raise NotFound(f"no data product {product_id}")
        session.expunge(record)
    return record, parse_spec(record.spec_text)


def _set(settings: Settings, product_id: int, **values: object) -> None:
    with session_scope(settings.database_url) as session:
        record = session.get(DataProduct, product_id)
        for key, value in values.items():
            setattr(record, key, value)


def _failing(settings: Settings, product_id: int, error: Exception) -> None:
    """A permanent failure is the product's: record it (the outcome step shows it) and let the step fail.

    A retryable one is noted too, so that the report says why when the retries run out.
    """
    if isinstance(error, (PermanentError, UserError)) and not isinstance(error, RetryableError):
        _set(settings, product_id, state=ProductState.FAILED, detail=str(error))
    elif isinstance(error, (RetryableError, OSError)):
        _set(settings, product_id, detail=f"{type(error).__name__}: {error}")


def pending_products(settings: Settings) -> list[int]:
    """Products submitted but not finished (their runs may be missing)."""
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(DataProduct.id).where(
            DataProduct.state.in_([ProductState.SUBMITTED, ProductState.FETCHED, ProductState.MERGED]),
            DataProduct.airflow_run_id.is_(None)).order_by(DataProduct.id)))


def begin(settings: Settings, product_id: int, run_id: str) -> str:
    """Note the Airflow run that takes the product; returns its spec id."""
    record, _ = _load(settings, product_id)
    if record.airflow_run_id != run_id:
        _set(settings, product_id, airflow_run_id=run_id)
    return record.spec_id


def fetched_paths(settings: Settings, product_id: int, spec: DpSpecification) -> dict[str, Path]:
    base = workspace(settings, product_id) / "sources"
    return {s.source_name: base / f"{s.source_name}.fits" for s in spec.file_sources()}


def fetch(settings: Settings, product_id: int, credentials_for: CredentialsFor | None = None) -> list[str]:
    """Copy every source file into the workspace (SFTP for ``host:/path``); returns the source names."""
    record, spec = _load(settings, product_id)
    if record.state is not ProductState.SUBMITTED:
        return []
    try:
        paths = fetched_paths(settings, product_id, spec)
        for s in spec.file_sources():
            part = paths[s.source_name].with_suffix(".part")
            fetch_source(s.where, part, credentials_for)
            part.replace(paths[s.source_name])
    except Exception as e:
        _failing(settings, product_id, e)
        raise
    _set(settings, product_id, state=ProductState.FETCHED)
    return list(paths)


def merge(settings: Settings, product_id: int, credentials_for: CredentialsFor | None = None) -> str:
    """Merge the fetched sources into the product file in the workspace, in place; returns what was done.

    The fetched target is Ardis's own copy, so it becomes the product without a
    copy. A merge interrupted after it began changing that copy fetches the
    target again first (a marker file says it began).
    """
    record, spec = _load(settings, product_id)
    if record.state in (ProductState.MERGED, ProductState.ARCHIVED):
        return record.detail or "merged"
    if record.state is not ProductState.FETCHED:
        raise PermanentError(f"data product {product_id} is {record.state.value}, not fetched: cannot merge")
    fetched = fetched_paths(settings, product_id, spec)
    out = workspace(settings, product_id) / spec.target.file_name
    started = workspace(settings, product_id) / "merge-started"
    try:
        dictionaries = load_dictionaries(spec.keyword_dictionaries, dictionary_dirs(settings))
        if spec.target.source is not None and started.exists():
            target = fetched[spec.target.source.source_name]
            fetch_source(spec.target.source.where, target.with_suffix(".part"), credentials_for)
            target.with_suffix(".part").replace(target)
        started.touch()
        result = merge_product(spec, fetched, out, dictionaries, in_place=True)
    except Exception as e:
        _failing(settings, product_id, e)
        raise
    started.unlink()
    _set(settings, product_id, state=ProductState.MERGED, header_in_place=result.write.in_place,
         detail=result.summary)
    log.info("data product %s: %s", product_id, result.summary)
    return result.summary


def archive(settings: Settings, product_id: int) -> int | None:
    """Archive the merged product as a granule with its INSERT event, in one transaction; returns the granule id.

    Reuses ``ardis archive add`` (distribution.inventory.archive.add_granule): collection
    per instrument, MD5 and internal checksums, hard link when the archive is on
    the workspace's file system. None when the product did not get this far.
    """
    record, spec = _load(settings, product_id)
    if record.granule_id is not None:
        return record.granule_id
    if record.state is not ProductState.MERGED:
        return None
    product = workspace(settings, product_id) / spec.target.file_name
    placed: list[Path] = []
    try:
        verify_product(product)
        esdt = collection_for(spec.instrument)
        settings.archive_root.mkdir(parents=True, exist_ok=True)
        same_fs = os.stat(settings.archive_root).st_dev == os.stat(product).st_dev
        if not same_fs and shutil.disk_usage(settings.archive_root).free < product.stat().st_size:
            raise RetryableError(f"the archive file system has no room for {product.name} "
                                 f"({product.stat().st_size} bytes)")
        with session_scope(settings.database_url) as session:
            inserted: list[Granule] = []
            event.listen(session, "pending_to_persistent",
                         lambda _, obj: inserted.append(obj) if isinstance(obj, Granule) else None)
            try:
                granule = add_granule(session, settings, esdt, [NewFile(product, "SCIENCE")], checksum_type="MD5",
                                      mode="link" if same_fs else "copy")
                session.add(GranuleEvent(granule_id=granule.id, event="INSERT"))
                found = session.get(DataProduct, product_id)
                assert found is not None
                found.state, found.granule_id = ProductState.ARCHIVED, granule.id
                granule_id = granule.id
                session.flush()
            finally:  # the granule this transaction inserted: its directory goes if the transaction does not commit
                placed = [granule_directory(settings, g) for g in inserted]
    except Exception as e:
        for directory in placed:  # the transaction rolled back: nothing half-written stays in the archive
            shutil.rmtree(directory, ignore_errors=True)
        _failing(settings, product_id, e)
        raise
    shutil.rmtree(workspace(settings, product_id), ignore_errors=True)
    return granule_id


def outcome(settings: Settings, product_id: int) -> str:
    """The product's end: a line for the run's log; raises PermanentError when it was not archived."""
    record, _ = _load(settings, product_id)
    if record.state is ProductState.ARCHIVED:
        return f"data product {record.spec_id} archived as granule {record.granule_id}: {record.detail}"
    if record.state is not ProductState.FAILED:
        _set(settings, product_id, state=ProductState.FAILED, detail=record.detail or "the run ended unfinished")
    shutil.rmtree(workspace(settings, product_id), ignore_errors=True)  # a resubmission fetches again
    raise PermanentError(f"data product {record.spec_id} failed: {record.detail or 'the run ended unfinished'}")


def describe(settings: Settings, product_id: int) -> DataProduct:
    return _load(settings, product_id)[0]


def take_drop_directory(settings: Settings) -> list[tuple[str, str]]:
    """Submit every ``*.json`` in the drop directory, then move it to ``done/`` or ``failed/`` (with a ``.why``)."""
    drop = drop_directory(settings)
    results = []
    for path in sorted(drop.glob("*.json")) if drop.is_dir() else []:
        try:
            submitted = submit(settings, path.read_bytes(), origin=str(path))
            where, why = "done", f"product {submitted.product_id}" + ("" if submitted.new else " (duplicate)")
        except (UserError, PermanentError) as e:
            where, why = "failed", str(e)
        (drop / where).mkdir(exist_ok=True)
        path.replace(drop / where / path.name)
        if where == "failed":
            (drop / where / (path.name + ".why")).write_text(why + "\n", encoding="utf-8")
        results.append((path.name, why))
    return results
