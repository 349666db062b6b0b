"""The FTP/scp Distribution Notice against the ICD's example notices, byte for byte."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.notices.dn import (
    DistributionNotice,
    DnFile,
    DnGranule,
    dn_subject,
    parse_dn,
    render_dn,
    split_preamble,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
SHARED = Path(os.environ.get("ARDIS_SHARED_DIR", Path(__file__).resolve().parents[4] / "shared"))
CORPUS_DN = SHARED / "corpus" / "pdr" / "dn"
ICD_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.   "
    "For more information on your request please contact User Services. "
)
# The one place where Ardis writes Figure 4.3.6-1 differently (see the dn module docstring).
FIGURE_1_DEVIATION = ("\t\tFILECKSUMTYPE:  CKSUM\n", "\t\tFILECKSUMTYPE: CKSUM\n")


def ur(site: str, esdt: str, dbid: int) -> str:
    server, short = f"[{site}:DSSDSRV]", f"SC:{esdt}:{dbid}"
    return f"UR:10:DsShESDTUR:UR:15:DsShSciServerUR:{len(server)}:{server}:{len(short)}:{short}"


FIGURE_1 = DistributionNotice(
    order_id="0400002119", request_id="0400002504", userstring="", finished=datetime(2002, 3, 19, 14, 28, 32),
    media_type="FtpPull", ftp_host="f2spg01.hitc.com", ftp_dir="0400002257qdRhSc",
    ftp_expires=datetime(2002, 3, 21, 23, 59, 59),
    granules=[
        DnGranule(ur("FN2", "L70R.002", 17720), "L70R.002",
                  "Granule retrieval failed. Please contact User Services", [DnFile("N/A", 0)]),
        DnGranule(ur("FN2", "L70R.002", 18889), "L70R.002", None, [
            DnFile("L72SGS249922408010_B81.07848a3", 428313600, "CKSUM", "948573930871237645834572348975"),
            DnFile("L72SGS249922408010_MTP.07848a3", 65535, "CKSUM", "948573930994887211737375723489"),
        ]),
    ],
)

FIGURE_2 = DistributionNotice(
    order_id="0400004256", request_id="0400004272", userstring="Testing", finished=datetime(2007, 4, 12, 18, 31, 50),
    media_type="FtpPush", ftp_host="origin.hitc.com", ftp_dir="/home/labuser/testdir", ftp_expires=None,
    granules=[DnGranule(ur("EDF", "AE_Land.086", 20396), "AE_Land.086", "Request Canceled"),
              DnGranule(ur("EDF", "AE_Land.086", 20316), "AE_Land.086", "Request Canceled")],
    failure="The request was cancelled",
)


def golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


def test_urs_of_the_examples_are_rebuilt_exactly() -> None:
    expected = "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[FN2:DSSDSRV]:17:SC:L70R.002:17720"
    assert ur("FN2", "L70R.002", 17720) == expected


def test_figure_4_3_6_1_ftppull_dn_byte_for_byte() -> None:
    text = golden("dn_ftppull_example.txt")
    assert text.count(FIGURE_1_DEVIATION[0]) == 1  # the example's one double blank, nothing else differs
    assert render_dn(FIGURE_1, ICD_PREAMBLE) == text.replace(*FIGURE_1_DEVIATION)


def test_figure_4_3_6_2_failed_dn_byte_for_byte() -> None:
    preamble, body = split_preamble(render_dn(FIGURE_2, "Your request was cancelled."))
    assert preamble == "Your request was cancelled."
    assert body == golden("dn_failed_ftppush_example.txt")


def test_golden_files_parse_back() -> None:
    assert parse_dn(golden("dn_ftppull_example.txt")) == FIGURE_1
    assert parse_dn(golden("dn_failed_ftppush_example.txt")) == FIGURE_2


def _single_spaced(raw: str) -> str:
    """Undo the ICD text extraction: 3 newlines per line break, 6 around a blank line."""
    def lines(m: re.Match[str]) -> str:
        assert len(m.group()) % 3 == 0
        return "\n" * (len(m.group()) // 3)
    return re.sub(r"\n+", lines, raw)


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="ICD seeds not present")
def test_golden_files_are_the_icd_examples() -> None:
    """Guards the golden files themselves: they are the ICD's figures, re-spaced, nothing else."""
    (icd,) = (SHARED / "seeds").glob("003_*.txt")
    raw = icd.read_text(encoding="utf-8")
    tail = raw[raw.rindex("Thank you for using the Earth Observing System") :]
    figure_1, figure_2 = tail.split("\n" * 15, 1)  # four blank lines between the two figures
    # Figure 1 ends with the blank line that follows every file entry; the extraction
    # leaves one stray blank after Figure 2's last line.
    assert _single_spaced(figure_1) + "\n\n" == golden("dn_ftppull_example.txt")
    assert _single_spaced(figure_2.removesuffix("\n ")) + "\n" == golden("dn_failed_ftppush_example.txt")


