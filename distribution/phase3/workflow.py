"""Seed 000, "7. Close Release" to "11. Publish Release": the steps of a release's ``ardis_phase3_release`` run.

* close — "Only PI can close a release"; "FTP area becomes unavailable for the
  user" (the upload server serves Open releases only); "Triggers automatic
  validation process" (``ardis_phase3_poll`` starts a run for every Closed
  release without one);
* automatic validation ("8. Validate Release (automatic)", ESO/SYSTEM): the same
  validator on the uploaded files; Error returns the release to the PI with the
  error report by e-mail, Valid goes on;
* scientific validation ("9. Validate Release (scientific)", ESO/EDP): an
  operator approves (→ ToBeArchived) or rejects with a reason (→ Error, and a
  notice to the PI);
* archive and publish (``archiving.py``).

Each step finds its release's state in Ardis's database and does nothing twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import PermanentError, UserError
from distribution.models import Notice, NoticeState
from distribution.notices.outbox import Transport, enqueue_notice, send_pending
from distribution.phase3.archiving import validate_area
from distribution.phase3.areas import report_dir
from distribution.phase3.models import Phase3Release, ReleaseState
from distribution.phase3.programs import Actor
from distribution.phase3.releases import close, find_release, get_release, move
from distribution.phase3.validator import render_errors, write_outputs

log = logging.getLogger(__name__)
S = ReleaseState
APPROVE, REJECT = "Approve", "Reject"


def close_release(settings: Settings, reference: str, actor: Actor) -> int:
    """The PI closes the release (by id or ``program/collection/release``); returns its id."""
    with session_scope(settings.database_url) as session:
        release = find_release(session, reference)
        close(session, release, actor)
        return release.id


def closed_without_run(settings: Settings) -> list[tuple[int, int]]:
    """Closed releases whose validation run has not started: (release id, how many times it was closed)."""
    with session_scope(settings.database_url) as session:
        releases = session.scalars(select(Phase3Release).where(
            Phase3Release.state == S.CLOSED, Phase3Release.airflow_run_id.is_(None)).order_by(Phase3Release.id))
        return [(r.id, sum(1 for e in r.history if e.to_state is S.CLOSED)) for r in releases]


def send_notices(settings: Settings, release_id: int, transport: Transport) -> list[int]:
    """Send the release's notices not sent yet (validation errors, rejections); returns the ids sent."""
    with session_scope(settings.database_url) as session:
        ids = list(session.scalars(select(Notice.id).where(Notice.dedupe_key.like(f"phase3-{release_id}-%"),
                                                           Notice.state != NoticeState.SENT)))
    return send_pending(settings.database_url, transport, notice_ids=ids) if ids else []


def begin(settings: Settings, release_id: int, run_id: str) -> str:
    """Note the run that takes the release; returns its path."""
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        release.airflow_run_id = run_id
        return release.path


def _notify_pi(session: object, release: Phase3Release, subject: str, body: str, key: str) -> int:
    pi = release.collection.program.pi
    notice = enqueue_notice(session, dedupe_key=f"phase3-{release.id}-{key}", kind="phase3",  # type: ignore[arg-type]
                            recipient=pi.email, subject=subject, body=body)
    return notice.id


def validate_closed(settings: Settings, release_id: int) -> dict[str, object]:
    """Closed → Valid | Error by the validator on the upload area; an Error e-mails the report to the PI.

    Returns the release's state and the notice id (None when nothing was sent).
    """
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        if release.state is not S.CLOSED:
            return {"state": release.state.value, "notice_id": None}
        report = validate_area(settings, release, session)
        write_outputs(report, report_dir(settings, release_id))
        if report.ok:
            move(session, release, S.VALID, Actor.archive_system(), report.summary())
            return {"state": S.VALID.value, "notice_id": None}
        errors = render_errors(report)
        release.error_report = errors
        move(session, release, S.ERROR, Actor.archive_system(), report.summary())
        attempt = sum(1 for e in release.history if e.to_state is S.ERROR)
        notice_id = _notify_pi(session, release, f"Phase 3 release {release.path}: validation ERROR",
                               f"Your release {release.path} did not validate and is back with you.\n\n"
                               f"{report.summary()}\n\nvalidator.error:\n{errors}\n"
                               "Correct the files, reopen the release (ardis phase3 release reopen), upload "
                               "and close it again.", f"error-{attempt}")
        return {"state": S.ERROR.value, "notice_id": notice_id}


def scientific_answer(settings: Settings, release_id: int, chosen: list[str], reason: str, operator: str
                      ) -> dict[str, object]:
    """The scientist's answer: Approve → ToBeArchived; Reject (a reason is needed) → Error and a notice to the PI."""
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        if release.state is not S.VALID:
            return {"state": release.state.value, "notice_id": None}
        actor = Actor.archive_operator(operator or "ESO/EDP")
        if chosen == [APPROVE]:
            move(session, release, S.TO_BE_ARCHIVED, actor, reason or "approved")
            return {"state": S.TO_BE_ARCHIVED.value, "notice_id": None}
        if chosen != [REJECT]:
            raise UserError(f"the scientific validation answers {APPROVE} or {REJECT}, not {chosen!r}")
        if not reason.strip():
            raise UserError("a rejection needs its reason")
        release.error_report = f"scientific validation: {reason.strip()}\n"
        move(session, release, S.ERROR, actor, f"rejected: {reason.strip()}")
        attempt = sum(1 for e in release.history if e.to_state is S.ERROR)
        notice_id = _notify_pi(session, release, f"Phase 3 release {release.path}: rejected",
                               f"Your release {release.path} was rejected by the archive's scientific "
                               f"validation:\n\n{reason.strip()}\n", f"rejected-{attempt}")
        return {"state": S.ERROR.value, "notice_id": notice_id}


def is_valid(settings: Settings, release_id: int) -> bool:
    with session_scope(settings.database_url) as session:
        return get_release(session, release_id).state is S.VALID


def outcome(settings: Settings, release_id: int) -> str:
    """The run's last line; PermanentError (the run fails) when the release ended in Error."""
    with session_scope(settings.database_url) as session:
        release = get_release(session, release_id)
        if release.state is S.ERROR:
            raise PermanentError(f"release {release.path} is in Error: {(release.error_report or '').strip()[:500]}")
        return f"release {release.path} is {release.state.value}"
