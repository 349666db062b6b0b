"""Defect 5 of issue 10: corruption that keeps the size is caught before delivery for every archived file.

``.met`` files and granules added with ``--checksum none`` have no checksum a DN
could show; their internal checksum (computed when archived) is verified all the
same. Rows archived before internal checksums existed get theirs at their first
verification and are checked from then on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from distribution.orders import delivery
from distribution.inventory.archive import NewFile, add_granule, granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, write_granule_files
from distribution.models import GranuleFile, GranuleStatus, MediaType
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request

USER = Contact(user_id="sips1", email="sips1@example.org")


def archive_one(settings: Settings, folder: Path, checksum_type: str | None) -> tuple[str, dict[str, Path]]:
    paths = write_granule_files(folder, SAMPLES[0], 1, 0.01)
    with session_scope(settings.database_url) as session:
        granule = add_granule(session, settings, SAMPLES[0].esdt,
                              [NewFile(p, "METADATA" if p.suffix == ".met" else "SCIENCE") for p in paths],
                              checksum_type=checksum_type)
        return granule_ur(granule, settings), {f.file_type: Path(f.archive_path) for f in granule.files}


def corrupt_keeping_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def stage_and_verify(settings: Settings, ur: str) -> tuple[dict[str, int], str | None]:
    with session_scope(settings.database_url) as session:
        request_id = str(create_order(session, settings, USER, [RequestSpec(MediaType.FTP_PULL, [ur])])
                         .requests[0].request_id)
    delivery.stage_request(settings, request_id)
    counts = delivery.verify_request(settings, request_id)
    with session_scope(settings.database_url) as session:
        rg = get_request(session, request_id).granules[0]
        return counts, rg.failure_explanation if rg.status == GranuleStatus.FAILED else None


def test_a_met_file_changed_in_place_is_caught(settings: Settings, tmp_path: Path) -> None:
    ur, files = archive_one(settings, tmp_path / "in", "MD5")
    corrupt_keeping_size(files["METADATA"])
    counts, failure = stage_and_verify(settings, ur)
    assert counts["failed"] == 1
    assert failure is not None and "checksum mismatch: CKSUM (internal)" in failure and ".met" in failure


def test_a_granule_archived_without_checksums_is_checked_all_the_same(settings: Settings, tmp_path: Path) -> None:
    ur, files = archive_one(settings, tmp_path / "in", None)
    assert stage_and_verify(settings, ur)[0]["failed"] == 0
    corrupt_keeping_size(files["SCIENCE"])
    counts, failure = stage_and_verify(settings, ur)
    assert counts["failed"] == 1 and failure is not None and "(internal)" in failure


def test_rows_from_before_internal_checksums_get_one_at_first_verification(settings: Settings,
                                                                           tmp_path: Path) -> None:
    ur, files = archive_one(settings, tmp_path / "in", None)
    with session_scope(settings.database_url) as session:  # as migration 0006 leaves such a row
        session.execute(update(GranuleFile).values(internal_checksum_type=None, internal_checksum_value=None,
                                                   internal_checksum_origin=None))
    assert stage_and_verify(settings, ur) == ({"verified": 1, "failed": 0, "files": 2}, None)
    with session_scope(settings.database_url) as session:
        rows = session.query(GranuleFile).all()
        assert {(f.internal_checksum_type, f.internal_checksum_origin) for f in rows} == {
            ("CKSUM", "first verification")}
        assert all(f.checksum_value is None for f in rows)  # the DN still shows none
    corrupt_keeping_size(files["METADATA"])
    assert stage_and_verify(settings, ur)[0]["failed"] == 1
