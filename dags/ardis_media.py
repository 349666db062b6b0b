"""Physical media: ardis_media_optical (CD-ROM, DVD) and ardis_media_tape (DLT), one run per request.

Wiring only (see ``ardis_airflow.media_dag``): volumes are planned, built, loaded
by the operator, written, read back; the packing list is printed, the operator
confirms the shipment, and the shipment notice goes out. A run
``request-<RequestID>-rewrite-<Media_ID>`` writes a volume marked bad again.
"""

from __future__ import annotations

from airflow.sdk import DAG

from ardis_airflow import media_dag

with DAG(**media_dag.dag_arguments("optical", "CD-ROM and DVD", __doc__)) as optical:
    media_dag.media_tasks("optical")

with DAG(**media_dag.dag_arguments("tape", "DLT tape", __doc__)) as tape:
    media_dag.media_tasks("tape")
