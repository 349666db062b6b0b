"""Task bodies of the ESO Phase 3 DAGs: one Ardis function each (distribution.phase3.workflow and .archiving).

Runs pass the release id (run id ``phase3-<id>``, conf ``release_id``); the
state of record is the release's row in Ardis's database.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from ardis_airflow.assets import GRANULE_INSERTS
from ardis_airflow.connections import notice_transport
from ardis_airflow.names import phase3_run_id
from distribution.config import load_settings
from distribution.errors import UserError
from distribution.phase3 import archiving, workflow

log = logging.getLogger(__name__)
#: The scientific validation's answers (the DAG offers them; ``record_scientific`` takes one).
SCIENTIFIC_OPTIONS = [workflow.APPROVE, workflow.REJECT]
#: The step that asks the scientists (the operator console's queue answers it).
SCIENTIFIC_TASK = "scientific_validation"


def _release_id() -> int:
    context = get_current_context()
    conf = context["dag_run"].conf or {}
    raw = str(conf.get("release_id") or context["params"].get("release_id") or "").strip()
    if not raw.isdigit():
        raise UserError(f"this run has no release_id in its conf: {raw!r}")
    return int(raw)


def discover() -> list[dict[str, Any]]:
    """Trigger arguments for every Closed release without a validation run ("Triggers automatic validation")."""
    return [{"trigger_run_id": phase3_run_id(release_id, closings), "conf": {"release_id": release_id},
             "note": f"Phase 3 release {release_id}"}
            for release_id, closings in workflow.closed_without_run(load_settings())]


def begin() -> str:
    return workflow.begin(load_settings(), _release_id(), get_current_context()["dag_run"].run_id)


def validate() -> dict[str, object]:
    """"8. Validate Release (automatic)": Closed → Valid | Error."""
    return workflow.validate_closed(load_settings(), _release_id())


def is_valid() -> bool:
    """Only a Valid release goes to the scientists."""
    return workflow.is_valid(load_settings(), _release_id())


def record_scientific(answer: dict[str, Any]) -> bool:
    """"9. Validate Release (scientific)": the operator's answer; True when the release is ToBeArchived."""
    user = answer.get("responded_by_user") or {}
    result = workflow.scientific_answer(load_settings(), _release_id(), list(answer.get("chosen_options") or []),
                                        str((answer.get("params_input") or {}).get("reason") or ""),
                                        str(user.get("name") or user.get("id") or ""))
    return result["state"] == "ToBeArchived"


def archive() -> list[int]:
    """"10. Archive Release": granules and INSERT events; the asset event names them."""
    release_id = _release_id()
    done = archiving.archive_release(load_settings(), release_id)
    get_current_context()["outlet_events"][GRANULE_INSERTS].extra = {"phase3_release_id": release_id,
                                                                     "granule_ids": done.granule_ids}
    return done.granule_ids


def publish() -> str:
    """"11. Publish Release"."""
    return archiving.publish_release(load_settings(), _release_id()).isoformat()


def notify() -> list[int]:
    """The PI's notices of this release (error report, rejection), sent now."""
    settings = load_settings()
    return workflow.send_notices(settings, _release_id(), notice_transport(settings))


def outcome() -> str:
    return workflow.outcome(load_settings(), _release_id())
