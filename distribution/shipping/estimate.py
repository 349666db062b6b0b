"""What an order of some granules comes to before it is placed: bytes, files, and volumes per medium.

The portal shows it next to the order form. The volumes are counted by the same
planner the media DAG uses (``media.plan_volumes``: whole granules, first fit,
the DN text reserved on each), on the archived file sizes, so the estimate only
differs from the real plan when a granule fails verification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import media
from media import GranuleItem, TextFile, VolumeFile, plan_volumes
from distribution.models import Granule
from distribution.shipping.drives import medium_for
from distribution.shipping.production import MEDIA_TYPES, TEXT_FILE_RESERVE, TEXT_HEADER_RESERVE

__all__ = ["Estimate", "estimate_order"]


@dataclass
class Estimate:
    granules: int = 0
    files: int = 0
    bytes: int = 0
    #: Media type value -> volumes it would take (None: a granule too large for one volume of it).
    volumes: dict[str, int | None] = field(default_factory=dict)


def estimate_order(session: Session, granule_ids: list[int]) -> Estimate:
    """Size and volumes of an order of these granules, in this order (directory numbers 1, 2, …)."""
    granules = session.scalars(select(Granule).where(Granule.id.in_(granule_ids))
                               .options(selectinload(Granule.files))).all()
    by_id = {g.id: g for g in granules}
    ordered = [by_id[i] for i in granule_ids if i in by_id]
    items = [GranuleItem(str(g.id), str(n), tuple(VolumeFile(Path(f.archive_path), f.name, f.size) for f in g.files))
             for n, g in enumerate(ordered, start=1)]
    estimate = Estimate(len(ordered), sum(len(i.files) for i in items), sum(i.size for i in items))
    reserve = (TextFile("estimate.txt", " " * (TEXT_HEADER_RESERVE + TEXT_FILE_RESERVE * estimate.files)),)
    for media_type in MEDIA_TYPES:
        if not items:
            estimate.volumes[media_type.value] = 0
            continue
        too_large: list[media.GranuleTooLarge] = []
        try:
            plans = plan_volumes("0", items, medium_for(media_type), texts=reserve, rejected=too_large)
        except media.MediaError:
            estimate.volumes[media_type.value] = None
            continue
        estimate.volumes[media_type.value] = None if too_large else len(plans)
    return estimate
