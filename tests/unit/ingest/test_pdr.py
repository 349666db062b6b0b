"""PDR validation: the typed model, every disposition of Tables 4.5-5/4.5-6, short or long, Table 4.5-4 make-up."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distribution.ingest import pan
from distribution.ingest.pan import LongPdrd, PdrdGroup, ShortPdrd
from distribution.ingest.pdr import (
    FileGroup,
    FileSpec,
    GroupKind,
    Load,
    Pdr,
    PdrRejected,
    Thresholds,
    ValidationPolicy,
    is_pdr_name,
    parse_pdr,
    validate_pdr,
)

settings.register_profile("pdr-fuzz", max_examples=int(os.environ.get("ARDIS_FUZZ_EXAMPLES", 250)),
                          deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings.get_profile("pdr-fuzz")
SEEDS = Path(__file__).resolve().parents[4] / "shared" / "seeds"

# Figure 4.5-3, with ASCII quotes in its comments; a test below reads the ICD's own copy too.
FIGURE_4_5_3 = """\
ORIGINATING_SYSTEM = SIPS1234;  /* SIPS Processor Identifier */
TOTAL_FILE_COUNT = 8;
EXPIRATION_TIME = 1998-06-18T14:00:00Z;
OBJECT = FILE_GROUP;   /* Example for a Science Data Granule */
DATA_TYPE = SIPS_DATA;  /* Valid ECS ESDT Shortname */
DATA_VERSION = 003;
NODE_NAME = calibsrv.nasa.gov;
OBJECT = FILE_SPEC;
DIRECTORY_ID = SIPS1/CAL1;
FILE_ID = 7SIPSCALP.01A;   /* 'Per SIPS file naming convention */
FILE_TYPE = SCIENCE;  /* Allowed values pre-defined per Table 4.5-4 */
FILE_SIZE = 1000000;
END_OBJECT = FILE_SPEC;
OBJECT = FILE_SPEC;
DIRECTORY_ID = SIPS1/CAL2;
FILE_ID = 7SIPSCALP.02A.MET;  /* Per SIPS file naming convention but must have .MET or .xml extension */
FILE_TYPE = METADATA;  /* Required with Science file per Table 4.5-4 */
FILE_SIZE = 2000;
END_OBJECT = FILE_SPEC;
OBJECT = FILE_SPEC;
DIRECTORY_ID = SIPS1/BROWSE;
FILE_ID = 7SIPSCALP.01A.BROWSE;  /* per SIPS naming convention */
FILE_TYPE = BROWSE;
/* a browse mapped one-to-one to the science granule, delivered with the science granule */
FILE_SIZE = 1000000;
END_OBJECT = FILE_SPEC;
END_OBJECT = FILE_GROUP;
OBJECT = FILE_GROUP;    /* Example for a Failed PGE file */
DATA_TYPE = FAILPGE;   /* Generic data type for Failed PGE */
DATA_VERSION = 001;    /* defaults to 1; presently no significance */
NODE_NAME = calibsrv.nasa.gov;
OBJECT = FILE_SPEC;    /*Failed PGE file*/
DIRECTORY_ID = SIPS1/FAILPGE;
FILE_ID = 7SIPSCALP.01A.FAILPGE;
FILE_TYPE = SCIENCE;   /* per Table 4.5-4 */
FILE_SIZE = 1929430;
END_OBJECT = FILE_SPEC;
OBJECT = FILE_SPEC;    /* required metadata file for Failed PGE per Table 4.5-4 */
DIRECTORY_ID = SIPS1/FAILPGE;
FILE_ID = 7SIPSCALP.01A.FAILPGE.met;
FILE_TYPE = METADATA;   /* per Table 4.5-4 */
FILE_SIZE = 2934;
END_OBJECT = FILE_SPEC;
END_OBJECT = FILE_GROUP;
/* An example of a Browse delivered after the associated science granule has been ingested */
OBJECT = FILE_GROUP;
DATA_TYPE = Browse;  /* Generic data type of file to be linked, Browse */
DATA_VERSION = 001;  /* defaults to 1; presently no significance */
NODE_NAME = calibsrv.nasa.gov;
OBJECT = FILE_SPEC;
DIRECTORY_ID = SIPS1/BROWSE;
FILE_ID = 7SIPSBRO.JANUARY1998;   /* Per SIPS file naming convention */
FILE_TYPE = BROWSE;  /* Allowed values pre-defined per Table 4.5-4 */
FILE_SIZE = 5040105;
END_OBJECT = FILE_SPEC;
OBJECT = FILE_SPEC;   /* Optional metadata file for Browse */
DIRECTORY_ID = SIPS1/BROWSE;
FILE_ID = 7SIPSBRO.JANUARY1998.met;
FILE_TYPE = BROWSE_METADATA;
FILE_SIZE = 1798;
END_OBJECT = FILE_SPEC;
OBJECT = FILE_SPEC;
DIRECTORY_ID = SIPS1/BROWSE/LINKS;
FILE_ID = LINKFILE011998.PVL;  /* per SIPS file naming convention */
FILE_TYPE = LINKAGE;  /* Allowed values pre-defined per Table 4.5-4 */
FILE_SIZE = 2000;
END_OBJECT = FILE_SPEC;
END_OBJECT = FILE_GROUP
/*-----------------------------------------------------------------------------------------*/
/* Repeat FILE_GROUP objects for each different file group */
/*-----------------------------------------------------------------------------------------*/
"""

GROUP = """\
OBJECT = FILE_GROUP;
 DATA_TYPE = MOD09GQ;
 DATA_VERSION = 006;
 OBJECT = FILE_SPEC;
  DIRECTORY_ID = /data;
  FILE_ID = g.hdf;
  FILE_TYPE = HDF;
  FILE_SIZE = 100;
  FILE_CKSUM_TYPE = CKSUM;
  FILE_CKSUM_VALUE = 4208254019;
 END_OBJECT = FILE_SPEC;
 OBJECT = FILE_SPEC;
  DIRECTORY_ID = /data;
  FILE_ID = g.hdf.met;
  FILE_TYPE = METADATA;
  FILE_SIZE = 10;
 END_OBJECT = FILE_SPEC;
