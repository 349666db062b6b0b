"""The local PDR server on temporary directories: listing, PDR limits, fetch with checksums, escapes, PAN writes."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import distribution.ingest.pdrserver
from distribution.ingest import pan
from distribution.errors import PermanentError, RetryableError
from distribution.ingest.pdrserver import (
    PathEscape,
    PdrServerError,
    PdrTooLarge,
    ProviderCommandRefused,
    ProviderFileNotFound,
    RemoteFile,
    StagingWriteFailed,
    open_pdr_server,
)
from distribution.remote import temporary_name
from distribution.orders.push import Endpoint

PDR = b'ORIGINATING_SYSTEM = SIPS1;\nTOTAL_FILE_COUNT = 1;\n'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A provider's root: /SIPS1/PDR (polling), /SIPS1/DATA (products)."""
    provider = tmp_path / "provider"
    (provider / "SIPS1" / "PDR").mkdir(parents=True)
    (provider / "SIPS1" / "DATA").mkdir(parents=True)
    return provider


def _server(root: Path, polling: str = "/SIPS1/PDR"):  # type: ignore[no-untyped-def]
    return open_pdr_server(Endpoint("local", directory=str(root)), polling)


def test_lists_only_pdr_files_with_size_and_mtime(root: Path) -> None:
    polling = root / "SIPS1" / "PDR"
    (polling / "B.PDR").write_bytes(PDR)
    (polling / "a.pdr").write_bytes(b"x")  # the extension is matched without case, as pdr.is_pdr_name says
    (polling / "B.PAN").write_text("ours")
    (polling / ".PDR").write_text("no name before the extension")
    (polling / "DIR.PDR").mkdir()
    os.utime(polling / "B.PDR", (1_000_000_000, 1_000_000_000))
    with _server(root) as server:
        listed = server.list_pdrs()
    assert listed == [RemoteFile("B.PDR", len(PDR), datetime.fromtimestamp(1_000_000_000, UTC)),
                      RemoteFile("a.pdr", 1, listed[1].mtime)]
    with _server(root, "SIPS1/PDR") as server:  # relative: from the login directory (the root)
        assert [f.name for f in server.list_pdrs()] == ["B.PDR", "a.pdr"]


def test_read_pdr_and_its_limit(root: Path) -> None:
    polling = root / "SIPS1" / "PDR"
    (polling / "OK.PDR").write_bytes(PDR)
    (polling / "BIG.PDR").write_bytes(b"x" * 101)
    with _server(root) as server:
        assert server.read_pdr("OK.PDR", limit=len(PDR)) == PDR
        with pytest.raises(PdrTooLarge) as caught:
            server.read_pdr("BIG.PDR", limit=100)
        assert caught.value.disposition == pan.INVALID_PVL_STATEMENT
        assert isinstance(caught.value, PermanentError)
        (polling / "GONE.PDR").write_bytes(PDR)
        assert "GONE.PDR" in [f.name for f in server.list_pdrs()]
        (polling / "GONE.PDR").unlink()  # the provider took it back between listing and reading
        with pytest.raises(ProviderFileNotFound):
            server.read_pdr("GONE.PDR", limit=1000)


@pytest.mark.parametrize("checksum_type, tool", [("MD5", "md5sum"), ("CKSUM", "cksum"), (None, None)])
def test_fetch_copies_and_checksums_in_one_pass(root: Path, tmp_path: Path, checksum_type: str | None,
                                                tool: str | None) -> None:
    data = os.urandom(3 * (1 << 20) + 12345)  # several blocks and a tail
    (root / "SIPS1" / "DATA" / "G.hdf").write_bytes(data)
    dst = tmp_path / "staging" / "G.hdf"
    dst.parent.mkdir()
    dst.with_name("G.hdf.part").write_bytes(b"left over from a try that broke")
    dst.write_bytes(b"an older copy")
    with _server(root) as server:
        got = server.fetch("/SIPS1/DATA", "G.hdf", dst, checksum_type)
        assert server.fetch("SIPS1/DATA/", "G.hdf", tmp_path / "again", checksum_type) == got
    assert dst.read_bytes() == data
    assert got.size == len(data)
    assert not dst.with_name("G.hdf.part").exists()
    if tool is None:
        assert got.checksum is None
    else:
        expected = subprocess.run([tool, str(dst)], capture_output=True, text=True, check=True).stdout.split()[0]
        assert got.checksum == expected
        if checksum_type == "MD5":
            assert got.checksum == hashlib.md5(data).hexdigest()


def test_fetch_of_an_empty_file(root: Path, tmp_path: Path) -> None:
    (root / "SIPS1" / "DATA" / "E.met").write_bytes(b"")
    with _server(root) as server:
        got = server.fetch("/SIPS1/DATA", "E.met", tmp_path / "E.met", "CKSUM")
    assert (got.size, got.checksum) == (0, "4294967295")  # cksum of nothing


