"""Nothing sent twice, nothing lost: two runs of one push request at once, and a worker killed mid-push.

Every case drives the real deliver path (``distribution.orders.delivery``, the function the
``deliver`` task calls) against a real server on 127.0.0.1 — pyftpdlib (whose
handler counts STORs), OpenSSH sshd, Samba smbd — on SQLite and PostgreSQL, and
checks the destination (every file once, byte for byte the archive's), the
database (per-file delivered state, no claim left) and the outbox (one DN).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler

from distribution.orders import delivery, notify
from distribution.inventory.archive import NewFile, add_granule, granule_ur
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.orders.delivery import Credentials
from distribution.models import GranuleStatus, MediaType, Notice, RequestState
from distribution.notices.outbox import OutboxFolder
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order, get_request
from tests.servers import FtpServer, run_ftp_server, run_smbd, run_sshd

pytestmark = pytest.mark.integration

USER = Contact(user_id="sips1", email="sips1@example.org")
GRANULES, FILES_PER_GRANULE = 10, 2


@dataclass
class Watch:
    """What the FTP server saw, per file name (its IOLoop thread writes, the test reads)."""

    stors: Counter[str] = field(default_factory=Counter)
    complete: Counter[str] = field(default_factory=Counter)
    incomplete: Counter[str] = field(default_factory=Counter)


def watching_handler(watch: Watch, upload_bytes_per_second: int = 0) -> type[FTPHandler]:
    """An FTPHandler that counts STOR commands and whole/partial uploads; optionally slow (throttled)."""

    class Handler(FTPHandler):
        def ftp_STOR(self, file: str, mode: str = "w") -> object:
            watch.stors[os.path.basename(file)] += 1
            return super().ftp_STOR(file, mode)

        def on_file_received(self, file: str) -> None:
            watch.complete[os.path.basename(file)] += 1

        def on_incomplete_file_received(self, file: str) -> None:
            watch.incomplete[os.path.basename(file)] += 1

    if upload_bytes_per_second:
        Handler.dtp_handler = type("SlowDTP", (ThrottledDTPHandler,), {"read_limit": upload_bytes_per_second})
    return Handler


def archive_granules(settings: Settings, folder: Path, size: int) -> list[str]:
    """GRANULES granules of FILES_PER_GRANULE files each, no metadata (distribution names stay the file names)."""
    urs = []
    with session_scope(settings.database_url) as session:
        for g in range(GRANULES):
            paths = []
            for f in range(FILES_PER_GRANULE):
                path = folder / f"g{g:02d}" / f"CLAIMS.A{g:02d}.{f}.hdf"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(os.urandom(size))
                paths.append(NewFile(path))
            urs.append(granule_ur(add_granule(session, settings, "CLAIMS.001", paths), settings))
    return urs


def place_order(settings: Settings, monkeypatch: pytest.MonkeyPatch, media_type: MediaType, urs: list[str],
                destination: Destination, connection: dict[str, object]) -> str:
    """The order, its Airflow Connection (as the task would find it), staged and verified."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{destination.conn_id.upper()}", json.dumps(connection))
    with session_scope(settings.database_url) as session:
        request_id = str(create_order(session, settings, USER, [RequestSpec(media_type, urs, destination)])
                         .requests[0].request_id)
    delivery.stage_request(settings, request_id)
    assert delivery.verify_request(settings, request_id)["failed"] == 0
    return request_id


def ftp_order(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ftp: FtpServer,
              size: int) -> tuple[str, Credentials]:
    """An FtpPush request of the test granules into ``/in`` of ``ftp``, ready to deliver."""
    urs = archive_granules(settings, tmp_path / "incoming", size)
    request_id = place_order(settings, monkeypatch, MediaType.FTP_PUSH, urs,
                             Destination(ftp.host, ftp.port, "/in", "t_ftp"),
                             {"conn_type": "ftp", "login": ftp.username, "password": ftp.password})
    return request_id, Credentials(username=ftp.username, password=ftp.password)


