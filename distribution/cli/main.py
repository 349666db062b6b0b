"""The ``ardis`` command: database, archive, orders, ingest, subscriptions, and the FTP pull server.

The demo is ``ardis-demo`` (``devkit``): the command never imports the harness.

User mistakes end in one line on stderr and a non-zero exit, never a traceback.
Exit status: 0 done; 1 refused or failed (a mistake, something not found, a PDR
not valid, a subscription message failed); 2 usage (and ``pdr validate``: a file
that cannot be read); 3 the database failed (unreachable, or an error it raised);
130 interrupted; 141 the reader of the output went away (``ardis … | head``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distribution import db
from distribution.cli import ingest as cli_ingest
from distribution.cli import media as cli_media
from distribution.cli import phase3 as cli_phase3
from distribution.cli import products as cli_products
from distribution.cli import rights as cli_rights
from distribution.cli import setup as cli_setup
from distribution.cli import subscriptions as cli_subscriptions
from distribution.config import Settings, load_settings
from distribution.errors import ArdisError, UserError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader gone away


def _cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from alembic.util.exc import CommandError

    settings.ensure_dirs()
    try:
        db.upgrade(settings.database_url, args.revision)
    except CommandError as e:
        raise UserError(f"cannot upgrade the database to {args.revision!r}: {e}") from e
    print(f"database at {args.revision}: {_safe_url(settings.database_url)}")
    return 0


def _safe_url(url: str) -> str:
    # Never print a password embedded in a database URL.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def _parse_types(items: Sequence[str]) -> dict[str, str]:
    types = {}
    for item in items:
        name, sep, ftype = item.partition("=")
        if not sep or not ftype:
            raise ArdisError(f"--file-type takes NAME=TYPE, not {item!r}")
        types[name] = ftype.upper()
    return types


def _cmd_archive_check(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from distribution.inventory.check import check_archive, report_text

    if not 0 < args.sample <= 100:
        raise UserError(f"--sample is a percentage above 0 and up to 100, not {args.sample}")
    year, week, _ = date.today().isocalendar()
    report = check_archive(settings, args.pass_key or f"{year}-W{week:02d}-cli", args.sample)
    print(report_text(settings, report), end="")
    return 1 if report.findings else 0


def _cmd_archive_versions(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.inventory.archive import granule_ur, granule_versions

    esdt, sep, lgid = args.granule.partition(":")
    if not sep:
        raise UserError(f"name the granule as ESDT:LocalGranuleID, not {args.granule!r}")
    with db.session_scope(settings.database_url) as session:
        versions = granule_versions(session, esdt, lgid)
        if not versions:
            raise UserError(f"no granule {args.granule}")
        for i, g in enumerate(versions):
            newest = "  (newest: what ESDT:LocalGranuleID orders)" if i == 0 else ""
            print(f"{esdt}:{lgid}:{g.granule_version}\t{granule_ur(g, settings)}\t{g.inserted_at:%Y-%m-%d %H:%M:%S}"
                  f"{newest}")
    return 0


def _cmd_archive_add(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.inventory.archive import NewFile, add_granule, granule_ur

    types = _parse_types(args.file_type)
    files = [NewFile(Path(p), types.get(Path(p).name, "SCIENCE")) for p in args.files]
    checksum = None if args.checksum.lower() == "none" else args.checksum.upper()
    with db.session_scope(settings.database_url) as session:
        granule = add_granule(session, settings, args.esdt, files, local_granule_id=args.lgid,
                              checksum_type=checksum, mode=args.mode)
        ur = granule_ur(granule, settings)
        lgid = granule.local_granule_id
    print(f"{ur}\t{lgid or '-'}")
    return 0


def _cmd_order_create(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.cli.airflow import start_run
    from distribution.orders.placing import Contact, Destination, RequestSpec, check_spec, create_order, parse_media_type

    contact = Contact(user_id=args.user, email=args.email or "", first_name=args.first_name,
                      last_name=args.last_name, phone=args.phone, organization=args.organization,
                      shipping_address=args.shipping_address.replace("\\n", "\n"),
                      checksum_list=True if args.checksums else None, metadata_format=args.metadata_format)
    spec = RequestSpec(
        media_type=parse_media_type(args.method),
        granules=args.granule,
        destination=Destination(host=args.host, port=args.port, directory=args.dir, conn_id=args.conn_id),
        userstring=args.userstring,
        linked=tuple(t for t in (args.with_linked or "").split(",") if t.strip()),
        bundle=args.bundle,
        bundle_per=args.bundle_per,
        notify_email=args.notify_email,
    )
    check_spec(spec)
    _check_connection(args.conn_id)
    with db.session_scope(settings.database_url) as session:
        order = create_order(session, settings, contact, [spec], source="cli")
        created = [(str(r.request_id), r.media_type.value) for r in order.requests]
        order_id = str(order.order_id)
    print(f"ORDERID: {order_id}")
    for request_id, media in created:
        print(f"REQUESTID: {request_id} ({media})")
        if not args.no_trigger:
            print(f"  {start_run(request_id)}")
    return 0


def _check_connection(conn_id: str) -> None:
    """Refuse an order whose push connection Airflow does not define (the run would only fail it)."""
    from distribution.cli.airflow import undefined_connections

    missing = undefined_connections([conn_id] if conn_id else [])
    if missing:
        raise UserError(f"Airflow connection {conn_id} is not defined: add it (airflow connections add) "
                        "before ordering with it")
    if missing is None:
        print(f"ardis: Airflow was not asked whether connection {conn_id} exists; the run checks it",
              file=sys.stderr)


def _print_order(summary: dict[str, Any], pull_logins: dict[str, tuple[str, str]]) -> None:
    print(f"ORDERID: {summary['order_id']}  user: {summary['user']}  created: {summary['created']}")
    for r in summary["requests"]:
        print(f"  REQUESTID: {r['request_id']}  {r['media_type']}  state: {r['state']}  run: {r['airflow_run_id']}")
        if r["destination"]:
            print(f"    destination: {r['destination']}")
        if r["ftp_dir"]:
            login, password = pull_logins[r["request_id"]]
            print(f"    ftp pull: dir {r['ftp_dir']}  login {login}  password {password}  expires {r['ftp_expires']}")
        for g in r["granules"]:
            why = f" - {g['explanation']}" if g["explanation"] else ""
            print(f"    {g['directory']:>4}  {g['status']:<10} {g['ur']}{why}")


def _cmd_order_show(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.orders.delivery import pull_login
    from distribution.orders.pull_server import load_or_create_secret, pull_password
    from distribution.orders.placing import describe_order, get_order

    with db.session_scope(settings.database_url) as session:
        order = get_order(session, args.order_id)
        summary = describe_order(settings, order)
        logins = {str(r.request_id): pull_login(settings, r) for r in order.requests if r.ftp_dir}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    secret = load_or_create_secret(settings.home) if logins else b""
    _print_order(summary, {rid: (login, pull_password(secret, login)) for rid, login in logins.items()})
    return 0


def _cmd_order_cancel(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.orders.placing import cancel_order

    with db.session_scope(settings.database_url) as session:
        cancelled = [str(r.request_id) for r in cancel_order(session, args.order_id)]
    print(f"cancelled requests: {' '.join(cancelled)} (their runs send the cancellation notice)")
    return 0


def _cmd_ftp_server(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.orders.pull_server import load_or_create_secret, serve_pull_area

    settings.ensure_dirs()
    passive = None
    if args.passive_ports:
        low, _, high = args.passive_ports.partition("-")
        passive = range(int(low), int(high) + 1)
    host = args.host or "127.0.0.1"
    port = args.port or settings.ftp_port
    print(f"serving {settings.pull_root} read-only on ftp://{host}:{port}", flush=True)
    serve_pull_area(settings.pull_root, host, port, load_or_create_secret(settings.home), passive,
                    args.masquerade_address or None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ardis", description="Ardis archive distribution system")
    sub = p.add_subparsers(dest="command", required=True)

    dbp = sub.add_parser("db", help="Ardis's own database").add_subparsers(dest="db_command", required=True)
    up = dbp.add_parser("upgrade", help="create or migrate the database")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_cmd_db_upgrade)

    arch = sub.add_parser("archive", help="the archive").add_subparsers(dest="archive_command", required=True)
    add = arch.add_parser("add", help="register files on disk as one granule")
    add.add_argument("--esdt", required=True, help="collection as ShortName.VVV, e.g. MOD09GHK.003")
    add.add_argument("--lgid", help="LocalGranuleID (default: from the .met/.xml file)")
    add.add_argument("--checksum", default="MD5", help="MD5, CKSUM or none")
    add.add_argument("--mode", default="copy", choices=["copy", "link", "in-place"])
    add.add_argument("--file-type", action="append", default=[], metavar="NAME=TYPE",
                     help="file type of one file (default SCIENCE; .met/.xml are METADATA)")
    add.add_argument("files", nargs="+")
    add.set_defaults(func=_cmd_archive_add)
    ver = arch.add_parser("versions", help="every version of a granule, newest first (order one as ESDT:LGID:N)")
    ver.add_argument("granule", metavar="ESDT:LocalGranuleID")
    ver.set_defaults(func=_cmd_archive_versions)
    chk = arch.add_parser("check", help="compare the archive's files with the inventory (reports, never deletes)")
    chk.add_argument("--sample", type=float, default=100, metavar="PERCENT", help="check this share of the files")
    chk.add_argument("--pass", dest="pass_key", default="",
                     help="name of the pass: the same name resumes an interrupted one (default: this week's)")
    chk.set_defaults(func=_cmd_archive_check)

    order = sub.add_parser("order", help="orders").add_subparsers(dest="order_command", required=True)
    create = order.add_parser("create", help="order granules for one delivery method")
    create.add_argument("--user", required=True, help="user id")
    create.add_argument("--email", help="e-mail address (needed for a new user)")
    create.add_argument("--first-name", default="")
    create.add_argument("--last-name", default="")
    create.add_argument("--phone", default="")
    create.add_argument("--organization", default="")
    create.add_argument("--shipping-address", default="", help="for CDROM/DVD/DLT; lines separated by \\n")
    create.add_argument("--checksums", action="store_true", help="put the user on the checksum list")
    create.add_argument("--metadata-format", choices=("xml", "met"), default=None,
                        help="the user's metadata format from now on (ICD 4.3.6.2; default: ARDIS_METADATA_FORMAT, xml)")
    create.add_argument("--method", required=True, help="FtpPull, FtpPush, scp, SmbPush, CDROM, DVD or DLT")
    create.add_argument("--granule", action="append", required=True, help="UR, or ESDT:LocalGranuleID")
    create.add_argument("--host", default="")
    create.add_argument("--port", type=int)
    create.add_argument("--dir", default="", help="destination directory (SmbPush: share/path)")
    create.add_argument("--conn-id", default="", help="Airflow connection with the destination's credentials")
    create.add_argument("--userstring", default="")
    create.add_argument("--bundle", choices=("tar.gz", "tar.zst"), default="",
                        help="the data as compressed tar bundles, any method (ARDIS_BUNDLE_SPLIT_BYTES splits)")
    create.add_argument("--bundle-per", choices=("granule", "request"), default="granule",
                        help="with --bundle: one bundle per granule (default) or one for the whole request")
    create.add_argument("--with", dest="with_linked", default="", metavar="BROWSE,QA,PH",
                        help="send the browse, QA and/or production-history granules linked to each granule with it")
    create.add_argument("--notify-email", default="", help="where the DN goes (default: the user's e-mail)")
    create.add_argument("--no-trigger", action="store_true", help="leave starting the run to the dispatcher")
    create.set_defaults(func=_cmd_order_create)
    show = order.add_parser("show", help="an order, its requests and granules")
    show.add_argument("order_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_order_show)
    cancel = order.add_parser("cancel", help="cancel the unfinished requests of an order")
    cancel.add_argument("order_id")
    cancel.set_defaults(func=_cmd_order_cancel)

    ftp = sub.add_parser("ftp-server", help="serve the FTP pull area (read-only)")
    ftp.add_argument("--host", help="address to bind (default 127.0.0.1)")
    ftp.add_argument("--port", type=int, help="port (default ARDIS_FTP_PORT or 2121)")
    ftp.add_argument("--passive-ports", help="LOW-HIGH")
    ftp.add_argument("--masquerade-address", help="the address passive replies announce (behind NAT, in a container)")
    ftp.set_defaults(func=_cmd_ftp_server)

    cli_ingest.register(sub)
    cli_media.register(sub)
    cli_subscriptions.register(sub)
    cli_products.register(sub)
    cli_setup.register(sub)
    cli_phase3.register(sub)
    cli_rights.register(sub)

    return p


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        args = build_parser().parse_args(argv)  # an id too large for the database is NotFound here
        settings = load_settings()
        status = int(args.func(settings, args))
        sys.stdout.flush()  # a reader gone away shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        # Nothing more can be written; keep Python's exit-time flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except ArdisError as e:
        print(f"ardis: {e}", file=sys.stderr)
        return EXIT_ERROR
    except SQLAlchemyError as e:
        print(f"ardis: database error: {_one_line(e)}", file=sys.stderr)
        return EXIT_DATABASE
    except (ValueError, OSError) as e:
        print(f"ardis: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
