"""Golden tests from the seed's Listings 2 and 3: parsing, and the merged product of Listing 3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from distribution.products import MergeError, SpecError, merge_product, parse_spec, render_spec
from distribution.products._header import scan_hdus, write_product
from distribution.products.dictionary import load_dictionaries
from distribution.products.spec import json_schema, spec_from_dict
from tests.unit.products.fits_files import DATA, LISTING3_FIXED, dcs_file, fcs_file, listing3, write_fits

EXPECTED_CARDS = [
    "SIMPLE  =                    T / conforms to FITS standard",
    "BITPIX  =                   16 / array data type",
    "NAXIS   =                    2 / number of array dimensions",
    "NAXIS1  =                   20",
    "NAXIS2  =                   10",
    "EXTEND  =                    T",
    "ORIGIN  = 'ESO-DCS '           / written by the detector",
    "OBJECT  = 'DCS-OBJECT'         / from DCS",
    "HIERARCH ESO DET DIT = 1.5 / integration time",
    "TELESCOP= 'ESO-ELT '",
    "HIERARCH ESO OCS TEMPL ID = 'template-id'",
    "HIERARCH ESO TEL AIRM START = 1.072",
    "HIERARCH ESO TEL AIRM END = 1.08",
    "HIERARCH ESO INS2 MODE = 'IMG     '",
    "HIERARCH ESO INS2 TEMP3 VAL = 12.5",
    "VALUEKW = 'kept    '",
    "COMMENT dcs comment",
    "COMMENT Example of a commentary keyword.",
]


def header_cards(path: Path) -> list[str]:
    """The primary header's non-blank card images up to END, as written on disk."""
    raw = path.read_bytes()[: scan_hdus(path)[0].header_size].decode("ascii")
    cards = [raw[i:i + 80].rstrip() for i in range(0, len(raw), 80)]
    assert cards[-1] == "END"
    return [c for c in cards[:-1] if c]


def test_listing3_as_published_is_refused_for_its_trailing_comma() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec((DATA / "listing3.json").read_text())
    assert [str(p) for p in e.value.problems] == ["$: line 79 column 52: trailing comma (not allowed in JSON)"]


def test_listing3_without_the_comma_parses_and_round_trips() -> None:
    spec = parse_spec(LISTING3_FIXED)
    assert spec.id == "TEST.2021-05-18T14:49:03.905" and spec.instrument == "TEST"
    assert [s.source_name for s in spec.sources] == ["ocm", "tcs", "fcs"]
    assert spec.target.source is not None and spec.target.source.where.host == "dcs-host"
    assert spec.target.file_name == "TEST.2021-05-18T14:49:03.905.fits"
    assert spec.keyword_dictionaries == ("instrument.did",)
    assert parse_spec(render_spec(spec)) == spec
    assert json.loads(render_spec(spec)) == json.loads(LISTING3_FIXED)


def test_listing2_placeholders_are_reported_with_their_paths() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec((DATA / "listing2.json").read_text())
    assert [str(p) for p in e.value.problems] == [
        "$.target.source: 'location' is a required property",
        "$.target.source: 'sourceName' is a required property",
        "$.target.source: 'type' is a required property",
    ]


def test_one_error_per_problem_with_json_paths() -> None:
    doc = json.loads(LISTING3_FIXED)
    doc["sources"][0]["keywords"][0]["value"] = None
    doc["sources"][1]["keywords"][1]["name"] = "tel airm end"
    doc["sources"][2]["keywordRules"][0]["selectionPatterns"][1] = "*e INS"
    doc["sources"][2]["keywordRules"][1]["regex"] = "^(INS"
    del doc["target"]["fileId"]
    with pytest.raises(SpecError) as e:
        spec_from_dict(doc)
    paths = [p.path for p in e.value.problems]
    assert paths == ["$.sources[0].keywords[0].value", "$.sources[1].keywords[1].name",
                     "$.sources[2].keywordRules[0].selectionPatterns[1]", "$.target"]
    doc["target"]["fileId"] = "x"
    for k in (0, 1):
        doc["sources"][k] = json.loads(LISTING3_FIXED)["sources"][k]
    doc["sources"][2]["keywordRules"][0]["selectionPatterns"][1] = "-e INS"
    with pytest.raises(SpecError) as e:  # what the schema cannot say, once the schema is satisfied
        spec_from_dict(doc)
    assert [p.path for p in e.value.problems] == ["$.sources[2].keywordRules[1].regex"]