END_OBJECT = FILE_GROUP;
"""


def make(*groups: str, count: int | None = None, head: str = "ORIGINATING_SYSTEM = SIPS1;\n") -> str:
    groups = groups or (GROUP,)
    files = sum(g.count("OBJECT = FILE_SPEC") - g.count("END_OBJECT = FILE_SPEC") for g in groups)
    total = "" if count == -1 else f"TOTAL_FILE_COUNT = {files if count is None else count};\n"
    return head + total + "".join(groups)


def group(*edits: tuple[str, str]) -> str:
    """GROUP with regex edits applied (``(pattern, replacement)``, first match only)."""
    text = GROUP
    for pattern, replacement in edits:
        text, n = re.subn(pattern, replacement.replace("\\", "\\\\"), text, count=1, flags=re.M)
        assert n == 1, pattern
    return text


def short(disposition: str) -> ShortPdrd:
    return ShortPdrd(disposition)


def test_icd_figure_4_5_3_is_valid() -> None:
    result = validate_pdr(FIGURE_4_5_3)
    assert isinstance(result, Pdr), result
    assert (result.originating_system, result.total_file_count) == ("SIPS1234", 8)
    assert result.expiration_time == datetime(1998, 6, 18, 14, 0, 0)
    assert [(g.data_type, g.data_version, g.kind, g.node_name, g.problem) for g in result.groups] == [
        ("SIPS_DATA", "003", GroupKind.GRANULE, "calibsrv.nasa.gov", None),
        ("FAILPGE", "001", GroupKind.FAILED_PGE, "calibsrv.nasa.gov", None),
        ("Browse", "001", GroupKind.LINKAGE, "calibsrv.nasa.gov", None),
    ]
    assert result.groups[0].files[0] == FileSpec("SIPS1/CAL1", "7SIPSCALP.01A", "SCIENCE", 1000000)
    assert result.files[-1].path == "SIPS1/BROWSE/LINKS/LINKFILE011998.PVL"
    assert result.total_size == 1000000 + 2000 + 1000000 + 1929430 + 2934 + 5040105 + 1798 + 2000


def test_icd_figure_4_5_3_as_the_icd_text_gives_it() -> None:
    """The ICD's own copy: its page break and caption removed, its curly quote in a comment kept."""
    seed = next(SEEDS.glob("003_*.txt"), None)
    if seed is None:
        pytest.skip("the ICD text is not beside this checkout")
    text = seed.read_text(encoding="utf-8")
    start = text.index("ORIGINATING_SYSTEM = SIPS1234")
    end = text.index("Figure 4.5-3", text.index("/* Repeat FILE_GROUP objects"))
    lines = [line for line in text[start:end].splitlines()
             if line.strip() and not line.startswith(("Figure 4.5-3", "(1 of 2)"))]
    assert validate_pdr("\n".join(lines).encode()) == validate_pdr(FIGURE_4_5_3)


