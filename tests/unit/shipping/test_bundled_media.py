"""Bundles on physical media (ISDC, issue 16 item 7): each granule's bundle is the file its volume holds."""

from __future__ import annotations

import email
import subprocess
import tarfile
from pathlib import Path

import pytest

from devkit.sample_data import load_samples
from distribution.checksums import checksum_file
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.inventory.archive import granule_ur
from distribution.models import MediaType, RequestState
from distribution.notices.media_dn import parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.placing import Contact, RequestSpec, check_spec, create_order, get_request
from distribution.shipping import paperwork, production
from tests.bundled import unbundle
from tests.unit.shipping.test_production import _produce

USER = Contact(user_id="bundleu", email="bundle.user@example.org", first_name="Joan", last_name="Requester",
               shipping_address="1616 McCormick Drive\nLandover, MD 22222")  # not on the checksum list


def _order(settings: Settings, tmp_path: Path, media: MediaType, kind: str) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 32)]
        order = create_order(session, settings, USER, [RequestSpec(media, urs, bundle=kind)])
        return str(order.requests[0].request_id)


def _staged(settings: Settings, request_id: str) -> dict[int, dict[str, bytes]]:
    """Each granule's files as distributed (directory number -> name -> bytes)."""
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        return {rg.directory_number: {rf.dist_name: Path(str(rf.staged_path)).read_bytes() for rf in rg.files}
                for rg in request.granules}


def test_a_bundled_dvd_holds_each_granules_bundle_and_the_dn_lists_it_with_its_checksum(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    object.__setattr__(settings, "bundle_split_bytes", 60_000)  # a granule's bundle over it goes in parts
    request_id = _order(settings, tmp_path, MediaType.DVD, "tar.gz")
    [media_id] = _produce(settings, request_id, "burner-1")
    out = tmp_path / "extracted"
    burned = settings.home / "drives" / "burner-1" / f"{media_id}.iso"
    done = subprocess.run(["osirrox", "-indev", str(burned), "-extract", "/", str(out)], check=False,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    staged = _staged(settings, request_id)
    production.shipped(settings, request_id, "FedEx", "7712 3456 7890")
    assert paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))["state"] \
        == RequestState.COMPLETE.value
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    sent = parse_media_dn(mail.get_payload(decode=True).decode())
    assert sent.checksums  # a bundle's checksum is always listed (the user is not on the checksum list)
    split = False
    for g in sent.volumes[0].granules:
        parts = [out / g.directory / f.name for f in g.files]
        assert sorted(p.name for p in (out / g.directory).iterdir()) == sorted(p.name for p in parts)
        assert all(p.name.startswith(f"{request_id}_{int(g.directory):05d}.tar.gz") for p in parts)
        assert [(f.checksum_type, f.checksum_value) for f in g.files] == [
            ("CKSUM", checksum_file(p, "CKSUM")) for p in parts]
        inside = unbundle(parts, "tar.gz")
        listing = inside.pop("CHECKSUMS.cksum").decode().splitlines()
        assert inside == staged[int(g.directory)]  # the archive's bytes (and the metadata written for the user)
        assert sorted(line.split("  ", 1)[1] for line in listing) == sorted(inside)
        split = split or len(parts) > 1
    assert split
    assert parse_media_dn((out / f"{request_id}.txt").read_text()).checksums
    assert Path(paperwork.print_packing_list(settings, request_id)).read_bytes().startswith(b"%PDF")


def test_tape_volumes_are_planned_by_the_bundles_sizes(settings: Settings, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = _order(settings, tmp_path, MediaType.DLT, "tar.zst")
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    media_ids = production.plan_request(settings, request_id)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        recorded = {p["name"]: p["size"] for rg in request.granules for p in rg.bundle or []}
        [volume] = paperwork.volumes_of(session, request)
        plan = production.volume_plan(settings, session, volume)
        planned = {f.name: f.size for item in plan.items for f in item.files}
    assert planned == recorded and len(recorded) == len(_staged(settings, request_id))  # planned by bundle sizes
    for media_id in media_ids:
        production.build_volume(settings, media_id)
        production.record_load(settings, media_id, "tape-1", "")
        production.write_volume(settings, media_id)
        assert production.verify_volume(settings, media_id) > 0
    [cartridge] = sorted((settings.home / "drives").glob("tape-1.tape*"))
    staged = _staged(settings, request_id)
    with tarfile.open(cartridge, mode="r|") as tar:
        on_tape = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    for number, files in staged.items():
        parts = sorted(n for n in on_tape if n.startswith(f"{number}/"))
        assert parts
        joined = tmp_path / f"g{number}.tar.zst"
        joined.write_bytes(b"".join(on_tape[n] for n in parts))
        inside = unbundle([joined], "tar.zst")
        inside.pop("CHECKSUMS.cksum")
        assert inside == files


def test_one_bundle_per_request_is_not_for_media() -> None:
    with pytest.raises(UserError, match="own bundle"):
        check_spec(RequestSpec(MediaType.DVD, ["x"], bundle="tar.gz", bundle_per="request"))