def test_published_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(json_schema())


def test_listing3_product_golden(tmp_path: Path) -> None:
    doc, dcs, fcs = listing3(tmp_path)
    out = tmp_path / "product" / parse_spec(json.dumps(doc)).target.file_name
    result = merge_product(spec_from_dict(doc), {"dcs": dcs, "fcs": fcs}, out)
    assert result.write.in_place and result.extensions == 2
    assert header_cards(out) == EXPECTED_CARDS
    with fits.open(out) as product, fits.open(dcs) as target, fits.open(fcs) as source:
        assert [h.name for h in product] == ["PRIMARY", "DCS-EXT", "FCS1", "FCS2"]
        assert "HIERARCH ESO INS TEMP1 VAL" not in product[0].header
        assert (product[1].data == target[1].data).all() and (product[2].data == source[1].data).all()
        assert list(product[3].data["X"]) == [1.0, 2.0]
    spans, original = scan_hdus(out), scan_hdus(dcs)
    data = slice(spans[0].data_offset, spans[0].end)
    assert out.read_bytes()[data] == dcs.read_bytes()[original[0].data_offset:original[0].end]
    assert out.stat().st_size == dcs.stat().st_size + fcs.stat().st_size - 2880  # fcs's extensions, byte for byte
    assert dcs.read_bytes()[:80].startswith(b"SIMPLE") and "TELESCOP" not in fits.getheader(dcs)  # source untouched
    assert_verified(out)


def assert_verified(path: Path) -> None:
    """The product passes an independent reader: Debian's ``fitsverify`` when installed, else astropy's verify."""
    if shutil.which("fitsverify"):
        verified = subprocess.run(["fitsverify", "-e", "-q", str(path)], capture_output=True, text=True)
        assert verified.returncode == 0 and "verification OK" in verified.stdout, verified.stdout + verified.stderr
    else:
        with fits.open(path) as hdul:
            hdul.verify("exception")


def test_extensions_follow_source_order_and_a_short_header_grows_once(tmp_path: Path) -> None:
    """Two file sources: the target's extension, then the first source's, then the second's; no room: grown."""
    doc, dcs, fcs = listing3(tmp_path)
    dcs_file(dcs, blank_cards=0)  # no room for what the sources bring
    other = write_fits(tmp_path / "other.fits", fits.PrimaryHDU(), fits.ImageHDU(np.zeros(3), name="OTHER"))
    doc["sources"].insert(2, {"type": "fitsFile", "sourceName": "sci", "location": str(other)})
    extra = [{"type": "esoKeyword", "name": f"DPR EXTRA{i}", "value": i} for i in range(20)]
    doc["sources"].append({"type": "fitsKeywords", "sourceName": "last", "keywords": extra})
    out = tmp_path / "p.fits"
    result = merge_product(spec_from_dict(doc), {"dcs": dcs, "fcs": fcs, "sci": other}, out)
    assert not result.write.in_place and result.extensions == 3
    assert f"header grown from 2880 to {result.write.new_header_size} bytes" in result.summary
    with fits.open(out) as product:
        assert [h.name for h in product] == ["PRIMARY", "DCS-EXT", "OTHER", "FCS1", "FCS2"]
    added = [f"HIERARCH ESO DPR EXTRA{i} = {i}" for i in range(20)]
    assert header_cards(out) == EXPECTED_CARDS[:-2] + added + EXPECTED_CARDS[-2:]  # values, then commentary
    assert_verified(out)


