"""Fault suite, physical media: a tape writer killed mid-write, and the image spool's filesystem full.

Both drive the same functions the media DAG's tasks call (``distribution.shipping.production``), on
the virtual tape drive and the ISO builder, with SQLite and PostgreSQL. The killed
worker is a separate process running ``write_volume`` exactly as the DAG's
``volume.write`` task does; it stops itself (SIGSTOP) once a given number of bytes
is on the tape, so that the SIGKILL the test sends to its PID lands mid-write
every time; the retry is another such process.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ardis_airflow.names import MEDIA_DAGS
from sqlalchemy import select

from distribution.shipping import paperwork, production
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.delivery import begin_request, stage_request, staging_directory, verify_request
from distribution.errors import RetryableError
from distribution.models import MediaType, RequestState, Volume, VolumeState
from distribution.notices.media_dn import parse_media_dn
from distribution.orders.placing import get_request
from media.errors import StagingFull
from tests.dags.conftest import airflow_api, airflow_db, dagbag, task_states  # noqa: F401 - fixtures
from tests.dags.test_media_dag import _run
from tests.unit.shipping.test_production import _archive_md5s, _order

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import os, signal, sys
from distribution.shipping import production
from distribution.config import load_settings
from media import _tapedev

media_id, cartridge, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])

def pausing(method):
    def wrapped(self, *args):
        result = method(self, *args)
        if self.written >= stop_at and os.readlink(f"/proc/self/fd/{self.fd}").endswith(cartridge):
            os.kill(os.getpid(), signal.SIGSTOP)  # mid-write, bytes on the tape: the test kills us here
        return result
    return wrapped

if stop_at:
    _tapedev.FdSink.write_record = pausing(_tapedev.FdSink.write_record)
    _tapedev.FileSink.copy_records = pausing(_tapedev.FileSink.copy_records)
print(production.write_volume(load_settings(), media_id))
"""
STOP_WAIT = 300.0  # a guard against a hang, not a timing assertion


