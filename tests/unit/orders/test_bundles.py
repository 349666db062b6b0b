"""Compressed tar bundles (ISDC): streamed through the real compressors, members' checksums inside, split."""

from __future__ import annotations

import email
import io
import random
import subprocess
import tarfile
from email.policy import default
from pathlib import Path

import pytest

from devkit.sample_data import load_samples
from distribution.checksums import checksum_file
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import FileVanished, PermanentError, UserError
from distribution.inventory.archive import granule_ur
from distribution.models import MediaType
from distribution.notices.dn import parse_dn
from distribution.notices.outbox import OutboxFolder
from distribution.orders import delivery
from distribution.orders.bundles import BundleMember, write_bundle
from distribution.orders.notify import notify_request
from distribution.orders.placing import Contact, RequestSpec, check_spec, create_order, get_request


def _members(tmp_path: Path, sizes: tuple[int, ...] = (300_000, 5, 0)) -> list[BundleMember]:
    rng = random.Random(16)
    out = []
    for i, size in enumerate(sizes):
        src = tmp_path / "archive" / f"f{i}.hdf"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(rng.randbytes(size))
        out.append(BundleMember(src, f"{i + 1:05d}/G{i}.hdf"))
    return out


def _decompressed(paths: list[Path], kind: str) -> bytes:
    joined = b"".join(p.read_bytes() for p in paths)
    tool = ["zstd", "-d", "-c"] if kind == "tar.zst" else ["gzip", "-d", "-c"]
    return subprocess.run(tool, input=joined, capture_output=True, check=True).stdout


@pytest.mark.parametrize("kind", ["tar.gz", "tar.zst"])
def test_a_bundle_holds_the_files_and_their_checksums(tmp_path: Path, kind: str) -> None:
    members = _members(tmp_path)
    target = tmp_path / "pull" / f"0100000001.{kind}"
    bundle = write_bundle(members, target, kind)
    [part] = bundle.parts
    assert part.path == target and part.size == target.stat().st_size
    assert part.checksum == checksum_file(target, "CKSUM")  # the bundle's checksum, for the DN
    with tarfile.open(fileobj=io.BytesIO(_decompressed([target], kind)), mode="r:") as tar:
        names = tar.getnames()
        assert names == [m.name for m in members] + ["CHECKSUMS.cksum"]
        for m in members:
            assert tar.extractfile(m.name).read() == m.source.read_bytes()  # type: ignore[union-attr]
        listing = tar.extractfile("CHECKSUMS.cksum").read().decode()  # type: ignore[union-attr]
    assert listing == "".join(f"{checksum_file(m.source, 'CKSUM')}  {m.name}\n" for m in members)
    assert bundle.members == {m.name: checksum_file(m.source, "CKSUM") for m in members}


def test_a_bundle_over_the_limit_is_split_and_the_parts_join_up(tmp_path: Path) -> None:
    members = _members(tmp_path, (400_000, 400_000))
    target = tmp_path / "out" / "0100000002.tar.zst"
    bundle = write_bundle(members, target, "tar.zst", split_bytes=100_000, checksum_type="MD5")
    assert len(bundle.parts) >= 8 and [p.path.name for p in bundle.parts][:2] == [
        "0100000002.tar.zst.001", "0100000002.tar.zst.002"]
    assert all(p.size == 100_000 for p in bundle.parts[:-1]) and 0 < bundle.parts[-1].size <= 100_000
    assert all(p.checksum == checksum_file(p.path, "MD5") for p in bundle.parts)
    assert not target.exists()
    with tarfile.open(fileobj=io.BytesIO(_decompressed([p.path for p in bundle.parts], "tar.zst"))) as tar:
        assert tar.extractfile(members[1].name).read() == members[1].source.read_bytes()  # type: ignore[union-attr]
        assert "CHECKSUMS.md5" in tar.getnames()


def test_a_retried_bundle_replaces_what_an_earlier_try_left(tmp_path: Path) -> None:
    members = _members(tmp_path)
    target = tmp_path / "out" / "r.tar.gz"
    write_bundle(members, target, "tar.gz", split_bytes=50_000)
    assert len(list(target.parent.iterdir())) > 1
    write_bundle(members, target, "tar.gz")
    assert [p.name for p in target.parent.iterdir()] == ["r.tar.gz"]


def test_a_missing_file_and_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(FileVanished, match="missing"):
        write_bundle([BundleMember(tmp_path / "gone", "x")], tmp_path / "b.tar.gz", "tar.gz")
    with pytest.raises(PermanentError, match="tar.gz or tar.zst"):
        write_bundle([], tmp_path / "b.zip", "zip")


