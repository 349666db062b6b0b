"""URs, ESDT names and 10-digit ids as the ICD writes them."""

from __future__ import annotations

import pytest

from distribution.errors import UserError
from distribution.identifiers import GranuleRef, format_id, long_ur, parse_esdt, parse_ur

ICD_URS = [
    # From the ICD's example notices: each length prefix counts the segment after it.
    "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[FN3:DSSDSRV]:21:SC:AM1EPHN0.001:25625",
    "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[FN2:DSSDSRV]:17:SC:L70R.002:17720",
    "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[EDF:DSSDSRV]:20:SC:AE_Land.086:20396",
]


@pytest.mark.parametrize("ur", ICD_URS)
def test_long_ur_reproduces_the_icd_examples(ur: str) -> None:
    ref = parse_ur(ur)
    site = ur.split("[", 1)[1].split(":", 1)[0]
    assert long_ur(ref, site) == ur


def test_short_and_long_forms_name_the_same_granule() -> None:
    ref = parse_ur("SC:MOD09GHK.003:17825")
    assert ref == GranuleRef("MOD09GHK", 3, 17825)
    assert parse_ur(long_ur(ref, "ARDIS")) == ref
    assert long_ur(ref, "ARDIS") == (
        "UR:10:DsShESDTUR:UR:15:DsShSciServerUR:15:[ARDIS:DSSDSRV]:21:SC:MOD09GHK.003:17825"
    )


@pytest.mark.parametrize("bad", ["", "SC:MOD09GHK:1", "UR:10:DsShESDTUR:99:SC:A.001:1", "SC:A.001:x"])
def test_bad_urs_are_user_errors(bad: str) -> None:
    with pytest.raises(UserError):
        parse_ur(bad)


def test_esdt_versions_run_1_to_255() -> None:
    assert parse_esdt("AST_L1BT.001") == ("AST_L1BT", 1)
    for bad in ("MOD09GHK", "MOD09GHK.000", "MOD09GHK.256", "MOD 09.001"):
        with pytest.raises(UserError):
            parse_esdt(bad)


def test_ids_are_ten_digits_with_the_site_prefix() -> None:
    assert format_id("04", 2119) == "0400002119"
    assert len(format_id("1", 5)) == 10
    with pytest.raises(OverflowError):
        format_id("04", 10**8)
