"""Answering Airflow's human-in-the-loop steps through its REST API, for unattended demos and tests.

An operator answers "Load a blank DVD…" and "Confirm shipment…" in the Airflow UI
(Required Actions). The demo and the tests play that operator: a thread polls
``GET /api/v2/dags/{dag}/dagRuns/~/hitlDetails`` for steps still waiting and
``PATCH``-es each answer, exactly as the UI does. Ardis reaches Airflow only as
another process here (HTTP), never by importing it. It logs in as an Airflow account
that may answer them (``login`` gives a token, e.g. ``AirflowStack.login``), so the
demo needs no ``simple_auth_manager_all_admins``.

It answers as soon as a step waits (``min_age`` 0), as a quick person would: an
answer that races the scheduler is not lost (the plugin's ``hitl`` module), so no delay
is needed.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from distribution.answers import WaitingStep

log = logging.getLogger(__name__)


#: One step waiting for an answer.
Waiting = WaitingStep


#: Decides an answer: (chosen options, params input), or None to leave the step waiting.
Decide = Callable[[Waiting], tuple[list[str], dict[str, Any]] | None]


#: Gives a token for Airflow's API (None: send none, for an Airflow with ``simple_auth_manager_all_admins``).
Login = Callable[[], str]


def _call(url: str, method: str = "GET", body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def waiting(api_url: str, dag_id: str, token: str | None = None) -> list[Waiting]:
    """The steps of ``dag_id`` that wait for an answer now."""
    query = urllib.parse.urlencode({"response_received": "false", "limit": 100})
    found = _call(f"{api_url}/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails?{query}", token=token)
    steps = []
    for item in found.get("hitl_details", []):
        ti = item.get("task_instance") or {}
        if item.get("response_received") or ti.get("state") not in (None, "awaiting_input", "deferred"):
            continue
        created = item.get("created_at")
        steps.append(Waiting(ti["dag_id"], ti["dag_run_id"], ti["task_id"], int(ti.get("map_index", -1)),
                             item.get("subject", ""), list(item.get("options") or []),
                             datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None))
    return steps


def answer(api_url: str, step: Waiting, chosen: list[str], params: dict[str, Any], token: str | None = None) -> None:
    path = (f"/api/v2/dags/{step.dag_id}/dagRuns/{urllib.parse.quote(step.run_id, safe='')}"
            f"/taskInstances/{step.task_id}/{step.map_index}/hitlDetails")
    _call(api_url + path, "PATCH", {"chosen_options": chosen, "params_input": params}, token)


class Operator(threading.Thread):
    """A stand-in operator: answers every waiting step of the given DAGs with ``decide`` until stopped."""

    def __init__(self, api_url: str, dag_ids: Iterable[str], decide: Decide, interval: float = 1.0,
                 min_age: float = 0.0, login: Login | None = None) -> None:
        super().__init__(name="hitl-operator", daemon=True)
        self.api_url, self.dag_ids, self.decide, self.interval = api_url, list(dag_ids), decide, interval
        self.login, self._token = login, None
        self.min_age = timedelta(seconds=min_age)
        self.answered: list[tuple[Waiting, list[str], dict[str, Any]]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                token = self._token = self._token or (self.login() if self.login else None)
            except Exception as e:  # noqa: BLE001 - Airflow not up yet, or refused: log in at the next poll
                log.debug("HITL login: %s", e)
                continue
            for dag_id in self.dag_ids:
                try:
                    for step in waiting(self.api_url, dag_id, token):
                        if step.created_at is not None and datetime.now(UTC) - step.created_at < self.min_age:
                            continue
                        decision = self.decide(step)
                        if decision is None:
                            continue
                        answer(self.api_url, step, *decision, token=token)
                        self.answered.append((step, *decision))
                        log.info("answered %s %s[%s]: %s", step.run_id, step.task_id, step.map_index, decision[0])
                except urllib.error.HTTPError as e:
                    if e.code == 401:
                        self._token = None  # expired: log in again at the next poll
                    log.debug("HITL poll of %s: %s", dag_id, e)
                except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
                    log.debug("HITL poll of %s: %s", dag_id, e)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


def shipping_clerk(step: Waiting) -> tuple[list[str], dict[str, Any]] | None:
    """The demo's operator: loads the first drive offered, ships with a made-up tracking number."""
    if step.task_id.endswith("load"):
        return [step.options[0]], {"media_serial": f"DEMO-{step.run_id[-10:]}-{step.map_index + 1}"}
    if step.task_id == "confirm_shipment":
        return ["Shipped"], {"carrier": "Demo Parcel Service", "tracking_number": f"DPS{step.run_id[-10:]}",
                             "bad_media_id": ""}
    return None
