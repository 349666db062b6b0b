"""Task bodies of the PDR polling and ingest DAGs: one Ardis function each.

The poll passes PDR ids to the ingest runs (run id ``pdr-<id>``); each ingest
task reads its id from the run's conf and finds everything else in Ardis's
database. Provider credentials come from the Airflow Connection the provider names.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from ardis_airflow.assets import GRANULE_INSERTS
from ardis_airflow.connections import notice_transport, push_credentials
from ardis_airflow.names import pdr_run_id
from distribution.orders import housekeeping
from distribution.config import load_settings
from distribution.errors import UserError
from distribution.ingest import insert, intake, pull, respond
from distribution.models import Provider
from distribution.ingest.pdrserver import PdrServer
from distribution.ingest.providers import open_server

log = logging.getLogger(__name__)


def _server_for(provider: Provider) -> PdrServer:
    return open_server(provider, push_credentials(provider.conn_id))


def _pdr_id() -> int:
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    raw = str(conf.get("pdr_id") or context["params"].get("pdr_id") or "").strip()
    if not raw.isdigit():
        raise UserError(f"this run has no pdr_id in its conf: {raw!r}")
    return int(raw)


def discover() -> list[dict[str, Any]]:
    """Poll the due providers; trigger arguments for every PDR without a run (new ones and lost ones)."""
    settings = load_settings()
    found, problems = intake.discover(settings, _server_for)
    for problem in problems:
        log.warning("could not poll %s", problem)
    waiting = {r.id: r for r in intake.pdrs_without_run(settings)}
    names = {d.pdr_id: f"{d.provider}/{d.name}" for d in found}
    return [
        {"trigger_run_id": pdr_run_id(pdr_id), "conf": {"pdr_id": pdr_id},
         "note": f"PDR {names.get(pdr_id, record.name)} (ingest {pdr_id})"}
        for pdr_id, record in sorted(waiting.items())
    ]


def validate() -> str:
    settings = load_settings()
    pdr_id = _pdr_id()
    intake.begin(settings, pdr_id, get_current_context()["dag_run"].run_id)
    return intake.validate(settings, pdr_id)


def pull_files() -> dict[str, int]:
    return pull.pull_files(load_settings(), _pdr_id(), _server_for)


def archive() -> list[int]:
    """Archive what arrived; the INSERT asset event names the new granules (the table is the record)."""
    pdr_id = _pdr_id()
    granule_ids = insert.archive_files(load_settings(), pdr_id)
    get_current_context()["outlet_events"][GRANULE_INSERTS].extra = {"pdr_id": pdr_id, "granule_ids": granule_ids}
    return granule_ids


def answer() -> str:
    settings = load_settings()
    return respond.respond(settings, _pdr_id(), _server_for, notice_transport(settings))


def resend_owed_answers() -> list[str]:
    """Housekeeping: PANs and PDRDs still owed once their ingest runs gave up."""
    settings = load_settings()
    return housekeeping.resend_owed_answers(settings, _server_for, notice_transport(settings))
