"""Real PDRs, PANs and PDRDs from other ground systems (``shared/corpus/pdr``), classified as MANIFEST.txt says.

Every PDR there has an entry below: VALID, or the disposition Ardis sends. Where
the peer that wrote the sample expected something else, the entry says which of
Ardis's decisions (``distribution/ingest/pdr.py``) makes the difference. The policy is
what a DAAC would configure for these providers: MODAPS and LP DAAC deliver TGZ
packages, S4PA a DATA file type, and ASTER L1A granules come without a metadata
file (LP DAAC builds it from the XAR entries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from distribution.ingest import pan
from distribution.ingest.pan import LongPan, LongPdrd, PanFile, PdrdGroup, ShortPan, ShortPdrd
from distribution.ingest.pdr import GroupKind, Pdr, ValidationPolicy, validate_pdr

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "pdr"
if not CORPUS.is_dir():
    pytest.skip("the PDR corpus is not beside this checkout", allow_module_level=True)

POLICY = ValidationPolicy(
    extra_file_types={"*": frozenset({"TGZ"}), "OML0V": frozenset({"DATA"})},
    metadata_optional=frozenset({"AST_L1A"}),
)
VALID = "VALID"


@dataclass(frozen=True)
class Expect:
    outcome: str  # VALID or the short PDRD's disposition
    groups: int = 0
    files: int = 0
    size: int = 0
    versions: tuple[str, ...] = ()
    nodes: tuple[str | None, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)


EXPECT: dict[str, Expect] = {
    "cumulus/MOD09GQ.PDR": Expect(VALID, 1, 2, 17909733, ("006",), (None,)),
    "cumulus/MOD09GQ-multi-granule-missing-file.PDR": Expect(VALID, 2, 5, 2293616, ("006", "006")),
    "cumulus/MOD09GQ-with-MD5-checksum.PDR": Expect(VALID, 1, 2, 17909733, ("006",), ("modpdr01",)),
    "cumulus/MOD09GQ-with-NODE_NAME.PDR": Expect(VALID, 1, 2, 17909733, ("006",), ("modpdr01",)),
    # A raw-token reader keeps the 32 digits as text: a valid MD5 (Cumulus's parser chokes on the number).
    "cumulus/MOD09GQ-with-decimal-MD5-checksum.PDR": Expect(VALID, 1, 2, 17909733, ("006",)),
    "cumulus/MOD09GQ-with-invalid-CKSUM-checksum.PDR": Expect(pan.INVALID_CHECKSUM_VALUE),
    "cumulus/MOD09GQ-with-invalid-MD5-checksum.PDR": Expect(pan.INVALID_CHECKSUM_VALUE),
    "cumulus/MOD09GQ-with-invalid-file-type.PDR": Expect(pan.INVALID_FILE_TYPE),
    "cumulus/MOD09GQ-without-FILE_CKSUM_TYPE.PDR": Expect(pan.MISSING_CHECKSUM_TYPE),
    "cumulus/MOD09GQ-without-FILE_CKSUM_VALUE.PDR": Expect(pan.MISSING_CHECKSUM_VALUE),
    "cumulus/MOD09GQ-without-file-id-value.PDR": Expect(pan.INVALID_FILE_ID),
    "cumulus/MOD09GQ-without-file-id.PDR": Expect(pan.INVALID_FILE_ID),
    "cumulus/MOD09GQ_1granule_v3.PDR": Expect(VALID, 1, 2, 1119742, ("006",), (None,)),
    "cumulus/MOD09GQ_1granule_v3_2.PDR": Expect(VALID, 1, 2),
    # The template's NODE_NAME has no semicolon: the line end ends the statement (PVL makes ';' optional).
    "cumulus/MOD09GQ_1granule_v3_with_NODE_NAME.PDR": Expect(VALID, 1, 2, 1119742, ("006",),
                                                             ("XXX_NODE_NAME_XXX",)),
    "cumulus/MOD14A1.A2000049.h00v10.006.2015041132152.hdf.PDR": Expect(
        VALID, 1, 2, 248137, ("006",), ("f5eil01",), {"expiration": datetime(2020, 12, 31, 23, 59, 59)}),
    "cumulus/MOD14A1_401_granule.PDR": Expect(VALID, 1, 2, 17909733, ("401",)),
    "cumulus/MODAPSops7.1234567.PDR": Expect(VALID, 2, 2, 3952643, ("006", "6")),
    "cumulus/MYD13A1_5_grans.PDR": Expect(VALID, 2, 6, 30033036, ("006", "006")),
    "cumulus/MYD13Q1.A2002185.h00v09.006.2015149071135.hdf.PDR": Expect(VALID, 1, 3, 5247017),
    "cumulus/PDN.ID1611071307.PDR": Expect(VALID, 4, 8, 466701199, ("006",) * 4, ("e4ftl01.cr.usgs.gov",) * 4),
    # No DATA_VERSION and no collection list to take the latest from (see the test with one below).
    "cumulus/PDN.ID1611081200.PDR": Expect(pan.INVALID_DATA_TYPE),
    # Valid by the ICD: the same file in two groups is ingest's business (Cumulus: duplicate granule id).
    "cumulus/cross-collection-id-collision.PDR": Expect(VALID, 2, 4, 35819466, ("006", "FAKE")),
    "cumulus/multi-data-type.PDR": Expect(VALID, 2, 4, 35819466),
    "cumulus/discover-pdrs__MOD09GQ.PDR": Expect(VALID, 1, 2, 17909733, ("6",)),
    "cumulus/parse-pdr-fixture__MODAPSops7.1234567.PDR": Expect(VALID, 30, 30),
    # The manifest expects the legacy validator's long PDRD; it did not cross-check TOTAL_FILE_COUNT = 3
    # against 11 files, Ardis does (as S4PA). The long PDRD is checked below with the count corrected.
    "cumulus_legacy/file-errors-fixture.PDR": Expect(pan.INVALID_FILE_COUNT),
    "cumulus_legacy/missing-fields-fixture.PDR": Expect(pan.INVALID_FILE_COUNT),
    # VERSION_ID read as DATA_VERSION; 'tgz' is TGZ; the stray END_GROUP of the wrapper is tolerated.
    "cumulus_legacy/good-pdr-fixture.PDR": Expect(VALID, 3, 3, 10667500, ("1", "1", "1")),
    "cumulus_legacy/bad-pdr-fixture-truncated.PDR": Expect(pan.INVALID_PVL_STATEMENT),
    "s4pa/S4PA_recv_data_t__sips_valid.PDR": Expect(VALID, 1, 2, 146, ("00",), ("discette.gsfc.nasa.gov",),
                                                    {"expiration": None}),
    "s4pa/S4PA_recv_data_t__sips_bad_file_count.PDR": Expect(pan.INVALID_FILE_COUNT),
    # EDOS Ground Message Header: binary, not SIPS PVL.
    "s4pa/S4PA_recv_data_t__edos_gmh_valid.PDR": Expect(pan.INVALID_PVL_STATEMENT),
    "s4pa/S4PA_recv_data_t__edos_gmh_bad_file_count.PDR": Expect(pan.INVALID_PVL_STATEMENT),
    # TOTAL_FILE_COUNT without semicolon, DIRECTORY_ID '.', quoted MD5s (on the metadata file too).
    "derived/TEMPO_NO2_L2_20240101T130000Z.PDR": Expect(VALID, 1, 2, 123461356, ("V01",), ("tempo-sips01",)),
}



def _render(message: pan.Pan | pan.Pdrd) -> str:
    """The writer for the message's kind (``render_pan`` or ``render_pdrd``)."""
    return pan.render_pan(message) if isinstance(message, (pan.ShortPan, pan.LongPan)) else pan.render_pdrd(message)