def _pulled(settings: Settings, tmp_path: Path, count: int | None, **bundle: str) -> tuple[str, list[str]]:
    """The samples' first ``count`` granules (None: all) pulled with ``bundle``'s options, the DN in the outbox."""
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 64)]
        urs = urs[:count] if count is not None else urs
        order = create_order(session, settings, Contact("b1", "b1@example.org"),
                             [RequestSpec(MediaType.FTP_PULL, urs, **bundle)])  # type: ignore[arg-type]
        request_id = str(order.requests[0].request_id)
    for step in (delivery.stage_request, delivery.verify_request, delivery.deliver_request):
        step(settings, request_id)
    notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir))
    return request_id, urs


def test_an_ftp_pull_request_gets_a_bundle_per_granule_with_its_checksum_in_the_dn(
        sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    object.__setattr__(settings, "bundle_split_bytes", 40_000)
    request_id, _ = _pulled(settings, tmp_path, 2, bundle="tar.zst")
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        where = delivery.pull_directory(settings, request)
        names = {rg.directory_number: [rf.dist_name for rf in rg.files] for rg in request.granules}
        sources = {rf.dist_name: Path(str(rf.staged_path)).read_bytes() for rg in request.granules for rf in rg.files}
    (eml,) = settings.outbox_dir.glob("*.eml")
    dn = parse_dn(str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content()))
    for number, granule in enumerate(dn.granules, 1):
        parts = [where / f.name for f in granule.files]
        assert all(p.name.startswith(f"{request_id}_{number:05d}.tar.zst") for p in parts)
        assert [f.checksum_value for f in granule.files] == [checksum_file(p, "CKSUM") for p in parts]
        assert {f.checksum_type for f in granule.files} == {"CKSUM"}
        with tarfile.open(fileobj=io.BytesIO(_decompressed(parts, "tar.zst"))) as tar:
            assert tar.getnames() == names[number] + ["CHECKSUMS.cksum"]
            for name in names[number]:
                assert tar.extractfile(name).read() == sources[name]  # type: ignore[union-attr]
    assert len(dn.granules[1].files) > 1  # the 2-file granule's bundle went over 40,000 bytes: split
    assert sorted(p.name for p in where.iterdir()) == sorted(f.name for g in dn.granules for f in g.files)


def test_bundles_are_of_known_kinds_for_every_method() -> None:
    with pytest.raises(UserError, match="tar.gz or tar.zst"):
        check_spec(RequestSpec(MediaType.FTP_PULL, ["x"], bundle="zip"))
    check_spec(RequestSpec(MediaType.DLT, ["x"], bundle="tar.gz"))  # media too (tests/unit/shipping)


def test_one_bundle_per_request_holds_every_granule_in_its_directory(
        sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    request_id, urs = _pulled(settings, tmp_path, None, bundle="tar.gz", bundle_per="request")
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        where = delivery.pull_directory(settings, request)
        inside = {f"{rg.directory_number:05d}/{rf.dist_name}": Path(str(rf.staged_path)).read_bytes()
                  for rg in sorted(request.granules, key=lambda rg: rg.directory_number) for rf in rg.files}
    [bundle] = where.iterdir()
    assert bundle.name == f"{request_id}.tar.gz"  # one file in the pull area for the whole request
    (eml,) = settings.outbox_dir.glob("*.eml")
    dn = parse_dn(str(email.message_from_bytes(eml.read_bytes(), policy=default).get_content()))
    assert [g.ur for g in dn.granules] == urs and len(urs) > 1
    assert [(f.name, f.size, f.checksum_type, f.checksum_value) for f in dn.granules[0].files] == [
        (bundle.name, bundle.stat().st_size, "CKSUM", checksum_file(bundle, "CKSUM"))]
    assert all(not g.files and g.failure is None for g in dn.granules[1:])  # in the one bundle, listed once
    with tarfile.open(fileobj=io.BytesIO(_decompressed([bundle], "tar.gz"))) as tar:
        assert tar.getnames() == [*inside, "CHECKSUMS.cksum"]
        for name, data in inside.items():
            assert tar.extractfile(name).read() == data  # type: ignore[union-attr]
        listing = tar.extractfile("CHECKSUMS.cksum").read().decode()  # type: ignore[union-attr]
    assert listing.splitlines()[0].endswith(f"  {next(iter(inside))}")


def test_a_bundle_per_request_needs_a_kind() -> None:
    with pytest.raises(UserError, match="needs a bundle kind"):
        check_spec(RequestSpec(MediaType.FTP_PULL, ["x"], bundle_per="request"))
    with pytest.raises(UserError, match="per granule or per request"):
        check_spec(RequestSpec(MediaType.FTP_PULL, ["x"], bundle="tar.gz", bundle_per="volume"))
