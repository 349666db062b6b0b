"""ISO images: names in three trees, modes, mtimes, deep trees, guards, capacity, read-back with real tools."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from media import volumes
from media.errors import BadName, MediaError, NameClash, ReadBackMismatch, VolumeOverCapacity
from media.iso import build_iso, build_volume_iso, verify_iso
from media._iso_pycdlib import build_with_pycdlib, verify_with_pycdlib
from media._isonames import NameTable, check_iso_name, check_joliet_name
from media.layout import Entry, GranuleItem, TextFile, VolumeFile
from media.volumes import CD, plan_volumes
from tests.media_helpers import Md5, make_granule

LONG = "MOD09GHK.A2000055.h15v05.003.2000057160103_with_a_rather_long_tail_for_joliet.hdf"


@pytest.fixture
def volume(tmp_path: Path):  # type: ignore[no-untyped-def]
    g1 = make_granule(tmp_path / "src", "SC:MOD09GHK.003:1", "1", [
        ("MOD09GHK.A2000055.hdf", 300_000), ("MOD09GHK.A2000055.hdf.met", 2_000), (LONG, 5_000),
        ("mod09ghk.a2000055.hdf", 10), ("a/b/c/d/e/f/g/h/i/deep file.dat", 70_000), ("Ünïcode name.txt", 3)])
    g2 = make_granule(tmp_path / "src", "SC:MOD09GHK.003:2", "2", [("MOD09GHK.A2000055.hdf", 4096)])
    os.utime(g1.files[0].source, (1_000_000_000, 1_000_000_000))
    plan = plan_volumes("0300018199", [g1, g2], CD, texts=[TextFile("0300018199.DN.txt", "Media 1 of 1\n")])[0]
    image = build_volume_iso(plan, tmp_path / "0300018199_001.iso")
    return plan, image


def test_names_are_valid_unique_and_original_in_rock_ridge() -> None:
    table = NameTable()
    table.add("1", True)
    a = table.add("1/MOD09GHK.A2000055.hdf", False)
    b = table.add("1/mod09ghk.a2000055.hdf", False)
    c = table.add("1/" + LONG, False)
    assert (a.iso_path, b.iso_path) == ("/1/MOD09GHK.HDF;1", "/1/MOD09G_1.HDF;1")
    assert (a.rr_name, b.rr_name) == ("MOD09GHK.A2000055.hdf", "mod09ghk.a2000055.hdf")
    assert a.rr_name == "MOD09GHK.A2000055.hdf" and b.joliet_path == "/1/mod09ghk.a2000055~1.hdf"  # Joliet: unique ignoring case
    assert len(c.joliet_path.rsplit("/", 1)[1]) == 64 and c.joliet_path.endswith(".hdf")
    with pytest.raises(NameClash):
        table.add("1/MOD09GHK.A2000055.hdf", False)
    with pytest.raises(BadName):
        table.add("nowhere/x", False)


def test_many_clashing_names_stay_unique() -> None:
    table = NameTable()
    table.add("d", True)
    names = [table.add(f"d/granule_file_{i:05d}.hdf", False) for i in range(3000)]
    assert len({n.iso_path for n in names}) == 3000
    assert all(check_iso_name(n.iso_path.rsplit("/", 1)[1], False) for n in names)


def test_name_guards_refuse_what_pycdlib_would_take() -> None:
    for bad in ("lower.hdf;1", "TOOLONGNAME.HDF;1", "A.HDFX;1", "BAD-CHAR.HDF;1", "NOVERSION.HDF"):
        with pytest.raises(BadName):
            check_iso_name(bad, False)
    with pytest.raises(BadName):
        check_iso_name("DIR.EXT", True)
    with pytest.raises(BadName):
        check_joliet_name("x" * 65)
    with pytest.raises(BadName):
        check_joliet_name("a:b")


def test_image_reads_back(volume) -> None:  # type: ignore[no-untyped-def]
    plan, image = volume
    assert verify_iso(image.path, plan.entries(), Md5) == 8
    assert image.size <= plan.planned_bytes, "the plan's estimate must cover the real image"
    assert not image.udf


def test_corrupted_image_fails_read_back(volume) -> None:  # type: ignore[no-untyped-def]
    plan, image = volume
    data = bytearray(image.path.read_bytes())
    at = data.find(plan.items[0].files[0].source.read_bytes()[:64])
    data[at + 100] ^= 0xFF
    image.path.write_bytes(bytes(data))
    with pytest.raises(ReadBackMismatch, match="MOD09GHK.A2000055.hdf"):
        verify_iso(image.path, plan.entries(), Md5)


@pytest.mark.skipif(not shutil.which("xorriso"), reason="xorriso not installed")
def test_xorriso_sees_rock_ridge_names_modes_mtimes_and_extracts_the_same_bytes(volume, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, image = volume
    listing = subprocess.run(["xorriso", "-indev", str(image.path), "-find", "/", "-exec", "lsdl"],
                             capture_output=True, text=True, check=True).stdout
    assert "'/1/MOD09GHK.A2000055.hdf'" in listing and f"'/1/{LONG}'" in listing
    assert "'/1/a/b/c/d/e/f/g/h/i/deep file.dat'" in listing
    assert "-r--r--r--" in listing and "dr-xr-xr-x" in listing
    line = next(x for x in listing.splitlines() if x.endswith("'/1/MOD09GHK.A2000055.hdf'"))
    assert "2001" in line  # the file's own mtime (2001-09-09), not today
    out = tmp_path / "extracted"
    subprocess.run(["osirrox", "-indev", str(image.path), "-extract", "/", str(out)],
                   capture_output=True, check=True)
    for g in plan.items:
        for f in g.files:
            assert (out / g.directory / f.name).read_bytes() == f.source.read_bytes()
    assert (out / "0300018199.DN.txt").read_text() == "Media 1 of 1\n"
    assert int((out / "1" / "MOD09GHK.A2000055.hdf").stat().st_mtime) == 1_000_000_000


@pytest.mark.skipif(not shutil.which("isoinfo"), reason="isoinfo (genisoimage) not installed")
def test_isoinfo_lists_valid_iso9660_and_joliet_names(volume) -> None:  # type: ignore[no-untyped-def]
    _plan, image = volume
    plain = subprocess.run(["isoinfo", "-f", "-i", str(image.path)], capture_output=True, check=True).stdout.decode("latin-1")
    assert "/1/MOD09GHK.HDF;1" in plain and "/1/MOD09G_1.HDF;1" in plain
    for path in plain.splitlines():
        name = path.rsplit("/", 1)[1]
        assert name == name.upper() and len(name.split(";")[0].split(".")[0]) <= 8, path
    joliet = subprocess.run(["isoinfo", "-f", "-J", "-i", str(image.path)], capture_output=True,
                            check=True).stdout.decode("latin-1")
    assert "/1/MOD09GHK.A2000055.hdf.met" in joliet
    assert all(len(p.rsplit("/", 1)[1]) <= 64 for p in joliet.splitlines())


def test_capacity_is_checked_before_writing(tmp_path: Path) -> None:
    g = make_granule(tmp_path, "G", "1", [("big.dat", 100_000)])
    plan = plan_volumes("R", [g], CD)[0]
    out = tmp_path / "x.iso"
    with pytest.raises(VolumeOverCapacity, match="would be"):
        build_iso(plan.entries(), out, capacity=50_000, volume_id="X")
    assert not out.exists() and not (tmp_path / "x.iso.partial").exists()


def test_changed_or_missing_source_is_refused(tmp_path: Path) -> None:
    g = make_granule(tmp_path, "G", "1", [("a.dat", 1000)])
    plan = plan_volumes("R", [g], CD)[0]
    g.files[0].source.write_bytes(b"shorter")
    with pytest.raises(MediaError, match="the plan says 1,000"):
        build_volume_iso(plan, tmp_path / "x.iso")
    g.files[0].source.unlink()
    with pytest.raises(MediaError, match="cannot read"):
        build_volume_iso(plan, tmp_path / "x.iso")


def test_more_files_than_open_descriptors(tmp_path: Path) -> None:
    """pycdlib's add_fp would hold one open file per entry; Ardis adds by path."""
    g = make_granule(tmp_path / "src", "G", "1", [(f"f{i}.dat", 10) for i in range(300)])
    plan = plan_volumes("R", [g], CD)[0]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    try:
        image = build_volume_iso(plan, tmp_path / "x.iso")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert verify_iso(image.path, plan.entries(), Md5) == 300


