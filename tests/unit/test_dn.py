"""The FTP/scp Distribution Notice against the ICD's example notices, byte for byte."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

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

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CORPUS_DN = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pdr" / "dn"
ICD_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.   "
    "For more information on your request please contact User Services. "
)
UR = "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[{site}:DSSDSRV]:{n}:SC:{esdt}:{id}"


def ur(site: str, esdt: str, dbid: int) -> str:
    short = f"SC:{esdt}:{dbid}"
    return UR.format(site=site, n=len(short), esdt=esdt, id=dbid)


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


def test_figure_4_3_6_1_ftppull_dn_byte_for_byte() -> None:
    golden = (GOLDEN / "dn_ftppull_example.txt").read_text()
    assert render_dn(FIGURE_1, ICD_PREAMBLE) == golden


def test_figure_4_3_6_2_failed_dn_byte_for_byte() -> None:
    golden = (GOLDEN / "dn_failed_ftppush_example.txt").read_text()
    _, body = split_preamble(render_dn(FIGURE_2, "Your request was cancelled."))
    assert body == golden


def test_golden_files_parse_back() -> None:
    assert parse_dn((GOLDEN / "dn_ftppull_example.txt").read_text()) == FIGURE_1
    parsed = parse_dn((GOLDEN / "dn_failed_ftppush_example.txt").read_text())
    assert parsed == FIGURE_2


def test_subject() -> None:
    assert dn_subject("GSFC", "0400002119") == "GSFC ECS Order Notification Order ID: 0400002119"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_id": "04000021190"}, "ORDERID"),
        ({"request_id": "04-1"}, "REQUESTID"),
        ({"userstring": "u" * 256}, "USERSTRING"),
        ({"ftp_host": "h" * 65}, "FTPHOST"),
    ],
)
def test_field_sizes_of_table_4_3_6_1(change: dict[str, str], message: str) -> None:
    notice = DistributionNotice(**{**FIGURE_1.__dict__, **change})
    with pytest.raises(ValueError, match=message):
        render_dn(notice, ICD_PREAMBLE)


@pytest.mark.parametrize("preamble", ["Call +1 555", "See ORDERID: below"])
def test_preamble_may_not_contain_plus_or_keywords(preamble: str) -> None:
    with pytest.raises(ValueError, match="preamble"):
        render_dn(FIGURE_1, preamble)


text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="+"), max_size=40)
names = st.from_regex(r"[A-Za-z0-9_.]{1,30}", fullmatch=True)
files = st.builds(
    DnFile, names, st.integers(0, 10**12),
    st.sampled_from([None, "CKSUM", "MD5"]), st.from_regex(r"[0-9a-f]{8,32}", fullmatch=True),
).map(lambda f: DnFile(f.name, f.size, f.checksum_type, f.checksum_value if f.checksum_type else None))
granules = st.builds(
    lambda esdt, dbid, fail, fs: DnGranule(ur("ARDIS", esdt, dbid), esdt, fail, fs if fs else []),
    st.from_regex(r"[A-Z0-9_]{1,8}\.0[0-9]{2}", fullmatch=True), st.integers(1, 10**6),
    st.one_of(st.none(), text.filter(lambda t: t.strip() == t and t != "")), st.lists(files, max_size=3),
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)).map(
    lambda d: d.replace(microsecond=0))


@settings(max_examples=150, deadline=None)
@given(order_id=st.from_regex(r"[0-9]{10}", fullmatch=True), userstring=text.filter(lambda t: t == t.rstrip()),
       finished=moments, media=st.sampled_from(["FtpPull", "FtpPush", "scp", "SmbPush"]),
       host=st.from_regex(r"[a-z0-9.]{1,40}", fullmatch=True), directory=st.from_regex(r"/[a-z0-9/]{0,40}",
                                                                                         fullmatch=True),
       expires=st.one_of(st.none(), moments), gs=st.lists(granules, min_size=1, max_size=4),
       failure=st.sampled_from([None, "The request failed", "The request was cancelled"]))
def test_round_trip(order_id: str, userstring: str, finished: datetime, media: str, host: str, directory: str,
                    expires: datetime | None, gs: list[DnGranule], failure: str | None) -> None:
    if failure:  # a failed DN lists granules and their status only (Figure 4.3.6-2)
        gs = [DnGranule(g.ur, g.esdt, g.failure or "Request Canceled", []) for g in gs]
    notice = DistributionNotice(order_id, order_id, userstring, finished, media, host, directory, expires, gs, failure)
    assert parse_dn(render_dn(notice, "Preamble text.")) == notice


@pytest.mark.skipif(not CORPUS_DN.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize("name", ["S4PA_DNacq_t__DN_ftppush_success.notifyxyz",
                                  "S4PA_DNacq_t__DN_ftppush_failure.notifyxyz"])
def test_real_dns_from_s4pa_parse(name: str) -> None:
    """S4PA's notices: no blank lines around the delimiter, blanks for tabs, bare URs when failed."""
    dn = parse_dn((CORPUS_DN / name).read_text(errors="replace"))
    assert dn.media_type == "FtpPush"
    (granule,) = dn.granules
    if "failure" in name:
        assert (dn.failure, dn.order_id, dn.userstring) == ("The request failed", "NONE", "ML0ENG3")
        assert granule.esdt == "ML0ENG3.001" and granule.ur.endswith(":81420563")
    else:
        assert granule.esdt == "D5OTVDYN.001"
        assert [(f.name, f.size, f.checksum_type) for f in granule.files] == [
            ("mydata", 29, "CKSUM"), ("mydata.cr.txt", 35, "MD5"), ("mydata.met", 20, None)]
