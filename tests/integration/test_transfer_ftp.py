"""FTP push against a real pyftpdlib server on 127.0.0.1, and the error types that decide retry vs fail."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from distribution.errors import PermanentError
from distribution.remote import RemoteNotFound, open_remote
from distribution.orders.push import (
    AuthenticationFailed,
    Endpoint,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
    open_pusher,
)
from tests.servers import FtpServer, closed_port, ftp_endpoint

pytestmark = pytest.mark.integration


def _random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def incoming(ftp_target: FtpServer) -> Path:
    (ftp_target.root / "in").mkdir()
    return ftp_target.root / "in"


def test_push_replaces_a_partial_file_and_reports_sizes(ftp_target: FtpServer, incoming: Path,
                                                        tmp_path: Path) -> None:
    big = _random_file(tmp_path / "big.hdf", 5 * (1 << 20) + 17)  # several 1 MiB blocks and a tail
    empty = _random_file(tmp_path / "empty.met", 0)
    (incoming / "big.hdf").write_bytes(b"half of it, from a try that broke")
    with open_pusher(ftp_endpoint(ftp_target, "/in")) as pusher:
        assert pusher.remote_size("big.hdf") == 33
        assert pusher.put_file(big, "big.hdf") == big.stat().st_size
        assert pusher.put_file(empty, "empty.met") == 0
        assert pusher.remote_size("big.hdf") == big.stat().st_size
        assert pusher.remote_size("absent") is None
    assert hashlib.md5((incoming / "big.hdf").read_bytes()).digest() == hashlib.md5(big.read_bytes()).digest()
    assert (incoming / "empty.met").read_bytes() == b""


def test_put_text_writes_the_exact_bytes(ftp_target: FtpServer, incoming: Path) -> None:
    text = "ORDERID: 0100000001\nREQUESTID: 0100000002\n\tFILENAME: G.hdf \r\n"
    with open_pusher(ftp_endpoint(ftp_target, "/in")) as pusher:
        pusher.put_text("0100000002.notify", text)
    assert (incoming / "0100000002.notify").read_bytes() == text.encode()


def test_download_helper_fetches_whole_files(ftp_target: FtpServer, incoming: Path, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 5)
    (incoming / "G.hdf").write_bytes(data)
    with open_remote(ftp_endpoint(ftp_target, "/in")) as ftp:
        assert ftp.fetch("G.hdf", tmp_path / "G.hdf", None).size == len(data)
        with pytest.raises(RemoteNotFound, match="absent"):
            ftp.fetch("absent", tmp_path / "absent", None)
    assert (tmp_path / "G.hdf").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("G", "absent"))) == ["G.hdf"]


def test_unreachable_host_and_unknown_name_are_retryable() -> None:
    with pytest.raises(TransferRetryable, match="cannot connect"):
        open_pusher(Endpoint("ftp", "127.0.0.1", closed_port(), "/", "u", "p", timeout=5)).__enter__()
    with pytest.raises(TransferRetryable, match="cannot connect"):
        open_pusher(Endpoint("ftp", "no-such-host.invalid", 21, "/", "u", "p", timeout=5)).__enter__()


@pytest.fixture
def busy_server() -> Iterator[int]:
    """A server that answers every connection with 421 (too many users), as a loaded FTP server does."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"421 Too many users, try again later.\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
    listener.close()
    thread.join(timeout=10)


def test_a_4xx_reply_is_retryable(busy_server: int) -> None:
    with pytest.raises(TransferRetryable, match="421"):
        open_pusher(Endpoint("ftp", "127.0.0.1", busy_server, "/", "u", "p", timeout=5)).__enter__()


def test_wrong_password_is_permanent_and_never_shown(ftp_target: FtpServer) -> None:
    with pytest.raises(AuthenticationFailed, match="pusher") as e:
        open_pusher(ftp_endpoint(ftp_target, password="s3cret-wrong")).__enter__()
    assert "s3cret-wrong" not in str(e.value)
    assert "s3cret-wrong" not in repr(ftp_endpoint(ftp_target, password="s3cret-wrong"))


def test_missing_directory_and_5xx_replies_are_permanent(ftp_target: FtpServer, incoming: Path,
                                                         tmp_path: Path) -> None:
    with pytest.raises(RemotePathError, match="/missing"):
        open_pusher(ftp_endpoint(ftp_target, "/missing")).__enter__()
    (incoming / "adir").mkdir()
    src = _random_file(tmp_path / "x", 10)
    with open_pusher(ftp_endpoint(ftp_target, "/in")) as pusher:
        with pytest.raises(PermanentError, match="adir"):
            pusher.put_file(src, "adir")  # 550: a directory stands there
        with pytest.raises(TransferRefused):
            pusher.put_file(src, "../escape")  # never outside the agreed directory
        pusher.put_file(src, "after-errors")  # the connection is still good
    assert (incoming / "after-errors").read_bytes() == src.read_bytes()
