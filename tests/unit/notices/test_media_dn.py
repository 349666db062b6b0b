"""The physical media DN (Table 4.3.6-2) against the ICD's two example notices, byte for byte."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.notices.media_dn import (
    MediaFile,
    MediaGranule,
    MediaNotice,
    MediaVolume,
    contact_lines,
    media_dn_subject,
    media_id,
    media_notice_subject,
    media_rejection_subject,
    parse_media_dn,
    render_media_dn,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
SHARED = Path(os.environ.get("ARDIS_SHARED_DIR", Path(__file__).resolve().parents[4] / "shared"))

SHIPMENT_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.   "
    "For more information on your request contact the DAAC.   \n \n"
    "Please include the data below in any correspondence with the DAAC. \n \nThank You! "
)
REJECTION_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.  We apologize for not being able "
    "to distribute the requested data.  For more information on your request contact the DAAC. \n  \nThank You! \n   "
)


def joan(phone: str, email: str) -> list[str]:
    return contact_lines(first_name="Joan", last_name="Requester", title="Ms", organization="ECS",
                         address="1616 McCormick Drive", city="Landover", state="MD", zip_code="22222",
                         country="UNITED STATES", phone=phone, fax=phone.replace("771", "651"), email=email)


SHIPMENT = MediaNotice(  # Figure 4.3.6-3
    order_id="0300016813", request_id="0300018199", completed=datetime(2005, 5, 2, 15, 45, 28),
    shipping_address=joan("111-111-1111", "Richard_F_Strub@raytheon.com"), count=8, count_unit="files",
    volumes=[MediaVolume("0300018199_001", "CDROM", "RockRidge", [
        MediaGranule("1", "SC:AST_L1BT.001:17863", "Completed", [MediaFile("labtest_13683"),
                                                                 MediaFile("labtest_13683.xml")]),
        MediaGranule("2", "SC:AST_L1BT.001:17864", "Completed", [MediaFile("labtest_13684"),
                                                                 MediaFile("labtest_13684.xml")]),
        MediaGranule("3", "SC:AST_L1B.002:17696", "Completed", [MediaFile("pg-PR1B0000-2000112102_027_001"),
                                                                MediaFile("pg-PR1B0000-2000112102_027_001.xml")]),
        MediaGranule("4", "SC:MOD09GHK.003:17825", "Completed", [
            MediaFile("MOD09GHK.A2002123.h11v05.003.2002128130140.hdf"),
            MediaFile("MOD09GHK.A2002123.h11v05.003.2002128130140.hdf.xml")]),
    ])],
    support_contacts=contact_lines(organization="EDF", address="1616 McCormick Drive", city="Landover",
                                   state="MD", zip_code="20716", phone="(111)111-1111", fax="(111)111-1111",
                                   email="userservice@email"),
)

REJECTED_URS = ["AST_L1BT.001:17867", "AST_L1BT.001:17863", "AST_L1BT.001:17864", "AST_L1A.002:17695",
                "AST_L1B.002:17696", "AST_L1B.003:17698", "AST_L1B.001:16788", "MOD021KM.004:17860",
                "MOD13A1.004:17871", "MOD11A1.004:17870", "MOD09A1.004:17851", "MOD03.001:17764",
                "MOD09GHK.003:17825", "MOD09A1.004:17821", "MOD09GHK.003:17827"]
REJECTION = MediaNotice(  # Figure 4.3.6-4
    order_id="0300016845", request_id="0300018231", completed=datetime(2005, 5, 3, 9, 48, 2),
    shipping_address=joan("301-925-0771", "He_Liu@raytheon.com"), count=15, count_unit="files",
    volumes=[MediaVolume(None, "CDROM", "RockRidge",
                         [MediaGranule(str(i), f"SC:{u}", "Canceled") for i, u in enumerate(REJECTED_URS, 1)])],
)


def golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


def test_figure_4_3_6_3_shipment_byte_for_byte() -> None:
    assert render_media_dn(SHIPMENT, SHIPMENT_PREAMBLE) == golden("media_dn_shipment_example.txt")


def test_figure_4_3_6_4_rejection_byte_for_byte() -> None:
    assert render_media_dn(REJECTION, REJECTION_PREAMBLE) == golden("media_dn_rejection_example.txt")


def test_golden_files_parse_back() -> None:
    assert parse_media_dn(golden("media_dn_shipment_example.txt")) == SHIPMENT
    assert parse_media_dn(golden("media_dn_rejection_example.txt")) == REJECTION


def _icd_examples() -> tuple[str, str, str, str]:
    """The four copies at the top of the ICD: rejection ×4 and ×2 spaced, shipment ×1 and ×2."""
    (icd,) = (SHARED / "seeds").glob("003_*.txt")
    raw = icd.read_text(encoding="utf-8")
    rejection, shipment = raw[: raw.index(" Preface")].split("[image: image5.emf]")
    second = rejection.index("Thank you", 10)
    third = shipment.index("Thank you", 10)
    return rejection[:second], rejection[second:], shipment[:third], shipment[third:]


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="ICD seeds not present")
def test_golden_files_are_the_icd_examples() -> None:
    """Guards the golden files: the ICD's text with exactly the repairs tests/golden/README.md names."""
    rej4, rej2, ship1, ship2 = _icd_examples()
    shipment = ship1.lstrip("\n")
    end = shipment.index(".hdf.xml \n \n") + len(".hdf.xml \n \n")
    assert shipment[:end] == golden("media_dn_shipment_example.txt")  # verbatim
    assert ship2.replace("\n\n", "\n").startswith(shipment[:end - 2])  # the doubled copy says the same
    rejection = rej2.replace("\n\n", "\n")
    assert rej4.lstrip(" ").replace("\n\n\n\n", "\n").startswith(rejection[:rejection.index("\n14 ")])
    wraps = ("able \nto distribute", "MEDIA FORMAT : \nRockRidge")
    for wrap in wraps:  # the figure was wrapped at 100 columns: both joined lines are longer
        rejection = rejection.replace(wrap, wrap.replace("\n", ""))
        (joined,) = [line for line in rejection.split("\n") if wrap.replace("\n", "") in line]
        assert len(joined) > 100
    assert "SC:MOD09GHK.003:17827 \n" in rej4  # the doubled copy lost this trailing blank
    rejection = rejection.replace("SC:MOD09GHK.003:17827\n \n", "SC:MOD09GHK.003:17827 \n \n")
    assert rejection.rstrip("\n") + "\n" == golden("media_dn_rejection_example.txt")


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="ICD seeds not present")
def test_parser_reads_the_icd_text_with_its_wrapped_media_format() -> None:
    _, rej2, _, _ = _icd_examples()
    assert parse_media_dn(rej2.replace("\n\n", "\n")) == REJECTION
    assert parse_media_dn(golden("media_dn_rejection_example.txt").replace("\n", "\r\n")) == REJECTION


