"""The data-rights rule (``distribution.inventory.rights``): one rule, in Python and in SQL, on both databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import UserError
from distribution.inventory.archive import get_or_create_collection, new_granule
from distribution.inventory.metadata import GranuleMetadata
from distribution.inventory.rights import (NOT_RELEASED, NotEntitled, access_clause, check_access, may_access,
                                           proprietary_until, set_rights, set_user_groups, user_groups)
from distribution.models import Granule, User

NOW = datetime(2027, 3, 10, 12, 0)
TODAY = NOW.date()
#: (release date, owner group) of each granule, and who may have it today: public, or a member of "pi".
RIGHTS: dict[str, tuple[date | None, str | None]] = {
    "public": (None, None),
    "released": (TODAY - timedelta(days=1), "pi"),
    "released-today": (TODAY, "pi"),
    "until-tomorrow": (TODAY + timedelta(days=1), "pi"),
    "not-released": (None, "pi"),  # Phase 3: archived, not published yet
    "no-group": (TODAY + timedelta(days=30), None),  # only operators until then
}
GROUPS: list[set[str] | None] = [None, set(), {"pi"}, {"other"}, {"other", "pi"}]


def _granules(settings: Settings) -> dict[str, int]:
    with session_scope(settings.database_url) as session:
        collection = get_or_create_collection(session, "RIGHTS.001")
        ids = {}
        for name, (release, group) in RIGHTS.items():
            granule = new_granule(session, collection, name, GranuleMetadata(name), owner_group=group)
            granule.public_release_date = release
            session.flush()
            ids[name] = granule.id
        return ids


def test_the_rule_in_python_and_in_sql_agree_and_follow_the_clock(settings: Settings) -> None:
    ids = _granules(settings)
    with session_scope(settings.database_url) as session:
        granules = {name: session.get(Granule, i) for name, i in ids.items()}
        for groups, moment in product(GROUPS, (NOW, NOW + timedelta(days=1), NOW + timedelta(days=31))):
            in_python = {name for name, g in granules.items() if g is not None and may_access(groups, g, moment)}
            in_sql = set(session.scalars(select(Granule.local_granule_id).where(*access_clause(groups, moment))))
            assert in_python == in_sql, (groups, moment)
    today = {frozenset(g) if g is not None else None: None for g in GROUPS}
    with session_scope(settings.database_url) as session:
        for groups in today:
            today[groups] = frozenset(session.scalars(select(Granule.local_granule_id)
                                                      .where(*access_clause(set(groups) if groups is not None
                                                                            else None, NOW))))
    assert today[None] == frozenset(RIGHTS)  # operators: everything
    assert today[frozenset()] == today[frozenset({"other"})] == {"public", "released", "released-today"}
    assert today[frozenset({"pi"})] == today[frozenset({"other", "pi"})] == {
        "public", "released", "released-today", "until-tomorrow", "not-released"}
    with session_scope(settings.database_url) as session:  # the release date passing is all it takes
        tomorrow = set(session.scalars(select(Granule.local_granule_id)
                                       .where(*access_clause(set(), NOW + timedelta(days=1)))))
    assert tomorrow == {"public", "released", "released-today", "until-tomorrow"}


def test_proprietary_until_and_the_refusal_names_the_granule(settings: Settings) -> None:
    ids = _granules(settings)
    with session_scope(settings.database_url) as session:
        g = {name: session.get(Granule, i) for name, i in ids.items()}
        assert proprietary_until(g["until-tomorrow"], NOW) == TODAY + timedelta(days=1)  # type: ignore[arg-type]
        assert proprietary_until(g["not-released"], NOW) == NOT_RELEASED  # type: ignore[arg-type]
        assert proprietary_until(g["released-today"], NOW) is None  # type: ignore[arg-type]
        outsider, member = User(user_id="out", email="o@x.org", groups=""), User(user_id="in", email="i@x.org",
                                                                                  groups="x, pi")
        with pytest.raises(NotEntitled, match=r"granule UR-OF-IT is proprietary until .* \(group pi\): user out"):
            check_access(outsider, g["until-tomorrow"], "UR-OF-IT", NOW)  # type: ignore[arg-type]
        check_access(member, g["until-tomorrow"], "UR", NOW)  # type: ignore[arg-type]
        check_access(outsider, g["until-tomorrow"], "UR", NOW, operator=True)  # type: ignore[arg-type]
        check_access(outsider, g["until-tomorrow"], "UR", NOW + timedelta(days=1))  # type: ignore[arg-type]


def test_setting_rights_and_groups(settings: Settings) -> None:
    ids = _granules(settings)
    with session_scope(settings.database_url) as session:
        granule = session.get(Granule, ids["public"])
        assert granule is not None
        set_rights(session, granule, TODAY + timedelta(days=5), " pi-team ")
        assert (granule.public_release_date, granule.owner_group) == (TODAY + timedelta(days=5), "pi-team")
        with pytest.raises(UserError, match="needs the group"):
            set_rights(session, granule, TODAY, None)
        with pytest.raises(UserError, match="a group is"):
            set_rights(session, granule, TODAY, "no spaces")
        set_rights(session, granule, None, None)
        assert (granule.public_release_date, granule.owner_group) == (None, None)
        user = User(user_id="u1", email="u1@example.org", groups="a")
        session.add(user)
        assert set_user_groups(session, user, {"pi-team", "b", "phase3:196.B-0001"}, {"a"}) == {
            "b", "pi-team", "phase3:196.B-0001"}
        assert user_groups(user.groups) == {"b", "pi-team", "phase3:196.B-0001"}
        assert user.groups == "b,phase3:196.B-0001,pi-team"
        with pytest.raises(UserError, match="a group is"):
            set_user_groups(session, user, {"x;y"}, set())
