"""The FastAPI app the Ardis plugin mounts in Airflow's api-server."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from ardis_airflow.web import api, console, phase3, portal, subscribing
from ardis_airflow.web.portal import api as portal_api
from ardis_airflow.web.security import current_user

#: Where the plugin mounts the app (not one of Airflow's reserved prefixes).
PREFIX = "/ardis"


async def _login_instead(request: Request, exc: Exception) -> Response:
    """A portal or console page asked for without a (valid) login goes to Airflow's login page, then comes back."""
    assert isinstance(exc, HTTPException)
    path = request.url.path[len(request.scope.get("root_path", "")):]
    page = (path.startswith(portal.BASE + "/") and not path.startswith(portal.BASE + "/static/")) \
        or (console.is_page(path) and "text/html" in request.headers.get("accept", ""))  # not its JSON callers
    if request.method == "GET" and page and (exc.status_code == 401 or exc.detail == "Invalid JWT token"):
        next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(get_auth_manager().get_url_login(next_url=next_url), status_code=303)
    return await http_exception_handler(request, exc)


def create_app() -> FastAPI:
    """The app; FastAPI's own docs routes are off (they would answer anyone): the schema is ``/api/openapi.json``."""
    app = FastAPI(title="Ardis", docs_url=None, redoc_url=None, openapi_url=None,
                  description="Ardis's API inside Airflow: every route needs a logged-in Airflow user.")
    app.include_router(api.router, prefix="/api", dependencies=[Depends(current_user)])
    app.include_router(phase3.router, prefix="/api", dependencies=[Depends(current_user)])
    app.include_router(portal_api.router, prefix="/api", dependencies=[Depends(current_user)])
    app.include_router(subscribing.api, prefix="/api", dependencies=[Depends(current_user)])
    app.include_router(portal.router, prefix=portal.BASE, dependencies=[Depends(current_user)])
    app.include_router(phase3.pages, prefix=portal.BASE + phase3.PAGES, dependencies=[Depends(current_user)])
    app.add_exception_handler(HTTPException, _login_instead)
    console.install(app)

    @app.get("/api/openapi.json", dependencies=[Depends(current_user)], include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    return app
