"""The MCF check (ICD 5.2.1): structure and mandatory objects, not values."""

from __future__ import annotations

from datetime import datetime

import pytest

from devkit.sample_data import MET_TEMPLATE, SAMPLE_MCF
from distribution.errors import UserError
from distribution.inventory.mcf import conformance_problems, parse_mcf
from distribution.inventory.odl import parse_odl_document



def sample_met(**fields: str) -> str:
    begin = datetime(2002, 5, 3, 10)
    values = {"lgid": "X.hdf", "produced": "2002-05-08T13:01:40.000Z", "daynight": "Day", "west": "1", "east": "2",
              "south": "3", "north": "4", "qa_missing": "5", **fields}
    return MET_TEMPLATE.format(begin=begin, end=begin, **values)


def test_the_sample_met_conforms() -> None:
    assert conformance_problems(parse_mcf(SAMPLE_MCF), parse_odl_document(sample_met())) == []


def test_an_object_the_mcf_does_not_have_and_a_missing_mandatory_one() -> None:
    text = sample_met().replace("OBJECT                 = DAYNIGHTFLAG", "OBJECT                 = NIGHTDAYFLAG")
    text = text.replace("END_OBJECT             = DAYNIGHTFLAG", "END_OBJECT             = NIGHTDAYFLAG")
    text = text.replace("OBJECT                 = PRODUCTIONDATETIME", "OBJECT = X_PRODUCTIONDATETIME")
    text = text.replace("END_OBJECT             = PRODUCTIONDATETIME", "END_OBJECT = X_PRODUCTIONDATETIME")
    problems = conformance_problems(parse_mcf(SAMPLE_MCF), parse_odl_document(text))
    assert "INVENTORYMETADATA/ECSDATAGRANULE/NIGHTDAYFLAG is not in the collection's MCF" in problems
    assert "mandatory INVENTORYMETADATA/ECSDATAGRANULE/PRODUCTIONDATETIME is missing" in problems
    assert not any("DAYNIGHTFLAG is missing" in p for p in problems)  # optional in the MCF


def test_an_object_in_the_wrong_group_does_not_conform() -> None:
    text = sample_met().replace("  GROUP                  = RANGEDATETIME", "  GROUP                  = TIMERANGE")
    text = text.replace("END_GROUP              = RANGEDATETIME", "END_GROUP              = TIMERANGE")
    problems = conformance_problems(parse_mcf(SAMPLE_MCF), parse_odl_document(text))
    assert "INVENTORYMETADATA/TIMERANGE/RANGEBEGINNINGDATE is not in the collection's MCF" in problems
    assert "mandatory INVENTORYMETADATA/RANGEDATETIME/RANGEBEGINNINGDATE is missing" in problems


def test_a_file_without_groups_is_no_mcf() -> None:
    with pytest.raises(UserError, match="MCF"):
        parse_mcf("JUST = 1\nEND\n")