def test_values_stay_as_written() -> None:
    digits_md5 = "73806951753129206387143405718909"
    text = make(group(("DATA_VERSION = 006", "DATA_VERSION = '006'"), ("CKSUM;", "MD5;"),
                      ("4208254019", digits_md5)))
    result = validate_pdr(text)
    assert isinstance(result, Pdr)
    assert result.groups[0].data_version == "006"
    assert (result.files[0].checksum_type, result.files[0].checksum_value) == ("MD5", digits_md5)
    upper = validate_pdr(text.replace(digits_md5, "8E12AA2DD8A35F8E0C8DCF2BC8A3D6B1"))
    assert isinstance(upper, Pdr) and upper.files[0].checksum_value == "8e12aa2dd8a35f8e0c8dcf2bc8a3d6b1"


def test_bytes_and_text_validate_alike() -> None:
    assert validate_pdr(make()) == validate_pdr(make().encode())


def test_model_of_a_plain_pdr() -> None:
    result = parse_pdr(make())
    assert result == Pdr("SIPS1", 2, None, (FileGroup("MOD09GQ", "006", None, (
        FileSpec("/data", "g.hdf", "HDF", 100, "CKSUM", "4208254019"),
        FileSpec("/data", "g.hdf.met", "METADATA", 10)), GroupKind.GRANULE),), None)
    assert result.groups[0].size == 110 and result.files[1].path == "/data/g.hdf.met"


@pytest.mark.parametrize("text, expected", [
    ("2017-08-22T20:07:21", datetime(2017, 8, 22, 20, 7, 21)),
    ("2020-12-31T23:59:59Z", datetime(2020, 12, 31, 23, 59, 59)),
    ("999-99-99T99:99:99Z", None),  # S4PA: kept as text, not a reason to refuse
    ("2020-02-30T00:00:00Z", None),
])
def test_expiration_time(text: str, expected: datetime | None) -> None:
    result = parse_pdr(make(head=f"ORIGINATING_SYSTEM = S;\nEXPIRATION_TIME = {text};\n"))
    assert (result.expiration_time, result.expiration_text) == (expected, text)


@pytest.mark.parametrize("text, disposition", [
    (b"", pan.ECS_INTERNAL_ERROR),
    (b"A = 1;\nB = \"never closed;\n", pan.INVALID_PVL_STATEMENT),
    (b"\x09\x00\x01\x06" + make().encode(), pan.INVALID_PVL_STATEMENT),  # an EDOS header
    (make().replace("END_OBJECT = FILE_GROUP;\n", "").encode(), pan.INVALID_PVL_STATEMENT),
    (make().replace("/data;", "/" + "d" * 260 + ";", 1).encode(), pan.INVALID_PVL_STATEMENT),
    (make(count=-1).encode(), pan.INVALID_FILE_COUNT),
    (make(count=0).encode(), pan.INVALID_FILE_COUNT),
    (make(count=3).encode(), pan.INVALID_FILE_COUNT),
    (make(count=10000).encode(), pan.INVALID_FILE_COUNT),
    (make().replace("TOTAL_FILE_COUNT = 2", "TOTAL_FILE_COUNT = two").encode(), pan.INVALID_FILE_COUNT),
    (make().replace("TOTAL_FILE_COUNT = 2", "TOTAL_FILE_COUNT = 2;\nTOTAL_FILE_COUNT = 2").encode(),
     pan.INVALID_FILE_COUNT),
    (make(head="").encode(), pan.INVALID_ORIGINATING_SYSTEM),
    (make(head="ORIGINATING_SYSTEM = \"  \";\n").encode(), pan.INVALID_ORIGINATING_SYSTEM),
    (make(head="ORIGINATING_SYSTEM = A;\nORIGINATING_SYSTEM = B;\n").encode(), pan.INVALID_ORIGINATING_SYSTEM),
    (make(head="", count=5).encode(), pan.INVALID_FILE_COUNT),  # Table 4.5-5's order: the count first
    (make("OBJECT = FILE_SPEC;\nFILE_ID = x;\nEND_OBJECT = FILE_SPEC;\n", count=1).encode(),
     pan.INVALID_PVL_STATEMENT),
    (make(GROUP.replace(" DATA_VERSION = 006;\n", " DATA_VERSION = 006;\n" + GROUP)).encode(),
     pan.INVALID_PVL_STATEMENT),
    (make(GROUP.replace(" OBJECT = FILE_SPEC;\n", " OBJECT = XAR;\n OBJECT = FILE_SPEC;\n END_OBJECT;\n", 1)
          .replace("  FILE_ID = g.hdf;\n", "  FILE_ID = g.hdf;\n END_OBJECT;\n OBJECT = FILE_SPEC;\n", 1),
          count=2).encode(), pan.INVALID_PVL_STATEMENT),
    (make(GROUP.replace("OBJECT = FILE_SPEC", "GROUP = FILE_SPEC").replace("END_OBJECT = FILE_SPEC",
                                                                          "END_GROUP = FILE_SPEC"),
          count=0).encode(), pan.INVALID_PVL_STATEMENT),
])
def test_short_pdrd_for_the_pdr_as_a_whole(text: bytes, disposition: str) -> None:
    result = validate_pdr(text)
    assert result == short(disposition), result
    assert isinstance(result, ShortPdrd) and result.detail