def test_subject() -> None:
    assert dn_subject("GSFC", "0400002119") == "GSFC ECS Order Notification Order ID: 0400002119"


def _with(notice: DistributionNotice, **change: Any) -> DistributionNotice:
    return replace(notice, **change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_id": "04000021190"}, "ORDERID"),
        ({"order_id": ""}, "ORDERID"),
        ({"request_id": "04-1"}, "REQUESTID"),
        ({"userstring": "u" * 256}, "USERSTRING is limited to 255"),
        ({"userstring": "two\nlines"}, "USERSTRING must be one line"),
        ({"ftp_host": "h" * 65}, "FTPHOST is limited to 64"),
        ({"ftp_dir": "d" * 256}, "FTPDIR is limited to 255"),
        ({"media_type": "CDROM"}, "MEDIATYPE"),
        ({"media_type": "FtpPush"}, "FTPEXPR is for FtpPull only"),
        ({"failure": "It broke"}, "FAILURE message"),
        ({"granules": [DnGranule("UR:1 2", "X.001")]}, "GRANULE"),
        ({"granules": [DnGranule("UR:x", "X.001", "  ")]}, "explanation"),
        ({"granules": [DnGranule("UR:x", "X.001", None, [DnFile("f" * 266, 1)])]}, "FILENAME is limited to 265"),
        ({"granules": [DnGranule("UR:x", "X.001", None, [DnFile("f ", 1)])]}, "FILENAME may not"),
        ({"granules": [DnGranule("UR:x", "X.001", None, [DnFile("f", 1, "MD5")])]}, "go together"),
    ],
)
def test_table_4_3_6_1_limits_are_enforced(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_dn(_with(FIGURE_1, **change), ICD_PREAMBLE)


def test_limits_are_inclusive_and_none_is_an_id() -> None:
    notice = _with(FIGURE_1, order_id="NONE", request_id="NONE", userstring="u" * 255, ftp_host="h" * 64)
    assert parse_dn(render_dn(notice, ICD_PREAMBLE)) == notice


@pytest.mark.parametrize("preamble", ["Call +1 555", "See ORDERID: below", "FAILURE: none"])
def test_preamble_may_not_contain_plus_or_keywords(preamble: str) -> None:
    with pytest.raises(ValueError, match="preamble"):
        render_dn(FIGURE_1, preamble)


def test_failure_explanations_are_flattened_to_one_line() -> None:
    notice = _with(FIGURE_2, granules=[DnGranule(ur("A", "X.001", 1), "X.001", "ftp: 550\n  no such\tdir\n")])
    assert "\t\t STATUS: DISTRIBUTION FAILED - ftp: 550 no such dir\n" in render_dn(notice, "P.")


def test_a_failed_granule_without_explanation_has_no_status_line() -> None:
    notice = _with(FIGURE_2, granules=[DnGranule(ur("A", "X.001", 1), "X.001", None)])
    text = render_dn(notice, "P.")
    assert text.endswith("The requested granules were:\n\t\t GRANULE: UR:10:DsShESDTUR:UR:15:DsShSciServerUR:"
                          "11:[A:DSSDSRV]:10:SC:X.001:1\n")
    assert parse_dn(text) == notice


def test_parser_takes_crlf_no_delimiter_and_extra_blanks() -> None:
    text = golden("dn_ftppull_example.txt")
    assert parse_dn(text.replace("\n", "\r\n")) == FIGURE_1
    _, body = split_preamble(text)
    assert parse_dn(body) == FIGURE_1  # no preamble at all: KEYWORD: search
    with pytest.raises(ValueError, match="not a Distribution Notice"):
        parse_dn("Dear user,\n\nnothing here.\n")


# Round trip: every notice that render_dn accepts comes back equal — for a failed
# notice, what the failed format carries (no files; the ESDT is the UR's).
free_text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_categories=("Cs",)), max_size=60)
token = st.from_regex(r"[!-~]([ -~]{0,28}[!-~])?", fullmatch=True)
explanation = token.map(lambda t: " ".join(t.split()))
esdts = st.from_regex(r"[A-Za-z0-9_]{1,8}\.[0-9]{3}", fullmatch=True)
checksums = st.one_of(st.just((None, None)), st.tuples(st.sampled_from(["CKSUM", "MD5", "ECS"]),
                                                        st.from_regex(r"-?[0-9a-f]{1,32}", fullmatch=True)))
