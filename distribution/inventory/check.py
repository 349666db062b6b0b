"""The archive's consistency check (ISDC archive, seed 001: nothing is ever deleted).

Compares the files under ``archive_root`` with the inventory: a file the database lists
but the disk lacks (``missing``), one on disk no row lists (``extra``), a size or checksum
that is no longer the recorded one (``size``, ``checksum``), and versions missing from
the inventory (``version``: a LocalGranuleID whose versions are not 1 to its newest).
It reports and never deletes, moves or rewrites anything.

* A full pass reads every file once (linear in N) in batches ordered by row id; after each
  batch it records how far it got in ``<home>/archive-check.json``, so a pass that stops
  (a restart, a killed worker) resumes where it was instead of starting over.
* ``sample_percent`` checks that share of the files (to 0.01 %), picked per pass (a different
  share each week), for archives too large to read whole every week: a 0.1 % sample of a
  1 TiB archive reads about 1 GiB (benchmarks/bench_archive_check.py, ``run_tib``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from distribution.checksums import INTERNAL_CHECKSUM_TYPE, UnsupportedChecksumType, checksum_file, picked
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import Granule, GranuleFile
from distribution.notices.outbox import Transport, enqueue_notice, send_pending

BATCH = 1000
BATCH_BYTES = 4 << 30
STATE_FILE = "archive-check.json"


@dataclass(frozen=True)
class Finding:
    kind: str  # missing | extra | size | checksum | version
    path: str
    detail: str = ""


@dataclass
class CheckReport:
    pass_key: str
    sample_percent: float
    checked: int = 0
    after_id: int = 0  # the last granule_files row done
    findings: list[Finding] = field(default_factory=list)
    complete: bool = False

    def lines(self) -> list[str]:
        return [f"{f.kind}\t{f.path}\t{f.detail}".rstrip() for f in self.findings]


def _state_path(settings: Settings) -> Path:
    return settings.home / STATE_FILE


def _load(settings: Settings, pass_key: str, sample_percent: float) -> CheckReport:
    path = _state_path(settings)
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("pass_key") == pass_key and data.get("sample_percent") == sample_percent:
            data["findings"] = [Finding(**f) for f in data["findings"]]
            return CheckReport(**data)
    return CheckReport(pass_key, sample_percent)


def _save(settings: Settings, report: CheckReport) -> None:
    path = _state_path(settings)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(asdict(report)))
    os.replace(tmp, path)


def _check_file(gf: GranuleFile) -> Finding | None:
    path = Path(gf.archive_path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Finding("missing", gf.archive_path, f"granule file {gf.id}")
    if size != gf.size:
        return Finding("size", gf.archive_path, f"{size} bytes, recorded {gf.size}")
    for ctype, value in ((gf.checksum_type, gf.checksum_value),
                         (gf.internal_checksum_type or INTERNAL_CHECKSUM_TYPE, gf.internal_checksum_value)):
        if not ctype or not value:
            continue
        try:
            actual = checksum_file(path, ctype)
        except UnsupportedChecksumType:
            continue  # ECS: recorded, never computable
        if actual != value:
            return Finding("checksum", gf.archive_path, f"{ctype} {actual}, recorded {value}")
        return None  # one agreeing checksum is enough
    return None


def check_archive(settings: Settings, pass_key: str, sample_percent: float = 100, batch: int = BATCH,
                  batch_bytes: int = BATCH_BYTES) -> CheckReport:
    """Run (or resume) the pass named ``pass_key`` to its end; the report of every finding.

    Progress is kept after each ``batch`` rows and, within a batch, after each ``batch_bytes`` read (a
    batch of 1,000 files of a TiB-scale archive is 100 GiB: a pass killed in it would read them again)."""
    report = _load(settings, pass_key, sample_percent)
    if report.complete:
        return report
    while True:
        with session_scope(settings.database_url) as session:
            rows = list(session.scalars(select(GranuleFile.id).where(GranuleFile.id > report.after_id)
                                        .order_by(GranuleFile.id).limit(batch)))
            chosen = [i for i in rows if picked(f"{pass_key}:{i}", sample_percent)]  # only these rows are loaded
            read = 0
            for gf in session.scalars(select(GranuleFile).where(GranuleFile.id.in_(chosen)).order_by(GranuleFile.id)):
                report.checked += 1
                finding = _check_file(gf)
                if finding is not None:
                    report.findings.append(finding)
                read += gf.size or 0
                if read >= batch_bytes:  # rows are taken in id order: every row up to this one is done
                    report.after_id, read = gf.id, 0
                    _save(settings, report)
            report.after_id = rows[-1] if rows else report.after_id
        if not rows:
            break
        _save(settings, report)
    report.findings += _extra_files(settings, pass_key, sample_percent) + _version_gaps(settings)
    report.complete = True
    _save(settings, report)
    return report


def _extra_files(settings: Settings, pass_key: str, sample_percent: float) -> list[Finding]:
    """Files under the archive root that no row lists (of the sampled share; a full pass loads the paths once,
    a sample asks the database about its share in batches, not one query per file)."""
    picked_paths = []
    for dirpath, _, filenames in os.walk(settings.archive_root):
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if sample_percent >= 100 or picked(f"{pass_key}:{path}", sample_percent):
                picked_paths.append(path)
    known: set[str] = set()
    with session_scope(settings.database_url) as session:
        if sample_percent >= 100:
            known = set(session.scalars(select(GranuleFile.archive_path)))
        else:
            for i in range(0, len(picked_paths), BATCH):
                known.update(session.scalars(select(GranuleFile.archive_path)
                                             .where(GranuleFile.archive_path.in_(picked_paths[i:i + BATCH]))))
    return [Finding("extra", path, "on disk, in no granule") for path in picked_paths if path not in known]


def _version_gaps(settings: Settings) -> list[Finding]:
    """A LocalGranuleID whose versions are not 1..newest: a version lost from the inventory (the archive
    deletes none, so every redelivery's version stays)."""
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Granule.collection_id, Granule.local_granule_id, func.count(), func.max(Granule.granule_version))
            .where(Granule.local_granule_id.is_not(None))
            .group_by(Granule.collection_id, Granule.local_granule_id)
            .having(func.count() != func.max(Granule.granule_version)))
        return [Finding("version", f"collection {c}: {lgid}", f"versions up to {newest}, {n} in the inventory")
                for c, lgid, n, newest in rows]


def report_text(settings: Settings, report: CheckReport) -> str:
    """The report operations get: what was checked and every finding, one per line."""
    head = (f"{settings.archive_name} archive check {report.pass_key}: {report.checked} files checked "
            f"({report.sample_percent:g} % sample), {len(report.findings)} findings. Nothing was deleted.\n")
    return head + "".join(line + "\n" for line in report.lines())


def check_and_report(settings: Settings, pass_key: str, sample_percent: float,
                     transport: Callable[[], Transport]) -> dict[str, int]:
    """The weekly check: run or resume the pass, and tell operations (once per pass) what it found."""
    report = check_archive(settings, pass_key, sample_percent)
    with session_scope(settings.database_url) as session:
        notice = enqueue_notice(
            session, dedupe_key=f"ops-archive-check:{pass_key}:{sample_percent}", kind="ops",
            recipient=settings.operations_email or settings.mail_from,
            subject=f"{settings.archive_name} archive check {pass_key}: {len(report.findings)} findings",
            body=report_text(settings, report))
        notice_id = notice.id
    send_pending(settings.database_url, transport(), notice_ids=[notice_id], mail_from=settings.mail_from)
    return {"checked": report.checked, "findings": len(report.findings)}
