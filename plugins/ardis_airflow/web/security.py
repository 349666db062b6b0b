"""Who is asking, what they may do, and where a state-changing request comes from.

Plugin apps are not authenticated by Airflow (a route without a dependency
answers anyone), so every route depends on ``current_user``: Airflow's own
``get_user`` (Bearer token, or the ``_token`` cookie the Airflow UI sets).
Permissions are the auth manager's standard checks, so the SimpleAuthManager
and the FAB one both work; a user's role is never read. ``get_auth_manager()``
is the api-server's; ``AuthManagerDep`` would read this app's own state and fail.

Airflow's API has no CSRF token: GETs change nothing, and a state-changing
request must name this server in ``Origin`` (or ``Referer``) — or carry no
ambient credential at all, only a Bearer token (what scripts and the ``ardis``
command send; a browser never adds one by itself).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import get_user
from airflow.configuration import conf
from fastapi import Depends, HTTPException, Request, status

__all__ = ["CurrentUser", "current_user", "may_run", "same_origin"]

current_user = get_user
CurrentUser = Annotated[Any, Depends(get_user)]


def may_run(user: Any, dag_id: str) -> bool:
    """May ``user`` start a run of ``dag_id`` (what Airflow's own trigger endpoint asks)?"""
    return get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN,
                                                details=DagDetails(id=dag_id), user=user)


def _server_hosts(request: Request) -> set[str]:
    hosts = {request.url.netloc.lower()}
    if host := request.headers.get("host"):
        hosts.add(host.lower())
    if base := conf.get("api", "base_url", fallback=None):
        hosts.add(urlsplit(base).netloc.lower())
    return {h for h in hosts if h}


def same_origin(request: Request) -> None:
    """Refuse a state-changing request another site's page could have made with the user's cookie."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a request that changes something must come from "
                                                       "this server's pages (Origin) or carry a Bearer token")
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() not in _server_hosts(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"cross-origin request refused ({source[:100]})")
