"""PDRD and PAN writers against the ICD's Figures 4.5-5 … 4.5-8, byte for byte, and their round trips.

The golden files are the figures verbatim as the ICD's text gives them (each
checked against the ICD when it is present). Ardis's writer differs from a figure
in four named ways only, which :func:`ardis_form` applies to the verbatim text:

1. the word processor's curly quotes become ASCII ``"`` (a PAN is ASCII PVL);
2. Figure 4.5-5's ``MESSAGE TYPE`` is ``MESSAGE_TYPE``, the parameter of Table 4.5-5;
3. the blank some figure lines have after their final ``;`` is not written;
4. Figure 4.5-8's ``FILE_NAME =7SIPSCALP.01A`` gets the blank every other statement has.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.ingest import pan
from distribution.ingest.pan import LongPan, LongPdrd, PanFile, PdrdGroup, ShortPan, ShortPdrd
from distribution.ingest.pvl import PvlError

settings.register_profile("pan-fuzz", max_examples=int(os.environ.get("ARDIS_FUZZ_EXAMPLES", 200)), deadline=None)
FUZZ = settings.get_profile("pan-fuzz")
GOLDEN = Path(__file__).resolve().parents[2] / "golden"
SEEDS = Path(__file__).resolve().parents[4] / "shared" / "seeds"

FIGURES: dict[str, pan.Pdrd | pan.Pan] = {
    "pdrd_short_example.txt": ShortPdrd(pan.DATABASE_FAILURES),
    "pdrd_long_example.txt": LongPdrd((
        PdrdGroup("SIPS_DATA1", pan.INVALID_DATA_TYPE),
        PdrdGroup("SIPS_DATA2", pan.INVALID_FILE_ID),
        PdrdGroup("SIPS_DATA3", pan.SUCCESSFUL),
    )),
    "pan_short_example.txt": ShortPan(pan.SIZE_CHECK_FAILURE, None),
    "pan_long_example.txt": LongPan((
        PanFile("/SIPS1/CAL1", "7SIPSCALP.01A", pan.UNABLE_TO_CONNECT, None),
        PanFile("/SIPS1/CAL2", "7SIPSCALP.02A", pan.ECS_INTERNAL_ERROR, None),
        PanFile("/SIPS1/CAL2", "7SIPSCALP.03A", pan.SUCCESSFUL, datetime(1996, 4, 28, 23, 59, 59)),
    )),
}
CAPTIONS = {"pdrd_short_example.txt": "4.5-5", "pdrd_long_example.txt": "4.5-6",
            "pan_short_example.txt": "4.5-7", "pan_long_example.txt": "4.5-8"}



def _render(message: pan.Pan | pan.Pdrd) -> str:
    """The writer for the message's kind (``render_pan`` or ``render_pdrd``)."""
    return pan.render_pan(message) if isinstance(message, (pan.ShortPan, pan.LongPan)) else pan.render_pdrd(message)

def ardis_form(figure: str) -> str:
    """The figure with the four named deviations applied."""
    lines = []
    for line in figure.splitlines():
        line = line.replace("\u201c", '"').replace("\u201d", '"').rstrip(" ")
        line = line.replace("MESSAGE TYPE =", "MESSAGE_TYPE =").replace("FILE_NAME =7", "FILE_NAME = 7")
        lines.append(line + "\n")
    return "".join(lines)