def test_every_pdr_in_the_corpus_and_the_manifest_is_classified() -> None:
    on_disk = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.PDR")}
    manifest = set(re.findall(r"^(\S+\.PDR)\s*$", (CORPUS / "MANIFEST.txt").read_text(), re.M))
    assert on_disk == set(EXPECT) == manifest


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_corpus_pdr(name: str) -> None:
    expect = EXPECT[name]
    result = validate_pdr((CORPUS / name).read_bytes(), POLICY)
    if expect.outcome != VALID:
        assert isinstance(result, ShortPdrd) and result.disposition == expect.outcome, result
        assert pan.parse_pdrd(_render(result)) == result
        return
    assert isinstance(result, Pdr), result
    assert (len(result.groups), len(result.files)) == (expect.groups, expect.files)
    assert result.total_file_count == len(result.files)
    if expect.size:
        assert result.total_size == expect.size
    if expect.versions:
        assert tuple(g.data_version for g in result.groups) == expect.versions
    if expect.nodes:
        assert tuple(g.node_name for g in result.groups) == expect.nodes
    if "expiration" in expect.extra:
        assert result.expiration_time == expect.extra["expiration"]
    assert [g.problem for g in result.groups] == [None] * len(result.groups)


def pdr(name: str) -> Pdr:
    result = validate_pdr((CORPUS / name).read_bytes(), POLICY)
    assert isinstance(result, Pdr), result
    return result


