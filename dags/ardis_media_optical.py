"""Physical media (CD-ROM and DVD): one run per request (run id ``request-<RequestID>``).

Wiring only (see ``ardis_airflow.media_dag``): volumes are planned, built, loaded
by the operator, written, read back; the packing list is printed, the operator
confirms the shipment, and the shipment notice goes out. A run
``request-<RequestID>-rewrite-<Media_ID>`` writes a volume marked bad again.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from ardis_airflow import media_dag, policy

with DAG(
    dag_id="ardis_media_optical",
    description="Produce, verify and ship the CD-ROM and DVD volumes of one request",
    schedule=None,
    catchup=False,
    max_active_runs=4,
    default_args=policy.default_args(),
    params={"request_id": Param("", type="string", description="Ardis RequestID (10 digits)")},
    tags=["ardis", "media"],
    doc_md=__doc__,
) as dag:
    media_dag.media_tasks("optical")
