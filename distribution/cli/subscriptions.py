"""``ardis subscription``: submit ICD e-mails, list, show, cancel and (operators only) backfill and linked.

``submit`` takes a request, update or cancellation (a bare body, or a whole
e-mail whose Subject names it), applies it and prints the acknowledgment of
Table 4.3.2-1; exit status 0 when accepted, 1 when failed. ``backfill`` is the
operator's: the ICD allows no backfill by e-mail. ``submit --with`` and ``linked``
set the browse, QA and production-history granules each order carries: Table
4.3.1-1 has no field for them, so they are the operator's (as agreed with the SIPS).

``submit`` is the operator speaking for the subscriber: a User ID the archive
does not know is created from the message; a known user's record is never
changed by it (a note on stderr says where the message differs). FTP Push and scp
destinations are checked against the push account's host in Airflow (looked up
in a separate process), as the e-mail door does.
"""

from __future__ import annotations

import argparse
import email
import getpass
import json
import sys
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from distribution import db
from distribution.config import Settings
from distribution.errors import UserError
from distribution.identifiers import db_id_argument
from distribution.subscriptions.models import SubscriptionFiring, SubscriptionState

EXIT_FAILED = 1


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def read_message(path: str) -> tuple[str, str | None]:
    """(body, subject) of a message file: an e-mail with headers, or only the ``field: value`` body."""
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    if any(line.lower().startswith(b"subject:") for line in head.split(b"\n")):  # no ICD field is Subject
        message = email.message_from_bytes(data, policy=default_policy)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        return str(body), " ".join(str(message["Subject"]).split())
    return data.decode("utf-8", "replace"), None


def _cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.cli.airflow import push_account
    from distribution.subscriptions.store import answer_message

    body, subject = read_message(args.message_file)
    with db.session_scope(settings.database_url) as session:
        answer = answer_message(session, body, args.subject or subject, actor=_actor(), source="cli",
                                conn_id=args.conn_id, connections=push_account, linked=_linked(args.with_linked))
    print(f"Subject: {answer.subject}", file=sys.stderr)
    for note in answer.notes:
        print(f"note: {note}", file=sys.stderr)
    print(answer.text, end="")
    return 0 if answer.accepted else EXIT_FAILED


def _cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.subscriptions.queries import list_subscriptions

    with db.session_scope(settings.database_url) as session:
        lines = list_subscriptions(session, args.user or None, SubscriptionState(args.state) if args.state else None)
    for s in lines:
        print(f"{s.subscription_id:>8}  {s.user_id:<8} {s.esdt:<16} {s.state:<9} {s.method:<8} "
              f"{s.start:%Y-%m-%d}..{s.expires:%Y-%m-%d}  fired {s.fired}")
    return 0


def _cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.subscriptions.store import describe, get_subscription

    with db.session_scope(settings.database_url) as session:
        info: dict[str, Any] = describe(get_subscription(session, args.subscription_id))
        info["firings"] = session.scalar(select(func.count()).select_from(SubscriptionFiring)
                                         .where(SubscriptionFiring.subscription_id == args.subscription_id))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key in ("subscription_id", "state", "user_id", "email", "esdt", "event", "start", "expiration",
                "qualifier", "notification_text", "distribution", "firings"):
        print(f"{key}: {info[key] if info[key] is not None else '-'}")
    for h in info["history"]:
        print(f"  {h['at']}  {h['action']:<10} {h['actor']}  {json.dumps(h['detail']) if h['detail'] else ''}")
    return 0


def _linked(text: str) -> tuple[str, ...]:
    """``BROWSE,QA`` as typed; ``none`` (or nothing) for no linked granules."""
    return tuple(t for t in text.split(",") if t.strip() and t.strip().lower() != "none")


def _cmd_linked(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.subscriptions.store import set_linked

    with db.session_scope(settings.database_url) as session:
        sub = set_linked(session, args.subscription_id, _linked(args.types), actor=_actor())
        print(f"subscription {sub.id}: linked granules {sub.linked or 'none'}")
    return 0


def _cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.subscriptions.store import cancel_subscription

    with db.session_scope(settings.database_url) as session:
        sub = cancel_subscription(session, args.subscription_id, actor=_actor())
        print(f"subscription {sub.id} cancelled")
    return 0


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as e:
        raise UserError(f"--since takes a date such as 2002-03-19 or 2002-03-19T12:00, not {text!r}") from e


def _cmd_backfill(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.cli.airflow import start_run
    from distribution.notices.outbox import OutboxFolder
    from distribution.subscriptions.dispatch import backfill

    # Without an SMTP connection the notices go to the outbox folder now; with one,
    # ardis_housekeeping sends them (the command never reads Airflow's connections).
    transport = OutboxFolder(settings.outbox_dir) if not settings.smtp_conn_id else None
    result = backfill(settings, args.subscription_id, actor=_actor(), since=_since(args.since), transport=transport)
    print(f"subscription {args.subscription_id}: backfill fired {result.firings} granule(s), "
          f"{len(result.requests)} request(s)")
    for why in result.held:
        print(f"  held: {why}")
    for r in result.requests:
        status = "left to the dispatcher" if args.no_trigger else start_run(r.request_id)
        print(f"  request {r.request_id} ({r.media_type}): {status}")
    return 0


def register(sub: Any) -> None:
    """Add ``ardis subscription …`` to the ``ardis`` parser."""
    p = sub.add_parser("subscription", help="standing orders fired by new granules (ICD 4.3)")
    cmds = p.add_subparsers(dest="subscription_command", required=True)
    submit = cmds.add_parser("submit", help="apply a request, update or cancellation e-mail; print the acknowledgment")
    submit.add_argument("message_file", help="the message (an e-mail file or its body; - for stdin)")
    submit.add_argument("--subject", help="the e-mail's subject when the file has only the body")
    submit.add_argument("--conn-id", default="", help="Airflow connection with the push credentials "
                                                      "(default ardis_subscriber_<user id>)")
    submit.add_argument("--with", dest="with_linked", default="", metavar="BROWSE,QA,PH",
                        help="each order also sends the browse, QA and/or production-history granules linked "
                             "to the granule (not an ICD e-mail field: the operator's choice)")
    submit.set_defaults(func=_cmd_submit)
    lst = cmds.add_parser("list", help="the subscriptions")
    lst.add_argument("--state", choices=[s.value for s in SubscriptionState])
    lst.add_argument("--user")
    lst.set_defaults(func=_cmd_list)
    show = cmds.add_parser("show", help="one subscription and its history")
    show.add_argument("subscription_id", type=db_id_argument("subscription"))
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_show)
    linked = cmds.add_parser("linked", help="which linked granules the subscription's orders carry (operator)")
    linked.add_argument("subscription_id", type=db_id_argument("subscription"))
    linked.add_argument("types", metavar="BROWSE,QA,PH|none")
    linked.set_defaults(func=_cmd_linked)
    cancel = cmds.add_parser("cancel", help="cancel a subscription (operator)")
    cancel.add_argument("subscription_id", type=db_id_argument("subscription"))
    cancel.set_defaults(func=_cmd_cancel)
    back = cmds.add_parser("backfill", help="operators only: fire for granules already in the archive")
    back.add_argument("subscription_id", type=db_id_argument("subscription"))
    back.add_argument("--since", help="inserted on or after this date (default: the subscription's start date)")
    back.add_argument("--no-trigger", action="store_true", help="leave starting the runs to the dispatcher")
    back.set_defaults(func=_cmd_backfill)