def test_subjects() -> None:
    assert media_dn_subject("LP DAAC", "0300016813") == "LP DAAC ECS Order Shipment Notification Order ID: 0300016813"
    assert media_rejection_subject("EDF", "0300016845") == "EDF ECS Order Rejection Notification Order ID: 0300016845"
    assert media_notice_subject("EDF", SHIPMENT) == media_dn_subject("EDF", "0300016813")
    assert media_notice_subject("EDF", REJECTION) == media_rejection_subject("EDF", "0300016845")


def test_contact_lines_leave_out_null_values() -> None:
    assert contact_lines(first_name="Joan", middle_initial="Q", last_name="Requester") == ["Joan Q Requester"]
    assert contact_lines(address="Bldg 32\n  Room 5 \n", state="MD", country=" ") == ["Bldg 32", "Room 5", "MD"]
    assert contact_lines(city="Landover", zip_code="20716", email="a@b") == ["Landover, 20716", "E-Mail: a@b"]
    assert media_id("0300018199", 1) == "0300018199_001"


TWO_VOLUMES = MediaNotice(
    order_id="ORD1", request_id="REQ1", completed=datetime(2024, 2, 29, 23, 59, 59), shipping_address=[],
    count=3, count_unit="granules", checksums=True,
    volumes=[
        MediaVolume("REQ1_001", "DVD", "RockRidge", [
            MediaGranule("1", "SC:MOD09GHK.003:1", "Completed", [
                MediaFile("a.hdf", "CKSUM", "4294967295"), MediaFile("a.hdf.met")]),
            MediaGranule("2", "SC:MOD09GHK.003:2", "Canceled")]),
        MediaVolume("REQ1_002", "DVD", "RockRidge", [
            MediaGranule("1", "SC:MOD09GHK.003:3", "Completed", [
                MediaFile("b.hdf", "MD5", "0123456789abcdef0123456789abcdef")])]),
    ],
)