def test_missing_and_vanished_files_are_files_not_found(root: Path, tmp_path: Path) -> None:
    with _server(root) as server:
        for directory, name in (("/SIPS1/DATA", "absent.hdf"), ("/SIPS1/NOWHERE", "G.hdf"), ("/SIPS1", "DATA")):
            with pytest.raises(ProviderFileNotFound) as caught:
                server.fetch(directory, name, tmp_path / "x", "MD5")
            assert caught.value.disposition == pan.FILES_NOT_FOUND
            assert isinstance(caught.value, PermanentError)
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()
    with pytest.raises(ProviderFileNotFound):
        _server(root, "/SIPS1/NOPE").__enter__()


@pytest.mark.parametrize("directory, name", [
    ("/SIPS1/../..", "etc"), ("..", "x"), ("SIPS1/DATA/../../..", "passwd"), ("/SIPS1/DATA", ".."),
    ("/SIPS1/DATA", "a/b"), ("/SIPS1/DATA", ""), ("/SIPS1/DATA\r\nDELE x", "y"), ("/SIPS1/DATA", "x\0"),
])
def test_paths_that_climb_out_are_refused(root: Path, tmp_path: Path, directory: str, name: str) -> None:
    with _server(root) as server:
        with pytest.raises(PathEscape) as caught:
            server.fetch(directory, name, tmp_path / "x", None)
    assert caught.value.disposition == pan.FTP_COMMAND_FAILURE
    assert isinstance(caught.value, ProviderCommandRefused) and isinstance(caught.value, PermanentError)


def test_symlinks_out_of_the_root_are_refused(root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not the provider's")
    data = root / "SIPS1" / "DATA"
    (data / "link.hdf").symlink_to(secret)
    (data / "outside").symlink_to(tmp_path)
    (data / "inside.hdf").symlink_to(root / "SIPS1" / "PDR" / "A.PDR")
    (root / "SIPS1" / "PDR" / "A.PDR").write_bytes(PDR)
    (root / "SIPS1" / "PDR" / "OUT.PDR").symlink_to(secret)
    with _server(root) as server:
        for directory, name in (("/SIPS1/DATA", "link.hdf"), ("/SIPS1/DATA/outside", "secret.txt")):
            with pytest.raises(PathEscape):
                server.fetch(directory, name, tmp_path / "x", None)
        with pytest.raises(PathEscape):
            server.read_pdr("OUT.PDR", 1000)
        assert server.fetch("/SIPS1/DATA", "inside.hdf", tmp_path / "y", None).size == len(PDR)
    (root / "SIPS1" / "escape").symlink_to(tmp_path)
    with pytest.raises(PathEscape):
        _server(root, "/SIPS1/escape").__enter__()


def test_unreadable_file_is_a_refused_command(root: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    f = root / "SIPS1" / "DATA" / "locked.hdf"
    f.write_bytes(b"x")
    f.chmod(0)
    with _server(root) as server, pytest.raises(ProviderCommandRefused):
        server.fetch("/SIPS1/DATA", "locked.hdf", tmp_path / "x", None)


def test_staging_write_failure(root: Path, tmp_path: Path) -> None:
    (root / "SIPS1" / "DATA" / "G.hdf").write_bytes(b"x")
    with _server(root) as server, pytest.raises(StagingWriteFailed) as caught:
        server.fetch("/SIPS1/DATA", "G.hdf", tmp_path / "no" / "such" / "dir" / "G.hdf", "MD5")
    assert caught.value.disposition == pan.RESOURCE_ALLOCATION_FAILURE


def test_write_response_is_atomic_and_replaces(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    polling = root / "SIPS1" / "PDR"
    text = 'MESSAGE_TYPE = SHORTPAN;\nDISPOSITION = "SUCCESSFUL";\n'
    seen: list[list[str]] = []
    real_replace = os.replace

    def watching_replace(src: object, dst: object) -> None:
        seen.append(sorted(os.listdir(polling)))  # what a provider listing right now would see
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", watching_replace)
    with _server(root) as server:
        server.write_response("A.PAN", "an older PAN")
        server.write_response("A.PAN", text)
        with pytest.raises(PathEscape):
            server.write_response("../A.PAN", text)
    assert (polling / "A.PAN").read_text() == text
    assert os.listdir(polling) == ["A.PAN"]  # no temporary name left behind
    tmp = temporary_name("A.PAN")
    assert seen == [[tmp], sorted([tmp, "A.PAN"])]  # before each rename: only the complete temporary, never half a PAN
    assert not tmp.upper().endswith((".PAN", ".PDR", ".PDRD"))


def test_every_retryable_error_has_an_auto_retry_disposition() -> None:
    """Footnote 8 of Table 4.5-7: what Ardis retries by itself is what the ICD says may be retried automatically."""
    classes = [c for c in vars(distribution.ingest.pdrserver).values() if isinstance(c, type) and issubclass(c, PdrServerError)]
    assert len(classes) >= 10
    for c in classes:
        assert c.disposition in vars(pan).values(), c
        if issubclass(c, RetryableError):
            assert c.disposition in pan.AUTO_RETRY, c
        elif c is not PdrServerError:
            assert issubclass(c, PermanentError), c
