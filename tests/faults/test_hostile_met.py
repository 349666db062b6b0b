"""Hostile ``.met`` files: the ODL reader answers in time linear in the size, whatever it is given.

The reader once matched nested lazy regexes: 18 KB of malformed ODL took 3 s and
90 KB no answer in 100 s (issue 10, defect 7).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.sample_data import MET_TEMPLATE
from distribution.errors import PermanentError
from distribution.inventory.metadata import GranuleMetadata, parse_odl, read_metadata

CORPUS_MET = Path("/work/shared/corpus/pdr/s4pa/payload/S4PA_recv_data_t__data.met")
SAMPLE = MET_TEMPLATE.format(lgid="G1", produced="2002-03-20T00:00:00Z", daynight="Night",
                             begin=datetime(2002, 3, 19, 10), end=datetime(2002, 3, 19, 10, 5),
                             west=-75.5, north=40, east=-70, south=35.25, qa_missing=7)
FRAGMENTS = ("OBJECT = A\n", "OBJECT = ", "END_OBJECT = A\n", "END_OBJECT", "VALUE = ", '"', "(", ")", "/*", "*/",
             "=", ";", "GROUP = G\n", "END_GROUP = G\n", "END\n", "ADDITIONALATTRIBUTENAME", "PARAMETERVALUE",
             'VALUE = "x"\n', "\n", " ", "LOCALGRANULEID", "WESTBOUNDINGCOORDINATE")
# Generous: the tokenizer reads 90 KB in a few hundredths of a second on an idle machine.
SECONDS_PER_KB = 0.02  # CPU time of this process (time.process_time): other load does not count, a super-linear parser does
BASE_SECONDS = 0.5


def _parse_timed(text: str) -> tuple[float, GranuleMetadata | PermanentError]:
    start = time.process_time()
    try:
        result: GranuleMetadata | PermanentError = parse_odl(text)
    except PermanentError as e:  # a malformed number: a clear, permanent refusal
        result = e
    return time.process_time() - start, result


def _bound(text: str) -> float:
    return BASE_SECONDS + SECONDS_PER_KB * len(text.encode()) / 1024


def test_90_kb_of_unclosed_objects_is_read_in_bounded_time() -> None:
    for text in ("OBJECT = A\n" * 8400, "OBJECT = A VALUE = (\n" * 4500, 'OBJECT = A\nVALUE = "' * 6000,
                 "ADDITIONALATTRIBUTENAME VALUE = \"x\" " * 2600, "/* " * 30000):
        elapsed, _ = _parse_timed(text)
        assert elapsed < _bound(text), f"{len(text)} characters took {elapsed:.2f} s"


def test_well_formed_metadata_reads_as_before() -> None:
    meta = parse_odl(SAMPLE)
    assert meta.local_granule_id == "G1"
    assert (meta.west, meta.north, meta.east, meta.south) == (-75.5, 40, -70, 35.25)
    assert meta.attributes == {"QAPERCENTMISSINGDATA": 7, "DAYNIGHTFLAG": "Night"}
    if CORPUS_MET.exists():  # no OBJECT at all: nothing to index
        assert read_metadata(CORPUS_MET) == GranuleMetadata()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), min_size=1, max_size=40),
       st.integers(min_value=1, max_value=4000), st.integers(min_value=0, max_value=len(SAMPLE)))
def test_fuzzed_met_time_per_kb_is_bounded(fragments: list[str], repeat: int, cut: int) -> None:
    """A sample cut anywhere, with random ODL fragments repeated up to ~90 KB: an answer, in bounded time."""
    text = SAMPLE[:cut] + ("".join(fragments) * repeat)[:90 * 1024] + SAMPLE[cut:]
    elapsed, result = _parse_timed(text)
    assert isinstance(result, (GranuleMetadata, PermanentError))
    assert elapsed < _bound(text), f"{len(text)} characters took {elapsed:.2f} s"