def test_checksum_layout_and_volume_sections() -> None:
    text = render_media_dn(TWO_VOLUMES, "Preamble.")
    assert text == (
        "Preamble.\n \n++++++++++ \nOrderID/RequestID: ORD1:REQ1 \nCompletion Date: 2024-02-29 23:59:59 \n \n"
        "Number of granules: 3 \n"
        "Media 1 of 2 \n" + "_" * 100 + " \nREQ1_001" + " " * 17 + "MEDIA TYPE: DVD" + " " * 34
        + "MEDIA FORMAT : RockRidge \n" + "_" * 100 + " \n"
        "Directory" + " " * 17 + "Status" + " " * 34 + "Granule ID \nFILECKSUMTYPE \nFile Name \nFILECKSUMVALUE \n \n"
        "1" + " " * 17 + "Completed" + " " * 17 + "SC:MOD09GHK.003:1 \n"
        "CKSUM \na.hdf \n4294967295 \n \na.hdf.met \n \n \n"
        "2" + " " * 17 + "Canceled" + " " * 17 + "SC:MOD09GHK.003:2 \n \n"
        "Media 2 of 2 \n" + "_" * 100 + " \nREQ1_002" + " " * 17 + "MEDIA TYPE: DVD" + " " * 34
        + "MEDIA FORMAT : RockRidge \n" + "_" * 100 + " \n"
        "Directory" + " " * 17 + "Status" + " " * 34 + "Granule ID \nFILECKSUMTYPE \nFile Name \nFILECKSUMVALUE \n \n"
        "1" + " " * 17 + "Completed" + " " * 17 + "SC:MOD09GHK.003:3 \n"
        "MD5 \nb.hdf \n0123456789abcdef0123456789abcdef \n \n"
    )
    assert parse_media_dn(text) == TWO_VOLUMES
    assert not TWO_VOLUMES.rejected


def _with(notice: MediaNotice, **change: Any) -> MediaNotice:
    return replace(notice, **change)


def _volume(*granules: MediaGranule, mid: str | None = "0300018199_001", kind: str = "CDROM") -> list[MediaVolume]:
    return [MediaVolume(mid, kind, "RockRidge", list(granules))]


