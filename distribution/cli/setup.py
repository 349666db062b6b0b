"""``ardis setup``: make this installation ready (database, Airflow pools, connections); idempotent.

The work is ``distribution.deployment``'s; this module gives it Airflow as ``RestAirflow``:
the api-server only (``ARDIS_AIRFLOW_URL`` and the ``ardis`` account, ``distribution.cli.airflow``),
never the ``airflow`` CLI nor an Airflow import. ``--wait`` lets ``airflow-init`` or a
script run it while the api-server is still starting. Exit 0 ready; 1 a connection the
configuration names is missing (``--allow-missing-connections``: reported only) or
Airflow could not be asked.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from distribution.cli import airflow as rest
from distribution.cli.airflow import AirflowUnreachable
from distribution.config import Settings
from distribution.deployment import Airflow, render_report, run_setup
from distribution.errors import ArdisError

__all__ = ["RestAirflow", "register", "wait_for"]


class RestAirflow:
    """``distribution.deployment.Airflow`` over the api-server's REST API, as the ``ardis`` account."""

    def names(self) -> dict[str, Any]:
        return rest.airflow_names()

    def pool_slots(self, name: str) -> int | None:
        return rest.pool_slots(name)

    def set_pool(self, name: str, slots: int, description: str, exists: bool) -> None:
        rest.set_pool(name, slots, description, exists)

    def missing_connections(self, conn_ids: list[str]) -> list[str]:
        missing = rest.undefined_connections(conn_ids)
        if missing is None:
            raise AirflowUnreachable("Airflow could not be asked for connections")
        return missing


def wait_for(airflow: Airflow, timeout: float, say: Callable[[str], None],
             sleep: Callable[[float], None] = time.sleep) -> None:
    """Until the Ardis plugin answers (the api-server may be starting), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            airflow.names()
            return
        except AirflowUnreachable as e:
            if time.monotonic() >= deadline:
                raise
            say(f"waiting for Airflow: {e}")
            sleep(3)


def _cmd_setup(settings: Settings, args: argparse.Namespace) -> int:
    airflow = RestAirflow()
    try:
        wait_for(airflow, args.wait, lambda line: print(f"ardis: {line}", file=sys.stderr, flush=True))
        report = run_setup(settings, airflow)
    except AirflowUnreachable as e:
        raise ArdisError(f"setup needs Airflow's api-server: {e}") from e
    print(render_report(report))
    if report.missing and not args.allow_missing_connections:
        print(f"ardis: Airflow does not define {', '.join(report.missing)}: add them (airflow connections add)",
              file=sys.stderr)
        return 1
    return 0


def register(sub: Any) -> None:
    """Add ``ardis setup`` to the command's subparsers."""
    setup = sub.add_parser("setup", help="migrate the database, create/resize Airflow's pools, check connections")
    setup.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                       help="wait up to SECONDS for Airflow's api-server to answer")
    setup.add_argument("--allow-missing-connections", action="store_true",
                       help="report missing connections without failing")
    setup.set_defaults(func=_cmd_setup)
