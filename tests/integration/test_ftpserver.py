"""The embedded FTP pull server with real clients (curl, ftplib): one login per folder, read-only."""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from distribution.orders.pull_server import load_or_create_secret, pull_dir_for, pull_password
from distribution.remote import open_remote
from tests.servers import PullServer, closed_port, run_pull_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _login(server: PullServer, user: str, password: str | None = None) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect(server.host, server.port, timeout=10)
    ftp.login(user, server.password(user) if password is None else password)
    return ftp


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_curl_ftplib_and_the_download_helper_get_the_staged_bytes(pull_server: PullServer, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 7)
    pull_server.stage("0100000001", "0100000002", {"G.hdf": data, "G.met": b"<xml/>\n"})
    password = pull_server.password("0100000001")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (Debian package curl)")
    out = tmp_path / "curl.hdf"
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), "--user", f"0100000001:{password}",
                    f"ftp://{pull_server.host}:{pull_server.port}/0100000002/G.hdf"], check=True, timeout=60)
    assert _md5(out.read_bytes()) == _md5(data)
    with _login(pull_server, "0100000001") as ftp:
        ftp.cwd("/0100000002")  # the DN's FTPDIR
        assert sorted(ftp.nlst()) == ["G.hdf", "G.met"]
        buf = io.BytesIO()
        ftp.retrbinary("RETR G.hdf", buf.write)
        assert _md5(buf.getvalue()) == _md5(data)
    with open_remote(pull_server.endpoint("0100000001", "0100000002")) as client:
        assert client.fetch("G.hdf", tmp_path / "helper.hdf", None).size == len(data)
    assert _md5((tmp_path / "helper.hdf").read_bytes()) == _md5(data)


def test_a_login_sees_only_its_own_folder(pull_server: PullServer, tmp_path: Path) -> None:
    pull_server.stage("alice", "0100000001", {"a.hdf": b"alice's"})
    pull_server.stage("bob", "0100000002", {"b.hdf": b"bob's"})
    (pull_server.root / "alice" / "0100000001" / "sneaky").symlink_to(pull_server.root / "bob")
    with _login(pull_server, "alice") as ftp:
        assert [name.lstrip("/") for name in ftp.nlst("/")] == ["0100000001"]
        ftp.cwd("/..")  # the chroot: ".." of the home is the home
        assert ftp.pwd() == "/"
        for path in ("/../bob/0100000002/b.hdf", "../bob/0100000002/b.hdf", "/0100000001/sneaky/0100000002/b.hdf"):
            with pytest.raises(ftplib.error_perm):
                ftp.retrbinary(f"RETR {path}", lambda _: None)
    curl = subprocess.run(["curl", "-sS", "--fail", "-o", str(tmp_path / "b"), "--user",
                           f"alice:{pull_server.password('alice')}",
                           f"ftp://{pull_server.host}:{pull_server.port}/%2E%2E/bob/0100000002/b.hdf"],
                          capture_output=True, timeout=60)
    assert curl.returncode != 0 and not (tmp_path / "b").exists()


def test_writes_deletes_and_renames_are_refused(pull_server: PullServer) -> None:
    directory = pull_server.stage("alice", "0100000001", {"a.hdf": b"data"})
    with _login(pull_server, "alice") as ftp:
        ftp.cwd("/0100000001")
        refused = [
            lambda: ftp.storbinary("STOR new.hdf", io.BytesIO(b"x")),
            lambda: ftp.storbinary("APPE a.hdf", io.BytesIO(b"x")),
            lambda: ftp.delete("a.hdf"),
            lambda: ftp.mkd("d"),
            lambda: ftp.rmd("/0100000001"),
            lambda: ftp.rename("a.hdf", "b.hdf"),
            lambda: ftp.sendcmd("SITE CHMOD 777 a.hdf"),
        ]
        for action in refused:
            with pytest.raises(ftplib.error_perm):
                action()
    assert sorted(p.name for p in directory.iterdir()) == ["a.hdf"]
    assert (directory / "a.hdf").read_bytes() == b"data"


@pytest.mark.parametrize("user, password", [
    ("alice", "wrong"),
    ("alice", ""),
    ("nobody", None),  # no folder, even with the right derived password
    ("anonymous", "guest@example.org"),
    ("anonymous", None),
    ("..", None),
])
def test_bad_logins_are_refused(pull_server: PullServer, user: str, password: str | None) -> None:
    pull_server.stage("alice", "0100000001", {"a.hdf": b"x"})
    (pull_server.root / "anonymous").mkdir()  # a folder of that name still opens no anonymous access
    with pytest.raises(ftplib.error_perm, match="530"):
        _login(pull_server, user, password)


def test_passive_ports_come_from_the_configured_range(tmp_path: Path) -> None:
    low = closed_port()
    ports = range(low, low + 1)
    with run_pull_server(tmp_path / "pull", passive_ports=ports) as server:
        server.stage("alice", "0100000001", {"a.hdf": b"abc"})
        with _login(server, "alice") as ftp:
            host, port = ftp.makepasv()
            assert (host, port) == ("127.0.0.1", low)
            ftp.abort()
        with _login(server, "alice") as ftp:  # after the first data connection closed, the port is free again
            buf = io.BytesIO()
            ftp.retrbinary("RETR /0100000001/a.hdf", buf.write)
            assert buf.getvalue() == b"abc"


def test_secret_is_private_stable_and_overridable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARDIS_FTP_SECRET", raising=False)
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(load_or_create_secret(tmp_path / "home")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results[0]) == 64  # racing first uses agree on one secret
    assert (tmp_path / "home" / "ftp-secret").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["ftp-secret"]
    assert load_or_create_secret(tmp_path / "home") == results[0]
    monkeypatch.setenv("ARDIS_FTP_SECRET", "from-the-environment")
    assert load_or_create_secret(tmp_path / "home") == b"from-the-environment"
    password = pull_password(b"s", "0100000001")
    assert len(password) == 16 and password != pull_password(b"s", "0100000002") != pull_password(b"t", "0100000001")
    assert pull_dir_for(tmp_path, "0100000001", "0100000002") == tmp_path / "0100000001" / "0100000002"


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    while proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"pull server exited early: {proc.stderr.read().decode() if proc.stderr else ''}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_pull_area_stops_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    port = closed_port()
    code = ("import sys; from pathlib import Path; from distribution.orders.pull_server import serve_pull_area; "
            f"serve_pull_area(Path(sys.argv[1]), '127.0.0.1', {port}, b'secret'); print('stopped')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "pull")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_listening(port, proc)
        (tmp_path / "pull" / "alice").mkdir()
        with ftplib.FTP() as ftp:  # a client still connected does not keep it up
            ftp.connect("127.0.0.1", port, timeout=10)
            ftp.login("alice", pull_password(b"secret", "alice"))
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "stopped"
