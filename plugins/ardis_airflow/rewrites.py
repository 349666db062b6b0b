"""Volumes marked bad and the runs that write them again.

A volume marked bad (at shipment, or by ``ardis media rewrite``) is written again
by a new run of its request's media DAG, ``names.rewrite_run_id``. The media
DAG's ``rewrite`` step starts it with Airflow's own ``TriggerDagRunOperator``;
the dispatcher starts it for any bad volume whose request has no run going (the
trigger was lost, or the volume was marked bad while no run was active).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ardis_airflow.names import dag_for, request_run_id, rewrite_run_id
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import Request, Volume, VolumeState


@dataclass(frozen=True)
class Rewrite:
    """One bad volume to write again, and every run of its request that may still be going."""

    request_id: str
    order_id: str
    media_type: str
    media_id: str
    rewrites: int
    runs: tuple[str, ...]

    @property
    def dag_id(self) -> str:
        return dag_for(self.media_type)

    @property
    def run_id(self) -> str:
        return rewrite_run_id(self.request_id, self.media_id, self.rewrites)

    def trigger_kwargs(self) -> dict[str, Any]:
        """Arguments of one mapped ``TriggerDagRunOperator`` (``trigger_dag_id`` included)."""
        return {
            "trigger_dag_id": self.dag_id,
            "trigger_run_id": self.run_id,
            "conf": {"request_id": self.request_id, "order_id": self.order_id},
            "note": f"Order {self.order_id} / Request {self.request_id} ({self.media_type}): "
                    f"rewrite {self.media_id}",
        }


def _rewrite(volume: Volume, siblings: list[Volume]) -> Rewrite:
    request = volume.request
    rid = str(request.request_id)
    runs = [request_run_id(rid)] + [rewrite_run_id(rid, v.media_id, n) for v in siblings
                                    for n in range(1, v.rewrites + 1)]
    return Rewrite(rid, str(request.order.order_id), request.media_type.value, volume.media_id, volume.rewrites,
                   tuple(runs))


def _volumes_of(session: Any, request_pk: int) -> list[Volume]:
    return list(session.scalars(select(Volume).where(Volume.request_pk == request_pk).order_by(Volume.number)))


def rewrite_of(settings: Settings, media_id: str) -> Rewrite | None:
    """The rewrite of this volume, None when it is not (or no longer) marked bad."""
    with session_scope(settings.database_url) as session:
        volume = session.scalar(select(Volume).where(Volume.media_id == media_id))
        if volume is None or volume.state is not VolumeState.BAD:
            return None
        return _rewrite(volume, _volumes_of(session, volume.request_pk))


def pending_rewrites(settings: Settings, limit: int = 100) -> list[Rewrite]:
    """Every bad volume of a request not yet shipped nor finished (first bad volume per request)."""
    with session_scope(settings.database_url) as session:
        bad = session.scalars(select(Volume).join(Request, Volume.request_pk == Request.id)
                              .where(Volume.state == VolumeState.BAD, Request.shipped_at.is_(None))
                              .order_by(Volume.id).limit(limit)).all()
        found: dict[str, Rewrite] = {}
        for volume in bad:
            if volume.request.state.is_terminal:
                continue
            rewrite = _rewrite(volume, _volumes_of(session, volume.request_pk))
            found.setdefault(rewrite.request_id, rewrite)
        return list(found.values())