def test_udf_is_added_for_a_file_of_4_gib(tmp_path: Path) -> None:
    """A sparse 4 GiB file: the image gets UDF and level 3; built and checked without writing it."""
    src = tmp_path / "huge.dat"
    with src.open("wb") as f:
        f.truncate(1 << 32)
    entries = [Entry("1", True, granule="G"), Entry("1/huge.dat", False, 1 << 32, source=src, granule="G")]
    with pytest.raises(VolumeOverCapacity) as info:
        build_iso(entries, tmp_path / "x.iso", capacity=CD.capacity, volume_id="X")
    assert "would be 4,29" in str(info.value)
    small = [Entry("1", True, granule="G"), Entry("1/a", False, 3, data=b"abc", granule="G")]
    image = build_iso(small, tmp_path / "y.iso", capacity=CD.capacity, volume_id="Y")
    assert not image.udf and verify_iso(image.path, small, Md5) == 1


def test_duplicate_entries_never_reach_pycdlib(tmp_path: Path) -> None:
    dup = [Entry("1", True), Entry("1/a", False, 1, data=b"a"), Entry("1/a", False, 1, data=b"b")]
    with pytest.raises(NameClash):
        build_iso(dup, tmp_path / "x.iso", capacity=CD.capacity, volume_id="X")


