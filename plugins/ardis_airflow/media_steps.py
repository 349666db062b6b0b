"""Task bodies of the physical media DAGs: one Ardis function each.

Tasks pass the RequestID (from the run's conf) and Media_IDs; what a step did is
in Ardis's database. The operator's answers (the drive loaded, the media serial,
the carrier and tracking number) come from the human-in-the-loop steps and are
recorded there too.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context

from ardis_airflow.connections import notice_transport
from ardis_airflow.rewrites import rewrite_of
from ardis_airflow.steps import run_request_id
from distribution.shipping import paperwork, production
from distribution.config import load_settings
from distribution.errors import UserError
from distribution.shipping.drives import configured_drives

SHIPPED = "Shipped"
REWRITE = "Rewrite a volume"


def drive_names(kind: str) -> list[str]:
    """The drives an operator can pick for a medium of this kind (read when the DAG file is parsed)."""
    return [d.name for d in configured_drives(load_settings(), kind)]


def assigned_operators() -> list[dict[str, str]] | None:
    """The operators the media steps are assigned to (``ARDIS_MEDIA_OPERATORS``; read when the DAG file is parsed).

    Airflow's ``HITLUser``s: the auth manager's user id (the username under the
    SimpleAuthManager). None: any user with operator rights on the media DAGs may answer.
    """
    return [{"id": name, "name": name} for name in load_settings().media_operators] or None


def plan() -> list[str]:
    return production.plan_request(load_settings(), run_request_id())


def build(media_id: str) -> dict[str, Any]:
    """Build the volume's image; the load prompt shown to the operator next."""
    settings = load_settings()
    production.build_volume(settings, media_id)
    ti = get_current_context()["ti"]  # the load step that asks next has this run and map index
    step = (ti.run_id, -1 if ti.map_index is None else int(ti.map_index))
    return production.load_prompt(settings, media_id, step)


def record_load(media_id: str, answer: dict[str, Any]) -> str:
    chosen = answer.get("chosen_options") or []
    if not chosen:
        raise UserError(f"no drive was chosen for {media_id}")
    serial = str((answer.get("params_input") or {}).get("media_serial") or "")
    return production.record_load(load_settings(), media_id, chosen[0], serial)


def write(media_id: str) -> list[dict[str, Any]]:
    return production.write_volume(load_settings(), media_id)


def read_back(media_id: str) -> int:
    return production.verify_volume(load_settings(), media_id)


def packing_list() -> str:
    return paperwork.print_packing_list(load_settings(), run_request_id())


def ship(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The operator's shipment answer: shipped (carrier, tracking number), or a volume to rewrite.

    Returns what the ``rewrite`` step triggers: nothing once shipped; the run that
    writes the bad volume again otherwise (``ardis_airflow.rewrites``).
    """
    settings = load_settings()
    request_id = run_request_id()
    given = answer.get("params_input") or {}
    if REWRITE in (answer.get("chosen_options") or []):
        media_id = str(given.get("bad_media_id") or "").strip()
        production.mark_bad(settings, media_id, "marked bad at shipment")
        rewrite = rewrite_of(settings, media_id)
        return [rewrite.trigger_kwargs()] if rewrite is not None else []
    production.shipped(settings, request_id, str(given.get("carrier") or ""), str(given.get("tracking_number") or ""))
    return []


def notify() -> dict[str, Any]:
    settings = load_settings()
    return paperwork.notify_media_request(settings, run_request_id(), notice_transport(settings))