def test_pvl_errors_are_located_in_the_detail() -> None:
    result = validate_pdr("ORIGINATING_SYSTEM = S;\nTOTAL_FILE_COUNT = 1\nDATA_TYPE = a b = c;\n")
    assert result == short(pan.INVALID_PVL_STATEMENT)
    assert isinstance(result, ShortPdrd) and result.detail.startswith("line 3, column 17:")


def test_pdrs_over_a_megabyte_are_refused() -> None:
    padding = "/*" + "x" * (1 << 20) + "*/\n"
    result = validate_pdr(make() + padding)
    assert result == short(pan.INVALID_PVL_STATEMENT)
    assert isinstance(result, ShortPdrd) and "at most 1048576" in result.detail
    assert isinstance(validate_pdr(make() + padding, ValidationPolicy(max_pdr_bytes=2 << 20)), Pdr)


@pytest.mark.parametrize("limits, load, disposition", [
    (Thresholds(provider_requests=2), Load(provider_requests=2), pan.PROVIDER_REQUEST_THRESHOLD),
    (Thresholds(provider_volume=1000), Load(provider_volume=900), pan.PROVIDER_VOLUME_THRESHOLD),
    (Thresholds(system_requests=10), Load(system_requests=10), pan.SYSTEM_REQUEST_THRESHOLD),
    (Thresholds(system_volume=109), Load(), pan.SYSTEM_VOLUME_THRESHOLD),
    (Thresholds(provider_requests=3, provider_volume=1000, system_requests=11, system_volume=110),
     Load(provider_requests=2, provider_volume=890, system_requests=10), None),
])
def test_thresholds(limits: Thresholds, load: Load, disposition: str | None) -> None:
    result = validate_pdr(make(), ValidationPolicy(thresholds=limits), load)
    assert result == (short(disposition) if disposition else parse_pdr(make()))
    if disposition:
        assert disposition in pan.RETRYABLE_PDRD


def test_thresholds_apply_only_to_a_valid_pdr() -> None:
    policy = ValidationPolicy(thresholds=Thresholds(system_volume=1))
    assert validate_pdr(make(count=5), policy) == short(pan.INVALID_FILE_COUNT)


KNOWN = ValidationPolicy(known_collections={"MOD09GQ": "061"}.get)
TGZ = ValidationPolicy(extra_file_types={"MOD09GQ": frozenset({"tgz"})})


