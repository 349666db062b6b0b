"""Physical media requests without Airflow: every step on virtual drives, SQLite and PostgreSQL."""

from __future__ import annotations

import email
import hashlib
import re
import subprocess
import tarfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from distribution.orders import delivery
from distribution.shipping import paperwork, production
from distribution.shipping.queue import load_step_volumes
from distribution.inventory.archive import granule_ur
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import load_samples
from distribution.errors import UserError
from distribution.models import GranuleStatus, MediaType, RequestState, Volume, VolumeState
from distribution.notices.media_dn import parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders.placing import Contact, RequestSpec, cancel_order, create_order, get_request
from distribution.orders.staging import distribution_names

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
    media_ids = production.plan_request(settings, request_id)
    for index, media_id in enumerate(media_ids):
        production.build_volume(settings, media_id)
        prompt = production.load_prompt(settings, media_id, (f"request-{request_id}", index))
        assert f"for request {request_id}, volume" in prompt["subject"]
        with session_scope(settings.database_url) as session:  # the console finds the step's volume by its run
            assert load_step_volumes(session, [f"request-{request_id}"])[(f"request-{request_id}", index)] == media_id
        production.record_load(settings, media_id, drive, "SN-0001")
        production.write_volume(settings, media_id)
        assert production.verify_volume(settings, media_id) > 0
    return media_ids


def _archive_md5s(settings: Settings, request_id: str) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        return {f"{rg.directory_number}/{rf.dist_name}": rf.granule_file.checksum_value
                for rg in request.granules for rf in rg.files if rf.granule_file.checksum_type == "MD5"}


def _named_by_lgid(settings: Settings, request_id: str) -> dict[str, list[str]]:
    """Each granule's directory on the medium with the names ICD 4.3.6.4 gives its files (the LocalGranuleID,
    ``.1``/``.2`` for several data files, the metadata as ``<LocalGranuleID>.xml``), checked to differ from the
    insert names, so a medium written under the archive's names would fail."""
    with session_scope(settings.database_url) as session:
        named = {}
        for rg in get_request(session, request_id).granules:
            granule = rg.granule
            names = distribution_names(granule.local_granule_id, granule.files, ".xml")
            assert granule.local_granule_id and names != [f.name for f in granule.files]
            assert sorted(rf.dist_name for rf in rg.files) == sorted(names)
            named[str(rg.directory_number)] = sorted(names)
        return named


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
    for directory, names in _named_by_lgid(settings, request_id).items():  # distribution names on the disc
        assert sorted(p.name for p in (out / directory).iterdir()) == names, directory
    on_disc = parse_media_dn((out / f"{request_id}.txt").read_text())
    assert on_disc.volumes[0].media_id == media_id and not on_disc.rejected
    assert paperwork.packing_list_file(settings, request_id) is None  # not printed yet: the console links none
    pdf = Path(paperwork.print_packing_list(settings, request_id))
    assert paperwork.packing_list_file(settings, request_id) == pdf
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(UserError):
        production.mark_bad(settings, "NO_SUCH_MEDIA")
    production.shipped(settings, request_id, "FedEx", "7712 3456 7890")
    result = paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.COMPLETE.value
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    assert mail["Subject"] == f"ARDIS ECS Order Shipment Notification Order ID: {on_disc.order_id}"
    sent = parse_media_dn(mail.get_payload(decode=True).decode())
    assert [g.status for g in sent.volumes[0].granules] == ["Completed"] * 4
    # the metadata goes as XML by default (ICD 4.3.6.2), written for the user: no archive checksum
    data = [f for g in sent.volumes[0].granules for f in g.files if not f.name.endswith((".met", ".xml"))]
    assert sent.checksums and data and all(f.checksum_type == "MD5" and f.checksum_value for f in data)
    paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1  # never twice