def test_granule_item_size() -> None:
    g = GranuleItem("G", "1", (VolumeFile(Path("/a"), "a", 3), VolumeFile(Path("/b"), "b", 4)))
    assert g.size == 7


def test_kernel_copied_data_are_the_bytes_pycdlib_writes(tmp_path: Path) -> None:
    """UDF volumes: the extents copied in by the kernel equal pycdlib's own copy; metadata differ only in dates."""
    g = make_granule(tmp_path / "src", "G:1", "1", [("A.hdf", 300_001), ("B.hdf", 2048), ("C.hdf", 1), ("D.hdf", 0)])
    plan = plan_volumes("R", [g], CD, texts=[TextFile("R.txt", "DN\n" * 1000)])[0]
    a, b = tmp_path / "a.iso", tmp_path / "b.iso"
    build_with_pycdlib(plan.entries(), a, capacity=CD.capacity, volume_id="R")
    build_with_pycdlib(plan.entries(), b, capacity=CD.capacity, volume_id="R", kernel_copy=False)
    ours, theirs = a.read_bytes(), b.read_bytes()
    first = ours.find(g.files[0].source.read_bytes()[:2048])
    assert len(ours) == len(theirs) and first > 0 and first % 2048 == 0
    assert ours[first:] == theirs[first:]
    assert sum(x != y for x, y in zip(ours[:first], theirs[:first])) < 200  # creation / 'now' stamps
    assert verify_iso(a, plan.entries(), Md5) == 5 == verify_with_pycdlib(a, plan.entries(), Md5)


def test_read_back_names_missing_and_unexpected_paths(volume) -> None:  # type: ignore[no-untyped-def]
    plan, image = volume
    entries = plan.entries()
    with pytest.raises(ReadBackMismatch, match="unexpected paths.*Ünïcode"):
        verify_iso(image.path, [e for e in entries if "Ünïcode" not in e.path], Md5)
    with pytest.raises(ReadBackMismatch, match="1/absent.dat is missing"):
        verify_iso(image.path, [*entries, Entry("1/absent.dat", False, 1, data=b"x")], Md5)
    assert not list(image.path.parent.glob(".*.verify")), "the read-back spool is removed"


def test_a_volume_of_a_4_gib_file_goes_to_pycdlib_with_udf(tmp_path: Path) -> None:
    src = tmp_path / "huge.dat"
    with src.open("wb") as f:
        f.truncate(1 << 32)
    plan = plan_volumes("R", [GranuleItem("G", "1", (VolumeFile(src, "huge.dat", 1 << 32),))], volumes.BD)[0]
    small = plan_volumes("R", [GranuleItem("G", "1", (VolumeFile(src, "h", 1),))], volumes.BD)[0]
    assert plan.needs_udf and not small.needs_udf
