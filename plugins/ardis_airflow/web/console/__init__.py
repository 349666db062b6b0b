"""The operator console at ``/ardis/console``: the media queue and drives, every order, ingest at a glance.

Operators only (``access``); the pages and their JSON read Ardis's domain queries
(``distribution.shipping.queue``, ``distribution.orders.overview``,
``distribution.ingest.glance``). ``install(app)`` adds the routes to the plugin app.
"""

from __future__ import annotations

from ardis_airflow.web.console.access import is_page
from ardis_airflow.web.console.routes import install

__all__ = ["install", "is_page"]