def assert_exact(settings: Settings, request_id: str, target: Path) -> None:
    """Every file at the target, byte for byte the archive's; the database says delivered, no claim left; one DN."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.COMPLETE
        names = set()
        for rg in request.granules:
            assert rg.status == GranuleStatus.DELIVERED
            for rf in rg.files:
                assert rf.delivered_at is not None and rf.claimed_by is None and rf.claim_expires_at is None
                assert (target / rf.dist_name).read_bytes() == Path(rf.granule_file.archive_path).read_bytes()
                names.add(rf.dist_name)
        assert len(names) == GRANULES * FILES_PER_GRANULE
        dns = [n.kind for n in session.query(Notice).filter(Notice.request_pk == request.id)
               if n.kind in ("dn", "dn-failed")]  # (an scp request also has its 'dn-scp' copy beside the data)
    assert dns == ["dn"]
    assert len([p for p in settings.outbox_dir.glob("*.eml") if request_id in p.read_text()]) == 1


def finish(settings: Settings, request_id: str, credentials: Credentials) -> None:
    """What the rest of a run does: deliver (again), then the DN."""
    delivery.deliver_request(settings, request_id, credentials)
    notify.notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir), lambda: credentials)


# --- two runs of one request released at the same instant ------------------------------------------------


def twice_at_once(step: Callable[[], object]) -> None:
    """``step`` in two threads released at the same instant; both must end without an error."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            step()
        except BaseException as e:  # noqa: BLE001 - reported by the assert below
            errors.append(e)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join(timeout=300)
    assert not errors and not any(t.is_alive() for t in runs)


