"""Distribution names (ICD 4.3.6.4) and hard-link staging."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distribution.errors import FileVanished
from distribution.models import GranuleFile
from distribution.orders.staging import distribution_names, place


def _files(*specs: tuple[str, str]) -> list[GranuleFile]:
    return [GranuleFile(seq=i, name=n, file_type=t, size=1, archive_path=n) for i, (n, t) in enumerate(specs, 1)]


def test_single_file_granule_takes_the_local_granule_id() -> None:
    files = _files(("MOD09GHK_insert_name.hdf", "SCIENCE"), ("MOD09GHK_insert_name.hdf.xml", "METADATA"))
    assert distribution_names("MOD09GHK.A2002123.h11v05.003.2002128130140.hdf", files) == [
        "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf",
        "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf.xml",
    ]


def test_multi_file_granule_gets_sequence_numbers() -> None:
    files = _files(("b10.tif", "SCIENCE"), ("b11.tif", "SCIENCE"), ("x.met", "METADATA"))
    assert distribution_names("labtest_13683", files) == ["labtest_13683.1", "labtest_13683.2", "labtest_13683.met"]


def test_without_local_granule_id_the_archive_name_stays() -> None:
    files = _files(("L72SGS249922408010_B81.07848a3", "SCIENCE"), ("L72SGS249922408010_MTP.07848a3", "SCIENCE"))
    assert distribution_names(None, files) == [f.name for f in files]


def test_place_links_and_is_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "archive" / "a.hdf"
    src.parent.mkdir()
    src.write_bytes(b"science")
    dst = tmp_path / "stage" / "x" / "A"
    assert place(src, dst) == "link"
    assert os.path.samefile(src, dst)
    assert place(src, dst) == "present"


def test_place_replaces_a_partial_copy(tmp_path: Path) -> None:
    src = tmp_path / "a"
    src.write_bytes(b"0123456789")
    dst = tmp_path / "b"
    dst.write_bytes(b"01")  # what an interrupted try left
    place(src, dst)
    assert dst.read_bytes() == b"0123456789"


def test_place_of_a_vanished_archive_file(tmp_path: Path) -> None:
    with pytest.raises(FileVanished, match="missing"):
        place(tmp_path / "gone", tmp_path / "dst")


def test_place_copies_across_filesystems(tmp_path: Path) -> None:
    """/dev/shm is a tmpfs: a hard link from there fails with EXDEV, so the file is copied."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem to stage across")
    src = shm / f"ardis-test-{os.getpid()}"
    src.write_bytes(b"granule bytes")
    try:
        dst = tmp_path / "stage" / "g"
        assert place(src, dst) == "copy"
        assert dst.read_bytes() == b"granule bytes" and not os.path.samefile(src, dst)
        assert not (tmp_path / "stage" / "g.part").exists()
    finally:
        src.unlink()
