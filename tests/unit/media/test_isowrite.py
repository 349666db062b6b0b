"""The streaming ISO writer: other readers (pycdlib, xorriso, isoinfo) see every tree; guards; flat memory."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest

from media import _isowrite, volumes
from media.errors import BadName, GranuleTooLarge, NameClash, StagingFull, VolumeOverCapacity
from media.iso import verify_iso
from media._isonames import NameTable
from media._isowrite import write_iso
from media.layout import Entry, GranuleItem, VolumeFile
from media.volumes import BD, CD, plan_volumes
from tests.media_helpers import Md5

NAME_255 = "N" * 251 + ".hdf"
DEEP = "1/" + "/".join("abcdefghijklmnopq")  # 17 levels below the granule: relocated twice


def _tree(src: Path) -> list[Entry]:
    files = {"1/MOD09GHK.A2000055.hdf": 300_001, "1/mod09ghk.a2000055.hdf": 2048, f"1/{NAME_255}": 10,
             "1/Ünïcode näme.txt": 7, "1/empty.dat": 0, f"{DEEP}/deep file.dat": 5000}
    files |= {f"2/MOD09GHK.A2000{i:03d}.h15v05.hdf": 100 + i for i in range(400)}  # 400 clashing 8.3 names
    entries = [Entry("R.DN.txt", False, 4, data=b"DN\r\n")]
    made: set[str] = set()
    for path, size in files.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                made.add(d)
                entries.append(Entry(d, True))
        source = src / f"{len(entries)}.bin"
        source.write_bytes(os.urandom(size))
        entries.append(Entry(path, False, size, source=source))
    return entries


@pytest.fixture
def image(tmp_path: Path) -> tuple[list[Entry], Path]:
    src = tmp_path / "src"
    src.mkdir()
    entries = _tree(src)
    out = tmp_path / "v.iso"
    size = write_iso(iter(entries), out, capacity=CD.capacity, volume_id="R_001")
    assert size == out.stat().st_size and size % 2048 == 0
    return entries, out


def _data(e: Entry) -> bytes:
    return e.data if e.data is not None else e.source.read_bytes()  # type: ignore[union-attr]


def test_pycdlib_reads_every_file_through_all_three_trees(image: tuple[list[Entry], Path]) -> None:
    entries, out = image
    names = NameTable()  # the names Ardis gives: pycdlib must find each file under each of them
    iso = pycdlib.PyCdlib()
    iso.open(str(out))
    try:
        assert iso.pvd.volume_identifier.rstrip() == b"R_001"
        rr = {f"{root.rstrip('/')}/{n}" for root, dirs, files in iso.walk(rr_path="/") for n in dirs + files}
        assert rr - {"/.rr_moved"} == {"/" + e.path for e in entries}
        for e in entries:
            n = names.add(e.path, e.is_dir)
            if e.is_dir:
                continue
            for key in ("rr_path", "joliet_path", "iso_path"):
                got = io.BytesIO()
                path = {"rr_path": n.rr_path, "joliet_path": n.joliet_path, "iso_path": n.iso_path}[key]
                iso.get_file_from_iso_fp(got, **{key: path})
                assert got.getvalue() == _data(e), (key, path)
    finally:
        iso.close()


@pytest.mark.skipif(not shutil.which("osirrox"), reason="xorriso not installed")
def test_xorriso_extracts_the_tree_with_long_names_deep_relocation_modes_and_mtimes(
        image: tuple[list[Entry], Path], tmp_path: Path) -> None:
    entries, out = image
    os_mtime = int(next(e for e in entries if e.path.endswith("deep file.dat")).source.stat().st_mtime)  # type: ignore[union-attr]
    extracted = tmp_path / "x"
    subprocess.run(["osirrox", "-indev", str(out), "-extract", "/", str(extracted)], capture_output=True, check=True)
    for e in entries:
        p = extracted / e.path
        assert p.is_dir() == e.is_dir, e.path
        assert oct(p.stat().st_mode & 0o777) == oct(0o555 if e.is_dir else 0o444), e.path
        if not e.is_dir:
            assert p.read_bytes() == _data(e), e.path
    assert int((extracted / DEEP / "deep file.dat").stat().st_mtime) == os_mtime
    assert len(NAME_255.encode()) == 255 and (extracted / "1" / NAME_255).exists()


def _ecma_key(ident: str) -> tuple[str, str]:
    """ECMA-119 9.3: by name, then extension, the shorter padded with spaces."""
    name, _, ext = ident.split(";")[0].partition(".")
    return name.ljust(8), ext.ljust(3)


@pytest.mark.skipif(not shutil.which("isoinfo"), reason="isoinfo not installed")
def test_iso9660_records_are_in_ecma_order_with_valid_names_and_hidden_relocation(
        image: tuple[list[Entry], Path]) -> None:
    _entries, out = image
    listing = subprocess.run(["isoinfo", "-l", "-i", str(out)], capture_output=True, text=True, check=True).stdout
    dirs = re.split(r"^Directory listing of ", listing, flags=re.MULTILINE)[1:]
    assert len(dirs) > 20
    for block in dirs:
        lines = block.splitlines()
        names = [line.split("]", 1)[1].strip() for line in lines[1:] if "]" in line]
        names = [n for n in names if n not in (".", "..")]
        assert names == sorted(names, key=_ecma_key), lines[0]
        for n in names:
            assert re.fullmatch(r"[A-Z0-9_]{1,8}(\.[A-Z0-9_]{0,3};1)?", n), n
    assert "RR_MOVED" in listing
    joliet = subprocess.run(["isoinfo", "-f", "-J", "-j", "iso8859-1", "-i", str(out)], capture_output=True,
                            check=True).stdout.decode("latin-1").splitlines()  # isoinfo knows no UTF-8
    assert "/1/Ünïcode näme.txt" in joliet and all(len(p.rsplit("/", 1)[1]) <= 64 for p in joliet)
    assert not any("rr_moved" in p.lower() for p in joliet), "the Joliet tree keeps deep directories in place"


def test_capacity_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    src = tmp_path / "a"
    src.write_bytes(b"x" * 100_000)
    out = tmp_path / "v.iso"
    (tmp_path / ".v.iso.999.spool").write_bytes(b"left by a killed build")
    with pytest.raises(VolumeOverCapacity, match="would be"):
        write_iso([Entry("1", True), Entry("1/a", False, 100_000, source=src)], out, capacity=60_000, volume_id="X")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"], "no image, no partial, no spool (stale one too)"


def test_guards_on_names_paths_and_sources(tmp_path: Path) -> None:
    out = tmp_path / "v.iso"
    for bad, error in (([Entry("1", True), Entry("1/a", False, 1, data=b"a"), Entry("1/a", False, 1, data=b"b")],
                        NameClash),
                       ([Entry("1", True), Entry("1", True)], NameClash),
                       ([Entry("x/a", False, 1, data=b"a")], BadName)):
        with pytest.raises(error):
            write_iso(bad, out, capacity=CD.capacity, volume_id="X")
    src = tmp_path / "s"
    src.write_bytes(b"short")
    with pytest.raises(Exception, match="the plan says 9"):
        write_iso([Entry("1", True), Entry("1/s", False, 9, source=src)], out, capacity=CD.capacity, volume_id="X")
    src.unlink()
    with pytest.raises(Exception, match="cannot read"):
        write_iso([Entry("1", True), Entry("1/s", False, 5, source=src)], out, capacity=CD.capacity, volume_id="X")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_path_tables_hold_at_most_65535_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_isowrite, "ISO_MAX_DIRECTORIES", 4)
    with pytest.raises(VolumeOverCapacity, match="directories"):
        write_iso([Entry(str(i), True) for i in range(5)], tmp_path / "v.iso", capacity=CD.capacity, volume_id="X")
    monkeypatch.setattr(volumes, "ISO_MAX_DIRECTORIES", 5)
    items = [GranuleItem(f"G:{i}", str(i), (VolumeFile(tmp_path / "f", "f", 1),)) for i in range(7)]
    plans = plan_volumes("R", items, CD)
    assert [len(p.items) for p in plans] == [3, 3, 1], "root + 3 granules + a spare for RR_MOVED stay under 5"
    deep = GranuleItem("G:deep", "9", (VolumeFile(tmp_path / "f", "a/b/c/d/f", 1),))
    rejected: list[GranuleTooLarge] = []
    plan_volumes("R", [deep], CD, rejected=rejected)
    assert rejected and "directories" in str(rejected[0])


def _many(count: int) -> Iterator[Entry]:
    for g in range(count // 1000):
        yield Entry(str(g + 1), True)
        for i in range(1000):
            yield Entry(f"{g + 1}/MOD09GHK.A2000{i:03d}.h15v05.hdf", False, 16, data=b"0123456789abcdef")


def _traced_peak(tmp_path: Path, count: int) -> int:
    tracemalloc.start()
    try:
        write_iso(_many(count), tmp_path / f"{count}.iso", capacity=BD.capacity, volume_id="X")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_files(tmp_path: Path) -> None:
    small, large = _traced_peak(tmp_path, 3_000), _traced_peak(tmp_path, 12_000)
    assert large < 2 << 20, f"{large:,} bytes traced for 12,000 files"
    assert large < small + (128 << 10), (small, large)  # 4x the files, the same peak (buffers are bounded)


def test_a_full_disk_is_retryable_and_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [Entry("1", True), Entry("1/a", False, 3, data=b"abc")]
    out = tmp_path / "v.iso"
    (tmp_path / "v.iso.partial").symlink_to("/dev/full")  # every write there fails with ENOSPC
    with pytest.raises(StagingFull, match="filled up"):
        write_iso(entries, out, capacity=CD.capacity, volume_id="X")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.setattr(_isowrite.shutil, "disk_usage", lambda _p: shutil._ntuple_diskusage(10, 10, 0))  # type: ignore[attr-defined]
    with pytest.raises(StagingFull, match="0 are free"):
        write_iso(entries, out, capacity=CD.capacity, volume_id="X")


def test_path_tables_and_the_top_directory_over_several_sectors(tmp_path: Path) -> None:
    """1,500 granule directories: path tables of several sectors, a top directory of many; every reader agrees."""
    entries = [Entry("R.txt", False, 2, data=b"R\n")]
    for d in range(1, 1501):
        entries += [Entry(str(d), True), Entry(f"{d}/MOD09GHK.A2000{d:04d}.hdf", False, 4, data=d.to_bytes(4, "big"))]
    out = tmp_path / "v.iso"
    write_iso(entries, out, capacity=CD.capacity, volume_id="R_001")
    iso = pycdlib.PyCdlib()
    iso.open(str(out))
    try:
        assert iso.pvd.path_table_size() > 3 * 2048
        assert len(list(iso.list_children(iso_path="/"))) == 1503  # '.', '..', R.TXT and 1,500 directories
        got = io.BytesIO()
        iso.get_file_from_iso_fp(got, joliet_path="/1500/MOD09GHK.A20001500.hdf")
        assert got.getvalue() == (1500).to_bytes(4, "big")
    finally:
        iso.close()
    listing = subprocess.run(["xorriso", "-indev", str(out), "-find", "/", "-type", "d"], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert len(listing) == 1501
    assert verify_iso(out, entries, Md5) == 1501
