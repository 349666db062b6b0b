"""The Ardis plugin: what Ardis adds to Airflow's own processes (the api-server above all)."""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow.plugins_manager import AirflowPlugin


@cache
def _web_app() -> Any:
    from ardis_airflow.web import create_app

    return create_app()


class ArdisPlugin(AirflowPlugin):
    """Ardis's web app at ``/ardis`` (``ardis_airflow.web``; the order portal under ``/ardis/portal/``), and the listener that records
    operators' answers to Ardis's steps in Ardis's database as Airflow stores them."""

    name = "ardis"
    #: The order portal's pages in Airflow's navigation (they open inside the UI; ``ardis_airflow.web.portal``).
    external_views = [
        {"name": "Search and order", "href": "/ardis/portal/", "url_route": "ardis-portal", "category": "Ardis",
         "destination": "nav"},
        {"name": "Orders", "href": "/ardis/portal/orders", "url_route": "ardis-orders", "category": "Ardis",
         "destination": "nav"},
        {"name": "Subscriptions", "href": "/ardis/portal/subscriptions", "url_route": "ardis-subscriptions",
         "category": "Ardis", "destination": "nav"},  # the user's own; operators: every one in the console
        {"name": "Phase 3 releases", "href": "/ardis/portal/phase3/", "url_route": "ardis-phase3",
         "category": "Ardis", "destination": "nav"},  # PIs' and CoIs' (``ardis_airflow.web.phase3``)
        {"name": "Operator console", "href": "/ardis/console", "url_route": "ardis-console", "category": "Ardis",
         "destination": "nav"},  # operators only: others get 403 there (``ardis_airflow.web.console``)
    ]

    @property  # type: ignore[override]
    def fastapi_apps(self) -> list[dict[str, Any]]:
        """Built when the api-server asks (workers and the scheduler never import FastAPI code for it)."""
        from ardis_airflow.web import PREFIX

        return [{"name": "ardis", "app": _web_app(), "url_prefix": PREFIX}]

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        from ardis_airflow.answer_log import listen

        listen()
