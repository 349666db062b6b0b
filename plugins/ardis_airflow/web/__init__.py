"""Ardis's web app inside Airflow's api-server, mounted at ``/ardis``.

Every route needs a logged-in Airflow user (the UI's ``_token`` cookie or a
Bearer token) and is authorized through the auth manager's standard checks;
state-changing requests come from this server's own pages or carry a Bearer
token (``security``). Today it holds the JSON API the ``ardis`` command uses to
start runs (``api``); the order portal and the media console build on it.
"""

from __future__ import annotations

from ardis_airflow.web.app import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
