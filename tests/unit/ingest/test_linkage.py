"""Linkage files (ICD 4.5, Figure 4.5-4): the parser and its preprocessing errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distribution.ingest import pan
from distribution.ingest.linkage import LinkageProblem, Pointer, parse_linkage, render_linkage

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def test_linkage_file_of_figure_4_5_4() -> None:
    pointers = parse_linkage((GOLDEN / "linkage_example.txt").read_bytes())
    assert pointers == [Pointer("CERES01", 1, "ceres0110010119.122357001.dat"),
                        Pointer("CERES01", 2, "ceres0120010119.122357001.dat"),
                        Pointer("CERES01", 3, "ceres0130010119.122357001.dat")]
    assert str(pointers[1]) == "LGID:CERES01:002:ceres0120010119.122357001.dat"


@pytest.mark.parametrize("text, why", [
    ("GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 2\nGRANULE_POINTER_001 = \"LGID:A:001:x\"\n"
     "END_GROUP = LINKAGE_POINTERS\nEND\n", "NUM_POINTERS is 2"),
    ("GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 1\nGRANULE_POINTER_001 = \"UR:10:DsShESDTUR\"\n"
     "END_GROUP = LINKAGE_POINTERS\nEND\n", "is not a pointer"),
    ("NUM_POINTERS = 1\n", "one GROUP = LINKAGE_POINTERS"),
    ("GROUP = LINKAGE_POINTERS\nNUM_POINTERS = 1\n", "never closed"),
    ("\x00\x01", "not PVL"),
])
def test_bad_linkage_files_are_preprocessing_errors(text: str, why: str) -> None:
    with pytest.raises(LinkageProblem) as caught:
        parse_linkage(text)
    assert caught.value.disposition == pan.LINKAGE_PREPROCESSING_ERROR and why in str(caught.value)


def test_the_writer_gives_the_figure_back_byte_for_byte() -> None:
    text = (GOLDEN / "linkage_example.txt").read_text()
    assert render_linkage(parse_linkage(text), comment="linkage for browse file <filename>") == text


@given(st.lists(st.builds(Pointer, st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True), st.integers(0, 999),
                          st.from_regex(r"[A-Za-z0-9_.\-]{1,30}", fullmatch=True)), min_size=1, max_size=1200))
def test_linkage_round_trip(pointers: list[Pointer]) -> None:
    assert parse_linkage(render_linkage(pointers)) == pointers
