"""Task bodies of the ELT data product DAGs: one Ardis function each (distribution.products.pipeline).

Runs pass the product id (``dp-<id>``, conf ``product_id``); everything else is
in Ardis's database. A source on another host is fetched over SFTP with the
Airflow connection ``ardis_dp_<host>`` (login, key or password, and the host key
in its extra, always verified).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from ardis_airflow.assets import GRANULE_INSERTS
from ardis_airflow.connections import push_credentials
from ardis_airflow.names import product_run_id
from distribution.config import load_settings
from distribution.orders.delivery import Credentials
from distribution.errors import MissingConnection, UserError
from distribution.products import pipeline

log = logging.getLogger(__name__)


def _product_id() -> int:
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    raw = str(conf.get("product_id") or context["params"].get("product_id") or "").strip()
    if not raw.isdigit():
        raise UserError(f"this run has no product_id in its conf: {raw!r}")
    return int(raw)


def _credentials_for(host: str) -> Credentials | None:
    try:
        return push_credentials(f"ardis_dp_{host}")
    except MissingConnection:
        return None  # SFTP then refuses: no host key on record


def discover() -> list[dict[str, Any]]:
    """Take the drop directory's specifications; trigger arguments for every product without a run."""
    settings = load_settings()
    for name, what in pipeline.take_drop_directory(settings):
        log.info("drop directory: %s: %s", name, what)
    return [{"trigger_run_id": product_run_id(product_id), "conf": {"product_id": product_id},
             "note": f"data product {product_id}"} for product_id in pipeline.pending_products(settings)]


def begin() -> str:
    return pipeline.begin(load_settings(), _product_id(), get_current_context()["dag_run"].run_id)


def fetch() -> list[str]:
    return pipeline.fetch(load_settings(), _product_id(), _credentials_for)


def merge() -> str:
    return pipeline.merge(load_settings(), _product_id(), _credentials_for)


def archive() -> int | None:
    """Archive the product; the INSERT asset event names its granule (the table is the record)."""
    product_id = _product_id()
    granule_id = pipeline.archive(load_settings(), product_id)
    get_current_context()["outlet_events"][GRANULE_INSERTS].extra = {"product_id": product_id,
                                                                     "granule_ids": [granule_id] if granule_id else []}
    return granule_id


def outcome() -> str:
    return pipeline.outcome(load_settings(), _product_id())
