"""Who asks about a Phase 3 release, and whether they may see it (shared by the API and the pages).

The logged-in Airflow user speaks as the Ardis user of the same name (a PI or
CoI); a user Airflow lets manage pools (SimpleAuthManager ``op`` and ``admin``)
is also the archive operator (ESO/EDP). An unpublished release is visible to its
program's people and the operators only: to anyone else it does not exist (404).
Closing is the PI's alone, never the operator's ("Only PI can close a release").
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from distribution.errors import NotFound
from distribution.phase3.models import Phase3Release, ReleaseState
from distribution.phase3.programs import Actor
from distribution.phase3.releases import ForbiddenTransition, can_see, close, get_release, move

__all__ = ["actor_of", "close_as", "describe", "reopen_as", "visible"]


def actor_of(user: Any) -> Actor:
    name = str(user.get_name())
    if get_auth_manager().is_authorized_pool(method="PUT", user=user):
        return Actor.archive_operator(name)
    return Actor(name)


def describe(release: Phase3Release) -> dict[str, Any]:
    return {"id": release.id, "path": release.path, "mode": release.mode, "state": release.state.value,
            "release_date": release.release_date.isoformat() if release.release_date else None}


def visible(session: Session, release_id: int, actor: Actor) -> Phase3Release:
    """The release, or 404 when it does not exist or the actor may not see it (the same answer for both)."""
    try:
        release = get_release(session, release_id)
    except NotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    if not can_see(session, release, actor):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no Phase 3 release {release_id}")
    return release


def close_as(session: Session, release_id: int, actor: Actor) -> Phase3Release:
    """The PI closes the release: 404 unseen, 409 not Open, 403 not the PI."""
    release = visible(session, release_id, actor)
    if release.state is not ReleaseState.OPEN:
        raise HTTPException(status.HTTP_409_CONFLICT, f"release {release.path} is {release.state.value}, not Open")
    try:
        close(session, release, Actor(actor.name))  # closing is the PI's, never the operator's
    except ForbiddenTransition as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from e
    return release


def reopen_as(session: Session, release_id: int, actor: Actor) -> Phase3Release:
    """The PI or a CoI opens a release in Error again to correct it: 404 unseen, 409 not in Error, 403 not theirs."""
    release = visible(session, release_id, actor)
    if release.state is not ReleaseState.ERROR:
        raise HTTPException(status.HTTP_409_CONFLICT, f"release {release.path} is {release.state.value}, not Error")
    try:
        move(session, release, ReleaseState.OPEN, Actor(actor.name), "reopened to correct it")
    except ForbiddenTransition as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from e
    return release
