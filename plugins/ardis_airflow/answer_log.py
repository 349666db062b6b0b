"""Ardis records a person's answer to one of its steps the moment Airflow stores it.

Whoever answers — the Airflow UI's Required Actions, its REST API, Ardis's own pages —
Airflow's api-server writes the answer into its ``hitl_detail`` row. A listener on
that write (registered by the Ardis plugin in every Airflow process that loads
plugins; only the one that writes answers ever sees one) copies each committed
answer to an ``ardis_*`` DAG's step into Ardis's database (``distribution.answers``).
So the answer is Ardis's state of record before any task acts on it, and a step that
Airflow retries after a lost report (the HITL race of Airflow 3.3.2, see
``ardis_airflow.hitl``) finds it there instead of asking again — a task cannot read
an earlier try's answer from Airflow itself.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.models.hitl import HITLDetail
from sqlalchemy import event
from sqlalchemy.orm import Session

from ardis_airflow.names import request_id_of_run
from distribution.answers import Answer, StepKey, record_answer
from distribution.config import load_settings

log = logging.getLogger(__name__)
_PENDING = "ardis_answers"


def _request_id(ti: Any) -> str:
    try:
        conf = ti.dag_run.conf or {}
    except Exception:  # the run is not loaded and cannot be now: the run id still names the request
        conf = {}
    return str(conf.get("request_id") or request_id_of_run(str(ti.run_id)) or "")[:10]


def _collect(session: Session, _context: Any) -> None:
    """After a flush: note every answer to an Ardis step written in it (recorded once committed)."""
    for obj in list(session.dirty) + list(session.new):
        if not isinstance(obj, HITLDetail) or not obj.chosen_options or obj.responded_at is None:
            continue
        ti = obj.task_instance
        if ti is None or not str(ti.dag_id).startswith("ardis_"):
            continue
        user = obj.responded_by or {}
        answer = Answer(list(obj.chosen_options), dict(obj.params_input or {}),
                        str(user.get("name") or user.get("id") or ""), obj.responded_at)
        key = StepKey(ti.run_id, ti.task_id, -1 if ti.map_index is None else int(ti.map_index))
        session.info.setdefault(_PENDING, []).append((key, answer, _request_id(ti), int(ti.try_number or 1)))


def _record(session: Session) -> None:
    """After the commit: the answer is Airflow's now; make it Ardis's too."""
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    url = load_settings().database_url
    for key, answer, request_id, try_number in pending:
        try:
            record_answer(url, key, answer, request_id, try_number)
        except Exception:  # the step's own completion records it again; never fail the person's answer
            log.exception("could not record the answer to %s %s[%s] in Ardis's database",
                          key.run_id, key.step, key.map_index)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def listen() -> None:
    """Register the listener once per process."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_commit", _record)
        event.listen(Session, "after_rollback", _forget)
