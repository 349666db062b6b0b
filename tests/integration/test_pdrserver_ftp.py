"""The FTP PDR server against a real pyftpdlib server on 127.0.0.1 (the shared ``ftp_target`` peer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyftpdlib.handlers import FTPHandler

from distribution.ingest import pan
from distribution.errors import RetryableError
from distribution.ingest.pdrserver import (
    ProviderCommandRefused,
    ProviderFileNotFound,
    ProviderLoginRefused,
    ProviderUnreachable,
    open_pdr_server,
)
from tests.integration import pdrserver_contract as contract
from tests.servers import FtpServer, closed_port, ftp_endpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def tree(ftp_target: FtpServer) -> tuple[Path, Path]:
    return contract.provider_tree(ftp_target.root)


def _opener(server: FtpServer, polling: str = "/SIPS1/PDR", **overrides: object) -> contract.Opener:
    return contract.opener(ftp_endpoint(server, directory="", **overrides), polling)


def test_list_and_read(ftp_target: FtpServer, tree: tuple[Path, Path]) -> None:
    contract.check_list_and_read(_opener(ftp_target))
    contract.check_list_and_read(_opener(ftp_target, "SIPS1/PDR"))  # relative to the login directory


def test_fetch_with_checksums(ftp_target: FtpServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    contract.check_fetch(_opener(ftp_target), tree[1], "/SIPS1/DATA", tmp_path)


def test_fetch_relative_to_the_login_directory(ftp_target: FtpServer, tree: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    (tree[1] / "R.hdf").write_bytes(b"relative")
    opener = contract.opener(ftp_endpoint(ftp_target, directory="/SIPS1"), "PDR")
    with opener() as server:
        assert [f.name for f in server.list_pdrs()] == ["SIPS1.2001100120000.PDR", "second.pdr"]
        assert server.fetch("DATA", "R.hdf", tmp_path / "R.hdf", "MD5").size == 8
        assert server.fetch("/SIPS1/DATA", "R.hdf", tmp_path / "R2.hdf", None).size == 8


def test_fetch_50_mb_with_md5_in_one_pass(ftp_target: FtpServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    contract.check_large_fetch(_opener(ftp_target), tree[1], "/SIPS1/DATA", tmp_path)


def test_missing_files_and_escapes(ftp_target: FtpServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    contract.check_missing_and_escapes(_opener(ftp_target), "/SIPS1/DATA", tmp_path)


def test_directory_as_file_is_a_refused_command(ftp_target: FtpServer, tree: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    with _opener(ftp_target)() as server, pytest.raises(ProviderCommandRefused) as caught:
        server.fetch("/SIPS1", "DATA", tmp_path / "x", None)  # it is listed, so not "not found"
    assert caught.value.disposition == pan.FTP_COMMAND_FAILURE


def test_write_response_atomic(ftp_target: FtpServer, tree: tuple[Path, Path]) -> None:
    contract.check_write_response_atomic(_opener(ftp_target), tree[0])


def test_dead_port_is_retryable_unable_to_connect(ftp_target: FtpServer) -> None:
    with pytest.raises(ProviderUnreachable) as caught:
        _opener(ftp_target, port=closed_port(), timeout=5)().__enter__()
    assert isinstance(caught.value, RetryableError)
    assert caught.value.disposition == pan.UNABLE_TO_CONNECT


def test_unknown_host_is_retryable(ftp_target: FtpServer) -> None:
    with pytest.raises(ProviderUnreachable):
        _opener(ftp_target, host="no-such-host.invalid", timeout=5)().__enter__()


def test_wrong_password_is_permanent_and_not_in_the_message(ftp_target: FtpServer, tree: tuple[Path, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FTPHandler, "auth_failed_timeout", 0.05)  # pyftpdlib waits 3 s after a bad login
    with pytest.raises(ProviderLoginRefused) as caught:
        _opener(ftp_target, password="Wrong-Secret-42")().__enter__()
    assert not isinstance(caught.value, RetryableError)
    assert caught.value.disposition == pan.UNABLE_TO_CONNECT
    assert "Wrong-Secret-42" not in str(caught.value) and ftp_target.password not in str(caught.value)


def test_missing_polling_directory(ftp_target: FtpServer, tree: tuple[Path, Path]) -> None:
    with pytest.raises(ProviderFileNotFound):
        open_pdr_server(ftp_endpoint(ftp_target, directory=""), "/SIPS1/NOPE").__enter__()