def test_two_runs_released_at_once_send_each_file_once(settings: Settings, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    watch = Watch()
    with run_ftp_server(tmp_path / "ftproot", handler_base=watching_handler(watch)) as ftp:
        (ftp.root / "in").mkdir()
        request_id, credentials = ftp_order(settings, monkeypatch, tmp_path, ftp, 32_000)
        twice_at_once(lambda: finish(settings, request_id, credentials))
    assert sum(watch.stors.values()) == GRANULES * FILES_PER_GRANULE
    assert set(watch.stors.values()) == {1} and set(watch.complete.values()) == {1} and not watch.incomplete
    assert_exact(settings, request_id, ftp.root / "in")


# --- a worker killed (SIGKILL, by its PID) in the middle of a push, then the retry -----------------------


def _deliver_in_child(env: dict[str, str], request_id: str, credentials: Credentials) -> None:
    """The deliver step in a process of its own (like a LocalExecutor or Celery worker's task process)."""
    os.environ.update(env)
    delivery.deliver_request(load_settings(), request_id, credentials)


def kill_mid_push(settings: Settings, request_id: str, credentials: Credentials,
                  in_flight: Callable[[], bool]) -> None:
    """Start the deliver step in a child, SIGKILL it once ``in_flight()`` says a file is on its way."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("ARDIS_", "AIRFLOW_CONN_"))}
    child = multiprocessing.get_context("spawn").Process(target=_deliver_in_child,
                                                         args=(env, request_id, credentials))
    child.start()
    deadline = time.monotonic() + 120
    while not in_flight():
        assert child.is_alive(), "the push ended before it could be killed: make the files bigger"
        assert time.monotonic() < deadline, "the push never got going"
        time.sleep(0.005)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL


def delivered_before(settings: Settings, request_id: str, target: Path) -> dict[str, tuple[int, int]]:
    """The files the database says were delivered, with what the destination holds for each (inode, mtime)."""
    with session_scope(settings.database_url) as session:
        names = [rf.dist_name for rg in get_request(session, request_id).granules for rf in rg.files
                 if rf.delivered_at is not None]
    return {n: ((st := (target / n).stat()).st_ino, st.st_mtime_ns) for n in names}


def retry_after_kill(settings: Settings, request_id: str, credentials: Credentials, target: Path,
                     in_flight: Callable[[], bool], after_kill: Callable[[], None] = lambda: None
                     ) -> dict[str, tuple[int, int]]:
    """Kill a push mid-way, run the retry (deliver + notify), check it all; returns what was delivered before."""
    kill_mid_push(settings, request_id, credentials, in_flight)
    after_kill()
    before = delivered_before(settings, request_id, target)
    assert 0 < len(before) < GRANULES * FILES_PER_GRANULE
    finish(settings, request_id, credentials)
    assert_exact(settings, request_id, target)
    after = {n: ((st := (target / n).stat()).st_ino, st.st_mtime_ns) for n in before}
    assert after == before  # nothing the first try had delivered was sent again
    return before


def test_ftp_push_killed_mid_file_is_finished_by_the_retry(settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    watch = Watch()
    # 32 KB a second per upload (pyftpdlib sleeps after each 32 KB): an 80 KB file takes about two seconds.
    handler = watching_handler(watch, 32_000)
    with run_ftp_server(tmp_path / "ftproot", handler_base=handler) as ftp:
        (ftp.root / "in").mkdir()
        request_id, credentials = ftp_order(settings, monkeypatch, tmp_path, ftp, 80_000)

        def third_file_on_its_way() -> bool:
            # The 3rd STOR has begun (the child committed the first two before it sent it).
            if sum(watch.stors.values()) < 3:
                return False
            handler.dtp_handler.read_limit = 0  # the retry goes at full speed
            return True

        before = retry_after_kill(settings, request_id, credentials, ftp.root / "in", third_file_on_its_way)
    assert len(before) == 2
    assert len(watch.complete) == GRANULES * FILES_PER_GRANULE and min(watch.complete.values()) == 1
    # Only the file on its way at the kill goes again. The killed client may already have handed all of
    # it to its kernel's socket buffer (80 KB fits on loopback), which then delivers it and closes: the
    # server saw that copy whole, or cut off; either way the retry, which never saw it confirmed, sends it.
    again = sum(watch.complete.values()) - len(watch.complete) + sum(watch.incomplete.values())
    assert again <= 1


def _appeared(target: Path, count: int) -> Callable[[], bool]:
    return lambda: len([p for p in target.iterdir() if not p.name.startswith(".")]) >= count


def test_scp_push_killed_mid_way_is_finished_by_the_retry(settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "scp-in"
    target.mkdir()
    with run_sshd(tmp_path / "sshd") as sshd:
        urs = archive_granules(settings, tmp_path / "incoming", 4 << 20)
        request_id = place_order(settings, monkeypatch, MediaType.SCP, urs,
                                 Destination(sshd.host, sshd.port, str(target), "t_kill_scp"),
                                 {"conn_type": "sftp", "login": sshd.username,
                                  "extra": {"private_key": sshd.private_key, "known_hosts": sshd.known_hosts}})
        credentials = Credentials(username=sshd.username, private_key=sshd.private_key,
                                  known_hosts=sshd.known_hosts)
        retry_after_kill(settings, request_id, credentials, target, _appeared(target, 6),
                         after_kill=lambda: no_scp_left(sshd.port))


def no_scp_left(port: int) -> None:
    """The killed worker's OpenSSH client (``sftp -b`` of a batch, ``scp`` of a single file, and the ``ssh``
    each runs) died with it (else it would go on writing a file the retry sends)."""
    def running() -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (proc.name.isdigit() and os.path.basename(argv[0]) in (b"scp", b"sftp", b"ssh")
                    and any(str(port).encode() in arg for arg in argv)):
                found.append(int(proc.name))  # the batch's sftp, or the ssh it runs
        return found

    deadline = time.monotonic() + 30  # PR_SET_PDEATHSIG acts at once; the bound only avoids a hang
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running() == []


def test_smb_push_killed_mid_way_is_finished_by_the_retry(settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with run_smbd(tmp_path / "smbd") as smbd:
        target = smbd.root / "in"
        target.mkdir()
        urs = archive_granules(settings, tmp_path / "incoming", 4 << 20)
        request_id = place_order(settings, monkeypatch, MediaType.SMB_PUSH, urs,
                                 Destination(smbd.host, smbd.port, f"{smbd.share}/in", "t_kill_smb"),
                                 {"conn_type": "samba", "login": smbd.username, "password": smbd.password})
        credentials = Credentials(username=smbd.username, password=smbd.password)
        retry_after_kill(settings, request_id, credentials, target, _appeared(target, 6))



# --- a file refused in the middle of a batch ---------------------------------------------------------------


def test_a_file_refused_mid_batch_fails_its_granule_and_the_per_file_state_is_exact(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One connection, one batch: a directory stands where one file should go. Its granule fails with the
    reason, every other granule is delivered, and each file's delivered state is exactly what the server has."""
    watch = Watch()
    with run_ftp_server(tmp_path / "ftproot", handler_base=watching_handler(watch)) as ftp:
        target = ftp.root / "in"
        target.mkdir()
        (target / "CLAIMS.A04.1.hdf").mkdir()  # granule 4's second file cannot land
        request_id, credentials = ftp_order(settings, monkeypatch, tmp_path, ftp, 5_000)
        assert delivery.deliver_request(settings, request_id, credentials) == {"delivered": GRANULES - 1}
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        for rg in request.granules:
            refused = any(rf.dist_name == "CLAIMS.A04.1.hdf" for rf in rg.files)
            assert rg.status == (GranuleStatus.FAILED if refused else GranuleStatus.DELIVERED)
            for rf in rg.files:
                landed = (target / rf.dist_name).is_file() and (target / rf.dist_name).read_bytes() == Path(
                    rf.granule_file.archive_path).read_bytes()
                assert (rf.delivered_at is not None) == landed, rf.dist_name
                assert rf.claimed_by is None
        failed = next(rg for rg in request.granules if rg.status == GranuleStatus.FAILED)
        assert "delivery failed" in str(failed.failure_explanation)
    assert set(watch.stors.values()) == {1}  # each file sent once
