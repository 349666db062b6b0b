"""Push into a local (or mounted) directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distribution.errors import PermanentError
from distribution.orders.push import Endpoint, RemotePathError, open_pusher


def test_local_push_replaces_and_refuses_paths(tmp_path: Path) -> None:
    src = tmp_path / "granule.hdf"
    src.write_bytes(os.urandom(1000))
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_bytes(b"partial")
    with open_pusher(Endpoint("local", directory=str(out))) as pusher:
        assert pusher.put_file(src, "x") == 1000
        pusher.put_text("dn.txt", "a\tb \n")
        with pytest.raises(PermanentError):
            pusher.put_file(src, "../escape")
    assert (out / "x").read_bytes() == src.read_bytes()
    assert (out / "dn.txt").read_text() == "a\tb \n"
    assert not (tmp_path / "escape").exists()
    with pytest.raises(RemotePathError):
        open_pusher(Endpoint("local", directory=str(tmp_path / "none"))).__enter__()
