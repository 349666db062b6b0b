"""Where a release's files live in Ardis: its upload area and its validation report.

``ARDIS_PHASE3_ROOT`` (default ``<ARDIS_HOME>/phase3``) holds ``upload/<program>/<collection>/<release>/``
(the seed's "cd program/collection/release", reachable by the PI and CoIs while
the release is Open) and ``reports/<release id>/`` (the validator's outputs of
the automatic validation).
"""

from __future__ import annotations

import os
from pathlib import Path

from distribution.config import Settings
from distribution.phase3.models import Phase3Release


def phase3_root(settings: Settings) -> Path:
    return Path(os.environ.get("ARDIS_PHASE3_ROOT") or settings.home / "phase3")


def upload_root(settings: Settings) -> Path:
    return phase3_root(settings) / "upload"


def upload_area(settings: Settings, release: Phase3Release) -> Path:
    """``upload/<program>/<collection>/<release>``: made when asked for."""
    area = upload_root(settings) / release.path
    area.mkdir(parents=True, exist_ok=True)
    return area


def report_dir(settings: Settings, release_id: int) -> Path:
    return phase3_root(settings) / "reports" / str(release_id)
