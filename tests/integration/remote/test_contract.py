"""One contract for every ``distribution.remote`` client, run against real servers on 127.0.0.1.

Each protocol gets a ``Site``: an endpoint factory for a directory, the folder on
disk behind that directory, and the overrides of a refused login. The same checks
run on local, FTP (pyftpdlib), SFTP with both upload clients (OpenSSH sshd) and SMB
(Samba); what landed is compared with the bytes on disk by hashlib.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyftpdlib.handlers import FTPHandler

from distribution.errors import PermanentError, RetryableError
from distribution.remote import (
    Endpoint,
    HostKeyMismatch,
    LoginRefused,
    PathEscape,
    RemoteFile,
    RemoteNotFound,
    TooLarge,
    TransferFailed,
    check_size,
    open_remote,
)
from tests.servers import foreign_known_hosts, ftp_endpoint, sftp_endpoint, smb_endpoint

pytestmark = pytest.mark.integration

PROTOCOLS = ["local", "ftp", "sftp-openssh", "sftp-asyncssh", "smb"]


@dataclass
class Site:
    """``endpoint(sub)`` reaches the folder ``disk / sub``; ``bad_login`` overrides make a refused login."""

    endpoint: Callable[..., Endpoint]
    disk: Path
    bad_login: dict[str, object] | None = field(default=None)


@pytest.fixture(params=PROTOCOLS)
def site(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    protocol = request.param
    if protocol == "local":
        disk = tmp_path / "local"
        disk.mkdir()
        yield Site(lambda sub="", **o: Endpoint("local", directory=str(disk / sub), **o), disk)
    elif protocol == "ftp":
        monkeypatch.setattr(FTPHandler, "auth_failed_timeout", 0.05)  # pyftpdlib waits 3 s after a bad login
        ftp = request.getfixturevalue("ftp_target")
        yield Site(lambda sub="", **o: ftp_endpoint(ftp, f"/{sub}", **o), ftp.root, {"password": "Wrong-Secret-42"})
    elif protocol.startswith("sftp"):
        monkeypatch.setenv("ARDIS_SCP_CLIENT", protocol.removeprefix("sftp-"))
        sshd = request.getfixturevalue("sshd")
        disk = tmp_path / "ssh"
        disk.mkdir()
        yield Site(lambda sub="", **o: sftp_endpoint(sshd, disk / sub, **o), disk,
                   {"private_key": None, "password": "Wrong-Secret-42"})
    else:
        smbd = request.getfixturevalue("smbd")
        yield Site(lambda sub="", **o: smb_endpoint(smbd, sub, **o), smbd.root, {"password": "Wrong-Secret-42"})


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_put_list_read_and_fetch_round_trip(site: Site, tmp_path: Path) -> None:
    (site.disk / "in").mkdir()
    (site.disk / "in" / "G.hdf").write_bytes(b"the first bytes of an earlier try")  # short: replaced
    (site.disk / "in" / "sub").mkdir()
    src = tmp_path / "src.hdf"
    src.write_bytes(os.urandom(3 * (1 << 20) + 4321))
    with open_remote(site.endpoint("in")) as remote:
        assert remote.put_file(src, "G.hdf") == src.stat().st_size
        remote.put_text("G.met", "<xml/>\n")
        remote.put_text("R.notify", "first\n", atomic=True)
        remote.put_text("R.notify", "DN text\n", atomic=True)  # replaces, leaves no temporary behind
        assert remote.size("G.hdf") == src.stat().st_size and remote.size("absent") is None
        assert remote.is_dir("sub") and not remote.is_dir("G.hdf") and not remote.is_dir("nowhere")
        listed = remote.list_files(".", match=lambda name: name.startswith(("G", "R")))
        assert [(f.name, f.size) for f in listed] == [("G.hdf", src.stat().st_size), ("G.met", 7), ("R.notify", 8)]
        assert all(isinstance(f, RemoteFile) for f in listed)
        assert remote.read_bytes("R.notify", limit=8) == b"DN text\n"
        with pytest.raises(TooLarge) as too_large:
            remote.read_bytes("R.notify", limit=7)
        assert isinstance(too_large.value, PermanentError)
        dst = tmp_path / "got" / "G.hdf"
        dst.parent.mkdir()
        dst.with_name("G.hdf.part").write_bytes(b"half of an earlier fetch")
        got = remote.fetch("G.hdf", dst, "MD5")
        assert (got.size, got.checksum) == (src.stat().st_size, _md5(src))
        empty = remote.fetch("G.met", tmp_path / "got" / "G.met", None)
        assert (empty.size, empty.checksum) == (7, None)
    assert _md5(site.disk / "in" / "G.hdf") == _md5(src) == _md5(dst)
    assert not dst.with_name("G.hdf.part").exists()
    assert sorted(os.listdir(site.disk / "in")) == ["G.hdf", "G.met", "R.notify", "sub"]


def test_missing_directory_and_files_are_permanent(site: Site, tmp_path: Path) -> None:
    with pytest.raises(RemoteNotFound) as caught:
        open_remote(site.endpoint("missing")).__enter__()
    assert isinstance(caught.value, PermanentError)
    with open_remote(site.endpoint()) as remote:
        with pytest.raises(RemoteNotFound):
            remote.fetch("absent.hdf", tmp_path / "absent.hdf", "MD5")
        with pytest.raises(RemoteNotFound):
            remote.fetch("nowhere/absent.hdf", tmp_path / "absent.hdf", None)
        with pytest.raises(RemoteNotFound):
            remote.list_files("nowhere")
        for path in ("../x", "a/../../x", "x\r\nDELE y"):
            with pytest.raises(PathEscape):
                remote.put_text(path, "never sent")
        assert remote.list_files(".") == []  # still connected after the refusals
    assert not list(tmp_path.glob("absent*"))


def test_login_refused_is_permanent_and_names_no_secret(site: Site) -> None:
    if site.bad_login is None:
        pytest.skip("a local directory has no login")
    with pytest.raises(LoginRefused) as caught:
        open_remote(site.endpoint(**site.bad_login)).__enter__()
    assert isinstance(caught.value, PermanentError)
    assert "Wrong-Secret-42" not in str(caught.value)


@pytest.mark.parametrize("client", ["openssh", "asyncssh"])
def test_host_key_mismatch_is_refused_before_any_data(sshd: object, tmp_path: Path, client: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_SCP_CLIENT", client)
    target = tmp_path / "in"
    target.mkdir()
    for known_hosts in (foreign_known_hosts(sshd), "", None):  # type: ignore[arg-type]
        with pytest.raises(HostKeyMismatch) as caught:
            open_remote(sftp_endpoint(sshd, target, known_hosts=known_hosts)).__enter__()  # type: ignore[arg-type]
        assert isinstance(caught.value, PermanentError)
    assert list(target.iterdir()) == []


def test_a_size_other_than_the_local_one_is_a_retryable_failure() -> None:
    ep = Endpoint("ftp", "example.org", 21, "/in")
    check_size(ep, "G.hdf", 10, 10)
    for actual in (9, 11, None):
        with pytest.raises(TransferFailed, match="ftp://example.org:21/in/G.hdf") as caught:
            check_size(ep, "G.hdf", 10, actual)
        assert isinstance(caught.value, RetryableError)


def test_put_files_moves_a_batch_on_one_connection(site: Site, tmp_path: Path) -> None:
    """Each file is yielded once, whole and size-checked; a partial file of an earlier try is replaced."""
    (site.disk / "in").mkdir()
    sources = []
    for i in range(40):
        src = tmp_path / f"g{i:02}.hdf"
        src.write_bytes(os.urandom(i * 5000))  # g00 is empty
        sources.append(src)
    (site.disk / "in" / "g07.hdf").write_bytes(b"half")
    with open_remote(site.endpoint("in")) as remote:
        done = list(remote.put_files((src, src.name) for src in sources))
    assert sorted(done) == [(src.name, src.stat().st_size) for src in sources]
    for src in sources:
        assert (site.disk / "in" / src.name).read_bytes() == src.read_bytes()


def test_put_files_stops_at_a_failure_and_what_it_yielded_is_whole(site: Site, tmp_path: Path) -> None:
    (site.disk / "in").mkdir()
    (site.disk / "in" / "g10.hdf").mkdir()  # a directory stands where one file should go
    sources = []
    for i in range(20):
        src = tmp_path / f"g{i:02}.hdf"
        src.write_bytes(os.urandom(20000 + i))
        sources.append(src)
    done: list[tuple[str, int]] = []
    with open_remote(site.endpoint("in")) as remote:
        with pytest.raises(PermanentError) as caught:
            for item in remote.put_files((src, src.name) for src in sources):
                done.append(item)  # noqa: PERF402 - what arrived before the error is what is kept
        assert caught.value.path == "g10.hdf"  # type: ignore[attr-defined]  # the caller fails that file's granule
        assert remote.list_files(".", match=lambda name: name == "g00.hdf")  # the connection is still usable
    assert "g10.hdf" not in {name for name, _ in done}
    assert {f"g{i:02}.hdf" for i in range(8)} <= {name for name, _ in done}  # started before it: finished
    for name, size in done:
        assert (site.disk / "in" / name).read_bytes() == (tmp_path / name).read_bytes()
        assert size == (tmp_path / name).stat().st_size


def test_put_files_retried_sends_only_what_is_missing_and_ends_byte_identical(site: Site, tmp_path: Path) -> None:
    """A batch cut short (the caller stops, as a killed worker would) leaves whole files that were yielded,
    maybe a partial one; the retry, given only the files not recorded, makes the destination exact."""
    (site.disk / "in").mkdir()
    sources = []
    for i in range(30):
        src = tmp_path / f"g{i:02}.hdf"
        src.write_bytes(os.urandom(3000 + 97 * i))
        sources.append(src)
    recorded: set[str] = set()
    with open_remote(site.endpoint("in")) as remote:
        for name, _ in remote.put_files((src, src.name) for src in sources):
            recorded.add(name)
            if len(recorded) == 11:
                break  # the worker dies here: nothing after this is recorded
    (site.disk / "in" / "g29.hdf").write_bytes(b"a partial copy of the try that died")
    missing = [src for src in sources if src.name not in recorded]
    with open_remote(site.endpoint("in")) as remote:
        again = [name for name, _ in remote.put_files((src, src.name) for src in missing)]
    assert sorted(again) == sorted(src.name for src in missing) and not recorded & set(again)
    for src in sources:
        assert (site.disk / "in" / src.name).read_bytes() == src.read_bytes()


def test_get_files_fetches_a_batch_on_one_connection(site: Site, tmp_path: Path) -> None:
    (site.disk / "out").mkdir()
    for i in range(12):
        (site.disk / "out" / f"g{i:02}.hdf").write_bytes(os.urandom(1000 * i))
    (tmp_path / "got").mkdir()
    wanted = [(f"out/g{i:02}.hdf", tmp_path / "got" / f"g{i:02}.hdf", "MD5") for i in range(12)]
    with open_remote(site.endpoint()) as remote:
        got = dict(remote.get_files(wanted))
        assert sorted(got) == [path for path, _, _ in wanted]
        with pytest.raises(RemoteNotFound) as caught:
            list(remote.get_files([("out/g00.hdf", tmp_path / "again.hdf", None),
                                   ("out/absent.hdf", tmp_path / "absent.hdf", None)]))
        assert caught.value.path == "out/absent.hdf"
    for path, dst, _ in wanted:
        assert got[path].size == dst.stat().st_size and got[path].checksum == _md5(dst)
        assert dst.read_bytes() == (site.disk / path).read_bytes()


def test_openssh_batch_rides_on_one_login(sshd: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Key logins: the whole batch by one ``sftp -b`` login (plus the SFTP session's own), not one SSH
    handshake per file."""
    monkeypatch.setenv("ARDIS_SCP_CLIENT", "openssh")
    target = tmp_path / "in"
    target.mkdir()
    sources = []
    for i in range(40):
        src = tmp_path / f"g{i:02}.hdf"
        src.write_bytes(os.urandom(2000 + i))
        sources.append(src)
    log = tmp_path / "sshd" / "sshd.log"
    logins_before = log.read_text().count("Accepted publickey")
    with open_remote(sftp_endpoint(sshd, target)) as remote:  # type: ignore[arg-type]
        done = [name for name, _ in remote.put_files((src, src.name) for src in sources)]
    assert sorted(done) == [src.name for src in sources]
    assert log.read_text().count("Accepted publickey") - logins_before == 2
    for src in sources:
        assert (target / src.name).read_bytes() == src.read_bytes()