@pytest.mark.parametrize("edits, policy, disposition", [
    ([(r"^ DATA_TYPE = MOD09GQ;\n", "")], None, pan.INVALID_DATA_TYPE),
    ([("DATA_TYPE = MOD09GQ", 'DATA_TYPE = ""')], None, pan.INVALID_DATA_TYPE),
    ([("DATA_TYPE = MOD09GQ;", "DATA_TYPE = MOD09GQ;\nDATA_TYPE = MOD09GA;")], None, pan.INVALID_DATA_TYPE),
    ([("DATA_TYPE = MOD09GQ", "DATA_TYPE = MOD99")], KNOWN, pan.INVALID_DATA_TYPE),
    ([(r"^ DATA_VERSION = 006;\n", "")], None, pan.INVALID_DATA_TYPE),
    ([("DATA_VERSION = 006", "DATA_VERSION = ")], KNOWN, pan.INVALID_DATA_TYPE),
    ([("DATA_VERSION = 006;", "DATA_VERSION = 006;\nNODE_NAME = ;")], None, pan.INVALID_NODE_NAME),
    ([("DATA_VERSION = 006;", "NODE_NAME = 006;")], None, pan.INVALID_DATA_TYPE),
    ([("DATA_VERSION = 006;", 'DATA_VERSION = 006;\nNODE_NAME = "";')], None, pan.INVALID_NODE_NAME),
    ([("DATA_VERSION = 006;", 'DATA_VERSION = 006;\nNODE_NAME = "host/x";')], None, pan.INVALID_NODE_NAME),
    ([("DATA_VERSION = 006;", 'DATA_VERSION = 006;\nNODE_NAME = two words;')], None, pan.INVALID_NODE_NAME),
    ([(r"^  DIRECTORY_ID = /data;\n", "")], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = ")], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = ../other")], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = data/../../etc")], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = ~root")], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", 'DIRECTORY_ID = "C:/data"')], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", r'DIRECTORY_ID = "a\\b"')], None, pan.INVALID_DIRECTORY),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = /data;\nDIRECTORY_ID = /data")], None, pan.INVALID_DIRECTORY),
    ([], ValidationPolicy(absolute_directories=False), pan.INVALID_DIRECTORY),
    ([(r"^  FILE_ID = g.hdf;\n", "")], None, pan.INVALID_FILE_ID),
    ([("FILE_ID = g.hdf", "FILE_ID = ")], None, pan.INVALID_FILE_ID),
    ([("FILE_ID = g.hdf", "FILE_ID = ../g.hdf")], None, pan.INVALID_FILE_ID),
    ([("FILE_ID = g.hdf", "FILE_ID = sub/g.hdf")], None, pan.INVALID_FILE_ID),
    ([("FILE_ID = g.hdf", "FILE_ID = ..")], None, pan.INVALID_FILE_ID),
    ([(r"^  FILE_TYPE = HDF;\n", "")], None, pan.INVALID_FILE_TYPE),
    ([("FILE_TYPE = HDF", 'FILE_TYPE = ""')], None, pan.INVALID_FILE_TYPE),
    ([("FILE_TYPE = HDF", "FILE_TYPE = INVALID")], None, pan.INVALID_FILE_TYPE),
    ([("FILE_TYPE = HDF", "FILE_TYPE = TGZ")], None, pan.INVALID_FILE_TYPE),
    ([("FILE_TYPE = HDF", "FILE_TYPE = TGZ")], ValidationPolicy(extra_file_types={"MOD08": frozenset({"TGZ"})}),
     pan.INVALID_FILE_TYPE),
    ([("FILE_TYPE = HDF", "FILE_TYPE = LINKAGE")], None, pan.INVALID_FILE_TYPE),
    ([(r"^  FILE_SIZE = 100;\n", "")], None, pan.INVALID_FILE_SIZE),
    ([("FILE_SIZE = 100", "FILE_SIZE = 0")], None, pan.INVALID_FILE_SIZE),
    ([("FILE_SIZE = 100", "FILE_SIZE = -3033469")], None, pan.INVALID_FILE_SIZE),
    ([("FILE_SIZE = 100", "FILE_SIZE = 1e6")], None, pan.INVALID_FILE_SIZE),
    ([("FILE_SIZE = 100", "FILE_SIZE = 2147483648")], None, pan.INVALID_FILE_SIZE),
    ([("FILE_SIZE = 100", "FILE_SIZE = 1" + "0" * 5000)], ValidationPolicy(max_file_size=None,
                                                                          max_statement_length=None),
     pan.INVALID_FILE_SIZE),
    ([(r"^  FILE_CKSUM_TYPE = CKSUM;\n", "")], None, pan.MISSING_CHECKSUM_TYPE),
    ([("FILE_CKSUM_TYPE = CKSUM", 'FILE_CKSUM_TYPE = ""')], None, pan.MISSING_CHECKSUM_TYPE),
    ([(r"^  FILE_CKSUM_VALUE = 4208254019;\n", "")], None, pan.MISSING_CHECKSUM_VALUE),
    ([("FILE_CKSUM_VALUE = 4208254019", "FILE_CKSUM_VALUE = ")], None, pan.MISSING_CHECKSUM_VALUE),
    ([("CKSUM;", "MD4;")], None, pan.UNSUPPORTED_CHECKSUM_TYPE),
    ([("CKSUM;", "SHA256;")], None, pan.UNSUPPORTED_CHECKSUM_TYPE),
    ([("CKSUM;", "MD4;"), (r"^  FILE_CKSUM_VALUE = 4208254019;\n", "")], None, pan.UNSUPPORTED_CHECKSUM_TYPE),
    ([("4208254019", "558b62d1dc622f33b674d5e7b398fef5")], None, pan.INVALID_CHECKSUM_VALUE),
    ([("4208254019", "4294967296")], None, pan.INVALID_CHECKSUM_VALUE),
    ([("4208254019", "-1")], None, pan.INVALID_CHECKSUM_VALUE),
    ([("CKSUM;", "MD5;")], None, pan.INVALID_CHECKSUM_VALUE),  # 10 digits are no MD5
    ([("CKSUM;", "MD5;"), ("4208254019", '"123"')], None, pan.INVALID_CHECKSUM_VALUE),
    ([("CKSUM;", "MD5;"), ("4208254019", "g" * 32)], None, pan.INVALID_CHECKSUM_VALUE),
    ([("CKSUM;", "ECS;"), ("4208254019", "9223372036854775808")], None, pan.INVALID_CHECKSUM_VALUE),
    ([(r"^  FILE_CKSUM_TYPE = CKSUM;\n", ""), (r"^  FILE_CKSUM_VALUE = 4208254019;\n", "")],
     ValidationPolicy(checksum_mandatory=True), pan.MISSING_CHECKSUM_TYPE),
])
def test_first_error_of_a_group(edits: list[tuple[str, str]], policy: ValidationPolicy | None,
                                disposition: str) -> None:
    result = validate_pdr(make(group(*edits)), policy)
    assert result == short(disposition), result


