"""Seed 000, "1. Create Phase 3 Program" and "2. Manage Program Permissions": who may do what in a program.

An archive operator (the seed's ESO/EDP) creates a program and names its PI; the
PI grants and revokes Co-Investigator (CoI) access. People are Ardis users
(``users.user_id``); the portal maps logged-in Airflow users onto them. The
``ardis`` command speaks as the operator, or as a PI/CoI with ``--as USER``.

The PI and the CoIs are members of the program's data-rights group
(``phase3:<program>``, ``users.groups``) for as long as they are the program's:
joined when the program is created or the CoI granted, left when the grant is
revoked. So they may order their own release's files once archived and before it
is published (``distribution.inventory.rights``), and nobody else may.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.errors import NotFound, UserError
from distribution.inventory.rights import set_user_groups
from distribution.models import User
from distribution.phase3.models import Phase3Grant, Phase3Program
from distribution.time import utcnow

#: The seed's actor names for the archive's side of the workflow.
OPERATOR_NAME = "ESO/EDP"
SYSTEM_NAME = "ESO/SYSTEM"

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Role(str, enum.Enum):
    """What an actor is to a program; the seed's swimlanes ESO/EDP, ESO/SYSTEM, PI, PI/COI."""

    OPERATOR = "ESO/EDP"
    SYSTEM = "ESO/SYSTEM"
    PI = "PI"
    COI = "CoI"
    NONE = "none"


@dataclass(frozen=True)
class Actor:
    """Who is asking: an Ardis user id, or the archive itself (operator or automatic system)."""

    name: str
    operator: bool = False
    system: bool = False

    @classmethod
    def archive_operator(cls, name: str = OPERATOR_NAME) -> Actor:
        return cls(name, operator=True)

    @classmethod
    def archive_system(cls) -> Actor:
        return cls(SYSTEM_NAME, system=True)


def check_code(code: str, what: str = "program code") -> str:
    """Program, collection and release names are path parts of ``program/collection/release``."""
    if not _CODE.fullmatch(code) or code in (".", ".."):
        raise UserError(f"{what} must be 1-64 letters, digits, '.', '_' or '-' (not starting with them): {code!r}")
    return code


def _user(session: Session, user_id: str) -> User:
    user = session.scalar(select(User).where(User.user_id == user_id))
    if user is None:
        raise NotFound(f"no Ardis user {user_id!r} (ardis order/subscription users, or add one first)")
    return user


def get_program(session: Session, code: str) -> Phase3Program:
    program = session.scalar(select(Phase3Program).where(Phase3Program.code == code))
    if program is None:
        raise NotFound(f"no Phase 3 program {code!r}")
    return program


def create_program(session: Session, actor: Actor, code: str, pi_user_id: str, title: str = "") -> Phase3Program:
    """Seed step 1 (ESO/EDP): a new program whose PI is ``pi_user_id``."""
    if not actor.operator:
        raise UserError(f"{actor.name} may not create a Phase 3 program: only an archive operator (ESO/EDP) may")
    check_code(code)
    if session.scalar(select(Phase3Program.id).where(Phase3Program.code == code)) is not None:
        raise UserError(f"Phase 3 program {code} exists already")
    program = Phase3Program(code=code, title=title, pi=_user(session, pi_user_id), created_by=actor.name)
    session.add(program)
    set_user_groups(session, program.pi, {program.group}, set())
    session.flush()
    return program


def _active_grant(session: Session, program: Phase3Program, user: User) -> Phase3Grant | None:
    return session.scalar(select(Phase3Grant).where(
        Phase3Grant.program_id == program.id, Phase3Grant.user_id == user.id, Phase3Grant.revoked_at.is_(None)))


def role_of(session: Session, program: Phase3Program, actor: Actor) -> Role:
    """The actor's role in the program (operator and system first, then PI, then an unrevoked CoI grant)."""
    if actor.system:
        return Role.SYSTEM
    if actor.operator:
        return Role.OPERATOR
    if program.pi.user_id == actor.name:
        return Role.PI
    user = session.scalar(select(User).where(User.user_id == actor.name))
    if user is not None and _active_grant(session, program, user) is not None:
        return Role.COI
    return Role.NONE


def require(session: Session, program: Phase3Program, actor: Actor, allowed: set[Role], doing: str) -> Role:
    """The actor's role when it is one of ``allowed``; else a UserError saying who may."""
    role = role_of(session, program, actor)
    if role not in allowed:
        who = ", ".join(sorted(r.value for r in allowed))
        raise UserError(f"{actor.name} may not {doing} in program {program.code}: only {who} may")
    return role


def grant_coi(session: Session, actor: Actor, code: str, user_id: str) -> Phase3Grant:
    """Seed step 2 (PI): give a user CoI access; granting twice keeps the first grant."""
    program = get_program(session, code)
    require(session, program, actor, {Role.PI, Role.OPERATOR}, "grant access")
    user = _user(session, user_id)
    if user.id == program.pi_id:
        raise UserError(f"{user_id} is the PI of {code}")
    found = _active_grant(session, program, user)
    if found is not None:
        return found
    grant = Phase3Grant(program_id=program.id, user=user, granted_by=actor.name)
    session.add(grant)
    set_user_groups(session, user, {program.group}, set())
    session.flush()
    return grant


def revoke_coi(session: Session, actor: Actor, code: str, user_id: str) -> Phase3Grant:
    """Seed step 2 (PI): take a CoI's access away (the grant stays on record, revoked, by whom and when)."""
    program = get_program(session, code)
    require(session, program, actor, {Role.PI, Role.OPERATOR}, "revoke access")
    grant = _active_grant(session, program, _user(session, user_id))
    if grant is None:
        raise NotFound(f"{user_id} has no CoI access to {code}")
    grant.revoked_by, grant.revoked_at = actor.name, utcnow()
    set_user_groups(session, grant.user, set(), {program.group})
    session.flush()
    return grant


def members(session: Session, program: Phase3Program) -> list[tuple[str, Role]]:
    """The PI and the current CoIs of a program."""
    cois = session.scalars(select(Phase3Grant).where(Phase3Grant.program_id == program.id,
                                                     Phase3Grant.revoked_at.is_(None)).order_by(Phase3Grant.id))
    return [(program.pi.user_id, Role.PI), *((g.user.user_id, Role.COI) for g in cois)]
