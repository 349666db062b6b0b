"""Seed 000, "9. Validate Release (scientific)": what the archive's scientists see of a release that waits for them.

The operator console's queue lists the Valid
releases whose run asks for the scientific validation; for each: program,
collection, release, PI, the files uploaded and their size, how long it has been
Valid, and the automatic validation's report (``validator.toc``, ``.error``,
``.log``). The answer itself is the run's (``workflow.scientific_answer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.errors import NotFound
from distribution.phase3.areas import report_dir, upload_root
from distribution.phase3.models import Phase3Release, ReleaseState
from distribution.phase3.validator import CONTROL_NAMES, OUTPUT_NAMES

__all__ = ["REPORT_NAMES", "Waiting", "report_file", "waiting_release"]

#: The automatic validation's outputs an operator may open.
REPORT_NAMES = OUTPUT_NAMES


@dataclass(frozen=True)
class Waiting:
    """A release that waits for the scientific validation, as the queue shows it."""

    release_id: int
    path: str
    program: str
    collection: str
    release: str
    mode: str
    state: str
    pi: str
    pi_email: str
    files: int
    size: int
    valid_since: datetime | None
    reports: tuple[str, ...]  # the report files there are (REPORT_NAMES)


def _uploaded(settings: Settings, release: Phase3Release) -> list[Path]:
    area = upload_root(settings) / release.path
    if not area.is_dir():
        return []
    return [p for p in sorted(area.iterdir()) if p.is_file() and p.name not in CONTROL_NAMES]


def waiting_release(session: Session, settings: Settings, release_id: int) -> Waiting:
    """The queue's line for a release (NotFound when there is no such release)."""
    release = session.get(Phase3Release, release_id)
    if release is None:
        raise NotFound(f"no Phase 3 release {release_id}")
    files = _uploaded(settings, release)
    since = next((e.at for e in reversed(release.history) if e.to_state is ReleaseState.VALID), None)
    reports = tuple(n for n in REPORT_NAMES if (report_dir(settings, release_id) / n).is_file())
    program = release.collection.program
    return Waiting(release.id, release.path, program.code, release.collection.name, release.name, release.mode,
                   release.state.value, program.pi.user_id, program.pi.email, len(files),
                   sum(p.stat().st_size for p in files), since, reports)


def report_file(settings: Settings, release_id: int, name: str) -> Path:
    """One of the automatic validation's outputs of a release; NotFound for another name or a missing file."""
    path = report_dir(settings, release_id) / name
    if name not in REPORT_NAMES or not path.is_file():
        raise NotFound(f"release {release_id} has no validation report {name!r}")
    return path
