"""A LocalExecutor that reports the end of a paused human-in-the-loop task late, on purpose.

It reproduces, every time, the race seen on a busy machine with Airflow 3.3.2: the
task process that asked the question ends (the task is parked, awaiting input), a
person answers, the task is handed to a worker again to take the answer, and only
then does the scheduler read the executor's report that the first process ended.
That report of an asking step's process is held back until the same task is handed
to a worker again (or for ``HOLD_SECONDS`` at most); every other report goes through
at once.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.executors.local_executor import LocalExecutor
from airflow.utils.state import TaskInstanceState

HOLD_SECONDS = 120.0  # a safety net only: every asking step is answered in the test
ASKING_STEPS = ("volume.load", "confirm_shipment")
# What the executor logs (into the scheduler's log) when the race was really produced.
LATE_AFTER_RESUME = "reporting late, after the answer's resume was handed over, that"


class LateReportLocalExecutor(LocalExecutor):
    """LocalExecutor whose reports of asking steps' ends reach the scheduler after the answer's resume."""

    def _process_workloads(self, workload_list: list[Any]) -> None:
        handed: set[Any] = getattr(self, "_handed", set())
        self._handed = handed | {w.key for w in workload_list}
        super()._process_workloads(workload_list)

    def _read_results(self) -> None:
        held: list[tuple[float, Any, Any]] = getattr(self, "_held", [])
        handed: set[Any] = getattr(self, "_handed", set())
        while not self.result_queue.empty():
            key, state, _exc = self.result_queue.get()
            if getattr(key, "task_id", "") in ASKING_STEPS and state != TaskInstanceState.RUNNING:
                handed.discard(key)  # from now on a hand-over of this key is the answer's resume
                held.append((time.monotonic(), key, state))
            else:
                self.change_state(key, state)
        self._held = []
        for since, key, state in held:
            if key in handed:
                self.log.warning("%s %s ended (%s)", LATE_AFTER_RESUME, key, state)
                self.change_state(key, state)
            elif time.monotonic() - since > HOLD_SECONDS:
                self.log.warning("reporting after %.0f s that %s ended (%s)", HOLD_SECONDS, key, state)
                self.change_state(key, state)
            else:
                self._held.append((since, key, state))
        self._handed = handed