@pytest.mark.parametrize("edits, policy", [
    ([("DATA_VERSION = 006", "DATA_VERSION = 6")], None),
    ([("DATA_VERSION = 006", "DATA_VERSION = V01")], None),
    ([("DATA_VERSION = 006", "VERSION_ID = 006")], None),
    ([(r"^ DATA_VERSION = 006;\n", "")], KNOWN),
    ([("FILE_TYPE = HDF", "FILE_TYPE = hdf-eos")], None),
    ([("FILE_TYPE = HDF", 'FILE_TYPE = "tgz"')], TGZ),
    ([("FILE_TYPE = HDF", "FILE_TYPE = TGZ")], ValidationPolicy(extra_file_types={"*": frozenset({"TGZ"})})),
    ([("FILE_SIZE = 100", "FILE_SIZE = 0000100")], None),
    ([("FILE_SIZE = 100", "FILE_SIZE = 5000000000")], ValidationPolicy(max_file_size=None)),
    ([("CKSUM;", "SHA256;"), ("4208254019", "ab" * 32)],
     ValidationPolicy(checksum_types=frozenset({"CKSUM", "MD5", "SHA256"}))),
    ([("CKSUM;", "ECS;"), ("4208254019", "-9223372036854775808")], None),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = .")], None),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = a..b/c")] * 2, ValidationPolicy(absolute_directories=False)),
    ([("DIRECTORY_ID = /data", "DIRECTORY_ID = /data/./x//y")], None),
    ([("DATA_VERSION = 006;", "DATA_VERSION = 006;\nNODE_NAME = 192.168.0.1;")], None),
    ([("DATA_VERSION = 006;", "DATA_VERSION = 006;\nDESCRIPTOR = NOT USED;\nOBJECT = XAR_ENTRY;\n"
       "GRANULE_ID = \"X 1\";\nEND_OBJECT = XAR_ENTRY;")], None),
])
def test_real_world_variants_are_valid(edits: list[tuple[str, str]], policy: ValidationPolicy | None) -> None:
    result = validate_pdr(make(group(*edits)), policy)
    assert isinstance(result, Pdr), result
    assert result.groups[0].problem is None


def test_absent_version_takes_the_latest_known() -> None:
    result = parse_pdr(make(group((r"^ DATA_VERSION = 006;\n", ""))), KNOWN)
    assert (result.groups[0].data_version, result.groups[0].version_defaulted) == ("061", True)
    given_version = parse_pdr(make(), KNOWN).groups[0]
    assert (given_version.data_version, given_version.version_defaulted) == ("006", False)


def test_node_name_absent_means_the_providers_host() -> None:
    assert parse_pdr(make()).groups[0].node_name is None
    named = make(group(("DATA_VERSION = 006;", "DATA_VERSION = 006;\nNODE_NAME = modpdr01;")))
    assert parse_pdr(named).groups[0].node_name == "modpdr01"


def test_only_the_first_error_of_a_group_is_reported() -> None:
    text = make(group(("FILE_SIZE = 100", "FILE_SIZE = 0"), ("DIRECTORY_ID = /data;\n  FILE_ID = g.hdf.met",
                                                             "DIRECTORY_ID = ;\n  FILE_ID = g.hdf.met")))
    result = validate_pdr(text)
    assert result == short(pan.INVALID_FILE_SIZE)
    assert isinstance(result, ShortPdrd) and "file 1 " in result.detail


def test_long_pdrd_lists_every_group_in_order() -> None:
    bad_size = group(("FILE_SIZE = 100", "FILE_SIZE = 0"))
    no_type = group((r"^ DATA_TYPE = MOD09GQ;\n", ""))
    result = validate_pdr(make(GROUP, bad_size, no_type, GROUP.replace("MOD09GQ", "MOD09GA")))
    assert result == LongPdrd((PdrdGroup("MOD09GQ", pan.SUCCESSFUL), PdrdGroup("MOD09GQ", pan.INVALID_FILE_SIZE),
                               PdrdGroup("", pan.INVALID_DATA_TYPE), PdrdGroup("MOD09GA", pan.SUCCESSFUL)))
    assert pan.render_pdrd(result).startswith("MESSAGE_TYPE = LONGPDRD;\nNO_FILE_GRPS = 4;\nDATA_TYPE = MOD09GQ;\n")


