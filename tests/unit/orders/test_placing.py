"""Archive registration, orders, requests and cancellation, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from distribution.inventory.archive import NewFile, add_granule, find_granule, granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.errors import NotFound, UserError
from distribution.models import GranuleStatus, MediaType, RequestState
from distribution.orders.placing import (
    Contact,
    Destination,
    RequestSpec,
    cancel_order,
    create_order,
    describe_order,
    get_order,
    parse_media_type,
)

ALICE = Contact(user_id="alice", email="alice@example.org", first_name="Alice", checksum_list=True)


def _sample_archive(settings: Settings, tmp_path: Path) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]


def test_archive_add_copies_files_with_checksums(settings: Settings, tmp_path: Path) -> None:
    urs = _sample_archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        granule = find_granule(session, urs[1])
        assert granule.local_granule_id == "AST_L1BT_00305042002163000_13683"
        assert [f.file_type for f in granule.files] == ["SCIENCE", "SCIENCE", "METADATA"]
        for f in granule.files:
            data = Path(f.archive_path).read_bytes()
            assert Path(f.archive_path).is_relative_to(settings.archive_root)
            assert len(data) == f.size
            if f.file_type == "SCIENCE":
                assert f.checksum_type == "MD5" and f.checksum_value == hashlib.md5(data).hexdigest()
            else:
                assert f.checksum_type is None  # ICD 4.3.6.3: science files only
        by_lgid = find_granule(session, "AST_L1BT.001:AST_L1BT_00305042002163000_13683")
        assert by_lgid.id == granule.id


def test_redelivered_granule_becomes_a_new_version(settings: Settings, tmp_path: Path) -> None:
    f = tmp_path / "g.hdf"
    f.write_bytes(b"x" * 10)
    with session_scope(settings.database_url) as session:
        first = add_granule(session, settings, "ABC.001", [NewFile(f)], local_granule_id="g1")
        second = add_granule(session, settings, "ABC.001", [NewFile(f)], local_granule_id="g1")
        assert (first.granule_version, second.granule_version) == (1, 2)
        assert Path(first.files[0].archive_path).exists() and Path(second.files[0].archive_path).exists()
        assert find_granule(session, "ABC.001:g1").id == second.id


@pytest.mark.parametrize(
    ("lgid", "message"), [("a/b", "file name"), ("x" * 81, "80"), ("..", "file name")]
)
def test_bad_local_granule_ids_are_refused(settings: Settings, tmp_path: Path, lgid: str, message: str) -> None:
    f = tmp_path / "g.hdf"
    f.write_bytes(b"x")
    with session_scope(settings.database_url) as session, pytest.raises(UserError, match=message):
        add_granule(session, settings, "ABC.001", [NewFile(f)], local_granule_id=lgid)


def test_order_has_ten_digit_ids_and_numbered_granules(settings: Settings, tmp_path: Path) -> None:
    urs = _sample_archive(settings, tmp_path)
    spec = RequestSpec(MediaType.FTP_PUSH, urs[:3], Destination(host="h.example", directory="/in", conn_id="c"),
                       userstring="hello")
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, ALICE, [spec])
        order_id = order.order_id
    assert order_id is not None and len(order_id) == 10 and order_id.startswith(settings.id_prefix)
    with session_scope(settings.database_url) as session:
        order = get_order(session, order_id)
        (request,) = order.requests
        assert len(str(request.request_id)) == 10
        assert [rg.directory_number for rg in request.granules] == [1, 2, 3]
        assert request.state == RequestState.NEW
        summary = describe_order(settings, order)
        assert summary["requests"][0]["granules"][0]["ur"] == urs[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (RequestSpec(MediaType.FTP_PUSH, ["SC:MOD09GHK.003:1"], Destination(directory="/x")), "destination host"),
        (RequestSpec(MediaType.SCP, ["SC:MOD09GHK.003:1"], Destination(host="h")), "directory"),
        (RequestSpec(MediaType.FTP_PULL, []), "at least one granule"),
        (RequestSpec(MediaType.FTP_PULL, ["SC:MOD09GHK.003:1"], userstring="u" * 256), "255"),
        (RequestSpec(MediaType.FTP_PULL, ["SC:NOPE.001:1"]), "no granule"),
        (RequestSpec(MediaType.FTP_PULL, ["garbage"]), "UR"),
        (RequestSpec(MediaType.FTP_PULL, ["SC:MOD09GHK.003:1", "SC:MOD09GHK.003:1"]), "twice"),
        (RequestSpec(MediaType.DVD, ["SC:MOD09GHK.003:1"]), "needs a shipping address"),
        # Fields the DN writes on one line: refused when the order is taken, not at notify time.
        (RequestSpec(MediaType.FTP_PUSH, ["SC:MOD09GHK.003:1"], Destination("h\nFTPDIR: /x", None, "/in", "c")),
         "FTPHOST.*one line"),
        (RequestSpec(MediaType.SCP, ["SC:MOD09GHK.003:1"], Destination("h", None, "/in\n", "c")), "FTPDIR.*one line"),
        (RequestSpec(MediaType.SCP, ["SC:MOD09GHK.003:1"], Destination("h", None, "/" + "d" * 255, "c")), "255"),
        (RequestSpec(MediaType.FTP_PUSH, ["SC:MOD09GHK.003:1"], Destination(" h", None, "/in", "c")), "blanks"),
        (RequestSpec(MediaType.FTP_PULL, ["SC:MOD09GHK.003:1"], userstring="a\rb"), "USERSTRING.*one line"),
        (RequestSpec(MediaType.FTP_PUSH, ["SC:MOD09GHK.003:1"], Destination("h", None, "/in", "my conn\n")),
         "connection id"),
    ],
)
def test_bad_orders_are_refused_clearly(settings: Settings, tmp_path: Path, spec: RequestSpec, message: str) -> None:
    _sample_archive(settings, tmp_path)
    with session_scope(settings.database_url) as session, pytest.raises(UserError, match=message):
        create_order(session, settings, ALICE, [spec])


def test_new_user_needs_an_email(settings: Settings) -> None:
    with session_scope(settings.database_url) as session, pytest.raises(UserError, match="e-mail"):
        create_order(session, settings, Contact(user_id="bob", email=""), [RequestSpec(MediaType.FTP_PULL, ["x"])])


def test_cancel_marks_open_granules_and_refuses_twice(settings: Settings, tmp_path: Path) -> None:
    urs = _sample_archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        order_id = str(create_order(session, settings, ALICE, [RequestSpec(MediaType.FTP_PULL, urs[:2])]).order_id)
    with session_scope(settings.database_url) as session:
        (request,) = cancel_order(session, order_id)
        assert request.state == RequestState.CANCELLED
        assert {rg.status for rg in request.granules} == {GranuleStatus.CANCELLED}
        assert request.granules[0].failure_explanation == "Request Canceled"
    with session_scope(settings.database_url) as session, pytest.raises(UserError, match="no request left"):
        cancel_order(session, order_id)
    with session_scope(settings.database_url) as session, pytest.raises(NotFound):
        cancel_order(session, "9999999999")


def test_media_type_names() -> None:
    assert parse_media_type("ftppull") == MediaType.FTP_PULL
    assert parse_media_type("SCP") == MediaType.SCP
    assert parse_media_type("SmbPush") == MediaType.SMB_PUSH
    with pytest.raises(UserError, match="unknown delivery method"):
        parse_media_type("pigeon")
