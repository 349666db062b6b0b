"""The release state machine (seed 000 "release states"): every allowed move by its role, every other refused."""

from __future__ import annotations

import itertools

import pytest

from distribution.db import session_scope
from distribution.errors import UserError
from distribution.phase3.models import ReleaseState
from distribution.phase3.programs import Actor, Role, create_program, grant_coi, revoke_coi, role_of
from distribution.phase3.releases import (
    TRANSITIONS,
    ForbiddenTransition,
    can_see,
    close,
    create_release,
    get_release,
    history,
    move,
)
from tests.unit.phase3.conftest import COI, OPERATOR, PI, STRANGER, SYSTEM, World

S = ReleaseState
ACTORS = {Role.PI: PI, Role.COI: COI, Role.OPERATOR: OPERATOR, Role.SYSTEM: SYSTEM, Role.NONE: STRANGER}
HAPPY = [(S.CLOSED, PI), (S.VALID, SYSTEM), (S.TO_BE_ARCHIVED, OPERATOR), (S.ARCHIVED, SYSTEM),
         (S.PUBLISHED, OPERATOR)]


def _force(world: World, state: ReleaseState) -> None:
    with session_scope(world.settings.database_url) as session:
        get_release(session, world.release_id).state = state


def test_the_seeds_way_through_every_state_with_its_history(world: World) -> None:
    with session_scope(world.settings.database_url) as session:
        release = get_release(session, world.release_id)
        assert release.path == "196.B-0001/SURVEY1/DR1" and release.state is S.OPEN
        for to, actor in HAPPY:
            move(session, release, to, actor, f"to {to.value}")
        rows = history(release)
    assert [(who, frm, to) for _, who, frm, to, _ in rows] == [
        ("pi1", "-", "Open"), ("pi1", "Open", "Closed"), ("ESO/SYSTEM", "Closed", "Valid"),
        ("ESO/EDP", "Valid", "ToBeArchived"), ("ESO/SYSTEM", "ToBeArchived", "Archived"),
        ("ESO/EDP", "Archived", "Published")]
    assert all(when for when, *_ in rows)


def test_error_returns_the_release_to_the_pi(world: World) -> None:
    with session_scope(world.settings.database_url) as session:
        release = get_release(session, world.release_id)
        close(session, release, PI)
        move(session, release, S.ERROR, SYSTEM, "PRODCATG missing")
        move(session, release, S.OPEN, COI, "correcting")
        close(session, release, PI)
        move(session, release, S.VALID, SYSTEM)
        move(session, release, S.ERROR, OPERATOR, "rejected: wrong flux calibration")
        assert history(release)[-1][4] == "rejected: wrong flux calibration"


@pytest.mark.parametrize(("frm", "to"), [pair for pair in itertools.product(S, S) if pair not in TRANSITIONS])
def test_every_forbidden_transition_is_refused_for_everyone(world: World, frm: ReleaseState,
                                                            to: ReleaseState) -> None:
    _force(world, frm)
    for actor in ACTORS.values():
        with session_scope(world.settings.database_url) as session:
            release = get_release(session, world.release_id)
            with pytest.raises(ForbiddenTransition, match="cannot become"):
                move(session, release, to, actor)
            assert release.state is frm and len(release.history) == 1


@pytest.mark.parametrize(("frm", "to"), list(TRANSITIONS))
def test_an_allowed_transition_only_by_its_roles(world: World, frm: ReleaseState, to: ReleaseState) -> None:
    for role, actor in ACTORS.items():
        _force(world, frm)
        with session_scope(world.settings.database_url) as session:
            release = get_release(session, world.release_id)
            if role in TRANSITIONS[(frm, to)]:
                move(session, release, to, actor)
                assert release.state is to
            else:
                with pytest.raises(ForbiddenTransition, match="may not move"):
                    move(session, release, to, actor)
                assert release.state is frm


def test_only_the_pi_closes(world: World) -> None:
    with session_scope(world.settings.database_url) as session:
        release = get_release(session, world.release_id)
        for actor in (COI, STRANGER, OPERATOR):
            with pytest.raises(ForbiddenTransition, match="only PI may"):
                close(session, release, actor)
        close(session, release, PI)


def test_permissions_grant_revoke_and_visibility(world: World) -> None:
    with session_scope(world.settings.database_url) as session:
        release = get_release(session, world.release_id)
        program = release.collection.program
        assert role_of(session, program, COI) is Role.COI
        assert not can_see(session, release, STRANGER) and can_see(session, release, COI)
        with pytest.raises(UserError, match="may not grant"):
            grant_coi(session, COI, "196.B-0001", "stranger1")
        with pytest.raises(UserError, match="may not create a release"):
            create_release(session, STRANGER, "196.B-0001", "SURVEY1", "DR2")
        with pytest.raises(UserError, match="only an archive operator"):
            create_program(session, PI, "197.C-0002", "pi1")
        revoke_coi(session, PI, "196.B-0001", "coi1")
        assert role_of(session, program, COI) is Role.NONE and not can_see(session, release, COI)
        release.state = S.PUBLISHED
        assert can_see(session, release, STRANGER)


def test_a_stranger_named_like_the_archive_is_not_the_archive(world: World) -> None:
    with session_scope(world.settings.database_url) as session:
        release = get_release(session, world.release_id)
        release.state = S.CLOSED
        with pytest.raises(ForbiddenTransition):
            move(session, release, S.VALID, Actor("ESO/SYSTEM"))
