"""The DN of a request always goes out, with a reason a user can read (SQLite and PostgreSQL).

The steps run as the DAG's tasks call them, against a real outbox folder; the
failures are real ones (a file gone from the archive, a request row written
before order validation existed, a mail transport that cannot be built).
"""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.delivery import deliver_request, record_step_error, stage_request, verify_request
from devkit.sample_data import load_samples
from distribution.errors import MissingConnection, RetryableError
from distribution.models import GranuleStatus, MediaType, Notice, NoticeState, RequestState
from distribution.notices.dn import parse_dn
from distribution.notices.outbox import OutboxFolder, Transport
from distribution.orders.notify import notify_request
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order, get_request

USER = Contact("sips1", "sips1@example.org")


def _order(settings: Settings, tmp_path: Path, spec: RequestSpec, count: int = 2) -> tuple[str, list[str]]:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]
        spec.granules = urs[:count]
        order = create_order(session, settings, USER, [spec])
        return str(order.requests[0].request_id), urs[:count]


def _folder(settings: Settings) -> Transport:
    return OutboxFolder(settings.outbox_dir)


def _raw_dn(settings: Settings) -> str:
    (eml,) = sorted(settings.outbox_dir.glob("*.eml"))
    return str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content())


def test_failed_pull_names_no_path_and_announces_no_pull_directory(settings: Settings, tmp_path: Path) -> None:
    request_id, _ = _order(settings, tmp_path, RequestSpec(MediaType.FTP_PULL, []))
    with session_scope(settings.database_url) as session:
        archived = [Path(rf.archive_path) for rg in get_request(session, request_id).granules
                    for rf in rg.granule.files]
    for path in archived:
        path.unlink()  # the archive lost them
    stage_request(settings, request_id)
    verify_request(settings, request_id)
    deliver_request(settings, request_id)
    result = notify_request(settings, request_id, lambda: _folder(settings))
    assert result.state == RequestState.FAILED.value
    text = _raw_dn(settings)
    dn = parse_dn(text)
    assert dn.failure == "The request failed"
    assert dn.ftp_dir == "" and dn.ftp_expires is None and "FTPEXPR" not in text
    for g in dn.granules:
        assert g.failure is not None and g.failure.startswith("Granule retrieval failed")
        assert "archive file is missing" in g.failure
    assert str(settings.archive_root) not in text and "/archive/" not in text
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.ftp_dir is None and request.ftp_expires_at is None
        assert not (settings.pull_root / str(request.order.order_id)).exists()


def test_the_last_error_of_a_step_is_the_dn_reason(settings: Settings, tmp_path: Path) -> None:
    request_id, _ = _order(settings, tmp_path, RequestSpec(MediaType.FTP_PULL, []))
    stage_request(settings, request_id)
    error = RetryableError(f"no space left on the disk for {settings.staging_root}/{request_id}/00001/x.hdf")
    record_step_error(settings, request_id, "verification", error)
    notify_request(settings, request_id, lambda: _folder(settings))
    dn = parse_dn(_raw_dn(settings))
    assert [g.failure for g in dn.granules] == ["verification failed - no space left on the disk for x.hdf"] * 2
    assert "did not complete" not in _raw_dn(settings)


def test_a_request_row_with_a_newline_still_gets_its_dn(settings: Settings, tmp_path: Path) -> None:
    """Rows written before orders were checked: the DN carries the fields as one line."""
    request_id, _ = _order(settings, tmp_path, RequestSpec(MediaType.FTP_PUSH, [],
                                                           Destination("127.0.0.1", 1, "/in", "")))
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        request.host, request.directory, request.userstring = "127.0.0.1\n", "/in\nx", "two\nlines"
    notify_request(settings, request_id, lambda: _folder(settings))
    dn = parse_dn(_raw_dn(settings))
    assert (dn.ftp_host, dn.ftp_dir, dn.userstring) == ("127.0.0.1", "/in x", "two lines")
    assert dn.failure == "The request failed"


def test_the_dn_is_written_before_the_transport_is_built(settings: Settings, tmp_path: Path) -> None:
    request_id, _ = _order(settings, tmp_path, RequestSpec(MediaType.FTP_PULL, []))

    def no_relay() -> Transport:
        raise MissingConnection("no credentials are set up at the archive for the mail relay")

    with pytest.raises(MissingConnection):
        notify_request(settings, request_id, no_relay)
    with session_scope(settings.database_url) as session:
        (notice,) = session.scalars(select(Notice)).all()
        assert notice.state == NoticeState.PENDING and notice.kind == "dn-failed"
        assert get_request(session, request_id).state == RequestState.FAILED
    notify_request(settings, request_id, lambda: _folder(settings))  # the next try sends that same row
    assert parse_dn(_raw_dn(settings)).request_id == request_id


def test_scp_copy_without_credentials_is_skipped_with_the_reason(settings: Settings, tmp_path: Path) -> None:
    request_id, _ = _order(settings, tmp_path, RequestSpec(MediaType.SCP, [],
                                                           Destination("127.0.0.1", 1, "/in", "gone")), count=1)
    with session_scope(settings.database_url) as session:
        for rg in get_request(session, request_id).granules:
            rg.status = GranuleStatus.DELIVERED

    def gone() -> None:
        raise MissingConnection("no credentials are set up at the archive for the destination")

    result = notify_request(settings, request_id, lambda: _folder(settings), gone)
    assert result.state == RequestState.COMPLETE.value
    assert result.scp_copy.startswith("failed: no credentials")
    assert parse_dn(_raw_dn(settings)).failure is None
