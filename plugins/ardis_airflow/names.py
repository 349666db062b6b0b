"""Every name Ardis gives to things in Airflow, defined once: DAG ids, pools, run ids.

DAG files, task bodies, the plugin's web app and the dispatcher import them from
here; the ``ardis`` command never does (it asks the web app, ``/ardis/api``,
which knows them). A request's run is ``request-<RequestID>``; a run that writes
a volume marked bad again is ``request-<RequestID>-rewrite-<Media_ID>`` (``-<n>``
appended from the second rewrite of the same volume on, so each round starts once).
"""

from __future__ import annotations

from distribution.models import MediaType

__all__ = [
    "ARCHIVE_CHECK_DAG", "DISPATCHER_DAG", "DISTRIBUTION_DAG", "HOUSEKEEPING_DAG", "INGEST_DAG", "MEDIA_DAGS", "PDR_POLL_DAG",
    "DELIVERY_POOL", "MEDIA_QUEUE", "POOLS", "SUBSCRIPTIONS_DAG", "SUBSCRIPTION_MAIL_DAG", "ALL_DAGS", "dag_for", "media_dag",
    "DP_MERGE_DAG", "DP_POLL_DAG", "PHASE3_POLL_DAG", "PHASE3_RELEASE_DAG",
    "pdr_run_id", "phase3_run_id", "product_run_id", "request_id_of_run", "request_run_id", "rewrite_run_id",
]

DISTRIBUTION_DAG = "ardis_distribution"
DISPATCHER_DAG = "ardis_dispatcher"
HOUSEKEEPING_DAG = "ardis_housekeeping"
#: The weekly consistency check of the archive against the inventory (reports, never deletes).
ARCHIVE_CHECK_DAG = "ardis_archive_check"
INGEST_DAG = "ardis_ingest"
PDR_POLL_DAG = "ardis_pdr_poll"
SUBSCRIPTIONS_DAG = "ardis_subscriptions"
SUBSCRIPTION_MAIL_DAG = "ardis_subscription_mail"
#: ELT data products: one merge run per specification, and the drop-directory poll.
DP_MERGE_DAG = "ardis_dp_merge"
DP_POLL_DAG = "ardis_dp_poll"
#: ESO Phase 3: one run per closed release (validation to publication), and the poll that starts them.
PHASE3_RELEASE_DAG = "ardis_phase3_release"
PHASE3_POLL_DAG = "ardis_phase3_poll"
#: The physical media DAG of each drive kind.
MEDIA_DAGS = {"optical": "ardis_media_optical", "tape": "ardis_media_tape"}
#: One pool per drive kind, a slot per drive.
POOLS = {"optical": "ardis_optical_drives", "tape": "ardis_tape_drives"}
#: One pool bounds the electronic deliveries of every DAG (``ARDIS_MAX_DELIVERIES`` slots, ``ardis setup``).
DELIVERY_POOL = "ardis_deliveries"
#: The Celery queue of the tasks that touch a drive: only the drive host's worker listens on it.
MEDIA_QUEUE = "media"
ALL_DAGS = (DISTRIBUTION_DAG, DISPATCHER_DAG, HOUSEKEEPING_DAG, INGEST_DAG, PDR_POLL_DAG, SUBSCRIPTIONS_DAG,
            SUBSCRIPTION_MAIL_DAG, DP_MERGE_DAG, DP_POLL_DAG, ARCHIVE_CHECK_DAG, PHASE3_RELEASE_DAG, PHASE3_POLL_DAG,
            *MEDIA_DAGS.values())

_REQUEST = "request-"
_REWRITE = "-rewrite-"


def media_dag(kind: str) -> str:
    """The DAG of a drive kind (``optical`` or ``tape``)."""
    return MEDIA_DAGS[kind]


def dag_for(media_type: str) -> str:
    """The DAG that carries a request of this delivery method."""
    kind = MediaType(media_type).drive_kind
    return media_dag(kind) if kind else DISTRIBUTION_DAG


def product_run_id(product_id: int) -> str:
    """The run id of a data product's merge run."""
    return f"dp-{product_id}"


def phase3_run_id(release_id: int, closings: int = 1) -> str:
    """The run id of a Phase 3 release's validation run; a release closed again after an Error gets ``-<n>``."""
    return f"phase3-{release_id}" + (f"-{closings}" if closings > 1 else "")


def request_run_id(request_id: str) -> str:
    """The run id of a request's (first) run."""
    return f"{_REQUEST}{request_id}"


def rewrite_run_id(request_id: str, media_id: str, rewrites: int = 1) -> str:
    """The run that writes ``media_id`` again after its ``rewrites``-th time marked bad."""
    suffix = f"-{rewrites}" if rewrites > 1 else ""
    return f"{request_run_id(request_id)}{_REWRITE}{media_id}{suffix}"


def request_id_of_run(run_id: str) -> str | None:
    """The RequestID of one of Ardis's request runs (first or rewrite), None for any other run id."""
    if not run_id.startswith(_REQUEST):
        return None
    request_id = run_id.removeprefix(_REQUEST).split(_REWRITE, 1)[0]
    return request_id or None


def pdr_run_id(pdr_id: int) -> str:
    """The run id of one PDR's ingest."""
    return f"pdr-{pdr_id}"
