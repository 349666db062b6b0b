"""Tape: fixed-size records, exact planned sizes, spanning on end of tape, read-back with GNU tar."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from media.errors import DeviceError, EndOfTape, GranuleTooLarge, MediaError, NoMediaLoaded, ReadBackMismatch
from media.layout import Entry, TextFile, tar_header, tar_info
from media.tape import RecordWriter, verify_tape, write_volume_tape
from media._tapedev import FdSink, FileTapeDrive, MtTapeDrive
from media.volumes import plan_volumes, tape
from tests.media_helpers import Md5, make_granule

REC = 16 * 1024


class Recording:
    """A record sink that keeps every write's length (to prove no short writes)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def write_record(self, record: bytes | memoryview) -> None:
        self.sizes.append(len(record))

    def close(self) -> None:
        pass


def _plan(tmp_path: Path, granules: int = 5, size: int = 100_000):  # type: ignore[no-untyped-def]
    items = [make_granule(tmp_path / "src", f"SC:MOD:{n}", str(n), [("MOD.A2000.hdf", size), ("MOD.A2000.hdf.met", 700),
                                                                   ("sub/" + "long" * 40 + ".dat", 33)])
             for n in range(1, granules + 1)]
    return plan_volumes("0300018199", items, tape(10**9), texts=[TextFile("0300018199.txt", "DN\n")],
                        record_size=REC)[0]


def test_record_writer_only_writes_whole_records() -> None:
    sink = Recording()
    w = RecordWriter(sink, 1024)
    for n in (1, 1023, 5000, 1024, 3):
        w.write(b"x" * n)
    w.finish()
    assert set(sink.sizes) == {1024} and sum(sink.sizes) == 7 * 1024  # 7,051 bytes padded
    with pytest.raises(MediaError):
        RecordWriter(sink, 1000)


@pytest.mark.parametrize("kernel_copy", [False, True], ids=["records", "copy_file_range"])
def test_every_write_is_exactly_the_record_size_and_the_plan_is_exact(tmp_path: Path, kernel_copy: bool) -> None:
    plan = _plan(tmp_path)
    drive = FileTapeDrive(tmp_path / "tape0", kernel_copy=kernel_copy)
    seg = write_volume_tape(plan, drive, lambda n: pytest.fail("no second tape"), record_size=REC)
    assert set(drive.record_sizes) == {REC}
    assert (tmp_path / "tape0").stat().st_size == seg[0].bytes == plan.planned_bytes
    assert drive.filemarks == [seg[0].bytes] and seg[0].complete
    assert verify_tape(seg[0], drive, Md5, REC) == 16