def test_checksums_as_written() -> None:
    hdf, met = pdr("cumulus/MOD09GQ.PDR").files
    assert (hdf.file_type, hdf.checksum_type, hdf.checksum_value) == ("HDF", "CKSUM", "4208254019")
    assert (met.file_type, met.checksum_type, met.checksum_value) == ("METADATA", None, None)
    [digits, _] = pdr("cumulus/MOD09GQ-with-decimal-MD5-checksum.PDR").files
    assert (digits.checksum_type, digits.checksum_value) == ("MD5", "73806951753129206387143405718909")
    assert pdr("cumulus/MOD14A1.A2000049.h00v10.006.2015041132152.hdf.PDR").files[0].checksum_value == "2257487699"
    multi = pdr("cumulus/MOD09GQ-multi-granule-missing-file.PDR").files
    assert [f.checksum_type for f in multi] == [None, None, "MD5", None, None]
    tempo = pdr("derived/TEMPO_NO2_L2_20240101T130000Z.PDR").files
    assert [(f.directory_id, f.checksum_value) for f in tempo] == [
        (".", "0123456789abcdef0123456789abcdef"), (".", "fedcba9876543210fedcba9876543210")]
    big = pdr("cumulus/parse-pdr-fixture__MODAPSops7.1234567.PDR").files
    assert {f.checksum_type for f in big} == {"MD5"} and max(f.size for f in big) == 1531594853
    assert {f.file_type for f in big} == {"TGZ"}


def test_lp_daac_style_wrapper_and_types() -> None:
    result = pdr("cumulus/MYD13A1_5_grans.PDR")
    assert result.originating_system == "LPDAAC_Cumulus"
    assert [f.file_type for f in result.groups[0].files] == ["SCIENCE", "METADATA", "BROWSE"]
    assert all(f.checksum_type == "CKSUM" for f in result.files)


def test_aster_crlf_quoted_objects_and_xar_entries() -> None:
    raw = (CORPUS / "cumulus/PDN.ID1611071307.PDR").read_bytes()
    assert b'\r\nOBJECT = "FILE_GROUP";\r\n' in raw and b"XAR_ENTRY" in raw
    result = pdr("cumulus/PDN.ID1611071307.PDR")
    assert {f.file_type for f in result.files} == {"SCIENCE", "BROWSE"}
    assert all(g.kind is GroupKind.GRANULE for g in result.groups)
    strict = validate_pdr(raw, ValidationPolicy())
    assert isinstance(strict, Pdr) and {g.problem for g in strict.groups} == {pan.WRONG_METADATA_COUNT}


def test_missing_data_version_defaults_to_the_latest_known() -> None:
    policy = ValidationPolicy(known_collections={"AST_L1A": "003"}.get, metadata_optional=frozenset({"AST_L1A"}))
    result = validate_pdr((CORPUS / "cumulus/PDN.ID1611081200.PDR").read_bytes(), policy)
    assert isinstance(result, Pdr)
    assert {(g.data_version, g.version_defaulted) for g in result.groups} == {("003", True)}


