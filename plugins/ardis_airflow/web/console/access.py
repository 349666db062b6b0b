"""Who may use the console: an operator, through the auth manager's standard checks.

An operator may answer the media steps (``is_authorized_dag(PUT, HITL_DETAIL,
ardis_media_optical)``) and manage the media drives' pool (``is_authorized_pool(PUT,
ardis_optical_drives)``). Both are asked: the SimpleAuthManager lets its ``user`` role
answer steps of any DAG, but only ``op`` and ``admin`` edit pools; under the FAB auth
manager the ``Op`` role has both, ``User`` not the second.

A browser that asks for a console page without being logged in is sent to the
auth manager's login page (then back); JSON callers get the 401.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails, PoolDetails
from fastapi import Depends, HTTPException, status

from ardis_airflow.names import MEDIA_DAGS, POOLS
from ardis_airflow.web.security import current_user

CONSOLE = "/console"


def is_operator(user: Any) -> bool:
    manager = get_auth_manager()
    return manager.is_authorized_dag(method="PUT", access_entity=DagAccessEntity.HITL_DETAIL,
                                     details=DagDetails(id=MEDIA_DAGS["optical"]), user=user) and \
        manager.is_authorized_pool(method="PUT", details=PoolDetails(name=POOLS["optical"]), user=user)


def operator(user: Annotated[Any, Depends(current_user)]) -> Any:
    """The logged-in operator; 403 for anyone else."""
    if not is_operator(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the console is for operators")
    return user


Operator = Annotated[Any, Depends(operator)]


def is_page(path: str) -> bool:
    """A console page (not its JSON): a browser without a login goes to the login page (``web.app``)."""
    return path == CONSOLE or (path.startswith(CONSOLE + "/") and not path.startswith(CONSOLE + "/api/"))
