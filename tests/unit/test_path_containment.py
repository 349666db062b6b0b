"""User ids and paths from user input stay inside their roots (issue 10, defect 6).

A user id ``..`` with ``ARDIS_FTP_LOGIN_MODE=user`` once put the pull files
beside the pull root, and housekeeping then removed a directory outside it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from distribution.inventory.archive import granule_ur
from distribution.db import session_scope
from distribution.orders.delivery import deliver_request, stage_request, verify_request
from devkit.sample_data import load_samples
from distribution.errors import UserError
from distribution.orders.housekeeping import purge_expired_pull_areas
from distribution.identifiers import check_user_id
from distribution.models import MediaType, Order, User
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.paths import PathEscape, under
from distribution.orders.staging import remove_tree
from distribution.time import utcnow
from distribution.orders.push import Endpoint, open_pusher
from tests.conftest import make_settings

BAD_IDS = [".", "..", ".hidden", "a/b", "../x", "a\\b", "", "x" * 33, "sips1\n", "a b", "\u0663"]


@pytest.mark.parametrize("user_id", BAD_IDS)
def test_user_ids_that_are_no_plain_name_are_refused(user_id: str) -> None:
    with pytest.raises(UserError, match="user id"):
        check_user_id(user_id)


@pytest.mark.parametrize("user_id", ["sips1", "a.b", "a-b_c", "x" * 32, "a.."])
def test_plain_user_ids_are_taken(user_id: str) -> None:
    assert check_user_id(user_id) == user_id


@pytest.mark.parametrize("user_id", ["..", "."])
def test_an_order_of_user_dot_dot_is_refused_before_anything_is_written(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, user_id: str) -> None:
    settings = make_settings(monkeypatch, tmp_path / "home", db_url, ARDIS_FTP_LOGIN_MODE="user")
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]
    with pytest.raises(UserError, match="user id"), session_scope(settings.database_url) as session:
        create_order(session, settings, Contact(user_id, "evil@example.org"), [RequestSpec(MediaType.FTP_PULL, urs)])
    with session_scope(settings.database_url) as session:
        assert session.query(User).count() == 0 and session.query(Order).count() == 0


def test_under_refuses_every_way_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    assert under(root, "a", "00001/b.hdf") == root / "a" / "00001" / "b.hdf"
    for parts in ((".",), ("..",), ("..", "x"), ("a/../../x",), ("/etc",), ("a\0b",), ("",), ("link", "f"),
                  ("./x",)):
        with pytest.raises(PathEscape):
            under(root, *parts)


def test_housekeeping_never_removes_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "pull"
    victim = tmp_path / "victim"
    root.mkdir()
    victim.mkdir()
    for path in (victim, root / ".." / "victim", root):
        with pytest.raises(PathEscape):
            remove_tree(path, root)
    assert victim.is_dir() and root.is_dir()


def test_a_pull_of_a_dot_dot_user_recorded_before_the_check_is_never_placed_nor_purged_outside(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> None:
    """A user ``..`` already in the database (taken before ids were checked): nothing is written or removed
    outside the pull root."""
    settings = make_settings(monkeypatch, tmp_path / "home", db_url, ARDIS_FTP_LOGIN_MODE="user")
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]
        order = create_order(session, settings, Contact("ok", "ok@example.org"), [RequestSpec(MediaType.FTP_PULL, urs)])
        request_id = str(order.requests[0].request_id)
        session.execute(insert(User).values(user_id="..", email="evil@example.org"))
        order.user = session.query(User).filter(User.user_id == "..").one()
    outside = settings.pull_root.parent / request_id
    outside.mkdir()
    (outside / "keep.txt").write_text("not Ardis's")
    stage_request(settings, request_id)
    verify_request(settings, request_id)
    with pytest.raises(PathEscape):
        deliver_request(settings, request_id)
    with session_scope(settings.database_url) as session:
        get_request(session, request_id).ftp_expires_at = utcnow() - timedelta(minutes=1)
    purge_expired_pull_areas(settings)
    assert (outside / "keep.txt").read_text() == "not Ardis's"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


def test_a_local_push_writes_only_inside_its_directory(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere" / "x", dest / "x")  # a planted link must not carry the file out
    src = tmp_path / "f"
    src.write_bytes(b"data")
    with open_pusher(Endpoint(method="local", host="", directory=str(dest))) as pusher:
        assert pusher.put_file(src, "ok") == 4
        with pytest.raises(PathEscape):
            pusher.put_file(src, "x")
    assert not (tmp_path / "elsewhere" / "x").exists()
