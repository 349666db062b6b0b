"""Distribution names end to end (ICD 4.3.6.4): the LocalGranuleID, with a sequence number per data file
of a multi-file granule, else the insert name — in the pull area, on the tape, and in both DNs."""

from __future__ import annotations

import email
import tarfile
from email.policy import default
from pathlib import Path

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.models import MediaType
from distribution.notices.dn import parse_dn
from distribution.notices.media_dn import parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.notify import notify_request
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.shipping import paperwork, production
from devkit.sample_data import SAMPLES, load_samples

USER = Contact("names1", "names1@example.org", first_name="Ann", last_name="Names",
               shipping_address="1 Road\nTown, MD 20000")


def _expected() -> set[str]:
    """What the ICD asks for the sample granules: every one has a LocalGranuleID."""
    names: set[str] = set()
    for sample in SAMPLES:
        if len(sample.data_files) == 1:
            names.add(sample.lgid)
        else:
            names |= {f"{sample.lgid}.{i}" for i in range(1, len(sample.data_files) + 1)}
        names.add(f"{sample.lgid}.met")
    return names


def _order(settings: Settings, tmp_path: Path, media: MediaType) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        order = create_order(session, settings, USER, [RequestSpec(media, urs)])
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
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    for media_id in production.plan_request(settings, request_id):
        production.build_volume(settings, media_id)
        production.record_load(settings, media_id, "tape-1", "SN-1")
        production.write_volume(settings, media_id)
        production.verify_volume(settings, media_id)
    on_tape: set[str] = set()
    dn_text = ""
    for cartridge in sorted((settings.home / "drives").glob("tape-1.tape*")):
        with tarfile.open(cartridge, mode="r|") as tar:
            for member in tar:
                if member.name.endswith(f"{request_id}.txt"):
                    dn_text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
                elif member.isfile():
                    on_tape.add(Path(member.name).name)
    assert on_tape == _expected()
    notice = parse_media_dn(dn_text)
    assert {f.name for v in notice.volumes for g in v.granules for f in g.files} == _expected()
    production.shipped(settings, request_id, "UPS", "1Z1")
    paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
