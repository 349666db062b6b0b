"""Drives: pyudev discovery and the wait for a blank disc under umockdev; burning with real xorriso."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from media.burn import VirtualOpticalDrive, XorrisoBurner, read_back
from media.drives import OpticalDriveInfo, suits
from media.errors import DeviceError, ReadBackMismatch
from media.iso import build_volume_iso
from media.volumes import DVD, plan_volumes
from tests.media_helpers import Md5, make_granule

ROOT = Path(__file__).resolve().parents[2]
DEVICES = ROOT / "tests" / "umockdev"
GI = Path("/usr/lib/x86_64-linux-gnu/girepository-1.0/UMockdev-1.0.typelib")
needs_umockdev = pytest.mark.skipif(not shutil.which("umockdev-run"), reason="umockdev not installed")


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _probe(device: str, code: str) -> str:
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom media.drives import *\n{code}"
    return _run(["umockdev-run", "--device", str(DEVICES / device), "--", sys.executable, "-c", script])


@needs_umockdev
def test_finds_the_optical_drive_and_what_it_writes() -> None:
    out = _probe("bd-burner.umockdev", "d = find_optical_drives(); print(len(d), d[0].device, sorted(d[0].writes),"
                 " d[0].media, d[0].model, find_tape_drives())")
    assert out.split() == ["1", "/dev/sr0", "['BD_R',", "'CD_R',", "'DVD',", "'DVD_PLUS_R']", "None", "BD-RE",
                           "BH16NS55", "[]"]


@needs_umockdev
def test_finds_the_tape_drive_by_its_non_rewinding_node() -> None:
    out = _probe("st0.umockdev", "print(find_tape_drives(), find_optical_drives())")
    assert out.strip() == "[TapeDriveInfo(device='/dev/nst0', model='ULTRIUM-HH8')] []"


@needs_umockdev
@pytest.mark.skipif(not GI.exists() or not shutil.which("umockdev-wrapper"), reason="gir1.2-umockdev-1.0 missing")
@pytest.mark.parametrize("delay", ["0.3", "never"])
def test_waits_for_a_blank_dvd_plus_r(delay: str) -> None:
    out = _run(["umockdev-wrapper", sys.executable, str(DEVICES / "load_disc.py"), str(ROOT),
                str(DEVICES / "bd-burner.umockdev"), delay]).splitlines()
    assert out[0].startswith("before") and "media=None" in out[0]
    if delay == "never":
        assert out[1] == "timeout no blank DVD in /dev/sr0 after 1 s (no disc)"
        assert "media=None" in out[2]
    else:
        assert out[1].startswith("loaded") and "media='DVD_PLUS_R', media_state='blank'" in out[1]
        assert float(out[1].rsplit(" ", 1)[1]) < 10
        assert "media_state='blank'" in out[2]


def test_which_discs_suit() -> None:
    blank = OpticalDriveInfo("/dev/sr0", "x", frozenset(), "DVD_PLUS_R", "blank")
    assert suits(blank, "DVD") and not suits(blank, "BD") and not suits(blank, "CD")
    assert not suits(OpticalDriveInfo("/dev/sr0", "x", frozenset(), "DVD_PLUS_R", "complete"), "DVD")
    assert not suits(OpticalDriveInfo("/dev/sr0", "x", frozenset(), None, None), "DVD")


@pytest.fixture
def image(tmp_path: Path) -> Path:
    g = make_granule(tmp_path / "src", "G", "1", [("a.hdf", 200_000), ("a.hdf.met", 900)])
    return build_volume_iso(plan_volumes("0300018199", [g], DVD)[0], tmp_path / "0300018199_001.iso").path


@pytest.mark.skipif(not shutil.which("xorriso"), reason="xorriso not installed")
def test_xorriso_cdrecord_burns_and_reads_back(image: Path, tmp_path: Path) -> None:
    burner = XorrisoBurner(f"stdio:{tmp_path / 'disc'}")
    assert burner.burn_command(image)[:5] == ["-as", "cdrecord", "-v", f"dev=stdio:{tmp_path / 'disc'}", "-dao"]
    result = burner.burn(image, Md5)
    assert result.size == image.stat().st_size
    assert (tmp_path / "disc").read_bytes()[: result.size] == image.read_bytes()
    burner.eject()
    with pytest.raises(DeviceError, match="xorriso"):
        XorrisoBurner("/dev/no-such-burner").burn(image, Md5)


def test_virtual_drive_burns_into_its_folder_and_reads_back(image: Path, tmp_path: Path) -> None:
    drive = VirtualOpticalDrive(tmp_path / "burned")
    result = drive.burn(image, Md5)
    assert (tmp_path / "burned" / image.name).read_bytes() == image.read_bytes()
    assert result.checksum == hashlib.md5(image.read_bytes()).hexdigest()
    assert sorted(p.name for p in (tmp_path / "burned").iterdir()) == [image.name]
    drive.eject()
    assert drive.ejected == 1


def test_read_back_of_a_short_disc_fails(image: Path) -> None:
    with pytest.raises(ReadBackMismatch, match="read back"):
        read_back(image, image.stat().st_size + 1, Md5)
