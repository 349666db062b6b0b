"""Start the distribution run of one request now: ``python -m ardis_airflow.trigger REQUEST ORDER MEDIA``.

The ``ardis`` command runs this as a separate process (the domain never imports
Airflow). If it fails, the dispatcher DAG starts the run on its next tick.
"""

from __future__ import annotations

import sys

from airflow.api.common.trigger_dag import trigger_dag
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.types import DagRunTriggeredByType

DAG_ID = "ardis_distribution"


def main(argv: list[str]) -> int:
    request_id, order_id, media = argv
    run_id = f"request-{request_id}"
    with create_session() as session:
        if session.query(DagRun).filter_by(dag_id=DAG_ID, run_id=run_id).first():
            print(f"{run_id} exists")
            return 0
    trigger_dag(
        DAG_ID,
        triggered_by=DagRunTriggeredByType.CLI,
        run_id=run_id,
        conf={"request_id": request_id, "order_id": order_id},
        note=f"Order {order_id} / Request {request_id} ({media})",
    )
    print(f"{run_id} triggered")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
