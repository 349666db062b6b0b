"""Bundles on physical media (ISDC, issue 16 item 7): each granule's bundle is the file its volume holds."""

from __future__ import annotations

import email
import subprocess
import tarfile
from pathlib import Path

import pytest

from devkit.sample_data import load_samples
from media import Medium
from media.layout import ISO_FIXED
from distribution.checksums import checksum_file
from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.models import MediaType, RequestState
from distribution.notices.media_dn import MediaNotice, parse_media_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
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


def _extract(settings: Settings, media_id: str, out: Path) -> Path:
    burned = settings.home / "drives" / "burner-1" / f"{media_id}.iso"
    done = subprocess.run(["osirrox", "-indev", str(burned), "-extract", "/", str(out)], check=False,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def _small_dvd(settings: Settings, request_id: str, monkeypatch: pytest.MonkeyPatch, share: float) -> int:
    """Stage the request and make its DVDs hold ``share`` of its data (besides the image's fixed cost)."""
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    data = sum(len(b) for files in _staged(settings, request_id).values() for b in files.values())
    capacity = int((ISO_FIXED + 64 * 1024 + data * share) / 0.99)
    monkeypatch.setattr(production, "medium_for", lambda _kind: Medium("DVD+R", capacity, "optical"))
    return data


def _write(settings: Settings, media_ids: list[str]) -> None:
    for media_id in media_ids:
        production.build_volume(settings, media_id)
        production.record_load(settings, media_id, "burner-1", "")
        production.write_volume(settings, media_id)
        assert production.verify_volume(settings, media_id) > 0


def _shipped_dn(settings: Settings, request_id: str) -> MediaNotice:
    production.shipped(settings, request_id, "FedEx", "7712 3456 7890")
    assert paperwork.notify_media_request(settings, request_id, OutboxFolder(settings.outbox_dir))["state"] \
        == RequestState.COMPLETE.value
    [mail] = [email.message_from_bytes(p.read_bytes()) for p in settings.outbox_dir.glob("*.eml")]
    return parse_media_dn(mail.get_payload(decode=True).decode())


def test_one_bundle_per_request_spans_two_dvds_in_parts_listed_with_their_checksums(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    object.__setattr__(settings, "bundle_split_bytes", 150_000)  # and each part cut to fit a volume
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 32)]
        order = create_order(session, settings, USER, [RequestSpec(MediaType.DVD, urs, bundle="tar.gz",
                                                                   bundle_per="request")])
        request_id = str(order.requests[0].request_id)
    _small_dvd(settings, request_id, monkeypatch, 0.8)
    media_ids = production.plan_request(settings, request_id)
    assert len(media_ids) == 2
    _write(settings, media_ids)
    staged = _staged(settings, request_id)
    sent = _shipped_dn(settings, request_id)
    assert parse_media_dn((_extract(settings, media_ids[1], tmp_path / "v2") / f"{request_id}.txt").read_text()) \
        .volumes == sent.volumes  # the DN on the medium lists what the mail lists
    parts: list[Path] = []
    for k, (media_id, volume) in enumerate(zip(media_ids, sent.volumes, strict=True), start=1):
        out = _extract(settings, media_id, tmp_path / f"volume{k}")
        bundle, *rows = volume.granules  # the pseudo-granule of directory 0: the bundle's parts on this volume
        assert (bundle.directory, bundle.granule_id, bundle.status) == ("0", f"{request_id}.tar.gz", "Completed")
        assert bundle.files and sorted(p.name for p in (out / "0").iterdir()) == [f.name for f in bundle.files]
        assert [(f.checksum_type, f.checksum_value) for f in bundle.files] == [
            ("CKSUM", checksum_file(out / "0" / f.name, "CKSUM")) for f in bundle.files]
        assert all(len(p.read_bytes()) <= 150_000 for p in (out / "0").iterdir())
        parts += [out / "0" / f.name for f in bundle.files]
        # the granules follow with the first volume, without files (theirs are in the bundle)
        assert [(g.directory, g.status, g.files) for g in rows] == (
            [(str(n), "Completed", []) for n in sorted(staged)] if k == 1 else [])
        assert sorted(p.name for p in out.iterdir()) == sorted(["0", f"{request_id}.txt"])
    assert [p.name for p in parts] == [f"{request_id}.tar.gz.{i:03d}" for i in range(1, len(parts) + 1)]
    inside = unbundle(parts, "tar.gz")  # parts from both volumes, joined in order
    listing = inside.pop("CHECKSUMS.cksum").decode().splitlines()
    assert inside == {f"{n:05d}/{name}": data for n, files in staged.items() for name, data in files.items()}
    assert sorted(line.split("  ", 1)[1] for line in listing) == sorted(inside)
    # "Number of files" counts the files ordered (the bundle's members), as for the same request unbundled
    assert sent.count == len(inside)


def test_a_granules_bundle_larger_than_a_volume_spans_volumes_instead_of_being_canceled(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = _order(settings, tmp_path, MediaType.DVD, "tar.zst")  # no split size: cut to fit only
    _small_dvd(settings, request_id, monkeypatch, 0.15)  # less than the largest granule holds
    media_ids = production.plan_request(settings, request_id)
    assert len(media_ids) > 2
    _write(settings, media_ids)
    staged = _staged(settings, request_id)
    sent = _shipped_dn(settings, request_id)
    spans = 0
    for number, files in staged.items():
        parts: list[Path] = []
        volumes = 0
        for k, (media_id, volume) in enumerate(zip(media_ids, sent.volumes, strict=True), start=1):
            [row] = [g for g in volume.granules if g.directory == str(number)] or [None]
            if row is None:
                continue
            volumes += 1
            out = _extract(settings, media_id, tmp_path / f"g{number}v{k}")
            assert row.status == "Completed" and row.files
            assert [(f.checksum_type, f.checksum_value) for f in row.files] == [
                ("CKSUM", checksum_file(out / str(number) / f.name, "CKSUM")) for f in row.files]
            parts += [out / str(number) / f.name for f in row.files]
        inside = unbundle(parts, "tar.zst")
        inside.pop("CHECKSUMS.cksum")
        assert inside == files
        spans += volumes > 1
    assert spans