def _done(*files: MediaFile, directory: str = "1", ur: str = "SC:X.001:1") -> MediaGranule:
    return MediaGranule(directory, ur, "Completed", list(files))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_id": "03000168130"}, "OrderID"),
        ({"request_id": "03-1"}, "RequestID"),
        ({"support_contacts": ["x"] * 12}, "up to 11 lines"),
        ({"shipping_address": ["two  blanks"]}, "Shipping Address"),
        ({"shipping_address": ["+" * 10]}, "delimiter"),
        ({"count_unit": "tapes"}, "Number of"),
        ({"count": -1}, "Number of"),
        ({"volumes": []}, "at least one volume"),
        ({"volumes": _volume(_done(MediaFile("a")), mid="0300018198_001")}, "Media_ID"),
        ({"volumes": _volume(_done(MediaFile("a")), mid=None)}, "Media_ID"),
        ({"volumes": _volume(_done(MediaFile("a")), kind="CD-ROMS")}, "MEDIA TYPE"),
        ({"volumes": _volume()}, "no granules"),
        ({"volumes": _volume(_done(directory="123456"))}, "Directory is limited to 5"),
        ({"volumes": _volume(_done(ur="SC:" + "X" * 30))}, "Granule ID is limited to 32"),
        ({"volumes": _volume(MediaGranule("1", "SC:X.001:1", "Complete"))}, "Status"),
        ({"volumes": _volume(_done(MediaFile("f" * 256)))}, "File Name is limited to 255"),
        ({"volumes": _volume(_done(MediaFile("a\tb")))}, "File Name must be one line"),
        ({"volumes": _volume(_done(MediaFile("Media 2 of 3")))}, "Media k of n"),
        ({"volumes": _volume(_done(MediaFile("a", "MD5", "ABC")))}, "checksum list"),
        ({"volumes": _volume(_done(MediaFile("a", "MD5")))}, "go together"),
        ({"volumes": _volume(_done(MediaFile("a", "MD5", "ABCDEF0123456789ABCDEF0123456789")),
                             MediaGranule("2", "SC:X.001:2", "Completed")), "checksums": True}, "MD5"),
        ({"volumes": _volume(MediaGranule("1", "SC:X.001:1", "Canceled", [MediaFile("a")]),
                             _done(directory="2"))}, "can list no files"),
        ({"volumes": _volume(MediaGranule("1", "SC:X.001:1", "Canceled"))}, "rejection notice has no Media_ID"),
    ],
)
def test_table_4_3_6_2_limits_are_enforced(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_media_dn(_with(SHIPMENT, **change), SHIPMENT_PREAMBLE)


@pytest.mark.parametrize("preamble", ["Call\n++++++++++\n", "See OrderID/RequestID: below", "Support Contacts: us"])
def test_preamble_may_not_contain_the_delimiter_or_items(preamble: str) -> None:
    with pytest.raises(ValueError, match="preamble"):
        render_media_dn(SHIPMENT, preamble)


def test_not_a_media_notice() -> None:
    with pytest.raises(ValueError, match="not a physical media"):
        parse_media_dn("Dear user,\n\nnothing here.\n")


# Round trip: every notice render_media_dn accepts comes back equal.
names = st.from_regex(r"[!-~]{1,12}( [!-~]{1,12}){0,2}", fullmatch=True).filter(
    lambda n: not n.startswith("Media ") and set(n) != {"+"})
tokens = st.from_regex(r"[!-~]{1,20}", fullmatch=True)
checksum = st.one_of(st.tuples(st.just("MD5"), st.from_regex(r"[0-9a-f]{32}", fullmatch=True)),
                     st.tuples(st.sampled_from(["CKSUM", "ECS"]), st.from_regex(r"-?[0-9]{1,20}", fullmatch=True)))
ids = st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0))


@st.composite
def notices(draw: st.DrawFn) -> MediaNotice:
    request_id, with_checksums, rejected = draw(ids), draw(st.booleans()), draw(st.booleans())
    volumes = []
    for v in range(draw(st.integers(1, 3))):
        granules = []
        for d in range(draw(st.integers(1, 4))):
            canceled = rejected or draw(st.booleans())
            files = [] if canceled else [
                MediaFile(draw(names), *(draw(st.one_of(st.just((None, None)), checksum)) if with_checksums
                                         else (None, None)))
                for _ in range(draw(st.integers(0, 3)))]
            granules.append(MediaGranule(str(d + 1), f"SC:{draw(tokens)}", "Canceled" if canceled else "Completed",
                                         files))
        volumes.append(MediaVolume(None if rejected else media_id(request_id, v + 1),
                                   draw(st.sampled_from(["CDROM", "CD-ROM", "DVD", "DLT"])),
                                   draw(st.sampled_from(["RockRidge", "DEFAULT", "TAR", "TARFORMAT"])), granules))
    notice = MediaNotice(
        order_id=draw(ids), request_id=request_id, completed=draw(moments),
        shipping_address=draw(st.lists(names, max_size=9)), count=draw(st.integers(0, 10**6)),
        count_unit=draw(st.sampled_from(["files", "granules"])), volumes=volumes,
        support_contacts=draw(st.lists(names, max_size=11)), checksums=with_checksums,
    )
    if not notice.rejected:
        return notice
    # a rejection has no Media_ID and lists no files, so it cannot say whether the user is on the checksum list
    return replace(notice, checksums=False, volumes=[replace(v, media_id=None) for v in notice.volumes])


@settings(max_examples=300, deadline=None)
@given(notice=notices(), preamble=st.sampled_from([SHIPMENT_PREAMBLE, REJECTION_PREAMBLE, "", "One line."]))
def test_round_trip(notice: MediaNotice, preamble: str) -> None:
    text = render_media_dn(notice, preamble)
    assert text.endswith(" \n") and "\r" not in text
    assert parse_media_dn(text) == notice