def test_dictionary_violation_names_keyword_and_source(tmp_path: Path) -> None:
    (tmp_path / "instrument.did").write_text(
        "Dictionary Name:   ESO-ELT-DIC.TEST\n\n"
        "Parameter Name:    TEL AIRM START\nClass:             header\nType:              double\n"
        "Value Format:      %.2f\nComment Format:    Airmass at start\n\n"
        "Parameter Name:    INSi TEMPj VAL\nType:              double\n\n"
        "Parameter Name:    OCS TEMPL ID\nType:              integer\n")
    doc, dcs, fcs = listing3(tmp_path)
    dictionaries = load_dictionaries(["instrument.did"], [tmp_path])
    with pytest.raises(MergeError) as e:
        merge_product(spec_from_dict(doc), {"dcs": dcs, "fcs": fcs}, tmp_path / "p.fits", dictionaries)
    assert e.value.problems == ["keyword OCS TEMPL ID from source ocm: 'template-id' is not an integer "
                                "(ESO-ELT-DIC.TEST)"]
    assert not (tmp_path / "p.fits").exists() and not list(tmp_path.glob("*.partial"))
    (tmp_path / "instrument.did").write_text((tmp_path / "instrument.did").read_text().replace("integer", "string"))
    dictionaries = load_dictionaries(["instrument.did"], [tmp_path])
    merge_product(spec_from_dict(doc), {"dcs": dcs, "fcs": fcs}, tmp_path / "p.fits", dictionaries)
    assert fits.getheader(tmp_path / "p.fits")["HIERARCH ESO TEL AIRM START"] == 1.07  # Value Format %.2f


def test_a_source_with_a_primary_data_unit_is_refused(tmp_path: Path) -> None:
    doc, dcs, _ = listing3(tmp_path)
    with pytest.raises(MergeError, match="source fcs: its primary HDU has a data unit"):
        merge_product(spec_from_dict(doc), {"dcs": dcs, "fcs": dcs_file(tmp_path / "x.fits")}, tmp_path / "p.fits")


def test_without_target_source_a_new_file_is_made(tmp_path: Path) -> None:
    doc, _, fcs = listing3(tmp_path)
    del doc["target"]["source"]
    doc["target"]["filePrefix"] = "ELT_"
    spec = spec_from_dict(doc)
    out = tmp_path / spec.target.file_name
    merge_product(spec, {"fcs": fcs}, out)
    assert out.name == "ELT_TEST.2021-05-18T14:49:03.905.fits"
    cards = header_cards(out)
    assert cards[:4] == ["SIMPLE  =                    T / conforms to FITS standard",
                         "BITPIX  =                    8 / array data type",
                         "NAXIS   =                    0 / number of array dimensions", "EXTEND  =                    T"]
    assert [h.name for h in fits.open(out)] == ["PRIMARY", "FCS1", "FCS2"]


def test_header_grows_once_when_it_has_no_room(tmp_path: Path) -> None:
    target = dcs_file(tmp_path / "dcs.fits", blank_cards=0)
    before = scan_hdus(target)
    cards = b"".join(f"HIERARCH ESO INS K{i} = {i}".ljust(80).encode() for i in range(60))
    base = target.read_bytes()[:before[0].header_size]
    own = b"".join(base[i:i + 80] for i in range(0, len(base), 80) if base[i:i + 80].strip() not in (b"END", b""))
    out = tmp_path / "grown.fits"
    written = write_product(target, out, own + cards, [(fcs_file(tmp_path / "f.fits"), scan_hdus(tmp_path / "f.fits")[1])])
    assert not written.in_place and written.new_header_size > before[0].header_size
    assert written.bytes_moved == before[-1].end - before[0].header_size
    assert target.exists()  # the original stays as it was; the product is a new file
    with fits.open(out) as product:
        product.verify("exception")
        assert product[0].header["HIERARCH ESO INS K59"] == 59 and [h.name for h in product][1:] == ["DCS-EXT", "FCS1"]
        assert (product[0].data == fits.getdata(target)).all()
    assert os.path.getsize(out) == written.new_header_size + written.bytes_moved + written.extension_bytes
