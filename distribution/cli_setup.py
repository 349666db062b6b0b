"""``ardis setup``: make this installation ready (database, Airflow pools, connections); idempotent.

It reaches Airflow through the api-server only (``ARDIS_AIRFLOW_URL`` and the ``ardis``
account, see ``distribution.airflow_bridge``); ``--wait`` lets ``airflow-init`` or a
script run it while the api-server is still starting. Exit 0 ready; 1 a connection the
configuration names is missing (``--allow-missing-connections``: reported only) or
Airflow could not be asked.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from distribution.config import Settings
from distribution.errors import ArdisError


def _cmd_setup(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.airflow_bridge import AirflowUnreachable
    from distribution.setup import RestAirflow, render_report, run_setup, wait_for

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