def icd_figure(number: str) -> str:
    """A figure's statements from the ICD text: between "EXAMPLE ONLY" and its caption, blank lines dropped."""
    text = next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")
    end = text.index(f"Figure {number}.  Example")
    start = text.rindex("EXAMPLE ONLY\n", 0, end) + len("EXAMPLE ONLY\n")
    return "".join(line + "\n" for line in text[start:end].split("\n") if line.strip())


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_golden_file_is_the_icd_figure_verbatim(name: str) -> None:
    if not any(SEEDS.glob("003_*.txt")):
        pytest.skip("the ICD text is not beside this checkout")
    assert (GOLDEN / name).read_text(encoding="utf-8") == icd_figure(CAPTIONS[name])


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_writer_gives_the_figure_byte_for_byte(name: str) -> None:
    assert _render(FIGURES[name]) == ardis_form((GOLDEN / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_parser_reads_the_figure(name: str) -> None:
    text = ardis_form((GOLDEN / name).read_text(encoding="utf-8"))
    parsed = pan.parse_pdrd(text) if name.startswith("pdrd") else pan.parse_pan(text)
    assert parsed == FIGURES[name]


def test_the_deviations_are_only_the_named_ones() -> None:
    changed = {}
    for name in FIGURES:
        verbatim = (GOLDEN / name).read_text(encoding="utf-8").splitlines()
        ours = _render(FIGURES[name]).splitlines()
        assert len(ours) == len(verbatim)
        changed[name] = sum(a != b for a, b in zip(verbatim, ours, strict=True))
    # quotes on every DISPOSITION line, plus MESSAGE TYPE, trailing blanks, FILE_NAME =x
    assert changed == {"pdrd_short_example.txt": 2, "pdrd_long_example.txt": 6, "pan_short_example.txt": 2,
                       "pan_long_example.txt": 7}


def test_null_time_stamp_is_twenty_blanks() -> None:
    text = _render(ShortPan(pan.FILES_NOT_FOUND, None))
    assert text.splitlines()[-1] == "TIME_STAMP = " + " " * 20 + ";"


def test_time_stamps_are_utc_seconds() -> None:
    eastern = timezone(timedelta(hours=-5))
    text = _render(ShortPan(pan.SUCCESSFUL, datetime(2024, 1, 1, 19, 0, 0, 123456, tzinfo=eastern)))
    assert text.splitlines()[-1] == "TIME_STAMP = 2024-01-02T00:00:00Z;"
    assert _render(ShortPan(pan.SUCCESSFUL, datetime(2024, 1, 2, tzinfo=UTC))) == text


@pytest.mark.parametrize("message, words", [
    (ShortPan(pan.SUCCESSFUL, None), "always has a time stamp"),
    (ShortPan(pan.FILES_NOT_FOUND, datetime(2024, 1, 1)), "never has a time stamp"),
    (LongPan((PanFile("d", "f", pan.CHECKSUM_VERIFICATION_FAILURE, None),)), "always has a time stamp"),
    (ShortPdrd('SAY "HI"'), "without"),
    (ShortPdrd("X" * 65), "1 to 64"),
    (ShortPdrd(""), "1 to 64"),
    (ShortPdrd("CAF\u00c9"), "printable ASCII"),
    (LongPdrd(()), "at least one"),
    (LongPan(()), "at least one"),
    (LongPan((PanFile("a\"b'c", "f", pan.NETWORK_FAILURE, None),)), "both kinds of quote"),
    (LongPan((PanFile("d", "f\n", pan.NETWORK_FAILURE, None),)), "printable ASCII"),
])
def test_writer_refuses_what_the_tables_forbid(message: pan.Pdrd | pan.Pan, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        _render(message)


def test_stamp_rules_leave_unlisted_dispositions_free() -> None:
    for stamp in (None, datetime(2024, 1, 1)):
        assert _render(ShortPan(pan.ECS_INTERNAL_ERROR, stamp))  # footnote 6: sometimes null
        assert _render(ShortPan("FAILED", stamp))  # a peer's free text


def test_values_are_quoted_only_when_pvl_needs_it() -> None:
    text = _render(LongPdrd((PdrdGroup("", pan.INVALID_DATA_TYPE), PdrdGroup("MOD09GQ", pan.SUCCESSFUL))))
    assert 'DATA_TYPE = "";' in text and "DATA_TYPE = MOD09GQ;" in text
    files = (PanFile("/a b/c", "x;y", pan.NETWORK_FAILURE, None), PanFile('/q"', "a/*b", pan.SUCCESSFUL,
                                                                       datetime(2024, 1, 1)))
    text = _render(LongPan(files))
    assert 'FILE_DIRECTORY = "/a b/c";' in text and 'FILE_NAME = "x;y";' in text
    assert "FILE_DIRECTORY = '/q\"';" in text and 'FILE_NAME = "a/*b";' in text
    assert pan.parse_pan(text) == LongPan(files)


def test_pdrd_for_chooses_short_when_every_group_failed_alike() -> None:
    same = [PdrdGroup("A", pan.INVALID_DATA_TYPE, "g1"), PdrdGroup("B", pan.INVALID_DATA_TYPE, "g2")]
    short = pan.pdrd_for(same)
    assert short == ShortPdrd(pan.INVALID_DATA_TYPE) and short.detail == "g1; g2"
    mixed = [PdrdGroup("A", pan.INVALID_DATA_TYPE), PdrdGroup("B", pan.INVALID_FILE_ID)]
    assert pan.pdrd_for(mixed) == LongPdrd(tuple(mixed))
    some_ok = [PdrdGroup("A", pan.INVALID_FILE_ID), PdrdGroup("B", pan.SUCCESSFUL)]
    assert pan.pdrd_for(some_ok) == LongPdrd(tuple(some_ok))
    with pytest.raises(ValueError):
        pan.pdrd_for([PdrdGroup("A", pan.SUCCESSFUL)])


def test_pan_for_chooses_short_when_every_file_ended_alike() -> None:
    t1, t2 = datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11)
    ok = [PanFile("d", "a", pan.SUCCESSFUL, t1), PanFile("d", "b", pan.SUCCESSFUL, t2)]
    assert pan.pan_for(ok) == ShortPan(pan.SUCCESSFUL, t2)
    gone = [PanFile("d", "a", pan.FILES_NOT_FOUND, t1), PanFile("d", "b", pan.FILES_NOT_FOUND, None)]
    assert pan.pan_for(gone) == ShortPan(pan.FILES_NOT_FOUND, None)
    mixed = [ok[0], gone[1]]
    assert pan.pan_for(mixed) == LongPan(tuple(mixed))
    with pytest.raises(ValueError):
        pan.pan_for([])


def test_response_names() -> None:
    assert pan.response_name("LATIS123.20010719123845.PDR", "PAN") == "LATIS123.20010719123845.PAN"
    assert pan.response_name("a.b.pdr", "PDRD") == "a.b.PDRD"
    for bad in (".PDR", "x.PAN", "PDR"):
        with pytest.raises(ValueError):
            pan.response_name(bad, "PAN")
    with pytest.raises(ValueError):
        pan.response_name("x.PDR", "DN")


@pytest.mark.parametrize("text, parse", [
    ("MESSAGE_TYPE = SHORTPAN;\nDISPOSITION = \"X\";\n", pan.parse_pdrd),
    ("MESSAGE_TYPE = SHORTPDRD;\n", pan.parse_pdrd),
    ("MESSAGE_TYPE = SHORTPDRD;\nDISPOSITION = \"X\";\nEXTRA = 1;\n", pan.parse_pdrd),
    ("MESSAGE_TYPE = LONGPDRD;\nNO_FILE_GRPS = two;\n", pan.parse_pdrd),
    ("MESSAGE_TYPE = LONGPDRD;\nNO_FILE_GRPS = 1;\nDATA_TYPE = A;\n", pan.parse_pdrd),
    ("", pan.parse_pan),
    ("DISPOSITION = \"X\";\n", pan.parse_pan),
    ("MESSAGE_TYPE = SHORTPAN;\nDISPOSITION = \"X\";\nTIME_STAMP = yesterday;\n", pan.parse_pan),
    ("MESSAGE_TYPE = SHORTPAN;\nDISPOSITION = \"X\";\nTIME_STAMP = 2024-02-30T00:00:00Z;\n", pan.parse_pan),
    ("MESSAGE_TYPE = LONGPAN;\nNO_OF_FILES = 1;\nFILE_DIRECTORY = d;\nFILE_NAME = f;\n", pan.parse_pan),
])
def test_parser_refuses_what_is_not_the_message(text: str, parse: object) -> None:
    with pytest.raises(PvlError):
        parse(text)  # type: ignore[operator]


_WORD = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"'), max_size=30)
_DISPOSITION = st.one_of(st.sampled_from([pan.SUCCESSFUL, pan.NETWORK_FAILURE, pan.ECS_INTERNAL_ERROR,
                                          pan.INVALID_FILE_ID, "FAILED A"]),
                         st.from_regex(r"[A-Z][A-Z /_-]{0,62}[A-Z]", fullmatch=True))
_STAMP = st.one_of(st.none(), st.datetimes(datetime(1970, 1, 1), datetime(2999, 12, 31)).map(
    lambda d: d.replace(microsecond=0)))


def _stamped(disposition: str, stamp: datetime | None) -> datetime | None:
    if disposition in pan.STAMP_NEVER:
        return None
    return stamp or (datetime(2024, 1, 1) if disposition in pan.STAMP_ALWAYS else None)


_PAN_FILE = st.builds(lambda d, n, disp, s: PanFile(d, n, disp, _stamped(disp, s)), _WORD, _WORD, _DISPOSITION, _STAMP)
_MESSAGES = st.one_of(
    st.builds(ShortPdrd, _DISPOSITION),
    st.lists(st.builds(PdrdGroup, _WORD, _DISPOSITION), min_size=1, max_size=5).map(lambda g: LongPdrd(tuple(g))),
    st.builds(lambda d, s: ShortPan(d, _stamped(d, s)), _DISPOSITION, _STAMP),
    st.lists(_PAN_FILE, min_size=1, max_size=5).map(lambda f: LongPan(tuple(f))),
)


@FUZZ
@given(_MESSAGES)
def test_render_then_parse_is_the_identity(message: pan.Pdrd | pan.Pan) -> None:
    text = _render(message)
    assert text.isascii() and text.endswith(";\n")
    parsed = pan.parse_pdrd(text) if isinstance(message, ShortPdrd | LongPdrd) else pan.parse_pan(text)
    assert parsed == message
    assert _render(parsed) == text
