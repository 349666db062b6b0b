"""Who uses the portal and what they may do, in the auth manager's own terms (never a role read directly).

* **The Ardis user** of an Airflow user is the Ardis ``User`` whose user id is the
  Airflow username (compared case-insensitively). Someone with no Ardis record
  yet may search; their first order creates the record with the e-mail address,
  name and shipping address they enter on the form (``ardis order create`` does
  the same for a new ``--user``), and the DN goes to that address.
* **Placing an order** = may trigger ``ardis_distribution`` (``is_authorized_dag(POST, RUN)``).
* **An operator** sees every order and every granule: may answer the media DAGs'
  Required Actions (``is_authorized_dag(PUT, HITL_DETAIL, ardis_media_optical)``)
  *and* may edit pools (``is_authorized_pool(PUT)``: the drive pools operators
  manage). The second check is there because the SimpleAuthManager lets every
  role from ``user`` up write DAG entities, HITL included, so the first alone
  would make every data user an operator; with FAB both map to the Op role.
* **A push connection** may be named when the user may read it in Airflow
  (``is_authorized_connection(GET)``: operators) or when it is the user's own:
  ``ardis_subscriber_<user id>`` (the one subscriptions use) or
  ``ardis_subscriber_<user id>_<anything>``. It must exist in Airflow.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import (ConnectionDetails, DagAccessEntity,
                                                                       DagDetails)
from airflow.models.connection import Connection
from airflow.utils.session import create_session
from sqlalchemy import select

from ardis_airflow.names import DISTRIBUTION_DAG, MEDIA_DAGS
from ardis_airflow.web.security import may_run
from distribution.inventory.rights import user_groups
from distribution.errors import UserError
from distribution.identifiers import check_user_id
from distribution.orders.cart import cart_size
from distribution.orders.queries import find_user
from distribution.subscriptions.store import default_conn_id

__all__ = ["Viewer", "connection_problem", "is_operator", "may_order", "user_id_of"]


def user_id_of(user: Any) -> str:
    """The Ardis user id of an Airflow user: its username."""
    return str(user.get_name())


def may_order(user: Any) -> bool:
    return may_run(user, DISTRIBUTION_DAG)


def is_operator(user: Any) -> bool:
    manager = get_auth_manager()
    return manager.is_authorized_pool(method="PUT", user=user) and manager.is_authorized_dag(
        method="PUT", access_entity=DagAccessEntity.HITL_DETAIL, details=DagDetails(id=MEDIA_DAGS["optical"]),
        user=user)


def _own_connection(user: Any, conn_id: str) -> bool:
    own = default_conn_id(user_id_of(user))
    return conn_id.lower() == own or conn_id.lower().startswith(own + "_")


def connection_problem(user: Any, conn_id: str) -> str | None:
    """Why ``user`` may not name the Airflow connection ``conn_id`` in an order; None when they may."""
    readable = get_auth_manager().is_authorized_connection(method="GET", details=ConnectionDetails(conn_id=conn_id),
                                                           user=user)
    if not readable and not _own_connection(user, conn_id):
        return (f"you may use your own connections ({default_conn_id(user_id_of(user))} or "
                f"{default_conn_id(user_id_of(user))}_…) and those Airflow lets you read")
    with create_session() as session:
        if session.scalar(select(Connection.id).where(Connection.conn_id == conn_id)) is None:
            return f"Airflow has no connection {conn_id}: ask an operator to add it"
    return None


class Viewer:
    """The Airflow user asking, as the portal sees them."""

    def __init__(self, user: Any, session: Any) -> None:
        self.user = user
        self.name = user_id_of(user)
        self.operator = is_operator(user)
        self.may_order = may_order(user)
        try:
            check_user_id(self.name)
            self.record = find_user(session, self.name)
            self.valid_id = True
        except UserError:
            self.record, self.valid_id = None, False
        self.email = self.record.email if self.record else ""
        self.cart = cart_size(session, self.name) if self.valid_id else 0

    @property
    def groups(self) -> set[str] | None:
        """Whose proprietary granules they see: None = every granule (operators)."""
        return None if self.operator else user_groups(self.record.groups if self.record else "")

    @property
    def owner(self) -> str | None:
        """Whose orders they read: None = everyone's (operators)."""
        return None if self.operator else self.name
