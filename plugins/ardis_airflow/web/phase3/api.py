"""Phase 3 releases in Ardis's JSON API (``/ardis/api/phase3``), for the portal and scripts (seed 000).

The logged-in Airflow user speaks as the Ardis user of the same name (a PI or
CoI); a user Airflow lets manage pools (SimpleAuthManager ``op`` and ``admin``)
is also the archive operator (ESO/EDP). An unpublished release is visible to
its program's people and the operators only: to anyone else it does not exist (404).

* ``GET /phase3/releases`` — the releases the user may see;
* ``GET /phase3/releases/{id}`` — state, history, error report, upload path;
* ``GET /phase3/releases/{id}/content`` — ``CONTENT.ESO`` of an archived release;
* ``POST /phase3/releases/{id}/close`` — the PI closes it (validation starts).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, PermanentError
from distribution.phase3.archiving import content_eso
from distribution.phase3.models import Phase3Release, ReleaseState
from distribution.phase3.programs import Actor
from distribution.phase3.releases import ForbiddenTransition, can_see, close, get_release, history

router = APIRouter(prefix="/phase3", tags=["Ardis Phase 3"])


def _actor(user: Any) -> Actor:
    name = str(user.get_name())
    if get_auth_manager().is_authorized_pool(method="PUT", user=user):
        return Actor.archive_operator(name)
    return Actor(name)


def _describe(release: Phase3Release) -> dict[str, Any]:
    return {"id": release.id, "path": release.path, "mode": release.mode, "state": release.state.value,
            "release_date": release.release_date.isoformat() if release.release_date else None}


def _visible(session: Any, release_id: int, actor: Actor) -> Phase3Release:
    try:
        release = get_release(session, release_id)
    except NotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    if not can_see(session, release, actor):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no Phase 3 release {release_id}")
    return release


@router.get("/releases")
def list_releases(user: CurrentUser) -> list[dict[str, Any]]:
    actor = _actor(user)
    with session_scope(load_settings().database_url) as session:
        releases = session.scalars(select(Phase3Release).order_by(Phase3Release.id))
        return [_describe(r) for r in releases if can_see(session, r, actor)]


@router.get("/releases/{release_id}")
def show_release(release_id: int, user: CurrentUser) -> dict[str, Any]:
    with session_scope(load_settings().database_url) as session:
        release = _visible(session, release_id, _actor(user))
        return {**_describe(release), "upload_path": release.path, "error_report": release.error_report,
                "history": [dict(zip(("at", "who", "from", "to", "why"), row, strict=True))
                            for row in history(release)]}


@router.get("/releases/{release_id}/content", response_class=PlainTextResponse)
def release_content(release_id: int, user: CurrentUser) -> str:
    with session_scope(load_settings().database_url) as session:
        release = _visible(session, release_id, _actor(user))
        try:
            return content_eso(session, release)
        except PermanentError as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e


@router.post("/releases/{release_id}/close", dependencies=[Depends(same_origin)])
def close_release(release_id: int, user: CurrentUser) -> dict[str, Any]:
    """Only the PI closes a release; the ``ardis_phase3_poll`` DAG then starts its validation run."""
    actor = _actor(user)
    with session_scope(load_settings().database_url) as session:
        release = _visible(session, release_id, actor)
        if release.state is not ReleaseState.OPEN:
            raise HTTPException(status.HTTP_409_CONFLICT, f"release {release.path} is {release.state.value}, not Open")
        try:
            close(session, release, Actor(actor.name))  # closing is the PI's, never the operator's
        except ForbiddenTransition as e:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from e
        return _describe(release)
