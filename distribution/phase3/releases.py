"""Seed 000, "3. Create Collection and Release" and "release states": a release's life, and who moves it.

The seed's states are 1. Open, 2. Closed, 3a. Valid | 3b. Error, 4. ToBeArchived,
5. Archived, and the issue's Published after them. :data:`TRANSITIONS` is the
whole state machine: each allowed move and the roles that may make it (the
seed's swimlanes PI/COI, ESO/SYSTEM, ESO/EDP). Anything else raises
:class:`ForbiddenTransition`. Every move is one row of the release's history
(who, when, from, to, why).

* Open → Closed: "7. Close Release" — "Only PI can close a release".
* Closed → Valid | Error: "8. Validate Release (automatic)" — ESO/SYSTEM.
* Valid → ToBeArchived | Error: "9. Validate Release (scientific)" — ESO/EDP;
  a rejection carries its reason.
* ToBeArchived → Archived: "10. Archive Release" — ESO/SYSTEM (or ESO/EDP by hand).
* Archived → Published: "11. Publish Release" — ESO/SYSTEM or ESO/EDP.
* Error → Open: the error report "returns the release to the PI" (issue 17, step 5):
  the PI or a CoI opens it again to correct the data.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.inventory.archive import get_or_create_collection
from distribution.errors import NotFound, UserError
from distribution.identifiers import parse_esdt
from distribution.phase3.models import (
    Phase3Collection,
    Phase3Program,
    Phase3Release,
    Phase3ReleaseEvent,
    ReleaseState,
)
from distribution.phase3.programs import Actor, Role, check_code, get_program, require, role_of

S = ReleaseState
#: (from, to) → the roles that may make the move. Nothing else is a transition.
TRANSITIONS: dict[tuple[ReleaseState, ReleaseState], frozenset[Role]] = {
    (S.OPEN, S.CLOSED): frozenset({Role.PI}),
    (S.CLOSED, S.VALID): frozenset({Role.SYSTEM}),
    (S.CLOSED, S.ERROR): frozenset({Role.SYSTEM}),
    (S.VALID, S.TO_BE_ARCHIVED): frozenset({Role.OPERATOR}),
    (S.VALID, S.ERROR): frozenset({Role.OPERATOR}),
    (S.TO_BE_ARCHIVED, S.ARCHIVED): frozenset({Role.SYSTEM, Role.OPERATOR}),
    (S.ARCHIVED, S.PUBLISHED): frozenset({Role.SYSTEM, Role.OPERATOR}),
    (S.ERROR, S.OPEN): frozenset({Role.PI, Role.COI}),
}
#: Roles that may see a release before it is published; anyone may see a published one.
READERS = frozenset({Role.PI, Role.COI, Role.OPERATOR, Role.SYSTEM})
#: Roles that create collections and releases and upload into an open release ("PI/COI").
CONTRIBUTORS = frozenset({Role.PI, Role.COI, Role.OPERATOR})


class ForbiddenTransition(UserError):
    """A move the state machine does not have, or one the actor's role may not make."""


def create_collection(session: Session, actor: Actor, program_code: str, name: str,
                      esdt: str | None = None) -> Phase3Collection:
    """A collection of the program; its files are archived as granules of the Ardis collection ``esdt``.

    ``esdt`` defaults to ``<name>.001`` (an Ardis ``ShortName.VVV``; a short name is at most 32 characters).
    """
    program = get_program(session, program_code)
    require(session, program, actor, set(CONTRIBUTORS), "create a collection")
    check_code(name, "collection name")
    esdt = esdt or f"{name[:32]}.001"
    parse_esdt(esdt)
    if session.scalar(select(Phase3Collection.id).where(Phase3Collection.program_id == program.id,
                                                       Phase3Collection.name == name)) is not None:
        raise UserError(f"collection {name} exists already in {program_code}")
    collection = Phase3Collection(program=program, name=name, esdt=esdt, created_by=actor.name)
    session.add(collection)
    get_or_create_collection(session, esdt, f"ESO Phase 3 collection {program_code}/{name}")
    session.flush()
    return collection


