"""The PDR writer (``render_pdr``) is the validator's inverse, on generated and on real PDRs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings as hsettings
from hypothesis import strategies as st

from distribution.ingest.pdr import FileGroup, FileSpec, Pdr, render_pdr, validate_pdr

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "pdr"


_NAME = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
_SPEC = st.builds(FileSpec, st.from_regex(r"/[A-Za-z0-9_]{1,8}(/[A-Za-z0-9_]{1,8}){0,2}", fullmatch=True), _NAME,
                  st.just("SCIENCE"), st.integers(1, 2**31 - 2),
                  st.just("MD5"), st.from_regex(r"[0-9a-f]{32}", fullmatch=True))


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True).filter(
    lambda t: t not in ("BROWSE", "QA", "PH", "FAILPGE")),  # generic types make other kinds of group
                          st.from_regex(r"[0-9]{3}", fullmatch=True), st.lists(_SPEC, min_size=1, max_size=3, unique_by=lambda f: f.file_id)),
                min_size=1, max_size=4), _NAME)
def test_pdr_writer_round_trip(groups: list[tuple[str, str, list[FileSpec]]], origin: str) -> None:
    # a FILE_ID appears once per file group (ICD 4.5: DUPLICATE FILE NAME IN GRANULE), the .met included
    assume(all(f.file_id != f"{dt}.met" for dt, _, specs in groups for f in specs))
    made = tuple(FileGroup(dt, ver, None, (*specs, FileSpec("/meta-data", f"{dt}.met", "METADATA", 10)))
                 for dt, ver, specs in groups)
    pdr = Pdr(origin, sum(len(g.files) for g in made), None, made)
    assert validate_pdr(render_pdr(pdr)) == pdr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus/pdr not present")
@pytest.mark.parametrize("name", ["cumulus/MOD09GQ.PDR", "cumulus/MYD13A1_5_grans.PDR",
                                  "cumulus/MOD09GQ-with-NODE_NAME.PDR"])
def test_pdr_writer_rewrites_real_pdrs_to_the_same_model(name: str) -> None:
    pdr = validate_pdr((CORPUS / name).read_bytes())
    assert isinstance(pdr, Pdr)
    assert validate_pdr(render_pdr(pdr)) == pdr
