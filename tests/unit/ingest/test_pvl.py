"""The PVL lexer: raw values kept, real producers' habits read, what the ICD refuses refused, with a place."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.errors import PermanentError
from distribution.ingest.pvl import Block, PvlError, Statement, Value, build, parse, tokenize

settings.register_profile("pvl-fuzz", max_examples=int(os.environ.get("ARDIS_FUZZ_EXAMPLES", 300)), deadline=None)
FUZZ = settings.get_profile("pvl-fuzz")


def values(text: str) -> dict[str, Value | None]:
    return {s.key: s.value for s in tokenize(text)}


@pytest.mark.parametrize("written, raw", [
    ("006", "006"),  # the pvl package says 6
    ("'006'", "006"),
    ("73806951753129206387143405718909", "73806951753129206387143405718909"),  # it says an int
    ("8e12aa2dd8a35f8e0c8dcf2bc8a3d6b1", "8e12aa2dd8a35f8e0c8dcf2bc8a3d6b1"),
    ("8e12", "8e12"),  # it says a float
    ("2017-08-22T20:07:21", "2017-08-22T20:07:21"),  # it says a datetime
    ('"0123456789abcdef0123456789abcdef"', "0123456789abcdef0123456789abcdef"),
    ("-3033469", "-3033469"),
    ("NOT USED", "NOT USED"),  # S4PA: blanks inside an unquoted value
    ("/MODOPS/MODAPS/EDC/CUMULUS/FPROC/DATA", "/MODOPS/MODAPS/EDC/CUMULUS/FPROC/DATA"),
    (".", "."),
    ('"---NO VALUE---"', "---NO VALUE---"),
    ('""', ""),
    ("", ""),  # FILE_ID = ; is the validator's to refuse
])
def test_values_keep_their_raw_text(written: str, raw: str) -> None:
    assert values(f"KEY = {written};")["KEY"] == Value(raw, written[:1] if written[:1] in ("\"", "'") else "")


def test_quote_kind_is_kept() -> None:
    found = values("A = \"x\";\nB = 'y';\nC = z;")
    assert [(v.text, v.quote) for v in found.values() if v] == [("x", '"'), ("y", "'"), ("z", "")]


def test_names_are_case_insensitive_but_kept_as_written() -> None:
    [st_] = tokenize("File_Id = a.hdf;")
    assert (st_.key, st_.name) == ("File_Id", "FILE_ID")


def test_crlf_and_line_columns() -> None:
    found = tokenize("A = 1;\r\n  B = \"2\";\r\n\r\nC=3;")
    assert [(s.key, s.line, s.column) for s in found] == [("A", 1, 1), ("B", 2, 3), ("C", 4, 1)]
    assert [s.value.text for s in found if s.value] == ["1", "2", "3"]


def test_semicolon_may_be_left_out_at_a_line_end() -> None:
    text = "TOTAL_FILE_COUNT = 2\nNODE_NAME = XXX_NODE_NAME_XXX\nEND_OBJECT = FILE_GROUP"
    assert [(s.key, s.value.text if s.value else None) for s in tokenize(text)] == [
        ("TOTAL_FILE_COUNT", "2"), ("NODE_NAME", "XXX_NODE_NAME_XXX"), ("END_OBJECT", "FILE_GROUP")]


def test_comments_anywhere_blanks_may_stand() -> None:
    text = ("/* head */ A /* before = */ = /* after = */ 1 /* before ; */ ;\n"
            "B = x; /* multi\nline, with a curly ‘quote’ */ C = 'y' /* c */\n"
            "/*-------------------*/\nD = z /* ends the line */\n")
    assert [(s.key, s.value.text if s.value else None, s.line) for s in tokenize(text)] == [
        ("A", "1", 1), ("B", "x", 2), ("C", "y", 3), ("D", "z", 5)]


def test_value_may_start_on_the_next_line() -> None:
    assert values("A =\n   b;")["A"] == Value("b")


def test_end_stops_reading() -> None:
    assert [s.key for s in tokenize("A = 1;\nEND\nOBJECT = never closed; B = \"")] == ["A"]


def test_bytes_and_str_read_the_same() -> None:
    text = "A = 1;\nOBJECT = \"FILE_GROUP\";\nEND_OBJECT;\n"
    assert tokenize(text) == tokenize(text.encode())


def test_build_nests_aggregates_with_quoted_names_and_optional_end_names() -> None:
    root = parse('BEGIN_GROUP = PRODUCT_DELIVERY_RECORD;\n OBJECT = "FILE_GROUP";\n  DATA_TYPE = X;\n'
                 "  OBJECT = FILE_SPEC;\n   FILE_ID = f;\n  END_OBJECT;\n END_OBJECT = file_group;\n"
                 "END_GROUP = PRODUCT_DELIVERY_RECORD;\n")
    [wrapper] = root.blocks()
    assert (wrapper.kind, wrapper.name) == ("GROUP", "PRODUCT_DELIVERY_RECORD")
    [group] = wrapper.blocks()
    assert (group.kind, group.name, group.line) == ("OBJECT", "FILE_GROUP", 2)
    assert [s.key for s in group.statements()] == ["DATA_TYPE"]
    [spec] = group.blocks()
    assert isinstance(spec, Block) and [s.value for s in spec.statements()] == [Value("f")]


@pytest.mark.parametrize("text, line, column, words", [
    ("A = 1;\n/* never closed", 2, 1, "never closed"),
    ('A = "abc;\nB = 1;', 1, 5, "never closed"),
    ('A = "caf\xe9";', 1, 9, "not ASCII"),
    ("A = \u2018x\u2019;", 1, 5, "not ASCII"),
    ("A = 1;\nB = 2\x00;", 2, 6, "control character"),
    ("A = 1 B = 2;", 1, 9, "'='"),
    ("A = 1;\nB 2;", 2, 3, "'=' was expected"),
    ("= 1;", 1, 1, "parameter name"),
    ("A = (1, 2);", 1, 5, "'('"),
    ("A = {1};", 1, 5, "'{'"),
    ("A = 3 <m>;", 1, 7, "'<'"),
    ("A = x # note", 1, 7, "'#'"),
    ("A = 'q'z;", 1, 8, "';' or a line end"),
    ("A = 1;\nB =", 2, 4, "value of B"),
    ("A = 1;\nB = \n", 3, 1, "value of B"),
])
def test_errors_name_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(PvlError) as err:
        tokenize(text)
    assert (err.value.line, err.value.column) == (line, column), str(err.value)
    assert words in err.value.message
    assert str(err.value).startswith(f"line {line}, column {column}: ")
    assert isinstance(err.value, PermanentError)


@pytest.mark.parametrize("text, line, words", [
    ("OBJECT = A;\nEND_OBJECT = B;", 2, "closes OBJECT = A"),
    ("END_OBJECT = A;", 1, "closes nothing"),
    ("OBJECT = A;\nEND_GROUP = A;", 2, "closes OBJECT = A"),
    ("A = 1;\nOBJECT = FILE_SPEC;\nB = 2;", 2, "never closed"),
    ("OBJECT = ;", 1, "needs a name"),
])
def test_unbalanced_aggregates_are_errors(text: str, line: int, words: str) -> None:
    with pytest.raises(PvlError) as err:
        parse(text)
    assert err.value.line == line and words in err.value.message


def test_statement_length_limit_is_the_callers() -> None:
    long = "A = " + "x" * 252 + ";"
    assert tokenize(long, max_statement=256)[0].value == Value("x" * 252)
    with pytest.raises(PvlError, match="257 characters"):
        tokenize(long.replace(";", "y;"), max_statement=256)
    assert tokenize(long.replace(";", "y; /*" + "c" * 300 + "*/"), max_statement=257)


def test_build_takes_statements() -> None:
    assert build([Statement("A", Value("1"), 1, 1)]).items == [Statement("A", Value("1"), 1, 1)]


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_give_statements_or_a_located_error(data: bytes) -> None:
    try:
        root = parse(data)
    except PvlError as e:
        assert e.line >= 1 and e.column >= 1
    else:
        assert isinstance(root, Block)


_PVLISH = st.lists(st.sampled_from([
    "OBJECT", "END_OBJECT", "GROUP", "END_GROUP", "END", "A", " = ", "=", ";", "\n", "\r\n", '"', "'", "/*", "*/",
    "FILE_GROUP", "x y", "006", " ", "\t", "(", "#", "\u2018", "\x00",
]), max_size=40).map("".join)


@FUZZ
@given(_PVLISH)
def test_pvl_like_text_gives_statements_or_a_located_error(text: str) -> None:
    try:
        parse(text)
    except PvlError as e:
        assert 1 <= e.line <= text.count("\n") + 1


_KEY = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(lambda k: k.upper() != "END")
_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"'), max_size=40)
_BARE = st.from_regex(r"[A-Za-z0-9_.:+\-]([A-Za-z0-9_.:+\- ]{0,30}[A-Za-z0-9_.:+\-])?", fullmatch=True)


@FUZZ
@given(st.lists(st.tuples(_KEY, st.one_of(_TEXT.map(lambda t: f'"{t}"'), _BARE)), max_size=8),
       st.sampled_from([";\n", ";\r\n", "\n", " ; /* c */\n"]))
def test_written_values_read_back_unchanged(pairs: list[tuple[str, str]], end: str) -> None:
    text = "".join(f"{k} = {v}{end}" for k, v in pairs)
    assert [(s.key, s.value.text if s.value else None) for s in tokenize(text)] == [
        (k, v.strip('"') if v.startswith('"') else v) for k, v in pairs]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", [
    " " * 50_000 + "#",  # a failing statement must not re-split the blanks before it
    "/* */ " * 20_000 + "#",
    "A" + " " * 50_000 + "B",
    "A = x" + "/" * 50_000 + "#",
])
def test_pathological_blanks_fail_fast(text: str) -> None:
    with pytest.raises(PvlError):
        tokenize(text)


@pytest.mark.timeout(20)
def test_one_long_line_reads_in_linear_time() -> None:
    statements = tokenize("A=1;" * 250_000)
    assert len(statements) == 250_000 and statements[-1].column == 4 * 249_999 + 1