files = st.builds(lambda n, s, c: DnFile(n, s, *c), token, st.integers(0, 10**13), checksums)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0))
ids = st.one_of(st.just("NONE"), st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True))


@st.composite
def notices(draw: st.DrawFn) -> DistributionNotice:
    failure = draw(st.sampled_from([None, "The request failed", "The request was cancelled"]))
    media = draw(st.sampled_from(["FtpPull", "FtpPush", "scp", "SmbPush"]))
    granules = []
    for _ in range(draw(st.integers(0, 4))):
        esdt = draw(esdts)
        why = draw(st.one_of(st.none(), explanation))
        fs = [] if failure else draw(st.lists(files, max_size=3))
        granules.append(DnGranule(ur(draw(st.from_regex(r"[A-Z0-9]{1,5}", fullmatch=True)), esdt,
                                     draw(st.integers(1, 10**9))), esdt, why, fs))
    return DistributionNotice(
        order_id=draw(ids), request_id=draw(ids),
        userstring=draw(free_text.filter(lambda t: len(t) <= 255)), finished=draw(moments), media_type=media,
        ftp_host=draw(st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?", fullmatch=True)),
        ftp_dir=draw(free_text), ftp_expires=draw(st.one_of(st.none(), moments)) if media == "FtpPull" else None,
        granules=granules, failure=failure,
    )


@settings(max_examples=300, deadline=None)
@given(notice=notices())
def test_round_trip(notice: DistributionNotice) -> None:
    text = render_dn(notice, "Preamble text.   Questions: call User Services. ")
    assert text.endswith("\n") and "\r" not in text
    assert parse_dn(text) == notice


def _manifest_sha(name: str) -> str:
    manifest = (CORPUS_DN.parent / "MANIFEST.txt").read_text(encoding="utf-8")
    entry = manifest[manifest.index(f"dn/{name}") :]
    return re.search(r"sha256 ([0-9a-f]{12})", entry).group(1)  # type: ignore[union-attr]


@pytest.mark.skipif(not CORPUS_DN.is_dir(), reason="shared corpus (corpus/pdr/dn) not present")
def test_real_ftppush_dn_from_s4pa() -> None:
    """S4PA's test DN: no blank lines around the delimiter, blanks for tabs, ``MEDIAID:`` bare, no MEDIAFORMAT.

    MANIFEST: FtpPush, one granule D5OTVDYN.001, CKSUM and MD5, the .met file without checksum.
    """
    name = "S4PA_DNacq_t__DN_ftppush_success.notifyxyz"
    raw = (CORPUS_DN / name).read_bytes()
    assert hashlib.sha256(raw).hexdigest()[:12] == _manifest_sha(name)
    dn = parse_dn(raw.decode("utf-8"))
    assert (dn.order_id, dn.request_id, dn.userstring, dn.media_type) == ("12345", "67890", "FTP-Push", "FtpPush")
    assert (dn.finished, dn.ftp_host, dn.ftp_expires, dn.failure) == (
        datetime(2006, 6, 12, 10, 32, 57), "g0abcde.ecs.nasa.gov", None, None)
    (granule,) = dn.granules
    assert (granule.esdt, granule.failure) == ("D5OTVDYN.001", None)
    assert granule.files == [DnFile("mydata", 29, "CKSUM", "12345"), DnFile("mydata.cr.txt", 35, "MD5", "54321"),
                             DnFile("mydata.met", 20)]


@pytest.mark.skipif(not CORPUS_DN.is_dir(), reason="shared corpus (corpus/pdr/dn) not present")
def test_real_failure_dn_from_gsfc() -> None:
    """A real GES DAAC failure DN: FAILURE / The request failed, ORDERID NONE, bare URs listed."""
    name = "S4PA_DNacq_t__DN_ftppush_failure.notifyxyz"
    raw = (CORPUS_DN / name).read_bytes()
    assert hashlib.sha256(raw).hexdigest()[:12] == _manifest_sha(name)
    text = raw.decode("utf-8")
    # The same two blank lines before the closing block as Figure 4.3.6-2 (and render_dn).
    assert "FTPDIR: /ftp/private/push/TS1/ECS/DATA/MLS/\n\n\nNone of the requested" in text
    dn = parse_dn(text)
    assert (dn.failure, dn.order_id, dn.request_id, dn.userstring) == ("The request failed", "NONE", "NONE", "ML0ENG3")
    assert (dn.media_type, dn.ftp_dir) == ("FtpPush", "/ftp/private/push/TS1/ECS/DATA/MLS/")
    requested = "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[GSF:DSSDSRV]:23:SC:ML0ENG3.001:81420563"
    assert dn.granules == [DnGranule(requested, "ML0ENG3.001")]