def _worker(media_id: str, cartridge: str = "", stop_at: int = 0) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WORKER, media_id, cartridge, str(stop_at)], env=env, cwd=ROOT)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _kill_when_stopped(proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STOP_WAIT
    while _state(proc.pid) not in ("T", "t"):
        assert proc.poll() is None, f"the worker ended ({proc.returncode}) before it was stopped mid-write"
        assert time.monotonic() < deadline, "the worker never reached the point of the write to kill it at"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def _prepared(settings: Settings, tmp_path: Path, media: MediaType, scale: float) -> tuple[str, str]:
    request_id = _order(settings, tmp_path, media, scale)
    begin_request(settings, request_id, "test")
    stage_request(settings, request_id)
    verify_request(settings, request_id)
    [media_id] = production.plan_request(settings, request_id)
    return request_id, media_id


def _files(settings: Settings, request_id: str) -> dict[str, str]:
    """Every file of the request as it must read back: ``<directory>/<name>`` and the MD5 of its archived bytes."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        return {f"{rg.directory_number}/{rf.dist_name}": hashlib.md5(Path(str(rf.staged_path)).read_bytes()).hexdigest()
                for rg in request.granules for rf in rg.files}


def _volume_row(settings: Settings, media_id: str) -> dict[str, object]:
    with session_scope(settings.database_url) as session:
        v = session.scalar(select(Volume).where(Volume.media_id == media_id))
        assert v is not None
        return {"state": v.state, "written_to": v.written_to, "files_checked": v.files_checked, "text": v.text,
                "image_path": v.image_path, "drive": v.drive}


@pytest.mark.parametrize("cartridge", [1, 2])
def test_tape_writer_killed_mid_write_then_retried(settings: Settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch, cartridge: int) -> None:
    """SIGKILL while the tar stream goes to the tape (the first cartridge, or the second of a spanned volume)."""
    if cartridge == 2:
        monkeypatch.setenv("ARDIS_VIRTUAL_TAPE_BYTES", str(16 * 128 * 1024))  # the volume spans cartridges
    request_id, media_id = _prepared(settings, tmp_path, MediaType.DLT, scale=1 / 4)
    production.build_volume(settings, media_id)
    production.record_load(settings, media_id, "tape-1", "SN-1")
    tape = settings.home / "drives" / "tape-1.tape"
    target = tape if cartridge == 1 else tape.with_name(f"{tape.name}.2")

    killed = _worker(media_id, target.name, stop_at=2 * 128 * 1024)
    _kill_when_stopped(killed)
    cut = target.stat().st_size
    assert cut >= 2 * 128 * 1024
    after_kill = _volume_row(settings, media_id)
    assert after_kill["state"] is VolumeState.LOADED and after_kill["written_to"] == []  # nothing claimed

    retry = _worker(media_id)
    assert retry.wait(timeout=STOP_WAIT) == 0
    checked = production.verify_volume(settings, media_id)

    cartridges = sorted(tape.parent.glob("tape-1.tape*"))
    assert [c.name for c in cartridges] == ["tape-1.tape"] + [f"tape-1.tape.{n}" for n in range(2, len(cartridges) + 1)]
    assert (len(cartridges) == 1) == (cartridge == 1) and target.stat().st_size > cut  # written again, whole
    md5s = _files(settings, request_id)
    assert all(md5s[k] == v for k, v in _archive_md5s(settings, request_id).items())
    row = _volume_row(settings, media_id)
    written = row["written_to"]
    assert isinstance(written, list) and len(written) == len(cartridges)
    with session_scope(settings.database_url) as session:
        dirs = {str(rg.id): str(rg.directory_number) for rg in get_request(session, request_id).granules
                if rg.volume_number == 1}
    files: list[str] = []
    for c, w in zip(cartridges, written, strict=True):
        claimed = {dirs[k] for k in w["granules"]}  # a cartridge cut by its end holds the next granule in part
        names = []
        with tarfile.open(c, mode="r|") as tar:
            try:
                for member in tar:
                    names.append(member.name)
                    if member.isfile() and member.name.split("/")[0] in claimed:
                        data = tar.extractfile(member)
                        assert data is not None and hashlib.md5(data.read()).hexdigest() == md5s[member.name]
                        files.append(member.name)
            except tarfile.ReadError:
                assert not w["complete"], f"{c.name} does not read to its end"
        assert names[0] == f"{request_id}.txt"  # the DN first on each cartridge
        assert (subprocess.run(["tar", "-tf", str(c)], capture_output=True).returncode == 0) == w["complete"]
    assert sorted(files) == sorted(md5s) and len(files) == len(set(files))  # every file, once

    keys = sorted(dirs)
    assert row["state"] is VolumeState.VERIFIED and row["drive"] == "tape-1"
    assert row["files_checked"] == checked == len(md5s) + len(cartridges)  # data files and a DN per cartridge
    assert [w["tape"] for w in written] == list(range(1, len(cartridges) + 1))
    assert [w["complete"] for w in written] == [False] * (len(cartridges) - 1) + [True]
    assert sorted(k for w in written for k in w["granules"]) == keys
    assert [w["drive"] for w in written] == [str(c) for c in cartridges]


TMPFS_SIZE = 4 << 20


@pytest.fixture
def small_tmpfs() -> Iterator[Callable[[Path], None]]:
    """Mounts a 4 MiB tmpfs where asked (unmounted after), or skips saying why the machine does not allow one."""
    mounted: list[Path] = []

    def mount(where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip() or done.returncode}")
        mounted.append(where)

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.parametrize("room", [0, 64 << 10], ids=["no-room-for-the-spool", "no-room-for-the-image"])
def test_image_spool_filesystem_full_then_freed(settings: Settings, tmp_path: Path,
                                                small_tmpfs: Callable[[Path], None], room: int) -> None:
    """The disk the image is built on fills: StagingFull (retryable), nothing left, the retry after space is freed."""
    request_id, media_id = _prepared(settings, tmp_path, MediaType.DVD, scale=1 / 8)
    with session_scope(settings.database_url) as session:
        mount = staging_directory(settings, get_request(session, request_id)) / "volumes"
    small_tmpfs(mount)  # the image spool is the small filesystem
    filler = mount / "filler"
    with filler.open("wb") as f:  # someone else's files fill it up to ``room`` bytes
        try:
            f.write(bytes(TMPFS_SIZE - room))
        except OSError:
            pass
    with pytest.raises(RetryableError) as failed:
        production.build_volume(settings, media_id)
    assert isinstance(failed.value.__cause__, StagingFull), failed.value.__cause__
    assert sorted(p.name for p in mount.iterdir()) == ["filler"]  # no image, no .partial, no spool
    row = _volume_row(settings, media_id)
    assert row["state"] is VolumeState.PLANNED and row["image_path"] is None and row["text"] is None
    with session_scope(settings.database_url) as session:
        fixed = get_request(session, request_id).media_dn_date
    assert fixed is not None  # the Completion Date is fixed once, the retry reuses it

    filler.unlink()  # space is freed (housekeeping, the operator)
    image = Path(production.build_volume(settings, media_id))
    assert image.parent == mount and sorted(p.name for p in mount.iterdir()) == [image.name]
    row = _volume_row(settings, media_id)
    assert row["state"] is VolumeState.BUILT and row["image_path"] == str(image)
    assert parse_media_dn(str(row["text"])).completed == fixed
    production.record_load(settings, media_id, "burner-1")
    production.write_volume(settings, media_id)
    assert production.verify_volume(settings, media_id) == len(_files(settings, request_id)) + 1
    assert paperwork.media_dn_date(settings, request_id) == fixed


class _FreeSpaceAfterAFailedTry(threading.Thread):
    """Deletes the filler once Airflow has put the build step up for retry (its metadata DB, read-only)."""

    def __init__(self, filler: Path, dag_id: str) -> None:
        super().__init__(daemon=True)
        self.filler, self.dag_id = filler, dag_id
        self.freed_after: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(f"file:{Path(os.environ['AIRFLOW_HOME']) / 'airflow.db'}?mode=ro", uri=True, timeout=30)
        query = "SELECT run_id, state, try_number FROM task_instance WHERE dag_id = ? AND task_id = ?"
        try:
            earlier = {row[0] for row in db.execute(query, (self.dag_id, "volume.build"))}  # other tests' runs
            while not self.done.wait(0.05):
                for run_id, state, try_number in db.execute(query, (self.dag_id, "volume.build")):
                    if run_id not in earlier and state == "up_for_retry":
                        self.freed_after = f"try {try_number}"
                        self.filler.unlink()
                        return
        finally:
            db.close()


@pytest.mark.dags
def test_image_spool_full_in_a_media_dag_run(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                             airflow_api: Any, small_tmpfs: Callable[[Path], None]) -> None:
    """The same through a real DAG run: the build step is retried by Airflow and the request ships."""
    settings = sqlite_settings
    request_id = _order(settings, tmp_path, MediaType.DVD, 1 / 8)
    mount = settings.staging_root / request_id / "volumes"
    small_tmpfs(mount)
    filler = mount / "filler"
    with filler.open("wb") as f:
        try:
            f.write(bytes(TMPFS_SIZE))
        except OSError:
            pass
    freer = _FreeSpaceAfterAFailedTry(filler, MEDIA_DAGS["optical"])
    freer.start()
    try:
        run, _operator = _run(dagbag, airflow_api, MEDIA_DAGS["optical"], request_id)
    finally:
        freer.done.set()
        freer.join()
    states = task_states(run)
    assert states.pop("rewrite") == "skipped", states  # shipped: no rewrite run to start
    assert freer.freed_after == "try 1" and set(states.values()) == {"success"}, (freer.freed_after, states)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state is RequestState.COMPLETE
        [volume] = session.scalars(select(Volume).where(Volume.request_pk == request.id))
        assert volume.state is VolumeState.VERIFIED and volume.files_checked == sum(len(rg.files) for rg in request.granules) + 1
    assert sorted(p.name for p in mount.iterdir()) == [f"{request_id}_001.iso"]
