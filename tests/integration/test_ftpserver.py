"""The embedded FTP pull server: real clients (curl, ftplib), one login per folder, read-only."""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from distribution.ftpserver import build_pull_server, load_or_create_secret, pull_dir_for, pull_password

pytestmark = pytest.mark.integration


@pytest.fixture
def pull_server(tmp_path: Path) -> Iterator[tuple[Path, int, bytes]]:
    root = tmp_path / "pull"
    secret = load_or_create_secret(tmp_path / "home")
    server = build_pull_server(root, "127.0.0.1", 0, secret)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.5, "handle_exit": False},
                              daemon=True)
    thread.start()
    yield root, server.socket.getsockname()[1], secret
    server.close_all()
    thread.join(timeout=5)


def _stage(root: Path, login: str, request_id: str, name: str, size: int) -> bytes:
    d = pull_dir_for(root, login, request_id)
    d.mkdir(parents=True)
    data = os.urandom(size)
    (d / name).write_bytes(data)
    return data


def _login(port: int, user: str, password: str) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login(user, password)
    return ftp


def test_curl_and_ftplib_download_the_staged_bytes(pull_server: tuple[Path, int, bytes], tmp_path: Path) -> None:
    root, port, secret = pull_server
    data = _stage(root, "0100000001", "0100000002", "G.hdf", 2_000_003)
    password = pull_password(secret, "0100000001")
    if shutil.which("curl"):
        out = tmp_path / "curl.hdf"
        subprocess.run(["curl", "-sS", "--fail", "-o", str(out), "--user", f"0100000001:{password}",
                        f"ftp://127.0.0.1:{port}/0100000002/G.hdf"], check=True, timeout=60)
        assert hashlib.md5(out.read_bytes()).digest() == hashlib.md5(data).digest()
    with _login(port, "0100000001", password) as ftp:
        ftp.cwd("/0100000002")
        assert ftp.nlst() == ["G.hdf"]
        buf = io.BytesIO()
        ftp.retrbinary("RETR G.hdf", buf.write)
        assert buf.getvalue() == data


def test_a_login_sees_only_its_own_folder(pull_server: tuple[Path, int, bytes]) -> None:
    root, port, secret = pull_server
    _stage(root, "alice", "0100000001", "a.hdf", 10)
    _stage(root, "bob", "0100000002", "b.hdf", 10)
    with _login(port, "alice", pull_password(secret, "alice")) as ftp:
        assert ftp.nlst("/") == ["/0100000001"] or ftp.nlst("/") == ["0100000001"]
        with pytest.raises(ftplib.error_perm):
            ftp.cwd("/../bob/0100000002")
            ftp.retrbinary("RETR b.hdf", lambda _: None)


def test_writes_and_deletes_are_refused(pull_server: tuple[Path, int, bytes]) -> None:
    root, port, secret = pull_server
    _stage(root, "alice", "0100000001", "a.hdf", 10)
    with _login(port, "alice", pull_password(secret, "alice")) as ftp:
        ftp.cwd("/0100000001")
        for action in (lambda: ftp.storbinary("STOR new", io.BytesIO(b"x")), lambda: ftp.delete("a.hdf"),
                       lambda: ftp.mkd("d"), lambda: ftp.rename("a.hdf", "b")):
            with pytest.raises(ftplib.error_perm):
                action()
    assert sorted(p.name for p in (root / "alice" / "0100000001").iterdir()) == ["a.hdf"]


def test_wrong_password_unknown_login_and_anonymous_are_refused(pull_server: tuple[Path, int, bytes]) -> None:
    root, port, secret = pull_server
    _stage(root, "alice", "0100000001", "a.hdf", 10)
    for user, password in (("alice", "wrong"), ("nobody", pull_password(secret, "nobody")),
                           ("anonymous", "x@y"), ("..", pull_password(secret, ".."))):
        with pytest.raises(ftplib.error_perm):
            _login(port, user, password)


def test_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    assert load_or_create_secret(tmp_path) == first
    assert (tmp_path / "ftp-secret").stat().st_mode & 0o777 == 0o600
    assert pull_password(first, "a") != pull_password(first, "b")
