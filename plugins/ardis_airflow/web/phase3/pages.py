"""The PIs' and CoIs' Phase 3 pages (``/ardis/portal/phase3/…``, seed 000): their releases, a program (PI,
CoIs, collections), a release's state and history, its error report, where to upload, the close button, and once archived ``CONTENT.ESO`` and the
release description.

Server-rendered with Jinja2 under the portal's path, so a page GET without a
login goes to Airflow's login page and back (the app's handler for
``/portal/``). Every route depends on ``current_user`` (the app adds it to the
router); GETs change nothing; the close POST checks Origin/Referer
(``same_origin``) and answers with a redirect to the release page. Who sees what
is ``access.py``'s; reads and moves go through ``distribution.phase3``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from ardis_airflow.web.phase3.access import actor_of, close_as, reopen_as, visible
from ardis_airflow.web.phase3.api import description_response
from ardis_airflow.web.security import CurrentUser, same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound, PermanentError
from distribution.phase3.archiving import content_eso, description_path
from distribution.phase3.content import CONTENT_NAME, DESCRIPTION_NAME
from distribution.phase3.models import Phase3Collection, Phase3Release, ReleaseState
from distribution.phase3.programs import Role, get_program, members, role_of
from distribution.phase3.releases import READERS, can_see, history

__all__ = ["PAGES", "router"]

HERE = Path(__file__).resolve().parent
#: Where the pages are inside the portal (the app mounts the router at ``/portal`` + PAGES).
PAGES = "/phase3"
#: The SSH port ``ardis phase3 upload-server`` listens on unless told otherwise.
UPLOAD_PORT = 2222
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(tags=["Ardis Phase 3 pages"], include_in_schema=False)
S = ReleaseState


def upload_url(request: Request) -> str:
    """Where PIs and CoIs upload: ``ARDIS_PHASE3_UPLOAD_URL``, or SFTP on this host's upload-server port."""
    return os.environ.get("ARDIS_PHASE3_UPLOAD_URL") or f"sftp://{request.url.hostname}:{UPLOAD_PORT}"


def _page(request: Request, name: str, user: Any, code: int = 200, **context: Any) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return templates.TemplateResponse(request, name, {"who": str(user.get_name()), "root": root,
                                                      "portal": root + "/portal", "base": root + "/portal" + PAGES,
                                                      **context}, status_code=code)


def _message(request: Request, user: Any, e: HTTPException) -> HTMLResponse:
    return _page(request, "message.html", user, e.status_code, title="Not done", message=str(e.detail))


@router.get("/", response_class=HTMLResponse)
def releases_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """The releases the user may see, with their role in each program."""
    actor = actor_of(user)
    with session_scope(load_settings().database_url) as session:
        rows = [{"id": r.id, "path": r.path, "mode": r.mode, "state": r.state.value,
                 "program": r.collection.program.code,
                 "role": role_of(session, r.collection.program, actor).value,
                 "updated": r.updated_at.isoformat(timespec="minutes")}
                for r in session.scalars(select(Phase3Release).order_by(Phase3Release.id))
                if can_see(session, r, actor)]
        return _page(request, "releases.html", user, rows=rows, operator=actor.operator)


@router.get("/programs/{code}", response_class=HTMLResponse)
def program_page(request: Request, code: str, user: CurrentUser) -> HTMLResponse:
    """A program: its PI and CoIs, its collections and the releases the user may see (its people and operators)."""
    actor = actor_of(user)
    with session_scope(load_settings().database_url) as session:
        try:
            program = get_program(session, code)
        except NotFound:
            program = None
        role = role_of(session, program, actor) if program is not None else Role.NONE
        if program is None or role not in READERS:
            return _message(request, user, HTTPException(404, f"no Phase 3 program {code!r} of yours"))
        collections = session.scalars(select(Phase3Collection).where(Phase3Collection.program_id == program.id)
                                      .order_by(Phase3Collection.name)).all()
        releases = session.scalars(select(Phase3Release).where(Phase3Release.collection_id.in_(
            [c.id for c in collections])).order_by(Phase3Release.id)).all()
        facts = {"code": program.code, "title": program.title, "role": role.value,
                 "members": [(who, r.value) for who, r in members(session, program)],
                 "collections": [(c.name, c.esdt) for c in collections],
                 "releases": [{"id": r.id, "path": r.path, "mode": r.mode, "state": r.state.value} for r in releases]}
    return _page(request, "program.html", user, p=facts)


