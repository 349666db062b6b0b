"""Ardis's JSON API (``/ardis/api``): what the ``ardis`` command asks of Airflow.

``GET /ardis/api/names`` tells Ardis's DAG ids and pools and which DAGs are parsed
(the demo waits on it). ``POST /ardis/api/requests/{request_id}/runs`` starts a request's run (or, with
a ``media_id``, the run that writes that bad volume again) under the DAG and run
id ``ardis_airflow.names`` gives it; a run that exists already is left alone
(200 ``exists``). The caller must be allowed to run that DAG.
"""

from __future__ import annotations

from typing import Any

from airflow.api.common.trigger_dag import trigger_dag
from airflow.exceptions import DagNotFound, DagRunAlreadyExists
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.types import DagRunTriggeredByType
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from ardis_airflow.names import (ALL_DAGS, DISPATCHER_DAG, DISTRIBUTION_DAG, INGEST_DAG, MEDIA_DAGS, PDR_POLL_DAG,
                                 POOLS, dag_for, request_run_id)
from ardis_airflow.rewrites import rewrite_of
from ardis_airflow.web.security import CurrentUser, may_run, same_origin
from distribution.config import load_settings
from distribution.db import session_scope
from distribution.errors import NotFound
from distribution.orders.placing import get_request

router = APIRouter(tags=["Ardis"])


class RunBody(BaseModel):
    """Which run: the request's own (no ``media_id``), or the rewrite of the bad volume ``media_id``."""

    media_id: str | None = None


class RunAnswer(BaseModel):
    request_id: str
    dag_id: str
    run_id: str
    status: str  # "triggered" or "exists"


@router.get("/health")
def health(user: CurrentUser) -> dict[str, str]:
    """The API answers, and who is asking."""
    return {"status": "ok", "user": str(user.get_name())}


@router.get("/names")
def airflow_names(user: CurrentUser) -> dict[str, Any]:
    """What Ardis calls things in Airflow (``ardis_airflow.names``), and which of its DAGs are parsed."""
    with create_session() as session:
        parsed = session.scalars(select(DagModel.dag_id).where(DagModel.dag_id.in_(ALL_DAGS),
                                                               ~DagModel.is_stale)).all()
    return {"dags": {"distribution": DISTRIBUTION_DAG, "dispatcher": DISPATCHER_DAG, "pdr_poll": PDR_POLL_DAG,
                     "ingest": INGEST_DAG, "media": dict(MEDIA_DAGS)},
            "all_dags": list(ALL_DAGS), "pools": dict(POOLS), "parsed": sorted(parsed)}


def _run_for(request_id: str, media_id: str | None) -> tuple[str, str, dict[str, Any], str]:
    """DAG id, run id, conf and note of the run asked for; 404 for an unknown request or volume."""
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            request = get_request(session, request_id)
            rid, order_id, media = str(request.request_id), str(request.order.order_id), request.media_type.value
    except NotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    if not media_id:
        return dag_for(media), request_run_id(rid), {"request_id": rid, "order_id": order_id}, \
            f"Order {order_id} / Request {rid} ({media})"
    rewrite = rewrite_of(settings, media_id)
    if rewrite is None or rewrite.request_id != rid:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"request {rid} has no volume {media_id} marked bad")
    kwargs = rewrite.trigger_kwargs()
    return rewrite.dag_id, rewrite.run_id, kwargs["conf"], kwargs["note"]


@router.post("/requests/{request_id}/runs", response_model=RunAnswer, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(same_origin)],
             responses={200: {"model": RunAnswer, "description": "the run exists already"}})
def start_run(request_id: str, user: CurrentUser, body: RunBody | None = None) -> Any:
    """Start the request's run now (idempotent); 403 if the user may not run its DAG."""
    dag_id, run_id, conf, note = _run_for(request_id, (body or RunBody()).media_id)
    if not may_run(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not start runs of {dag_id}")
    answer = RunAnswer(request_id=conf["request_id"], dag_id=dag_id, run_id=run_id, status="exists")
    with create_session() as session:
        if session.scalar(select(DagRun.id).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)):
            return JSONResponse(answer.model_dump(), status_code=status.HTTP_200_OK)
    try:
        trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.REST_API, triggering_user_name=user.get_name(),
                    run_id=run_id, conf=conf, note=note)
    except DagRunAlreadyExists:  # another caller was quicker
        return JSONResponse(answer.model_dump(), status_code=status.HTTP_200_OK)
    except DagNotFound as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"{dag_id} is not parsed yet; the dispatcher starts the run") from e
    answer.status = "triggered"
    return answer
