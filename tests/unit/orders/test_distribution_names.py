"""Distribution names end to end (ICD 4.3.6.4): the LocalGranuleID, with a sequence number per data file
of a multi-file granule, else the insert name — in the pull area, on the tape, and in both DNs."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.errors import UserError
from distribution.inventory.odl import parse_odl_document
from distribution.inventory.xml_metadata import parse_xml_document
from distribution.models import MediaType
from distribution.notices.dn import parse_dn
from distribution.notices.media_dn import parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.notify import notify_request
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.shipping import paperwork, production
from devkit.sample_data import SAMPLES, load_samples
from tests.unit.orders.on_tape import write_and_read_tape

USER = Contact("names1", "names1@example.org", first_name="Ann", last_name="Names",
               shipping_address="1 Road\nTown, MD 20000")


def _expected(metadata: str = ".xml") -> set[str]:
    """What the ICD asks for the sample granules: every one has a LocalGranuleID; XML metadata by default."""
    names: set[str] = set()
    for sample in SAMPLES:
        if len(sample.data_files) == 1:
            names.add(sample.lgid)
        else:
            names |= {f"{sample.lgid}.{i}" for i in range(1, len(sample.data_files) + 1)}
        names.add(sample.lgid + metadata)
    return names


def _order(settings: Settings, tmp_path: Path, media: MediaType, user: Contact = USER) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        order = create_order(session, settings, user, [RequestSpec(media, urs)])
        return str(order.requests[0].request_id)


def _insert_names(settings: Settings, request_id: str) -> set[str]:
    with session_scope(settings.database_url) as session:
        return {rf.granule_file.name for rg in get_request(session, request_id).granules for rf in rg.files}


def test_ftp_pull_area_and_dn_use_the_local_granule_id(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    request_id = _order(settings, tmp_path, MediaType.FTP_PULL)
    for step in (delivery.stage_request, delivery.verify_request, delivery.deliver_request):
        step(settings, request_id)
    notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir))
    with session_scope(settings.database_url) as session:
        pulled = {p.name for p in delivery.pull_directory(settings, get_request(session, request_id)).iterdir()}
    assert pulled == _expected()
    assert "AST_L1BT_00305042002163000_13683.1" in pulled and "AST_L1BT_00305042002163000_13683.2" in pulled
    assert not pulled & _insert_names(settings, request_id) - _expected()  # no insert name where an LGID exists
    (eml,) = sorted(settings.outbox_dir.glob("*.eml"))
    dn = parse_dn(str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content()))
    assert {f.name for g in dn.granules for f in g.files} == _expected()


def test_tape_and_media_dn_use_the_local_granule_id(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    request_id = _order(settings, tmp_path, MediaType.DLT)
    members, dn_text = write_and_read_tape(settings, request_id)
    on_tape = {m.name for m in members}
    assert on_tape == _expected()
    notice = parse_media_dn(dn_text)
    assert {f.name for v in notice.volumes for g in v.granules for f in g.files} == _expected()
    production.shipped(settings, request_id, "UPS", "1Z1")
    paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))


def _pulled(settings: Settings, request_id: str) -> Path:
    for step in (delivery.stage_request, delivery.verify_request, delivery.deliver_request):
        step(settings, request_id)
    with session_scope(settings.database_url) as session:
        return delivery.pull_directory(settings, get_request(session, request_id))


def test_metadata_goes_as_xml_by_default_with_each_files_checksum(sqlite_settings: Settings,
                                                                  tmp_path: Path) -> None:
    """ICD 4.3.6.2: XML is the default whatever the provider sent (the samples are ODL); 5.2.2: checksums inside."""
    settings = sqlite_settings
    request_id = _order(settings, tmp_path, MediaType.FTP_PULL)
    where = _pulled(settings, request_id)
    lgid = "AST_L1BT_00305042002163000_13683"
    document = parse_xml_document((where / f"{lgid}.xml").read_text())
    assert document.value("LocalGranuleID") == lgid
    listed = [s for path, s in document.walk() if path.endswith("DATAFILES/DATAFILECONTAINER/CHECKSUM/VALUE")]
    with session_scope(settings.database_url) as session:
        rg = next(rg for rg in get_request(session, request_id).granules if rg.granule.local_granule_id == lgid)
        md5s = {rf.granule_file.checksum_value for rf in rg.files if rf.granule_file.file_type != "METADATA"}
        origins = {rf.granule_file.checksum_origin for rf in rg.files if rf.granule_file.file_type != "METADATA"}
        written = [rf for rf in rg.files if rf.written]
        assert [rf.dist_name for rf in written] == [f"{lgid}.xml"]
        assert written[0].size == (where / f"{lgid}.xml").stat().st_size
    assert {s.value.strip('"') for s in listed} == md5s and len(listed) == 2
    assert {document.value("ChecksumOrigin")} <= {str(o) for o in origins}
    assert document.value("ChecksumType") == "MD5"


def test_a_user_set_to_odl_gets_met_files_and_the_dn_says_so(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    odl_user = Contact("odl1", "odl1@example.org", metadata_format="met")
    request_id = _order(settings, tmp_path, MediaType.FTP_PULL, odl_user)
    where = _pulled(settings, request_id)
    assert {p.name for p in where.iterdir()} == _expected(".met")
    met = parse_odl_document((where / "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf.met").read_text())
    assert met.value("LOCALGRANULEID") == "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf"
    assert met.value("CHECKSUMTYPE") == "MD5"
    notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir))
    (eml,) = sorted(settings.outbox_dir.glob("*.eml"))
    dn = parse_dn(str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content()))
    sizes = {f.name: f.size for g in dn.granules for f in g.files}
    assert sizes["MOD09GHK.A2002123.h11v05.003.2002128130140.hdf.met"] == (
        where / "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf.met").stat().st_size


def test_an_unknown_metadata_format_is_refused(sqlite_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="xml or met"):
        _order(sqlite_settings, tmp_path, MediaType.FTP_PULL, Contact("odl2", "odl2@example.org",
                                                                       metadata_format="json"))