def test_short_pdrd_when_every_group_failed_alike() -> None:
    bad = group(("FILE_SIZE = 100", "FILE_SIZE = 0"))
    assert validate_pdr(make(bad, bad.replace("g.hdf", "h.hdf"))) == short(pan.INVALID_FILE_SIZE)
    other = group(("FILE_ID = g.hdf;", "FILE_ID = ;"))
    assert validate_pdr(make(bad, other)) == LongPdrd((PdrdGroup("MOD09GQ", pan.INVALID_FILE_SIZE),
                                                       PdrdGroup("MOD09GQ", pan.INVALID_FILE_ID)))


SPEC = " OBJECT = FILE_SPEC;\n  DIRECTORY_ID = d;\n  FILE_ID = {name};\n  FILE_TYPE = {type};\n  FILE_SIZE = 5;\n" \
       " END_OBJECT = FILE_SPEC;\n"


def typed(data_type: str, *types: str) -> str:
    specs = "".join(SPEC.format(name=f"f{i}", type=t) for i, t in enumerate(types))
    return f"OBJECT = FILE_GROUP;\n DATA_TYPE = {data_type};\n DATA_VERSION = 001;\n{specs}END_OBJECT = FILE_GROUP;\n"


@pytest.mark.parametrize("data_type, types, problem", [
    ("MOD09GQ", ["HDF", "METADATA", "BROWSE", "BROWSE_METADATA", "QA", "QA_METADATA", "PRODHIST"], None),
    ("MOD09GQ", ["SCIENCE", "SCIENCE", "METADATA"], None),
    ("MOD09GQ", ["HDF"], pan.WRONG_METADATA_COUNT),
    ("MOD09GQ", ["HDF", "METADATA", "METADATA"], pan.WRONG_METADATA_COUNT),
    ("MOD09GQ", ["BROWSE", "METADATA"], pan.WRONG_SCIENCE_COUNT),
    ("MOD09GQ", ["HDF", "METADATA", "BROWSE_METADATA"], pan.WRONG_FILE_COUNT),
    ("MOD09GQ", ["HDF", "METADATA", "QA_METADATA"], pan.WRONG_FILE_COUNT),
    ("MOD09GQ", ["TGZ"], None),  # beyond Table 4.5-4: the collection's configuration speaks
    ("MOD09GQ", ["TGZ", "METADATA", "METADATA"], pan.WRONG_METADATA_COUNT),
    ("AST_L1A", ["SCIENCE", "BROWSE"], None),  # metadata_optional
    ("FAILPGE", ["SCIENCE", "METADATA"], None),
    ("FAILPGE", ["SCIENCE"], pan.WRONG_METADATA_COUNT),
    ("FAILPGE", ["SCIENCE", "SCIENCE", "METADATA"], pan.WRONG_SCIENCE_COUNT),
    ("Browse", ["BROWSE", "LINKAGE"], None),
    ("Browse", ["BROWSE", "BROWSE_METADATA", "LINKAGE"], None),
    ("Browse", ["BROWSE", "LINKAGE", "LINKAGE"], pan.WRONG_FILE_COUNT),
    ("Browse", ["BROWSE", "BROWSE", "LINKAGE"], pan.WRONG_FILE_COUNT),
    ("Browse", ["BROWSE"], pan.WRONG_FILE_COUNT),
    ("QA", ["QA", "QA_METADATA", "LINKAGE"], None),
    ("PH", ["PRODHIST", "LINKAGE"], None),
])
def test_group_make_up_is_a_pan_problem_not_a_pdrd(data_type: str, types: list[str], problem: str | None) -> None:
    policy = ValidationPolicy(extra_file_types={"MOD09GQ": frozenset({"TGZ"})},
                              metadata_optional=frozenset({"AST_L1A"}))
    result = validate_pdr(make(typed(data_type, *types)), policy)
    assert isinstance(result, Pdr), result
    assert result.groups[0].problem == problem
    assert bool(result.groups[0].problem_detail) == bool(problem)


@pytest.mark.parametrize("data_type, file_type", [
    ("FAILPGE", "HDF"), ("Browse", "QA"), ("PH", "PRODHIST_METADATA"), ("QA", "BROWSE"), ("PH", "METADATA"),
])
def test_file_types_foreign_to_the_data_type_are_invalid(data_type: str, file_type: str) -> None:
    assert validate_pdr(make(typed(data_type, file_type, "LINKAGE"))) == short(pan.INVALID_FILE_TYPE)


def test_duplicate_file_in_a_group_is_a_pan_problem() -> None:
    text = make(typed("MOD09GQ", "HDF", "METADATA").replace("FILE_ID = f1", "FILE_ID = f0"))
    assert parse_pdr(text).groups[0].problem == pan.DUPLICATE_FILE_NAME