def test_file_errors_fixture_gives_the_legacy_long_pdrd_once_its_count_is_right() -> None:
    text = (CORPUS / "cumulus_legacy/file-errors-fixture.PDR").read_text()
    result = validate_pdr(text.replace("TOTAL_FILE_COUNT = 3;", "TOTAL_FILE_COUNT = 11;"), POLICY)
    assert isinstance(result, LongPdrd)
    assert [g.disposition for g in result.groups] == [
        pan.INVALID_DATA_TYPE, pan.INVALID_DATA_TYPE, pan.INVALID_CHECKSUM_VALUE, pan.MISSING_CHECKSUM_VALUE,
        pan.UNSUPPORTED_CHECKSUM_TYPE, pan.INVALID_FILE_TYPE, pan.MISSING_CHECKSUM_TYPE, pan.INVALID_FILE_ID,
        pan.INVALID_FILE_SIZE, pan.INVALID_DIRECTORY, pan.SUCCESSFUL]
    assert [g.data_type for g in result.groups] == ["AST_L1A", ""] + ["AST_L1A"] * 9


def test_legacy_good_fixture_values() -> None:
    result = pdr("cumulus_legacy/good-pdr-fixture.PDR")
    assert [f.checksum_value[:8] for f in result.files if f.checksum_value] == ["ae3c7b3b", "4580d03a", "f84a5339"]
    assert [f.size for f in result.files] == [3509571, 4124460, 3033469]


def test_s4pa_sizes_match_its_payload() -> None:
    result = pdr("s4pa/S4PA_recv_data_t__sips_valid.PDR")
    assert result.expiration_text == "999-99-99T99:99:99Z" and result.total_file_count == 2
    sizes = {f.file_type: f.size for f in result.files}
    payload = CORPUS / "s4pa" / "payload"
    assert sizes == {"METADATA": (payload / "S4PA_recv_data_t__data.met").stat().st_size,
                     "DATA": (payload / "S4PA_recv_data_t__data.PDS").stat().st_size}


STAMP = datetime(2023, 3, 27, 18, 10, 56, 402000)
SAMPLES: dict[str, pan.Pdrd | pan.Pan] = {
    "cumulus_shortpan_successful.PAN": ShortPan(pan.SUCCESSFUL, STAMP),
    "cumulus_shortpan_failed.PAN": ShortPan("FAILED", STAMP),
    "cumulus_longpan_3failed_2ok.PAN": LongPan(tuple(
        PanFile("test", "test_id", d, STAMP)
        for d in ("FAILED A", "FAILED B", "FAILED C", pan.SUCCESSFUL, pan.SUCCESSFUL))),
    "cumulus_shortpdrd.PDRD": ShortPdrd(pan.MISSING_CHECKSUM_VALUE),
    "cumulus_legacy_shortpan.PAN": ShortPan(pan.SUCCESSFUL, datetime(2017, 4, 6, 12)),
    "cumulus_legacy_longpan_network_failure.PAN": LongPan((
        PanFile("ftp.localhost", "file1", pan.NETWORK_FAILURE, datetime(2017, 4, 6, 12)),
        PanFile("ftp.localhost", "file2", pan.SUCCESSFUL, datetime(2017, 4, 6, 12)))),
    "s4pa_shortpdrd_invalid_file_count.PDRD": ShortPdrd(pan.INVALID_FILE_COUNT),
    "s4pa_shortpdrd_unreadable.PDRD": ShortPdrd("INVALID OR UNREADABLE FILE"),
    # S4PA's NO_FILE_GROUPS = 2 over the one failed group it lists.
    "s4pa_longpdrd_invalid_data_type.PDRD": LongPdrd((PdrdGroup("OML0V", pan.INVALID_DATA_TYPE),)),
}


def test_every_pan_and_pdrd_sample_is_listed() -> None:
    assert {p.name for p in (CORPUS / "pan_pdrd").iterdir()} == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_peer_pan_and_pdrd_samples_parse(name: str) -> None:
    data = (CORPUS / "pan_pdrd" / name).read_bytes()
    parsed = pan.parse_pdrd(data) if name.endswith(".PDRD") else pan.parse_pan(data)
    assert parsed == SAMPLES[name]


@pytest.mark.parametrize("name", ["s4pa_shortpdrd_invalid_file_count.PDRD", "s4pa_shortpdrd_unreadable.PDRD"])
def test_ardis_writes_s4pas_short_pdrds_byte_for_byte(name: str) -> None:
    assert _render(SAMPLES[name]) == (CORPUS / "pan_pdrd" / name).read_text()
