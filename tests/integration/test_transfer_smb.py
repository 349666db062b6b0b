"""SMB push against a real Samba smbd on 127.0.0.1 (skipped when samba is not installed or not root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distribution.orders.push import (
    AuthenticationFailed,
    Endpoint,
    RemotePathError,
    TransferRefused,
    TransferRetryable,
    open_pusher,
)
from tests.servers import SmbServer, closed_port, smb_endpoint

pytestmark = pytest.mark.integration


def test_push_replaces_a_partial_file_and_writes_text(smbd: SmbServer, tmp_path: Path) -> None:
    (smbd.root / "in" / "deeper").mkdir(parents=True)
    src = tmp_path / "G.hdf"
    src.write_bytes(os.urandom(3 * (1 << 20) + 11))
    (smbd.root / "in" / "deeper" / "G.hdf").write_bytes(b"left over by a broken try")
    with open_pusher(smb_endpoint(smbd, "in/deeper")) as pusher:
        assert pusher.remote_size("G.hdf") == 25
        assert pusher.put_file(src, "G.hdf") == src.stat().st_size
        pusher.put_text("0100000002.notify", "ORDERID: 1\n\tx \r\n")
        assert pusher.remote_size("absent") is None
    assert (smbd.root / "in" / "deeper" / "G.hdf").read_bytes() == src.read_bytes()
    assert (smbd.root / "in" / "deeper" / "0100000002.notify").read_bytes() == b"ORDERID: 1\n\tx \r\n"


def test_push_to_the_share_root(smbd: SmbServer, tmp_path: Path) -> None:
    src = tmp_path / "a"
    src.write_bytes(b"abc")
    with open_pusher(smb_endpoint(smbd)) as pusher:
        pusher.put_file(src, "a")
    assert (smbd.root / "a").read_bytes() == b"abc"


def test_wrong_password_is_permanent_and_a_later_good_logon_works(smbd: SmbServer, tmp_path: Path) -> None:
    with pytest.raises(AuthenticationFailed, match=smbd.username) as e:
        open_pusher(smb_endpoint(smbd, password="wrong-pass-123")).__enter__()
    assert "wrong-pass-123" not in str(e.value)
    src = tmp_path / "a"
    src.write_bytes(b"abc")
    with open_pusher(smb_endpoint(smbd)) as pusher:  # no session left over from the failed logon
        pusher.put_file(src, "a")


def test_missing_share_or_directory_is_permanent(smbd: SmbServer) -> None:
    with pytest.raises(RemotePathError, match="missing"):
        open_pusher(smb_endpoint(smbd, "missing")).__enter__()
    with pytest.raises(RemotePathError, match="noshare"):
        open_pusher(smb_endpoint(smbd, directory="noshare/in")).__enter__()
    with pytest.raises(RemotePathError, match="no share"):
        open_pusher(smb_endpoint(smbd, directory="")).__enter__()


def test_bad_names_and_directories_in_the_way_are_refused(smbd: SmbServer, tmp_path: Path) -> None:
    (smbd.root / "adir").mkdir()
    src = tmp_path / "a"
    src.write_bytes(b"abc")
    with open_pusher(smb_endpoint(smbd)) as pusher:
        with pytest.raises(TransferRefused):
            pusher.put_file(src, "..\\escape")
        with pytest.raises(RemotePathError, match="adir"):
            pusher.put_file(src, "adir")


def test_unreachable_server_is_retryable() -> None:
    endpoint = Endpoint("smb", "127.0.0.1", closed_port(), "share/in", "u", "p", timeout=5)
    with pytest.raises(TransferRetryable, match="cannot connect"):
        open_pusher(endpoint).__enter__()


def test_a_batch_mixing_small_and_big_files_is_yielded_in_order_and_whole(
        smbd: SmbServer, tmp_path: Path) -> None:
    """Small files go as compound requests, several in flight; a big one (more than one compound) goes
    between them by itself: each is yielded in order, with its size, once whole."""
    (smbd.root / "in").mkdir()
    files = []
    for i in range(50):
        src = tmp_path / f"g{i:02}.hdf"
        src.write_bytes(os.urandom((3 << 20) + i if i in (5, 31) else 7_000 * i))
        files.append((src, src.name))
    (smbd.root / "in" / "g01.hdf").write_bytes(b"a longer partial copy left by a try that died" * 500)
    with open_pusher(smb_endpoint(smbd, "in")) as pusher:
        done = list(pusher.put_files(iter(files)))
    assert done == [(path, src.stat().st_size) for src, path in files]
    for src, path in files:
        assert (smbd.root / "in" / path).read_bytes() == src.read_bytes()
