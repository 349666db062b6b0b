"""The order portal: data users search the inventory, order, and follow their orders (``/ardis/portal/``).

Pages are server-rendered (Jinja2 templates, a little CSS and JavaScript; no
Node build) and open inside Airflow's UI through the plugin's ``external_views``
(category "Ardis"). Who may do what is in ``people``; the order form in
``orderform``; the routes in ``pages`` and, for
the user's cart, profile and packing lists, ``account``; "My subscriptions", ``subscriptions``.
"""

from __future__ import annotations

from ardis_airflow.web.portal import account, subscriptions
from ardis_airflow.web.portal.pages import BASE, router

router.include_router(account.router)
router.include_router(subscriptions.router)

__all__ = ["BASE", "router"]
