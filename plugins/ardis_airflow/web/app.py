"""The FastAPI app the Ardis plugin mounts in Airflow's api-server."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from ardis_airflow.web import api, phase3
from ardis_airflow.web.security import current_user

#: Where the plugin mounts the app (not one of Airflow's reserved prefixes).
PREFIX = "/ardis"


def create_app() -> FastAPI:
    """The app; FastAPI's own docs routes are off (they would answer anyone): the schema is ``/api/openapi.json``."""
    app = FastAPI(title="Ardis", docs_url=None, redoc_url=None, openapi_url=None,
                  description="Ardis's API inside Airflow: every route needs a logged-in Airflow user.")
    app.include_router(api.router, prefix="/api", dependencies=[Depends(current_user)])
    app.include_router(phase3.router, prefix="/api", dependencies=[Depends(current_user)])

    @app.get("/api/openapi.json", dependencies=[Depends(current_user)], include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    return app
