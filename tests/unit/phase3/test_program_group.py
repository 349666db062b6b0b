"""The PI and CoIs of a program are in its data-rights group (phase3:<program>) by being the program's:
they may order their own release's files once archived and before it is published; a stranger may not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from distribution import db
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.inventory.rights import NotEntitled, groups_of
from distribution.models import Granule, MediaType, User
from distribution.orders.placing import Contact, RequestSpec, create_order
from distribution.phase3.archiving import archive_release
from distribution.phase3.models import ReleaseState
from distribution.phase3.programs import create_program, grant_coi, revoke_coi
from distribution.phase3.releases import get_release
from tests.unit.phase3.conftest import OPERATOR, PI, World
from tests.unit.phase3.fits_files import good_release
from tests.unit.phase3.test_archiving import archive_raw, in_upload_area, order_pulled, to_be_archived

GROUP = "phase3:196.B-0001"


def _groups(world: World) -> dict[str, set[str]]:
    with session_scope(world.settings.database_url) as session:
        return {u.user_id: groups_of(u) for u in session.scalars(select(User).order_by(User.user_id))}


def _order(world: World, user_id: str, ur: str) -> str:
    with session_scope(world.settings.database_url) as session:
        order = create_order(session, world.settings, Contact(user_id=user_id, email=f"{user_id}@example.org"),
                             [RequestSpec(MediaType.FTP_PULL, [ur])])
        return str(order.order_id)


def test_the_pi_and_cois_join_and_leave_the_programs_group(world: World) -> None:
    assert _groups(world) == {"coi1": {GROUP}, "pi1": {GROUP}, "stranger1": set()}
    with session_scope(world.settings.database_url) as session:
        grant_coi(session, PI, "196.B-0001", "coi1")  # granted twice: one membership
        grant_coi(session, PI, "196.B-0001", "stranger1")
        session.add(User(user_id="pi2", email="pi2@example.org", groups="isdc:guest"))
        session.flush()
        create_program(session, OPERATOR, "197.C-0002", "pi2")
        grant_coi(session, OPERATOR, "197.C-0002", "coi1")
    assert _groups(world) == {"coi1": {GROUP, "phase3:197.C-0002"}, "pi1": {GROUP},
                              "pi2": {"isdc:guest", "phase3:197.C-0002"}, "stranger1": {GROUP}}
    with session_scope(world.settings.database_url) as session:
        revoke_coi(session, PI, "196.B-0001", "stranger1")
        revoke_coi(session, PI, "196.B-0001", "coi1")
    assert _groups(world) == {"coi1": {"phase3:197.C-0002"}, "pi1": {GROUP},
                              "pi2": {"isdc:guest", "phase3:197.C-0002"}, "stranger1": set()}


def test_a_coi_orders_an_archived_unpublished_file_a_stranger_may_not(world: World) -> None:
    settings = world.settings
    archive_raw(world)
    area = in_upload_area(world, world.release_id, good_release)
    sent = (area / "img1.fits").read_bytes()
    to_be_archived(world, world.release_id)
    archive_release(settings, world.release_id)
    with session_scope(settings.database_url) as session:
        assert get_release(session, world.release_id).state is ReleaseState.ARCHIVED  # not published
        img1 = session.scalars(select(Granule).where(Granule.local_granule_id == "img1.fits")).one()
        assert (img1.owner_group, img1.public_release_date) == (GROUP, None)
        ur = granule_ur(img1, settings)
    got = order_pulled(settings, ur, "coi1")  # the program's people: allowed, and delivered
    assert got["img1.fits.1"] == sent and _order(world, "pi1", ur)
    with pytest.raises(NotEntitled, match="user stranger1 is not in that group"):
        _order(world, "stranger1", ur)
    with pytest.raises(NotEntitled, match="user user9 is not in that group"):
        order_pulled(settings, ur)  # a new user, unknown to the program
    with session_scope(settings.database_url) as session:
        revoke_coi(session, PI, "196.B-0001", "coi1")
    with pytest.raises(NotEntitled, match="user coi1 is not in that group"):
        _order(world, "coi1", ur)  # revoked: out of the group, refused like a stranger


def test_the_migration_gives_earlier_programs_members_their_group(world: World) -> None:
    """Programs made before the groups were kept: 0015 adds the PI and the current CoIs, not a revoked one."""
    url = world.settings.database_url
    with session_scope(url) as session:
        grant_coi(session, PI, "196.B-0001", "stranger1")
        revoke_coi(session, PI, "196.B-0001", "stranger1")
        for user in session.scalars(select(User)):
            user.groups = "isdc:guest" if user.user_id == "coi1" else ""
    db.downgrade(url, "0013")
    db.upgrade(url)
    assert _groups(world) == {"coi1": {"isdc:guest", GROUP}, "pi1": {GROUP}, "stranger1": set()}
