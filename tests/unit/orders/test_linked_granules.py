"""Browse, QA and production history go with their science granule when the request asks (issue 16 item 5):
same directory (pull area / volume directory), listed under the science granule in the DN."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest

from devkit.sample_data import load_samples
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.inventory.archive import NewFile, add_granule, granule_ur
from distribution.models import GranuleLink, MediaType
from distribution.notices.dn import parse_dn
from distribution.notices.media_dn import parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.notify import notify_request
from distribution.orders.placing import Contact, RequestSpec, check_spec, create_order, get_request
from tests.unit.orders.on_tape import write_and_read_tape

USER = Contact("link1", "link1@example.org", first_name="Lin", last_name="Ked", shipping_address="1 Road\nTown")
SCIENCE_LGID = "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf"


def _archive_with_links(settings: Settings, tmp_path: Path) -> str:
    """The samples, and a browse and a QA granule linked to the first one (as ingest records a linkage file)."""
    with session_scope(settings.database_url) as session:
        science = load_samples(session, settings, tmp_path / "in", scale=1 / 256)[0]
        for kind, lgid in (("Browse", "BRWS.A2002123.jpg"), ("QA", "QA.A2002123.txt")):
            data = tmp_path / "linked" / f"{kind}.bin"
            data.parent.mkdir(exist_ok=True)
            data.write_bytes(kind.encode() * 100)
            linked = add_granule(session, settings, f"{kind}.001", [NewFile(data, kind.upper())],
                                 local_granule_id=lgid)
            session.add(GranuleLink(granule_id=science.id, linked_granule_id=linked.id, link_type=kind))
        return granule_ur(science, settings)


def _order(settings: Settings, ur: str, media: MediaType, linked: tuple[str, ...]) -> str:
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, USER, [RequestSpec(media, [ur], linked=linked)])
        return str(order.requests[0].request_id)


def test_pull_with_browse_only_when_asked(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    ur = _archive_with_links(settings, tmp_path)
    plain = _order(settings, ur, MediaType.FTP_PULL, ())
    with_browse = _order(settings, ur, MediaType.FTP_PULL, ("browse",))
    for request_id in (plain, with_browse):
        for step in (delivery.stage_request, delivery.verify_request, delivery.deliver_request):
            step(settings, request_id)
        notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir))
    with session_scope(settings.database_url) as session:
        pulled = {r: {p.name for p in delivery.pull_directory(settings, get_request(session, r)).iterdir()}
                  for r in (plain, with_browse)}
    assert pulled[plain] == {SCIENCE_LGID, f"{SCIENCE_LGID}.xml"}
    assert pulled[with_browse] == {SCIENCE_LGID, f"{SCIENCE_LGID}.xml", "BRWS.A2002123.jpg"}  # no QA: not asked
    dns = {}
    for eml in settings.outbox_dir.glob("*.eml"):
        dn = parse_dn(str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content()))
        dns[dn.request_id] = dn
    [granule] = dns[with_browse].granules
    assert granule.ur == ur and "BRWS.A2002123.jpg" in {f.name for f in granule.files}


def test_tape_puts_browse_and_qa_in_the_science_granules_directory(sqlite_settings: Settings,
                                                                    tmp_path: Path) -> None:
    settings = sqlite_settings
    ur = _archive_with_links(settings, tmp_path)
    request_id = _order(settings, ur, MediaType.DLT, ("BROWSE", "QA", "PH"))
    on_tape, dn_text = write_and_read_tape(settings, request_id)
    members: dict[str, set[str]] = {}
    for path in on_tape:
        members.setdefault(str(path.parent), set()).add(path.name)
    assert list(members.values()) == [{SCIENCE_LGID, f"{SCIENCE_LGID}.xml", "BRWS.A2002123.jpg",
                                       "QA.A2002123.txt"}]  # one directory: the science granule's
    [volume] = parse_media_dn(dn_text).volumes
    assert {f.name for f in volume.granules[0].files} >= {"BRWS.A2002123.jpg", "QA.A2002123.txt"}


def test_unknown_link_types_are_refused() -> None:
    with pytest.raises(UserError, match="BROWSE, QA, PH"):
        check_spec(RequestSpec(MediaType.FTP_PULL, ["x"], linked=("thumbnail",)))