@pytest.mark.skipif(not shutil.which("tar"), reason="GNU tar not installed")
def test_gnu_tar_reads_the_stream_with_modes_and_integer_mtimes(tmp_path: Path) -> None:
    plan = _plan(tmp_path, granules=2)
    drive = FileTapeDrive(tmp_path / "tape0")
    write_volume_tape(plan, drive, lambda n: pytest.fail("no second tape"), record_size=REC)
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "-x", "-b", str(REC // 512), "-f", str(tmp_path / "tape0"), "-C", str(out)], check=True)
    f = plan.items[0].files[0]
    assert (out / "1" / "MOD.A2000.hdf").read_bytes() == f.source.read_bytes()
    assert (out / "1" / "sub" / ("long" * 40 + ".dat")).exists()
    with tarfile.open(tmp_path / "tape0") as t:
        m = t.getmember("1/MOD.A2000.hdf")
        assert m.mode == 0o444 and m.mtime == int(f.source.stat().st_mtime) and m.uname == ""
        assert t.getmember("1").mode == 0o555


@pytest.mark.parametrize("kernel_copy", [False, True], ids=["records", "copy_file_range"])
def test_end_of_tape_spans_granule_wise_onto_the_next_tapes(tmp_path: Path, kernel_copy: bool) -> None:
    plan = _plan(tmp_path)
    capacity = 18 * REC  # room for about two and a half granules
    drives = [FileTapeDrive(tmp_path / "tape1", capacity, kernel_copy)]
    asked: list[int] = []

    def next_tape(n: int) -> FileTapeDrive:
        asked.append(n)
        drives.append(FileTapeDrive(tmp_path / f"tape{n}", capacity, kernel_copy))
        return drives[-1]

    segments = write_volume_tape(plan, drives[0], next_tape, record_size=REC)
    assert asked == list(range(2, len(segments) + 1)) and len(segments) >= 3
    placed = [k for s in segments for k in s.granules]
    assert placed == [g.key for g in plan.items], "every granule exactly once, in order"
    assert [s.complete for s in segments] == [False] * (len(segments) - 1) + [True]
    for seg, drive in zip(segments, drives):
        assert drive.filemarks == [seg.bytes] and set(drive.record_sizes) == {REC}
        assert verify_tape(seg, drive, Md5, REC) == 1 + 3 * len(seg.granules)
        names = subprocess.run(["tar", "-t", "-f", str(drive.path)], capture_output=True, text=True).stdout
        assert "0300018199.txt" in names.splitlines()  # the DN is on every tape


@pytest.mark.parametrize("kernel_copy", [False, True], ids=["records", "copy_file_range"])
def test_the_stream_is_what_tarfile_writes_for_the_same_entries(tmp_path: Path, kernel_copy: bool) -> None:
    """Byte for byte up to the end-of-archive blocks (tarfile then pads to 10 KiB, Ardis to the record)."""
    plan = _plan(tmp_path, granules=2)
    items = plan.items + (make_granule(tmp_path / "src", "SC:U:3", "3", [("é" * 60 + ".hdf", REC * 3 + 5),
                                                                          ("x" * 99, 0)]),)
    plan = plan_volumes("R", items, tape(10**9), texts=[TextFile("R.txt", "DN\n")], record_size=REC)[0]
    drive = FileTapeDrive(tmp_path / "tape0", kernel_copy=kernel_copy)
    seg = write_volume_tape(plan, drive, lambda n: pytest.fail("no second tape"), record_size=REC)[0]
    ours = drive.path.read_bytes()
    with tarfile.open(drive.path) as t:
        now = t.getmember("R.txt").mtime  # directories and texts carry the time of writing
    ref = io.BytesIO()
    with tarfile.open(fileobj=ref, mode="w|", format=tarfile.PAX_FORMAT) as t:
        for e in plan.entries():
            if e.source is None:
                t.addfile(tar_info(e, now), None if e.is_dir else io.BytesIO(e.data or b""))
            else:
                with e.source.open("rb") as f:
                    t.addfile(tar_info(e, int(e.source.stat().st_mtime)), f)
    want = ref.getvalue().rstrip(b"\0")
    assert ours[:len(want)] == want and not ours[len(want):].strip(b"\0")
    assert len(ours) == seg.bytes == plan.planned_bytes and set(drive.record_sizes) == {REC}


def test_tar_headers_are_tarfiles_byte_for_byte() -> None:
    names = ["1", "1/a b.hdf", "x" * 99, "x" * 100, "y" * 101, "ü/a", "1/" + "long" * 40]
    for name in names:
        for is_dir, size in ((True, 0), (False, 0), (False, 4096), (False, 8**11 - 1), (False, 8**11)):
            e = Entry(name, is_dir, size)
            for mtime in (0, 1_700_000_000, 8**11 - 1, 8**11):
                assert tar_header(e, mtime) == tar_info(e, mtime).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def test_dev_full_is_a_full_tape(tmp_path: Path) -> None:
    plan = _plan(tmp_path, granules=1)
    with pytest.raises(GranuleTooLarge, match="does not fit on one empty tape"):
        write_volume_tape(plan, FileTapeDrive(Path("/dev/full")), lambda n: FileTapeDrive(Path("/dev/full")),
                          record_size=REC)
    sink = FdSink(os.open("/dev/full", os.O_WRONLY))
    with pytest.raises(EndOfTape):
        sink.write_record(b"\0" * REC)
    sink.close()


def test_read_back_finds_a_damaged_tape(tmp_path: Path) -> None:
    plan = _plan(tmp_path, granules=2)
    drive = FileTapeDrive(tmp_path / "tape0")
    seg = write_volume_tape(plan, drive, lambda n: pytest.fail("no second tape"), record_size=REC)[0]
    data = bytearray(drive.path.read_bytes())
    at = data.find(plan.items[1].files[0].source.read_bytes()[:64])
    data[at + 10] ^= 1
    drive.path.write_bytes(bytes(data))
    with pytest.raises(ReadBackMismatch, match="2/MOD.A2000.hdf"):
        verify_tape(seg, drive, Md5, REC)
    drive.path.write_bytes(bytes(data[: 4 * REC]))
    with pytest.raises(ReadBackMismatch):
        verify_tape(seg, drive, Md5, REC)


@pytest.mark.skipif(not shutil.which("mt"), reason="mt (mt-st) not installed")
def test_mt_driver_reports_a_device_that_is_no_tape(tmp_path: Path) -> None:
    not_a_tape = tmp_path / "plain-file"
    not_a_tape.write_bytes(b"")
    drive = MtTapeDrive(str(not_a_tape))
    for op in (drive.status, drive.rewind, drive.write_filemark, drive.eject, lambda: drive.set_block(REC)):
        with pytest.raises(DeviceError, match=f"mt -f {not_a_tape}"):
            op()
    assert drive.tar_list_args(REC) == ["-b", "32", "-f", str(not_a_tape)]


def _scripted_mt(tmp_path: Path, online_after: int) -> Path:
    """An ``mt`` that says "No medium found" until its ``online_after``-th call, then ONLINE (as mt-st does)."""
    counter = tmp_path / "calls"
    script = tmp_path / "mt"
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{counter}"\n'
        f'if [ $n -lt {online_after} ]; then echo "/dev/nst0: No medium found" >&2; exit 2; fi\n'
        'echo "SCSI 2 tape drive:"; echo "File number=0, block number=0, partition=0."\n'
        'echo "General status bits on (41010000):"; echo " BOT ONLINE IM_REP_EN"\n')
    script.chmod(0o755)
    return script


def test_mt_driver_waits_until_the_operator_loads_a_tape(tmp_path: Path) -> None:
    drive = MtTapeDrive("/dev/nst0", mt=str(_scripted_mt(tmp_path, online_after=3)))
    status = drive.wait_loaded(timeout=10, interval=0.05)
    assert "ONLINE" in status and (tmp_path / "calls").read_text().strip() == "3"


def test_mt_driver_gives_up_when_no_tape_comes(tmp_path: Path) -> None:
    drive = MtTapeDrive("/dev/nst0", mt=str(_scripted_mt(tmp_path, online_after=1000)))
    with pytest.raises(NoMediaLoaded, match="no tape loaded in /dev/nst0"):
        drive.wait_loaded(timeout=0.3, interval=0.05)