@router.get("/releases/{release_id}", response_class=HTMLResponse)
def release_page(request: Request, release_id: int, user: CurrentUser) -> HTMLResponse:
    """One release: state, history, error report, upload instructions while Open, the close button for the PI."""
    actor = actor_of(user)
    with session_scope(load_settings().database_url) as session:
        try:
            release = visible(session, release_id, actor)
        except HTTPException as e:
            return _message(request, user, e)
        role = role_of(session, release.collection.program, actor)
        archived = release.state in (S.ARCHIVED, S.PUBLISHED)
        facts = {"id": release.id, "path": release.path, "mode": release.mode, "state": release.state.value,
                 "program": release.collection.program.code,
                 "release_date": release.release_date.isoformat() if release.release_date else None,
                 "error_report": release.error_report if release.state is S.ERROR else None,
                 "history": history(release), "role": role.value,
                 "may_upload": release.state is S.OPEN and role in (Role.PI, Role.COI),
                 "may_close": release.state is S.OPEN and role is Role.PI and not actor.operator,
                 "may_reopen": release.state is S.ERROR and role in (Role.PI, Role.COI) and not actor.operator,
                 "archived": archived,
                 "has_description": archived and description_path(session, release) is not None}
    return _page(request, "release.html", user, r=facts, upload_url=upload_url(request),
                 done=request.query_params.get("done"))


@router.get(f"/releases/{{release_id}}/{CONTENT_NAME}", response_class=PlainTextResponse)
def content_download(request: Request, release_id: int, user: CurrentUser) -> Response:
    """"download release description file" ``CONTENT.ESO`` (archived releases only)."""
    with session_scope(load_settings().database_url) as session:
        try:
            release = visible(session, release_id, actor_of(user))
            text = content_eso(session, release)
        except HTTPException as e:
            return _message(request, user, e)
        except PermanentError as e:
            return _message(request, user, HTTPException(409, str(e)))
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="{CONTENT_NAME}"'})


@router.get(f"/releases/{{release_id}}/{DESCRIPTION_NAME}")
def description_download(request: Request, release_id: int, user: CurrentUser) -> Response:
    """The archived ``release-description.tar``."""
    try:
        answer: FileResponse = description_response(release_id, user)
    except HTTPException as e:
        return _message(request, user, e)
    return answer


@router.post("/releases/{release_id}/close", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
def close_release(request: Request, release_id: int, user: CurrentUser) -> Response:
    """"7. Close Release" (the PI only); the ``ardis_phase3_poll`` DAG then starts the validation run."""
    return _move(request, release_id, user, close_as, "closed")


@router.post("/releases/{release_id}/reopen", response_class=HTMLResponse, dependencies=[Depends(same_origin)])
def reopen_release(request: Request, release_id: int, user: CurrentUser) -> Response:
    """A release in Error is the PI's and CoIs' again: Open, its upload area theirs, to correct and close again."""
    return _move(request, release_id, user, reopen_as, "reopened")


def _move(request: Request, release_id: int, user: Any, how: Any, done: str) -> Response:
    """Make the move, then back to the release page (303) saying what was done; a message page when refused."""
    with session_scope(load_settings().database_url) as session:
        try:
            how(session, release_id, actor_of(user))
        except HTTPException as e:
            return _message(request, user, e)
    target = f"{request.scope.get('root_path', '')}/portal{PAGES}/releases/{release_id}?done={done}"
    return RedirectResponse(target, status_code=303)
