"""The SFTP PDR server against a real OpenSSH sshd on 127.0.0.1 (the shared ``sshd`` peer, and SFTP-only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from distribution.ingest import pan
from distribution.errors import PermanentError, RetryableError
from distribution.ingest.pdrserver import (
    ProviderCommandRefused,
    ProviderFileNotFound,
    ProviderHostKeyMismatch,
    ProviderLoginRefused,
    ProviderUnreachable,
    open_pdr_server,
)
from tests.integration import pdrserver_contract as contract
from tests.servers import SshServer, closed_port, foreign_known_hosts, run_sshd, sftp_endpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    return contract.provider_tree(tmp_path / "provider")


def _opener(server: SshServer, polling: Path | str, **overrides: object) -> contract.Opener:
    return contract.opener(sftp_endpoint(server, "", **overrides), str(polling))


def test_list_and_read(sshd: SshServer, tree: tuple[Path, Path]) -> None:
    contract.check_list_and_read(_opener(sshd, tree[0]))
    base = tree[0].parent.parent  # relative paths start at the endpoint's directory
    contract.check_list_and_read(contract.opener(sftp_endpoint(sshd, str(base)), "SIPS1/PDR"))


def test_fetch_with_checksums(sshd: SshServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    contract.check_fetch(_opener(sshd, tree[0]), tree[1], str(tree[1]), tmp_path)


def test_fetch_50_mb_with_md5_in_one_pass(sshd: SshServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    contract.check_large_fetch(_opener(sshd, tree[0]), tree[1], str(tree[1]), tmp_path)


def test_missing_files_and_escapes(sshd: SshServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    contract.check_missing_and_escapes(_opener(sshd, tree[0]), str(tree[1]), tmp_path)
    with _opener(sshd, tree[0])() as server, pytest.raises(ProviderCommandRefused):
        server.fetch(str(tree[1].parent), "DATA", tmp_path / "x", None)  # a directory is not a product file


def test_write_response_atomic(sshd: SshServer, tree: tuple[Path, Path]) -> None:
    contract.check_write_response_atomic(_opener(sshd, tree[0]), tree[0])


def test_sftp_only_server(tmp_path: Path, tree: tuple[Path, Path]) -> None:
    with run_sshd(tmp_path / "sftp-only", sftp_only=True) as server:
        (tree[1] / "G.hdf").write_bytes(b"granule")
        with _opener(server, tree[0])() as pdrs:
            assert len(pdrs.list_pdrs()) == 2
            assert pdrs.fetch(str(tree[1]), "G.hdf", tmp_path / "G.hdf", "MD5").size == 7
            pdrs.write_response("A.PAN", "MESSAGE_TYPE = SHORTPAN;\n")
    assert (tree[0] / "A.PAN").read_text() == "MESSAGE_TYPE = SHORTPAN;\n"


def test_dead_port_is_retryable_unable_to_connect(sshd: SshServer, tree: tuple[Path, Path]) -> None:
    with pytest.raises(ProviderUnreachable) as caught:
        _opener(sshd, tree[0], port=closed_port(), timeout=5)().__enter__()
    assert isinstance(caught.value, RetryableError)
    assert caught.value.disposition == pan.UNABLE_TO_CONNECT


def test_wrong_host_key_is_permanent(sshd: SshServer, tree: tuple[Path, Path]) -> None:
    with pytest.raises(ProviderHostKeyMismatch) as caught:
        _opener(sshd, tree[0], known_hosts=foreign_known_hosts(sshd))().__enter__()
    assert isinstance(caught.value, PermanentError)
    assert caught.value.disposition == pan.UNABLE_TO_CONNECT
    with pytest.raises(ProviderHostKeyMismatch):
        _opener(sshd, tree[0], known_hosts="")().__enter__()


def test_wrong_key_or_password_is_permanent(sshd: SshServer, tree: tuple[Path, Path], tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    for overrides in ({"private_key": other.read_text()}, {"private_key": None, "password": "Wrong-Secret-42"}):
        with pytest.raises(ProviderLoginRefused) as caught:
            _opener(sshd, tree[0], **overrides)().__enter__()
        assert isinstance(caught.value, PermanentError)
        assert "Wrong-Secret-42" not in str(caught.value)


def test_missing_polling_directory(sshd: SshServer, tree: tuple[Path, Path]) -> None:
    with pytest.raises(ProviderFileNotFound):
        open_pdr_server(sftp_endpoint(sshd, ""), str(tree[0] / "nope")).__enter__()