def test_tape_spans_cartridges(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_VIRTUAL_TAPE_BYTES", str(400_000))  # three 128 KiB records a cartridge
    request_id = _order(settings, tmp_path, MediaType.DLT, scale=1 / 32)
    [media_id] = _produce(settings, request_id, "tape-1")
    with session_scope(settings.database_url) as session:
        volume = session.scalar(select(Volume).where(Volume.media_id == media_id))
        assert volume.state is VolumeState.VERIFIED and len(volume.written_to) >= 2  # went on to more cartridges
    on_tape: set[str] = set()
    for cartridge in sorted((settings.home / "drives").glob("tape-1.tape*")):
        members: list[str] = []
        with tarfile.open(cartridge, mode="r|") as tar:  # each cartridge a tar with the DN; a file may go on
            try:                                          # to the next cartridge (the tar ends mid-file)
                members.extend(m.name for m in tar)
            except tarfile.ReadError:
                pass
        assert f"{request_id}.txt" in members
        on_tape.update(members)
    for directory, names in _named_by_lgid(settings, request_id).items():  # distribution names on the tape
        assert {n for n in on_tape if n.startswith(f"{directory}/")} == {f"{directory}/{n}" for n in names}
    production.shipped(settings, request_id, "UPS", "1Z999")
    result = paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
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
    production.shipped(settings, request_id, "UPS", "1Z999")
    result = paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
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
    again = production.mark_bad(settings, media_id, "scratched")
    assert again == request_id
    assert production.plan_request(settings, request_id) == [media_id]  # only the bad one is written again
    production.build_volume(settings, media_id)
    assert "again" in production.load_prompt(settings, media_id)["subject"]
    production.record_load(settings, media_id, "burner-1")
    production.write_volume(settings, media_id)
    production.verify_volume(settings, media_id)
    assert production.all_verified(settings, request_id)

    monkeypatch.setenv("ARDIS_TAPE_CAPACITY", str(1000))
    rejected = _order(settings, tmp_path / "2", MediaType.DLT)
    assert _produce(settings, rejected, "tape-1") == []
    result = paperwork.notify_media_request(settings, rejected, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.FAILED.value
    mails = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    [rejection] = [m for m in mails if "Rejection" in m["Subject"]]
    notice = parse_media_dn(rejection.get_payload(decode=True).decode())
    assert notice.rejected and notice.volumes[0].media_id is None


class SteppingClock:
    """A clock that moves on a minute at every reading: each step of a request happens at another time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 8, 0, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _completion_date(text: str) -> str:
    [date] = re.findall(r"Completion Date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    return date


def test_one_completion_date_on_the_medium_the_packing_list_and_the_mail(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10, defect 14: the disc, the printed list and the e-mail were three dates (build, print, shipment)."""
    clock = SteppingClock()
    for module in (paperwork, production):
        monkeypatch.setattr(module, "utcnow", clock)
    request_id = _order(settings, tmp_path, MediaType.DVD)
    [media_id] = _produce(settings, request_id, "burner-1")
    out = tmp_path / "extracted"
    burned = settings.home / "drives" / "burner-1" / f"{media_id}.iso"
    subprocess.run(["osirrox", "-indev", str(burned), "-extract", "/", str(out)], check=True, capture_output=True)
    on_disc = _completion_date((out / f"{request_id}.txt").read_text())
    printed = Path(paperwork.print_packing_list(settings, request_id))
    assert _completion_date(_pdf_text(printed)) == on_disc
    assert _completion_date(_pdf_text(Path(paperwork.print_packing_list(settings, request_id)))) == on_disc
    production.shipped(settings, request_id, "FedEx", "7712 3456 7890")
    paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    assert _completion_date(mail.get_payload(decode=True).decode()) == on_disc
    assert _completion_date(_pdf_text(printed)) == on_disc
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert str(request.media_dn_date) == on_disc  # the state of record
        assert request.shipped_at is not None and str(request.shipped_at) != on_disc  # the clock did move


def test_the_packing_list_of_a_cancelled_request_is_its_rejection(settings: Settings, tmp_path: Path) -> None:
    """Issue 10, defect 14: printed while the volumes were good, the list still said Completed after the cancel."""
    request_id = _order(settings, tmp_path, MediaType.DLT)
    _produce(settings, request_id, "tape-1")
    printed = Path(paperwork.print_packing_list(settings, request_id))
    assert "Completed" in _pdf_text(printed)
    with session_scope(settings.database_url) as session:
        order_id = str(get_request(session, request_id).order.order_id)
        cancel_order(session, order_id)
    result = paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))
    assert result["state"] == RequestState.CANCELLED.value
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    assert "Rejection" in mail["Subject"]
    text = _pdf_text(printed)
    assert "Rejection Notice" in text and "Completed" not in text and "Canceled" in text
    assert _completion_date(text) == _completion_date(mail.get_payload(decode=True).decode())
    assert Path(paperwork.print_packing_list(settings, request_id)) == printed  # printed again: the same
    assert "Completed" not in _pdf_text(printed)


def test_the_packing_list_lists_file_sizes(settings: Settings, tmp_path: Path) -> None:
    request_id = _order(settings, tmp_path, MediaType.DVD)
    _produce(settings, request_id, "burner-1")
    text = _pdf_text(Path(paperwork.print_packing_list(settings, request_id)))
    with session_scope(settings.database_url) as session:
        files = [(rf.dist_name, rf.size) for rg in get_request(session, request_id).granules
                 for rf in rg.files]
    lines = [" ".join(line.split()) for line in text.split("\n")]
    assert "File Name Size (bytes)" in lines
    for name, size in files:
        assert f"{name} {size:,}" in lines