def test_group_without_files_is_invalid() -> None:
    empty = "OBJECT = FILE_GROUP;\n DATA_TYPE = MOD09GQ;\n DATA_VERSION = 006;\nEND_OBJECT = FILE_GROUP;\n"
    result = validate_pdr(make(GROUP, empty))
    assert result == LongPdrd((PdrdGroup("MOD09GQ", pan.SUCCESSFUL), PdrdGroup("MOD09GQ", pan.INVALID_FILE_ID)))


def test_wrapper_group_and_a_stray_wrapper_end_are_transparent() -> None:
    plain = parse_pdr(make())
    wrapped = "BEGIN_GROUP = PRODUCT_DELIVERY_RECORD;\n" + make() + "END_GROUP = PRODUCT_DELIVERY_RECORD;\n"
    assert parse_pdr(wrapped) == plain
    assert parse_pdr(make() + 'END_GROUP = "PRODUCT_DELIVERY_RECORD";') == plain
    assert validate_pdr(make() + "END_GROUP = OTHER;") == short(pan.INVALID_PVL_STATEMENT)
    assert validate_pdr(wrapped + "END_GROUP = PRODUCT_DELIVERY_RECORD;") == short(pan.INVALID_PVL_STATEMENT)


def test_unknown_parameters_and_objects_are_ignored() -> None:
    extra = make(head="ORIGINATING_SYSTEM = SIPS1;\nDAN_SEQ_NO = 4;\nBEGINNING_DATE/TIME = 2006-09-27T08:47:20Z;\n"
                      "OBJECT = NOTE;\n TEXT = \"x\";\nEND_OBJECT = NOTE;\n")
    assert parse_pdr(extra) == parse_pdr(make())


def test_parse_pdr_raises_with_the_pdrd() -> None:
    with pytest.raises(PdrRejected) as err:
        parse_pdr(make(count=9))
    assert err.value.pdrd == short(pan.INVALID_FILE_COUNT)
    assert "TOTAL_FILE_COUNT is 9" in str(err.value)
    with pytest.raises(PdrRejected, match="file group 2"):
        parse_pdr(make(GROUP, group(("FILE_ID = g.hdf;", "FILE_ID = ;"))))


def test_pdr_names() -> None:
    assert is_pdr_name("LATIS123.20010719123845.PDR") and is_pdr_name("in/x.pdr")
    assert not any(is_pdr_name(n) for n in (".PDR", "in/.PDR", "x.PDRD", "x.PAN", "x" * 252 + ".PDR"))


def test_policy_file_types() -> None:
    policy = ValidationPolicy(extra_file_types={"A": frozenset({"tgz"}), "*": frozenset({"NC"})})
    assert {"TGZ", "NC", "HDF"} <= policy.file_types(GroupKind.GRANULE, "A")
    assert "TGZ" not in policy.file_types(GroupKind.GRANULE, "B")
    assert policy.file_types(GroupKind.LINKAGE, "ph") == frozenset({"PRODHIST", "LINKAGE"})


def _check(result: object) -> None:
    """Every outcome is a model or a PDRD that can be written."""
    assert isinstance(result, Pdr | ShortPdrd | LongPdrd), result
    if not isinstance(result, Pdr):
        text = pan.render_pdrd(result)
        assert pan.parse_pdrd(text) == result


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes_give_a_pdr_or_a_pdrd(data: bytes) -> None:
    _check(validate_pdr(data))


_LINES = make(GROUP, typed("Browse", "BROWSE", "LINKAGE"), typed("FAILPGE", "SCIENCE", "METADATA")).splitlines()
_TOKENS = st.sampled_from(["", "0", "-1", "'006'", '""', "..", "/x", "MD5", "CKSUM", "x" * 40, "FILE_SPEC",
                           "FILE_GROUP", "a b", "TGZ", "LINKAGE", "4294967296", "\t", "~", "99999", "\u00e9"])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(_LINES) - 1), st.sampled_from(["drop", "twice", "value", "swap"]),
                          _TOKENS, st.integers(0, len(_LINES) - 1)), max_size=6),
       st.sampled_from(["\n", "\r\n"]))
def test_mutated_pdrs_give_a_pdr_or_a_pdrd(edits: list[tuple[int, str, str, int]], newline: str) -> None:
    lines = list(_LINES)
    for i, how, token, j in edits:
        i %= len(lines) or 1
        if not lines:
            break
        if how == "drop":
            del lines[i]
        elif how == "twice":
            lines.insert(i, lines[i])
        elif how == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + token + ";"
        else:
            j %= len(lines)
            lines[i], lines[j] = lines[j], lines[i]
    policy = ValidationPolicy(known_collections={"MOD09GQ": "006"}.get, checksum_mandatory=bool(len(edits) % 2))
    _check(validate_pdr(newline.join(lines), policy))
