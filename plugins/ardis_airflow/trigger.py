"""Start the run of one request now: ``python -m ardis_airflow.trigger REQUEST ORDER MEDIA [RUN_ID]``.

The ``ardis`` command runs this as a separate process (the domain never imports
Airflow). If it fails, the dispatcher DAG starts the run on its next tick. A
RUN_ID other than ``request-<REQUEST>`` starts another run of the request's DAG
(a media rewrite: it writes the volumes marked bad).
"""

from __future__ import annotations

import sys

from airflow.api.common.trigger_dag import trigger_dag
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.types import DagRunTriggeredByType

from distribution.airflow_bridge import dag_for


def main(argv: list[str]) -> int:
    request_id, order_id, media = argv[:3]
    run_id = argv[3] if len(argv) > 3 else f"request-{request_id}"
    dag_id = dag_for(media)
    with create_session() as session:
        if session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).first():
            print(f"{run_id} exists")
            return 0
    trigger_dag(
        dag_id,
        triggered_by=DagRunTriggeredByType.CLI,
        run_id=run_id,
        conf={"request_id": request_id, "order_id": order_id},
        note=f"Order {order_id} / Request {request_id} ({media})",
    )
    print(f"{run_id} triggered")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
