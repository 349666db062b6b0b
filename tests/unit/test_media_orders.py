"""Physical media requests without Airflow: every step on virtual drives, SQLite and PostgreSQL."""

from __future__ import annotations

import email
import hashlib
import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution import delivery, media_notices, media_orders
from distribution.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from distribution.demo_data import load_samples
from distribution.errors import UserError
from distribution.models import GranuleStatus, MediaType, RequestState, Volume, VolumeState
from distribution.notices.media_dn import parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import Contact, RequestSpec, create_order, get_request

USER = Contact(user_id="mediau", email="media.user@example.org", first_name="Joan", last_name="Requester",
               shipping_address="1616 McCormick Drive\nLandover, MD 22222", checksum_list=True)


def _order(settings: Settings, tmp_path: Path, media: MediaType, scale: float = 1 / 16) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=scale)]
        order = create_order(session, settings, USER, [RequestSpec(media, urs)])
        return str(order.requests[0].request_id)


def _produce(settings: Settings, request_id: str, drive: str) -> list[str]:
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    media_ids = media_orders.plan_request(settings, request_id)
    for media_id in media_ids:
        media_orders.build_volume(settings, media_id)
        prompt = media_orders.load_prompt(settings, media_id)
        assert f"for request {request_id}, volume" in prompt["subject"]
        media_orders.record_load(settings, media_id, drive, "SN-0001")
        media_orders.write_volume(settings, media_id)
        assert media_orders.verify_volume(settings, media_id) > 0
    return media_ids


def _archive_md5s(settings: Settings, request_id: str) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        return {f"{rg.directory_number}/{rf.dist_name}": rf.granule_file.checksum_value
                for rg in request.granules for rf in rg.files if rf.granule_file.checksum_type == "MD5"}


def test_dvd_request_end_to_end(settings: Settings, tmp_path: Path) -> None:
    request_id = _order(settings, tmp_path, MediaType.DVD)
    [media_id] = _produce(settings, request_id, "burner-1")
    assert media_id == f"{request_id}_001"
    burned = settings.home / "drives" / "burner-1" / f"{media_id}.iso"
    out = tmp_path / "extracted"
    done = subprocess.run(["osirrox", "-indev", str(burned), "-extract", "/", str(out)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    for path, md5 in _archive_md5s(settings, request_id).items():  # Rock Ridge names, one directory per granule
        assert hashlib.md5((out / path).read_bytes()).hexdigest() == md5
    on_disc = parse_media_dn((out / f"{request_id}.txt").read_text())
    assert on_disc.volumes[0].media_id == media_id and not on_disc.rejected
    pdf = Path(media_notices.print_packing_list(settings, request_id))
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(UserError):
        media_orders.mark_bad(settings, "NO_SUCH_MEDIA")
    media_orders.shipped(settings, request_id, "FedEx", "7712 3456 7890")
    result = media_notices.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.COMPLETE.value
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    assert mail["Subject"] == f"ARDIS ECS Order Shipment Notification Order ID: {on_disc.order_id}"
    sent = parse_media_dn(mail.get_payload(decode=True).decode())
    assert [g.status for g in sent.volumes[0].granules] == ["Completed"] * 4
    data = [f for g in sent.volumes[0].granules for f in g.files if not f.name.endswith(".met")]
    assert sent.checksums and data and all(f.checksum_type == "MD5" and f.checksum_value for f in data)
    media_notices.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1  # never twice


def test_tape_spans_cartridges(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_VIRTUAL_TAPE_BYTES", str(400_000))  # three 128 KiB records a cartridge
    request_id = _order(settings, tmp_path, MediaType.DLT, scale=1 / 32)
    [media_id] = _produce(settings, request_id, "tape-1")
    with session_scope(settings.database_url) as session:
        volume = session.scalar(select(Volume).where(Volume.media_id == media_id))
        assert volume.state is VolumeState.VERIFIED and len(volume.written_to) >= 2  # went on to more cartridges
    for cartridge in sorted((settings.home / "drives").glob("tape-1.tape*")):
        with tarfile.open(cartridge, mode="r|") as tar:  # each cartridge a self-contained tar with the DN
            assert any(m.name == f"{request_id}.txt" for m in tar)
    media_orders.shipped(settings, request_id, "UPS", "1Z999")
    result = media_notices.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.COMPLETE.value


def test_a_granule_too_large_for_a_volume_is_canceled_and_the_rest_ships(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_TAPE_CAPACITY", str(300_000))  # two 128 KiB records: the 266 and 327 kB granules
    request_id = _order(settings, tmp_path, MediaType.DLT, scale=1 / 16)  # cannot go on one
    media_ids = _produce(settings, request_id, "tape-1")
    assert len(media_ids) == 2
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        failed = [rg for rg in request.granules if rg.status is GranuleStatus.FAILED]
        assert len(failed) == 2 and all("too large" in str(rg.failure_explanation) for rg in failed)
    media_orders.shipped(settings, request_id, "UPS", "1Z999")
    result = media_notices.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.PARTIAL.value
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    sent = parse_media_dn(mail.get_payload(decode=True).decode())
    statuses = [g.status for v in sent.volumes for g in v.granules]
    assert sorted(statuses) == ["Canceled", "Canceled", "Completed", "Completed"]
    assert [v.media_id for v in sent.volumes] == media_ids


def test_nothing_fits_gives_the_rejection_notice_and_a_bad_volume_is_rewritten(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = _order(settings, tmp_path, MediaType.CDROM)
    [media_id] = _produce(settings, request_id, "burner-1")
    again = media_orders.mark_bad(settings, media_id, "scratched")
    assert again == request_id
    assert media_orders.plan_request(settings, request_id) == [media_id]  # only the bad one is written again
    media_orders.build_volume(settings, media_id)
    assert "again" in media_orders.load_prompt(settings, media_id)["subject"]
    media_orders.record_load(settings, media_id, "burner-1")
    media_orders.write_volume(settings, media_id)
    media_orders.verify_volume(settings, media_id)
    assert media_orders.all_verified(settings, request_id)

    monkeypatch.setenv("ARDIS_TAPE_CAPACITY", str(1000))
    rejected = _order(settings, tmp_path / "2", MediaType.DLT)
    assert _produce(settings, rejected, "tape-1") == []
    result = media_notices.notify_media_request(settings, rejected, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.FAILED.value
    mails = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    [rejection] = [m for m in mails if "Rejection" in m["Subject"]]
    notice = parse_media_dn(rejection.get_payload(decode=True).decode())
    assert notice.rejected and notice.volumes[0].media_id is None
