"""Checks every PDR server must pass, shared by the FTP and SFTP tests (the local one has its own unit tests).

Each takes a factory that opens the server on a provider tree made by ``provider_tree``
(so the same checks run against pyftpdlib and OpenSSH), and compares with what the
files on disk are, by hashlib and the coreutils tools.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from distribution.ingest import pan
from distribution.errors import PermanentError
from distribution.ingest.pdrserver import (
    PathEscape,
    PdrServer,
    PdrTooLarge,
    ProviderFileNotFound,
    open_pdr_server,
)
from distribution.orders.push import Endpoint

Opener = Callable[[], AbstractContextManager[PdrServer]]
PDR = b"ORIGINATING_SYSTEM = SIPS1;\nTOTAL_FILE_COUNT = 1;\nEXPIRATION_TIME = 2030-01-01T00:00:00Z;\n"


def provider_tree(root: Path) -> tuple[Path, Path]:
    """``<root>/SIPS1/PDR`` (polling, two PDRs and an old PAN) and ``<root>/SIPS1/DATA`` (products)."""
    polling, data = root / "SIPS1" / "PDR", root / "SIPS1" / "DATA"
    polling.mkdir(parents=True)
    data.mkdir(parents=True)
    (polling / "SIPS1.2001100120000.PDR").write_bytes(PDR)
    (polling / "second.pdr").write_bytes(PDR * 2)
    (polling / "SIPS1.2000.PAN").write_text("an older PAN")
    (polling / "subdir.PDR").mkdir()
    os.utime(polling / "SIPS1.2001100120000.PDR", (1_000_000_000, 1_000_000_000))
    return polling, data


def opener(endpoint: Endpoint, polling_directory: str) -> Opener:
    return lambda: open_pdr_server(endpoint, polling_directory)


def _tool(tool: str, path: Path) -> str:
    return subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


def check_list_and_read(open_server: Opener) -> None:
    with open_server() as server:
        listed = server.list_pdrs()
        assert [(f.name, f.size) for f in listed] == [("SIPS1.2001100120000.PDR", len(PDR)),
                                                       ("second.pdr", 2 * len(PDR))]
        assert listed[0].mtime is not None and listed[0].mtime.timestamp() == 1_000_000_000
        assert server.read_pdr("SIPS1.2001100120000.PDR", limit=len(PDR)) == PDR
        with pytest.raises(PdrTooLarge) as caught:
            server.read_pdr("second.pdr", limit=len(PDR))
        assert isinstance(caught.value, PermanentError)
        assert server.read_pdr("second.pdr", limit=1 << 20) == PDR * 2  # the connection is still usable
        with pytest.raises(ProviderFileNotFound):
            server.read_pdr("gone.PDR", limit=1000)


def check_fetch(open_server: Opener, data_dir: Path, directory_id: str, tmp_path: Path) -> None:
    """MD5 and CKSUM against hashlib and coreutils, no checksum, empty files, a partial file replaced."""
    content = os.urandom(5 * (1 << 20) + 4321)
    (data_dir / "G.hdf").write_bytes(content)
    (data_dir / "E.met").write_bytes(b"")
    dst = tmp_path / "fetched" / "G.hdf"
    dst.parent.mkdir()
    with open_server() as server:
        for checksum_type, tool in (("MD5", "md5sum"), ("CKSUM", "cksum"), (None, None)):
            dst.with_name("G.hdf.part").write_bytes(b"half of an earlier try")
            got = server.fetch(directory_id, "G.hdf", dst, checksum_type)
            assert dst.read_bytes() == content
            assert not dst.with_name("G.hdf.part").exists()
            assert got.size == len(content)
            assert got.checksum == (_tool(tool, dst) if tool else None)
        assert server.fetch(directory_id, "G.hdf", dst, "md5").checksum == hashlib.md5(content).hexdigest()
        empty = server.fetch(directory_id, "E.met", tmp_path / "E.met", "CKSUM")
        assert (empty.size, empty.checksum) == (0, _tool("cksum", tmp_path / "E.met"))


def check_large_fetch(open_server: Opener, data_dir: Path, directory_id: str, tmp_path: Path) -> None:
    """50 MB with its MD5 in the same pass."""
    big = data_dir / "big.hdf"
    with big.open("wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
    with open_server() as server:
        got = server.fetch(directory_id, "big.hdf", tmp_path / "big.hdf", "MD5")
    assert got.size == 50 << 20
    assert got.checksum == _tool("md5sum", big) == _tool("md5sum", tmp_path / "big.hdf")


def check_missing_and_escapes(open_server: Opener, directory_id: str, tmp_path: Path) -> None:
    with open_server() as server:
        for directory, name in ((directory_id, "absent.hdf"), (directory_id + "/nowhere", "G.hdf")):
            with pytest.raises(ProviderFileNotFound) as caught:
                server.fetch(directory, name, tmp_path / "x", "MD5")
            assert caught.value.disposition == pan.FILES_NOT_FOUND
        for directory, name in ((directory_id + "/../..", "etc"), (directory_id, "../x"),
                                (directory_id, "x\r\nDELE y")):
            with pytest.raises(PathEscape):
                server.fetch(directory, name, tmp_path / "x", None)
        assert server.list_pdrs()  # still connected after the refusals
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()


def check_write_response_atomic(open_server: Opener, polling: Path) -> None:
    """A provider watching the directory never sees the PAN's name with less than the whole text."""
    text = "MESSAGE_TYPE = SHORTPAN;\n" + "x" * (24 << 20) + "\n"  # large, so the write takes a while
    target = polling / "SIPS1.2001100120000.PAN"
    target.write_text("an older PAN of the same PDR")
    seen: set[int] = set()
    names: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            names.update(os.listdir(polling))
            try:
                seen.add(target.stat().st_size)
            except FileNotFoundError:
                seen.add(-1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with open_server() as server:
            server.write_response(target.name, text)
    finally:
        stop.set()
        watcher.join()
    assert target.read_text() == text
    assert seen <= {len("an older PAN of the same PDR"), len(text)}  # old or new, never half, never missing
    temporaries = names - {"SIPS1.2001100120000.PDR", "second.pdr", "SIPS1.2000.PAN", "subdir.PDR", target.name}
    assert len(temporaries) == 1 and next(iter(temporaries)).endswith(".part")  # it was written elsewhere first
    assert sorted(os.listdir(polling)) == sorted(["SIPS1.2001100120000.PDR", "second.pdr", "SIPS1.2000.PAN",
                                                  "subdir.PDR", target.name])  # the temporary name is gone
