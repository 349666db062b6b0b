"""``ardis media``: the operator's view of physical media requests (volumes, drives, rewrites)."""

from __future__ import annotations

import argparse
from typing import Any

from distribution import db
from distribution.config import Settings


def _cmd_volumes(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.shipping.paperwork import volumes_of
    from distribution.orders.placing import get_request

    with db.session_scope(settings.database_url) as session:
        request = get_request(session, args.request_id)
        print(f"request {request.request_id} {request.media_type.value} {request.state.value}"
              + (f"  shipped {request.shipped_at:%Y-%m-%d %H:%M} {request.carrier} {request.tracking_number}"
                 if request.shipped_at else ""))
        for v in volumes_of(session, request):
            where = f" on {v.drive}" if v.drive else ""
            serial = f" serial {v.media_serial}" if v.media_serial else ""
            why = f" - {v.detail}" if v.detail else ""
            print(f"  {v.media_id}  Media {v.number} of {v.count}  {v.medium:<6} {v.state.value:<9}"
                  f"{v.planned_bytes:>15,} B{where}{serial}{why}")
    return 0


def _cmd_rewrite(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.cli.airflow import start_run
    from distribution.shipping.production import mark_bad

    request_id = mark_bad(settings, args.media_id, args.why)
    started = start_run(request_id, args.media_id)
    print(f"{args.media_id} marked bad; request {request_id}: {started}")
    return 0


def _cmd_drives(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.shipping.drives import OPTICAL, TAPE, configured_drives

    for kind in (OPTICAL, TAPE):
        for d in configured_drives(settings, kind):
            print(f"{kind:<8} {d.name:<12} {d.device}")
    if args.detect:
        from media import find_optical_drives, find_tape_drives

        for info in find_optical_drives():
            print(f"found    optical  {info.device}  media: {info.media or '-'} {info.media_state or ''}")
        for tape in find_tape_drives():
            print(f"found    tape     {tape.device}")
    return 0


def register(sub: Any) -> None:
    """Add ``ardis media`` to the parser."""
    media = sub.add_parser("media", help="physical media").add_subparsers(dest="media_command", required=True)
    vol = media.add_parser("volumes", help="a media request's volumes and their state")
    vol.add_argument("request_id")
    vol.set_defaults(func=_cmd_volumes)
    rew = media.add_parser("rewrite", help="mark a volume bad and write it again on a new blank medium")
    rew.add_argument("media_id")
    rew.add_argument("--why", default="marked bad by the operator")
    rew.set_defaults(func=_cmd_rewrite)
    drv = media.add_parser("drives", help="the configured drives (--detect: also what udev finds)")
    drv.add_argument("--detect", action="store_true")
    drv.set_defaults(func=_cmd_drives)
