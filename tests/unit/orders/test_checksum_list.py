"""The checksum distribution list (ICD 4.3.6.3): a configurable share of files, not predictable, stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.config import Settings, load_settings
from distribution.models import GranuleFile, RequestFile
from distribution.orders.checksum_list import dn_checksum


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, percent: int, secret: str) -> Settings:
    monkeypatch.setenv("ARDIS_HOME", str(tmp_path))
    monkeypatch.setenv("ARDIS_CHECKSUM_DN_PERCENT", str(percent))
    monkeypatch.setenv("ARDIS_FTP_SECRET", secret)
    return load_settings()


def _files(n: int, file_type: str = "SCIENCE") -> list[RequestFile]:
    return [RequestFile(dist_name=f"f{i}", granule_file=GranuleFile(
        id=i, seq=1, name=f"f{i}", file_type=file_type, size=1, archive_path="x", checksum_type="MD5",
        checksum_value=f"{i:032x}")) for i in range(1, n + 1)]


def _chosen(settings: Settings, files: list[RequestFile]) -> set[int]:
    return {rf.granule_file.id for rf in files if dn_checksum(settings, rf, True) != (None, None)}


def test_a_share_of_the_files_gets_checksums_the_same_ones_each_time(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    files = _files(2000)
    settings = _settings(monkeypatch, tmp_path, 30, "secret-one")
    chosen = _chosen(settings, files)
    assert 0.25 * len(files) < len(chosen) < 0.35 * len(files)  # about 30 %
    assert _chosen(settings, files) == chosen  # a resent DN lists the same checksums
    assert _chosen(settings, list(reversed(files))) == chosen  # whatever the order of the files
    assert dn_checksum(settings, files[next(iter(chosen)) - 1], True)[0] == "MD5"


def test_which_files_depends_on_the_archives_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    files = _files(2000)
    one = _chosen(_settings(monkeypatch, tmp_path, 50, "secret-one"), files)
    other = _chosen(_settings(monkeypatch, tmp_path, 50, "secret-two"), files)
    assert one != other and len(one ^ other) > 600  # a user cannot work out the choice from the file ids


def test_all_none_off_the_list_and_only_science_hdf_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    files = _files(50)
    assert len(_chosen(_settings(monkeypatch, tmp_path, 100, "s"), files)) == 50
    assert not _chosen(_settings(monkeypatch, tmp_path, 0, "s"), files)
    settings = _settings(monkeypatch, tmp_path, 100, "s")
    assert all(dn_checksum(settings, rf, False) == (None, None) for rf in files)  # not on the list
    for file_type, shown in (("HDF-EOS", True), ("HDF", True), ("METADATA", False), ("BROWSE", False)):
        assert (dn_checksum(settings, _files(1, file_type)[0], True) != (None, None)) is shown
    written = _files(1)[0]
    written.dist_size = 10  # the metadata Ardis wrote for the user: the archive's checksum is not its own
    assert dn_checksum(settings, written, True) == (None, None)


def test_the_percentage_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0 to 100"):
        _settings(monkeypatch, tmp_path, 101, "s")
