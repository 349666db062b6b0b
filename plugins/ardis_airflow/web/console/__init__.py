"""The operator console at ``/ardis/console``: the media queue and drives, every order, subscriptions, ingest.

Operators only (``access``); the pages and their JSON read Ardis's domain queries
(``distribution.shipping.queue``, ``distribution.orders.overview``,
``distribution.ingest.glance``); an operator's answers to the media steps and to
the Phase 3 scientific validation (``scientific``, its queue) go to Airflow's own
API (``steps``), the other actions to the domain (``actions``).
``install(app)`` adds the routes to the plugin app.
"""

from __future__ import annotations

from fastapi import FastAPI

from ardis_airflow.web.console import actions, requestpage, routes, scientific, subscriptions
from ardis_airflow.web.console.access import is_page

__all__ = ["install", "is_page"]


def install(app: FastAPI) -> None:
    """The console's routes (its look is the portal's stylesheet; ``web.app`` sends a page to the login)."""
    app.include_router(routes.router)
    app.include_router(actions.router)
    app.include_router(requestpage.router)
    app.include_router(scientific.router)
    app.include_router(scientific.acts)
    app.include_router(subscriptions.router)
