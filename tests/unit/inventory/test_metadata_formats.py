"""ODL and XML metadata writers and readers (ICD 4.3.6.2, 5.2.2): no attribute lost either way.

Round trips on the corpus's ``.met`` file, on every ODL text of the corpus (PDRs are ODL
too), on the ICD's linkage-file example and on the sample granules' Toolkit-style ``.met``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from devkit.sample_data import MET_TEMPLATE
from distribution.errors import PermanentError
from distribution.inventory.document import FileChecksum, MetadataDocument, canonical, with_data_files
from distribution.inventory.metadata import parse_odl, parse_xml
from distribution.inventory.odl import parse_odl_document, render_odl_document
from distribution.inventory.xml_metadata import parse_xml_document, render_xml_document

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdr"
ODL_TEXTS = sorted([*CORPUS.rglob("*.met"), *CORPUS.rglob("*.PDR")]) if CORPUS.is_dir() else []


def _sample_met(lgid: str = "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf") -> str:
    begin = datetime(2002, 5, 3, 10, 0, 0)
    return MET_TEMPLATE.format(lgid=lgid, produced="2002-05-08T13:01:40.000Z", daynight="Day", begin=begin,
                               end=begin, west="-75.5", east="-65.5", south="30", north="40", qa_missing=7)


def _both_ways(document: MetadataDocument) -> None:
    assert parse_odl_document(render_odl_document(document)) == document
    assert parse_xml_document(render_xml_document(document)) == canonical(document)
    # and back to ODL from the XML: the same metadata again
    again = parse_odl_document(render_odl_document(parse_xml_document(render_xml_document(document))))
    assert canonical(again) == canonical(document)


def test_sample_met_round_trips_and_keeps_what_ardis_indexes() -> None:
    document = parse_odl_document(_sample_met())
    _both_ways(document)
    xml = render_xml_document(document)
    assert "<LocalGranuleID" in xml and "<ECSDataGranule>" in xml
    odl_view, xml_view = parse_odl(_sample_met()), parse_xml(xml)
    assert xml_view.local_granule_id == odl_view.local_granule_id
    assert (xml_view.begin_time, xml_view.west, xml_view.north) == (odl_view.begin_time, odl_view.west,
                                                                      odl_view.north)


@pytest.mark.skipif(not ODL_TEXTS, reason="no corpus beside the worktree")
@pytest.mark.parametrize("path", ODL_TEXTS, ids=lambda p: p.name)
def test_every_corpus_odl_text_round_trips(path: Path) -> None:
    document = parse_odl_document(path.read_text(encoding="utf-8", errors="replace"))
    assert document.items
    _both_ways(document)


def test_the_corpus_met_keeps_its_bare_statements() -> None:
    path = CORPUS / "s4pa" / "payload" / "S4PA_recv_data_t__data.met"
    if not path.exists():
        pytest.skip("no corpus")
    document = parse_xml_document(render_xml_document(parse_odl_document(path.read_text())))
    assert [(s.name, s.value) for _, s in document.walk()] == [
        ("RangeBeginningDate", "2006-09-27"), ("RangeBeginningTime", "08:47:20Z"),
        ("RangeEndingDate", "2006-09-27"), ("RangeEndingTmie", "08:47:50Z")]


def test_icd_linkage_example_round_trips() -> None:
    text = (ROOT / "tests" / "golden" / "linkage_example.txt").read_text()
    document = parse_odl_document(text)
    assert document.items
    _both_ways(document)


def test_values_that_xml_text_cannot_say_are_kept() -> None:
    document = parse_odl_document(
        'GROUP = G\n OBJECT = A\n  NUM_VAL = 2\n  VALUE = ("x", "y")\n END_OBJECT = A\n'
        ' OBJECT = B\n  VALUE = "12"\n END_OBJECT = B\n OBJECT = C\n  VALUE = ""\n END_OBJECT = C\n'
        ' OBJECT = D\n  VALUE = SYMBOL\n END_OBJECT = D\n OBJECT = EMPTY\n END_OBJECT = EMPTY\nEND_GROUP = G\nEND\n')
    _both_ways(document)


def test_distributed_metadata_carries_each_files_checksum_in_both_formats() -> None:
    files = [FileChecksum("X.hdf", 1234, "CKSUM", "Provider", "4208254019"), FileChecksum("X.hdf.xml", 99)]
    document = with_data_files(parse_odl_document(_sample_met("X.hdf")), files)
    _both_ways(document)
    xml = render_xml_document(document)
    assert "<ChecksumType NUM_VAL=\"1\">CKSUM</ChecksumType>" in xml
    assert "<ChecksumOrigin NUM_VAL=\"1\">Provider</ChecksumOrigin>" in xml and ">4208254019</Checksum>" in xml
    odl = render_odl_document(document)
    assert 'OBJECT             = CHECKSUMTYPE' in odl or "CHECKSUMTYPE" in odl
    read = parse_odl_document(odl)
    assert read.value("CHECKSUM") == "4208254019" and read.value("CHECKSUMORIGIN") == "Provider"
    # done twice, the list is replaced, not repeated
    assert render_odl_document(with_data_files(read, files)).count("GROUP") == odl.count("GROUP")


def test_xml_with_entities_is_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><GranuleMetaDataFile>&a;</GranuleMetaDataFile>'
    with pytest.raises(PermanentError, match="entities"):
        parse_xml_document(bomb)
    with pytest.raises(PermanentError, match="well formed"):
        parse_xml_document("<GranuleMetaDataFile>")
