"""Data rights (ISDC: proprietary data of PI guest observers and survey teams), decided here once.

A granule whose ``public_release_date`` lies after today (UTC) is proprietary: only
members of its ``owner_group`` may see it, order it or be sent it by a subscription.
On its release date it is public, without anyone acting: the rule compares with
now each time it is asked. A granule with an owner group and no release date is
not released yet (Phase 3 archives a release's granules so until it is published)
and proprietary too; one with neither is public. Operators may do everything; callers say so by passing
``groups=None``. ``may_access`` is the rule for one granule in Python and
``access_clause`` the same rule as SQL (search, sweeps); the tests hold them equal.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from distribution.errors import UserError
from distribution.models import Granule, User

__all__ = ["NOT_RELEASED", "NotEntitled", "access_clause", "check_access", "groups_of", "may_access", "proprietary_until",
           "set_rights", "set_user_groups", "user_groups"]


_GROUP = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class NotEntitled(UserError):
    """A granule is proprietary and the user is not in its owner group (permanent until the rights change)."""


def user_groups(text: str | None) -> set[str]:
    """A user's groups as recorded (comma or blank separated)."""
    return {g for g in (text or "").replace(",", " ").split() if g}


def groups_of(user: User) -> set[str]:
    return user_groups(user.groups)


#: What ``proprietary_until`` says of a granule that has an owner group and no release date yet.
NOT_RELEASED = date.max


def proprietary_until(granule: Granule, now: datetime) -> date | None:
    """The release date while it lies in the future (NOT_RELEASED: no date yet); None for a public granule."""
    release = granule.public_release_date
    if release is None:
        return NOT_RELEASED if granule.owner_group is not None else None
    return release if release > now.date() else None


def may_access(groups: set[str] | None, granule: Granule, now: datetime) -> bool:
    """Whether a member of ``groups`` (None: an operator) may see, order or be sent ``granule`` at ``now``."""
    if groups is None or proprietary_until(granule, now) is None:
        return True
    return granule.owner_group is not None and granule.owner_group in groups


def access_clause(groups: set[str] | None, now: datetime) -> list[ColumnElement[bool]]:
    """``may_access`` as a WHERE clause on ``Granule`` (empty for operators)."""
    if groups is None:
        return []
    public = or_(Granule.public_release_date.is_(None) & Granule.owner_group.is_(None),
                 Granule.public_release_date <= now.date())
    return [or_(public, Granule.owner_group.in_(sorted(groups)))] if groups else [public]


def check_access(user: User, granule: Granule, reference: str, now: datetime, *, operator: bool = False) -> None:
    """Refuse (NotEntitled, naming the granule) when ``user`` may not have ``granule``; operators may."""
    if operator or may_access(groups_of(user), granule, now):
        return
    until = granule.public_release_date or "it is released"
    raise NotEntitled(f"granule {reference.strip()} is proprietary until {until} "
                      f"(group {granule.owner_group or '-'}): user {user.user_id} is not in that group")


def _check_group(group: str) -> None:
    if not _GROUP.fullmatch(group):
        raise UserError(f"a group is 1-64 letters, digits, '-', '_', '.' or ':' (Phase 3: phase3:<program>): "
                        f"{group!r}")


def set_rights(session: Session, granule: Granule, release_date: date | None, group: str | None) -> Granule:
    """Make ``granule`` proprietary to ``group`` until ``release_date`` (None, None: public now)."""
    group = (group or "").strip() or None
    if group is not None:
        _check_group(group)
    if release_date is not None and group is None:
        raise UserError("a proprietary granule needs the group that may have it (--group)")
    granule.public_release_date, granule.owner_group = release_date, group
    session.flush()
    return granule


def set_user_groups(session: Session, user: User, add: set[str], remove: set[str]) -> set[str]:
    """Add and remove groups of ``user``; returns the groups now recorded."""
    for group in add:
        _check_group(group)
    groups = (groups_of(user) | add) - remove
    text = ",".join(sorted(groups))
    if len(text) > 255:
        raise UserError("a user's groups are limited to 255 characters in all")
    user.groups = text
    session.flush()
    return groups
