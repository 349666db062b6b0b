"""``ardis granule rights`` and ``ardis user groups``: data rights, set by an operator.

``ardis granule rights UR --release-date 2027-06-30 --group pi-team`` makes a
granule proprietary to ``pi-team`` until that day; on the day it is public without
anyone acting (``distribution.inventory.rights`` compares with now). ``--public``
makes it public at once. Without options it prints the granule's rights.
``ardis user groups USER --add pi-team`` lets a user have that group's granules.
"""

from __future__ import annotations

import argparse
from datetime import date

from distribution import db
from distribution.config import Settings
from distribution.errors import UserError


def _release_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as e:
        raise UserError(f"a release date is YYYY-MM-DD, not {text!r}") from e


def _cmd_granule_rights(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.inventory.archive import find_granule, granule_ur
    from distribution.inventory.rights import NOT_RELEASED, proprietary_until, set_rights
    from distribution.time import utcnow

    changing = args.public or args.release_date is not None or args.group is not None
    if args.public and (args.release_date or args.group):
        raise UserError("--public clears the release date and group: give it alone")
    with db.session_scope(settings.database_url) as session:
        granule = find_granule(session, args.granule)
        if changing:
            release = None if args.public else (_release_date(args.release_date) if args.release_date
                                                else granule.public_release_date)
            group = None if args.public else (args.group if args.group is not None else granule.owner_group)
            set_rights(session, granule, release, group)
        until = proprietary_until(granule, utcnow())
        when = "not released yet" if until == NOT_RELEASED else f"until {until}"
        state = f"proprietary {when} (group {granule.owner_group})" if until else "public"
        print(f"{granule_ur(granule, settings)}\t{state}"
              + (f"\trelease date {granule.public_release_date}" if granule.public_release_date and not until
                 else ""))
    return 0


def _cmd_user_groups(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.inventory.rights import groups_of, set_user_groups
    from distribution.orders.queries import find_user

    with db.session_scope(settings.database_url) as session:
        user = find_user(session, args.user)
        if user is None:
            raise UserError(f"no user {args.user} (a user is made by their first order or subscription)")
        groups = set_user_groups(session, user, set(args.add), set(args.remove)) if args.add or args.remove \
            else groups_of(user)
        print(f"{user.user_id}\t{','.join(sorted(groups)) or '-'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    granule = sub.add_parser("granule", help="a granule's data rights").add_subparsers(dest="granule_command",
                                                                                      required=True)
    rights = granule.add_parser("rights", help="show or set a granule's release date and owner group")
    rights.add_argument("granule", help="UR or ESDT:LocalGranuleID[:version]")
    rights.add_argument("--release-date", help="YYYY-MM-DD: proprietary until then, public from that day")
    rights.add_argument("--group", help="the group whose members may have it before the release date")
    rights.add_argument("--public", action="store_true", help="public now: clear the release date and group")
    rights.set_defaults(func=_cmd_granule_rights)
    user = sub.add_parser("user", help="Ardis users").add_subparsers(dest="user_command", required=True)
    groups = user.add_parser("groups", help="show, add or remove a user's groups")
    groups.add_argument("user", help="the user id")
    groups.add_argument("--add", action="append", default=[], metavar="GROUP")
    groups.add_argument("--remove", action="append", default=[], metavar="GROUP")
    groups.set_defaults(func=_cmd_user_groups)