def get_collection(session: Session, program_code: str, name: str) -> Phase3Collection:
    program = get_program(session, program_code)
    found = session.scalar(select(Phase3Collection).where(Phase3Collection.program_id == program.id,
                                                          Phase3Collection.name == name))
    if found is None:
        raise NotFound(f"no collection {name} in Phase 3 program {program_code}")
    return found


def create_release(session: Session, actor: Actor, program_code: str, collection_name: str, name: str,
                   mode: str = "create", release_date: date | None = None) -> Phase3Release:
    """A new Open release; ``mode`` ``update`` changes what earlier releases of the collection archived."""
    collection = get_collection(session, program_code, collection_name)
    require(session, collection.program, actor, set(CONTRIBUTORS), "create a release")
    check_code(name, "release name")
    if mode not in ("create", "update"):
        raise UserError(f"a release's mode is create or update, not {mode!r}")
    if session.scalar(select(Phase3Release.id).where(Phase3Release.collection_id == collection.id,
                                                     Phase3Release.name == name)) is not None:
        raise UserError(f"release {name} exists already in {program_code}/{collection_name}")
    release = Phase3Release(collection=collection, name=name, mode=mode, release_date=release_date,
                            created_by=actor.name, state=S.OPEN)
    session.add(release)
    session.flush()
    session.add(Phase3ReleaseEvent(release_id=release.id, from_state=None, to_state=S.OPEN, actor=actor.name,
                                   reason=f"created ({mode})"))
    session.flush()
    return release


def get_release(session: Session, release_id: int) -> Phase3Release:
    release = session.get(Phase3Release, release_id)
    if release is None:
        raise NotFound(f"no Phase 3 release {release_id}")
    return release


def find_release(session: Session, path: str) -> Phase3Release:
    """A release by id or by its path ``program/collection/release``."""
    if path.isdigit():
        return get_release(session, int(path))
    parts = path.strip("/").split("/")
    if len(parts) != 3:
        raise UserError(f"a release is its id or program/collection/release, not {path!r}")
    collection = get_collection(session, parts[0], parts[1])
    found = session.scalar(select(Phase3Release).where(Phase3Release.collection_id == collection.id,
                                                       Phase3Release.name == parts[2]))
    if found is None:
        raise NotFound(f"no release {path}")
    return found


def program_of(release: Phase3Release) -> Phase3Program:
    return release.collection.program


def can_see(session: Session, release: Phase3Release, actor: Actor) -> bool:
    """Published releases are anyone's to see; before that only the program's people and the archive's."""
    return release.state is S.PUBLISHED or role_of(session, program_of(release), actor) in READERS


def move(session: Session, release: Phase3Release, to: ReleaseState, actor: Actor, reason: str = "") -> None:
    """Make one transition, recorded in the history; ForbiddenTransition for anything TRANSITIONS lacks."""
    allowed = TRANSITIONS.get((release.state, to))
    if allowed is None:
        raise ForbiddenTransition(f"release {release.id} is {release.state.value}: it cannot become {to.value}")
    role = role_of(session, program_of(release), actor)
    if role not in allowed:
        who = " or ".join(sorted(r.value for r in allowed))
        raise ForbiddenTransition(f"{actor.name} ({role.value}) may not move release {release.id} from "
                                  f"{release.state.value} to {to.value}: only {who} may")
    session.add(Phase3ReleaseEvent(release_id=release.id, from_state=release.state, to_state=to,
                                   actor=actor.name, reason=reason))
    release.state = to
    if to is S.CLOSED:
        release.airflow_run_id = None  # each closing gets its validation run
    session.flush()


def close(session: Session, release: Phase3Release, actor: Actor) -> None:
    """"7. Close Release": the PI closes; the upload area is no longer the users' and validation starts."""
    move(session, release, S.CLOSED, actor, "closed for validation")


def history(release: Phase3Release) -> list[tuple[str, str, str, str, str]]:
    """(when, who, from, to, why) for every move of the release, oldest first."""
    return [(e.at.isoformat(timespec="seconds"), e.actor, e.from_state.value if e.from_state else "-",
             e.to_state.value, e.reason) for e in release.history]
