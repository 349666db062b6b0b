"""Inventory attributes read from ODL and XML metadata."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from devkit.sample_data import SAMPLES, write_granule_files
from distribution.errors import PermanentError
from distribution.inventory.metadata import read_metadata


def test_odl_met_gives_lgid_time_and_box(tmp_path: Path) -> None:
    paths = write_granule_files(tmp_path, SAMPLES[0], seed=3, scale=0.001)
    meta = read_metadata(paths[-1])
    assert meta.local_granule_id == SAMPLES[0].lgid
    assert meta.begin_time == datetime(2002, 5, 3, 13, 0, 0)
    assert meta.end_time == datetime(2002, 5, 3, 13, 5, 0)
    assert meta.west is not None and meta.east == pytest.approx(meta.west + 10, abs=1e-3)
    assert meta.attributes["DAYNIGHTFLAG"] in ("Day", "Night")
    assert isinstance(meta.attributes["QAPERCENTMISSINGDATA"], int)


def test_xml_metadata(tmp_path: Path) -> None:
    path = tmp_path / "g.xml"
    path.write_text(
        "<GranuleMetaDataFile><GranuleURMetaData><ECSDataGranule><LocalGranuleID>abc_1</LocalGranuleID>"
        "</ECSDataGranule><RangeDateTime><RangeBeginningDate>2004-01-02</RangeBeginningDate>"
        "<RangeBeginningTime>03:04:05</RangeBeginningTime></RangeDateTime>"
        "<WestBoundingCoordinate>-10.5</WestBoundingCoordinate></GranuleURMetaData></GranuleMetaDataFile>"
    )
    meta = read_metadata(path)
    assert meta.local_granule_id == "abc_1"
    assert meta.begin_time == datetime(2004, 1, 2, 3, 4, 5)
    assert meta.west == -10.5


def test_broken_or_missing_metadata_is_a_clear_permanent_error(tmp_path: Path) -> None:
    (tmp_path / "bad.xml").write_text("<a><b></a>")
    with pytest.raises(PermanentError, match="not well formed"):
        read_metadata(tmp_path / "bad.xml")
    with pytest.raises(PermanentError, match="not found"):
        read_metadata(tmp_path / "none.met")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(PermanentError, match=r"\.met or \.xml"):
        read_metadata(tmp_path / "x.txt")
