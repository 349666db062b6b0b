"""Tape: fixed-size records, exact planned sizes, spanning on end of tape, read-back with GNU tar."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from media.errors import DeviceError, EndOfTape, GranuleTooLarge, MediaError, ReadBackMismatch
from media.layout import TextFile
from media.tape import RecordWriter, verify_tape, write_volume_tape
from media.tapedev import FdSink, FileTapeDrive, MtTapeDrive
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


def test_every_write_is_exactly_the_record_size_and_the_plan_is_exact(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    drive = FileTapeDrive(tmp_path / "tape0")
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


def test_end_of_tape_spans_granule_wise_onto_the_next_tapes(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    capacity = 18 * REC  # room for about two and a half granules
    drives = [FileTapeDrive(tmp_path / "tape1", capacity)]
    asked: list[int] = []

    def next_tape(n: int) -> FileTapeDrive:
        asked.append(n)
        drives.append(FileTapeDrive(tmp_path / f"tape{n}", capacity))
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
