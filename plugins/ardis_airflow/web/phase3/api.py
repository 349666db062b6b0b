"""Phase 3 releases in Ardis's JSON API (``/ardis/api/phase3``), for the portal and scripts (seed 000).

Who sees what is ``access.py``'s: an unpublished release is its program's
people's and the operators'; to anyone else it does not exist (404).

* ``GET /phase3/releases`` — the releases the user may see;
* ``GET /phase3/releases/{id}`` — state, history, error report, upload path;
* ``GET /phase3/releases/{id}/content`` — ``CONTENT.ESO`` of an archived release;
* ``GET /phase3/releases/{id}/description`` — its archived ``release-description.tar``;
* ``POST /phase3/releases/{id}/close`` — the PI closes it (validation starts).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import FileResponse, PlainTextResponse
from sqlalchemy import select

from ardis_airflow.web.phase3.access import actor_of, close_as, describe, visible
from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import PermanentError
from distribution.phase3.archiving import content_eso, description_path
from distribution.phase3.content import DESCRIPTION_NAME
from distribution.phase3.models import Phase3Release
from distribution.phase3.releases import can_see, history

router = APIRouter(prefix="/phase3", tags=["Ardis Phase 3"])


@router.get("/releases")
def list_releases(user: CurrentUser) -> list[dict[str, Any]]:
    actor = actor_of(user)
    with session_scope(load_settings().database_url) as session:
        releases = session.scalars(select(Phase3Release).order_by(Phase3Release.id))
        return [describe(r) for r in releases if can_see(session, r, actor)]


@router.get("/releases/{release_id}")
def show_release(release_id: int, user: CurrentUser) -> dict[str, Any]:
    with session_scope(load_settings().database_url) as session:
        release = visible(session, release_id, actor_of(user))
        return {**describe(release), "upload_path": release.path, "error_report": release.error_report,
                "history": [dict(zip(("at", "who", "from", "to", "why"), row, strict=True))
                            for row in history(release)]}


@router.get("/releases/{release_id}/content", response_class=PlainTextResponse)
def release_content(release_id: int, user: CurrentUser) -> str:
    with session_scope(load_settings().database_url) as session:
        release = visible(session, release_id, actor_of(user))
        try:
            return content_eso(session, release)
        except PermanentError as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e


def description_response(release_id: int, user: Any) -> FileResponse:
    """The archived ``release-description.tar`` as a download; 409 before the release is archived."""
    with session_scope(load_settings().database_url) as session:
        release = visible(session, release_id, actor_of(user))
        path = description_path(session, release)
        if path is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"release {release.path} has no archived {DESCRIPTION_NAME}")
    return FileResponse(path, media_type="application/x-tar", filename=DESCRIPTION_NAME)


@router.get("/releases/{release_id}/description")
def release_description(release_id: int, user: CurrentUser) -> FileResponse:
    return description_response(release_id, user)


@router.post("/releases/{release_id}/close", dependencies=[Depends(same_origin)])
def close_release(release_id: int, user: CurrentUser) -> dict[str, Any]:
    """Only the PI closes a release; the ``ardis_phase3_poll`` DAG then starts its validation run."""
    with session_scope(load_settings().database_url) as session:
        return describe(close_as(session, release_id, actor_of(user)))
