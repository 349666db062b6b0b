"""A validated release archived into the inventory (granules, INSERT events), published, ordered; an update after."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from distribution.orders import delivery
from distribution.inventory.archive import NewFile, add_granule, granule_ur
from distribution.db import session_scope
from distribution.errors import PermanentError, UserError
from distribution.models import Granule, GranuleEvent, MediaType, Notice
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.config import Settings
from distribution.phase3.archiving import archive_release, clean_upload_area, content_eso, description_path, \
    publish_release
from distribution.phase3.areas import report_dir, upload_area
from distribution.phase3.content import parse_content
from distribution.phase3.models import Phase3ReleaseFile, ReleaseState
from distribution.phase3.releases import create_release, get_release
from distribution.phase3.workflow import APPROVE, REJECT, close_release, scientific_answer, validate_closed
from tests.ftp_pull import pull
from tests.unit.phase3.conftest import PI, World
from tests.unit.phase3.fits_files import good_release, science_image

S = ReleaseState


def in_upload_area(world: World, release_id: int, make) -> Path:  # type: ignore[no-untyped-def]
    with session_scope(world.settings.database_url) as session:
        area = upload_area(world.settings, get_release(session, release_id))
    make(area)
    return area


def archive_raw(world: World) -> None:
    """raw1.fits, the PROV1 of the test releases, is a file of the archive."""
    raw = science_image(world.settings.home / "raw1.fits", PRODCATG="SCIENCE.IMAGE")
    with session_scope(world.settings.database_url) as session:
        add_granule(session, world.settings, "VIRCAM_RAW.001", [NewFile(raw)])


def to_be_archived(world: World, release_id: int) -> None:
    close_release(world.settings, str(release_id), PI)
    result = validate_closed(world.settings, release_id)
    if result["state"] != "Valid":
        with session_scope(world.settings.database_url) as session:
            raise AssertionError(get_release(session, release_id).error_report)
    assert scientific_answer(world.settings, release_id, [APPROVE], "", "scientist1")["state"] == "ToBeArchived"


def test_archive_publish_and_order_by_ftp_pull(world: World) -> None:
    settings = world.settings
    archive_raw(world)
    area = in_upload_area(world, world.release_id, good_release)
    sent = {p.name: p.read_bytes() for p in area.iterdir()}
    to_be_archived(world, world.release_id)
    assert (report_dir(settings, world.release_id) / "validator.toc").is_file()
    done = archive_release(settings, world.release_id)
    assert not area.exists()  # the archive has copies: the upload area is gone
    again = archive_release(settings, world.release_id)  # once only: the same granules, nothing more
    assert (again.granule_ids, again.superseded) == (sorted(done.granule_ids), [])
    assert clean_upload_area(settings, world.release_id) is False and not area.exists()
    with session_scope(settings.database_url) as session:
        release = get_release(session, world.release_id)
        assert release.state is S.ARCHIVED
        granules = [session.get(Granule, g) for g in done.granule_ids]
        layout = {g.local_granule_id: [(f.name, f.file_type) for f in g.files] for g in granules if g}
        assert layout == {"img1.fits": [("img1.fits", "SCIENCE"), ("img1.png", "ANCILLARY"),
                                        ("img1.weight.fits", "ANCILLARY")],
                          "img2.fits.fz": [("img2.fits.fz", "SCIENCE")],
                          "DR1.release-description.tar": [("release-description.tar", "ANCILLARY")]}
        assert all(g.owner_group == "phase3:196.B-0001" and g.public_release_date is None for g in granules if g)
        assert all(g.collection.esdt == "SURVEY1.001" for g in granules if g)
        events = session.scalars(select(GranuleEvent.granule_id).where(GranuleEvent.event == "INSERT")).all()
        assert sorted(events) == sorted(done.granule_ids)
        img1 = next(g for g in granules if g and g.local_granule_id == "img1.fits")
        science = img1.files[0]
        assert science.checksum_type == "MD5"
        assert science.checksum_value == hashlib.md5(sent["img1.fits"]).hexdigest()
        content = parse_content(content_eso(session, release))
        ur = granule_ur(img1, settings)
        described = description_path(session, release)
        assert described is not None and described.read_bytes() == sent["release-description.tar"]
        tar = next(g for g in granules if g and g.local_granule_id == "DR1.release-description.tar")
        tar_ur = granule_ur(tar, settings)
    assert sorted(content) == ["img1.fits", "img1.png", "img1.weight.fits", "img2.fits.fz"]
    assert content["img1.png"].science == "img1.fits" and content["img1.fits"].checksum.startswith("MD5:")

    when = publish_release(settings, world.release_id)
    with session_scope(settings.database_url) as session:
        assert get_release(session, world.release_id).state is S.PUBLISHED
        assert session.get(Granule, done.granule_ids[0]).public_release_date == when  # type: ignore[union-attr]
    got = order_pulled(settings, ur)
    # The pull area names files as the DN does (LocalGranuleID and the file's number in the granule).
    assert got == {f"img1.fits.{i}": sent[name]
                   for i, name in enumerate(["img1.fits", "img1.png", "img1.weight.fits"], 1)}
    assert order_pulled(settings, tar_ur) == {"DR1.release-description.tar": sent["release-description.tar"]}


def order_pulled(settings: Settings, ur: str, user_id: str = "user9") -> dict[str, bytes]:
    """Order one granule by FtpPull, deliver it (domain steps, no DAG) and pull what the pull area holds."""
    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, Contact(user_id=user_id, email=f"{user_id}@example.org",
                                                        checksum_list=True),
                             [RequestSpec(MediaType.FTP_PULL, [ur])])
        request_id = str(order.requests[0].request_id)
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    delivery.deliver_request(settings, request_id)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.failure is None and request.ftp_dir, request.state  # delivered; the DN step is the DAG's
        login, ftp_dir = str(request.order.order_id), str(request.ftp_dir)
    return pull(settings, login, ftp_dir)


def test_an_invalid_upload_goes_back_to_the_pi_with_the_report(world: World) -> None:
    archive_raw(world)
    area = in_upload_area(world, world.release_id, good_release)
    (area / "release-description.tar").unlink()
    close_release(world.settings, "196.B-0001/SURVEY1/DR1", PI)
    result = validate_closed(world.settings, world.release_id)
    assert result["state"] == "Error" and validate_closed(world.settings, world.release_id)["notice_id"] is None
    with session_scope(world.settings.database_url) as session:
        notice = session.get(Notice, result["notice_id"])
        assert notice is not None and notice.recipient == "pi1@example.org"
        assert "release-description.tar: -: the release description release-description.tar is missing" in notice.body
        assert get_release(session, world.release_id).error_report == (
            "release-description.tar: -: the release description release-description.tar is missing\n")
    with pytest.raises(PermanentError, match="not ToBeArchived"):
        archive_release(world.settings, world.release_id)


def test_scientific_rejection_needs_a_reason_and_tells_the_pi(world: World) -> None:
    archive_raw(world)
    in_upload_area(world, world.release_id, good_release)
    close_release(world.settings, str(world.release_id), PI)
    validate_closed(world.settings, world.release_id)
    with pytest.raises(UserError, match="needs its reason"):
        scientific_answer(world.settings, world.release_id, [REJECT], " ", "scientist1")
    result = scientific_answer(world.settings, world.release_id, [REJECT], "fluxes off by 2 mag", "scientist1")
    assert result["state"] == "Error"
    with session_scope(world.settings.database_url) as session:
        assert "fluxes off by 2 mag" in session.get(Notice, result["notice_id"]).body  # type: ignore[union-attr]
        assert get_release(session, world.release_id).history[-1].actor == "scientist1"


def test_update_replaces_one_file_deletes_another_and_keeps_the_old_versions(world: World) -> None:
    settings = world.settings
    archive_raw(world)
    in_upload_area(world, world.release_id, good_release)
    to_be_archived(world, world.release_id)
    first = archive_release(settings, world.release_id)
    publish_release(settings, world.release_id)
    with session_scope(settings.database_url) as session:
        update_id = create_release(session, PI, "196.B-0001", "SURVEY1", "DR1.1", mode="update").id
        old_paths = [Path(f.archive_path) for g in first.granule_ids
                     for f in session.get(Granule, g).files]  # type: ignore[union-attr]

    def changes(area: Path) -> None:
        science_image(area / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                      ASSON2="img1.png", ASSOC2="ANCILLARY.PREVIEW", PROV1="raw1.fits", seed=7)
        (area / "CHANGES.USER").write_text("REPLACE img1.fits\nDELETE img2.fits.fz\n")
    area = in_upload_area(world, update_id, changes)
    replacement = (area / "img1.fits").read_bytes()
    to_be_archived(world, update_id)
    second = archive_release(settings, update_id)
    assert second.superseded == ["img1.fits", "img1.png", "img1.weight.fits", "img2.fits.fz"]
    with session_scope(settings.database_url) as session:
        new = session.get(Granule, second.granule_ids[0])
        assert new is not None and new.local_granule_id == "img1.fits" and new.granule_version == 2
        assert [f.name for f in new.files] == ["img1.fits", "img1.png", "img1.weight.fits"]
        assert new.files[0].checksum_value == hashlib.md5(replacement).hexdigest()
        olds = {g.local_granule_id: g.attributes for g in (session.get(Granule, i) for i in first.granule_ids) if g}
        assert {lgid: a.get("phase3_superseded_by") for lgid, a in olds.items()} == {
            "img1.fits": "196.B-0001/SURVEY1/DR1.1", "img2.fits.fz": "196.B-0001/SURVEY1/DR1.1",
            "DR1.release-description.tar": None}  # DR1's description stays DR1's
        content = parse_content(content_eso(session, get_release(session, update_id)))
        rows = session.scalars(select(Phase3ReleaseFile).where(Phase3ReleaseFile.superseded_by == update_id)).all()
    assert {r.name: r.superseded_how for r in rows} == {"img1.fits": "REPLACE", "img1.png": "REPLACE",
                                                         "img1.weight.fits": "REPLACE", "img2.fits.fz": "DELETE"}
    assert sorted(content) == ["img1.fits", "img1.png", "img1.weight.fits"]
    assert content["img1.fits"].release == "DR1.1" and content["img1.png"].release == "DR1.1"
    assert all(p.is_file() for p in old_paths)  # nothing deleted

