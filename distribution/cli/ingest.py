"""``ardis pdr``, ``ardis provider`` and ``ardis collection``: the ingest side of the command.

``ardis pdr validate`` lets a provider check PDRs before sending them, as ESO's
Phase 3 validator does: for each file the PDRD Ardis would return (with why, as
PVL comments), or ``VALID: <n> file groups, <m> files``. Exit status 0 when all
are valid, 1 when one is not (or holds a file group that ingest will refuse with a
PAN disposition, such as DUPLICATE FILE NAME IN GRANULE: the same rule as ingest),
2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from distribution import db
from distribution.ingest import pan
from distribution.config import Settings
from distribution.errors import UserError
from distribution.identifiers import db_id_argument
from distribution.ingest.pdr import Pdr, ValidationPolicy, validate_pdr

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def _why(pdrd: pan.Pdrd) -> list[str]:
    if isinstance(pdrd, pan.ShortPdrd):
        details = [pdrd.detail] if pdrd.detail else []
    else:
        details = [g.detail for g in pdrd.groups if g.detail]
    return [f"/* {d.replace('*/', '* /')} */" for d in details]


def _policy(settings: Settings, provider: str | None) -> ValidationPolicy:
    if not provider:
        return ValidationPolicy()
    from distribution.ingest.providers import get_provider, validation_policy

    with db.session_scope(settings.database_url) as session:
        return validation_policy(session, get_provider(session, provider), settings)


def validate_files(settings: Settings, paths: list[str], provider: str | None) -> int:
    policy = _policy(settings, provider)
    status = 0
    for name in paths:
        try:
            data = Path(name).read_bytes()
        except OSError as e:
            print(f"{name}: cannot read: {e.strerror}", file=sys.stderr)
            status = EXIT_UNREADABLE
            continue
        result = validate_pdr(data, policy)
        if isinstance(result, Pdr):
            print(f"{name}: VALID: {len(result.groups)} file groups, {len(result.files)} files")
            # Groups made up wrongly pass the PDR but fail ingest with a PAN disposition (Table 4.5-7).
            failing = [(i, g) for i, g in enumerate(result.groups, 1) if g.problem]
            for i, group in failing:
                print(f"  file group {i} will not be archived: PAN {group.problem} /* {group.problem_detail} */")
            if failing:
                status = max(status, EXIT_INVALID)
            continue
        print(f"{name}: INVALID")
        print(pan.render_pdrd(result), end="")
        for line in _why(result):
            print(line)
        status = max(status, EXIT_INVALID)
    return status


def _cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    return validate_files(settings, args.files, args.provider)


def _cmd_pdr_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from distribution.models import PdrRecord, Provider

    with db.session_scope(settings.database_url) as session:
        query = select(PdrRecord, Provider.name).join(Provider).order_by(PdrRecord.id)
        if args.provider:
            query = query.where(Provider.name == args.provider)
        for record, provider in session.execute(query):
            answer = pan.response_name(record.name, record.response_kind) if record.response_kind else "-"
            print(f"{record.id:>6}  {provider:<12} {record.name:<40} {record.state.value:<10} {answer}")
    return 0


def _cmd_pdr_show(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.models import PdrRecord

    with db.session_scope(settings.database_url) as session:
        record = session.get(PdrRecord, args.pdr_id)
        if record is None:
            raise UserError(f"no ingest {args.pdr_id}")
        print(f"ingest {record.id}: {record.name} from {record.provider.name}, {record.state.value}")
        if record.detail:
            print(f"  why: {record.detail}")
        for f in record.files:
            why = f" - {f.detail}" if f.detail else ""
            print(f"  {f.group_index:>3}.{f.file_index:<3} {f.directory_id}/{f.file_id}  {f.state.value}  "
                  f"{f.disposition or ''}{why}")
        if record.response_text:
            print(record.response_text, end="")
    return 0


def _extra_types(items: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in items:
        data_type, sep, types = item.partition("=")
        if not sep or not types:
            raise UserError(f"--extra-file-type takes DATA_TYPE=TYPE[,TYPE], not {item!r}")
        found.setdefault(data_type, []).extend(t.strip().upper() for t in types.split(",") if t.strip())
    return found


def _cmd_provider_add(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.ingest.providers import ProviderSpec, add_provider

    spec = ProviderSpec(
        name=args.name, method=args.method, root_directory=args.root, polling_directory=args.polling_dir,
        host=args.host, port=args.port, conn_id=args.conn_id, polling_interval_seconds=args.interval,
        respond_to_server=not args.no_server_response, response_email=args.email,
        request_threshold=args.request_threshold, volume_threshold=args.volume_threshold,
        checksum_mandatory=args.checksum_mandatory, verify_percent=args.verify_percent,
        compute_cksum=not args.no_cksum, extra_file_types=_extra_types(args.extra_file_type),
        metadata_optional=args.metadata_optional,
    )
    with db.session_scope(settings.database_url) as session:
        provider = add_provider(session, spec)
        print(f"provider {provider.name}: {provider.method} {provider.host or provider.root_directory} "
              f"polling {provider.polling_directory} every {provider.polling_interval_seconds} s")
    return 0


def _cmd_provider_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from distribution.models import Provider

    with db.session_scope(settings.database_url) as session:
        for p in session.scalars(select(Provider).order_by(Provider.name)):
            where = f"{p.method}://{p.host}{':' + str(p.port) if p.port else ''}" if p.method != "local" else \
                p.root_directory
            answers = ", ".join(x for x in ("server" if p.respond_to_server else "", p.response_email) if x)
            print(f"{p.name:<12} {where}  {p.polling_directory}  every {p.polling_interval_seconds} s  "
                  f"answers: {answers}  {'enabled' if p.enabled else 'disabled'}")
    return 0


def _cmd_collection_add(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.inventory.archive import get_or_create_collection

    with db.session_scope(settings.database_url) as session:
        for esdt in args.esdt:
            collection = get_or_create_collection(session, esdt, args.description)
            print(f"collection {collection.esdt}")
    return 0


def register(sub: Any) -> None:
    """Add the ingest commands to the ``ardis`` parser."""
    pdr = sub.add_parser("pdr", help="PDR ingest").add_subparsers(dest="pdr_command", required=True)
    val = pdr.add_parser("validate", help="print the PDRD Ardis would return for each PDR, or VALID")
    val.add_argument("files", nargs="+")
    val.add_argument("--provider", help="validate with this provider's agreement and the archive's collections")
    val.set_defaults(func=_cmd_validate)
    lst = pdr.add_parser("list", help="PDRs taken, their state and answer")
    lst.add_argument("--provider")
    lst.set_defaults(func=_cmd_pdr_list)
    show = pdr.add_parser("show", help="one ingest: its files, dispositions and PAN/PDRD")
    show.add_argument("pdr_id", type=db_id_argument("ingest"))
    show.set_defaults(func=_cmd_pdr_show)

    prov = sub.add_parser("provider", help="data providers").add_subparsers(dest="provider_command", required=True)
    add = prov.add_parser("add", help="add or change a provider and its PDR server")
    add.add_argument("name")
    add.add_argument("--method", default="local", choices=["local", "ftp", "sftp"])
    add.add_argument("--root", default="", help="local: the provider's area; ftp/sftp: where relative paths start")
    add.add_argument("--polling-dir", required=True, help="where the provider puts its PDRs")
    add.add_argument("--host", default="")
    add.add_argument("--port", type=int)
    add.add_argument("--conn-id", default="", help="Airflow connection with the server's credentials")
    add.add_argument("--interval", type=int, default=60, help="polling interval in seconds")
    add.add_argument("--email", default="", help="also mail PANs and PDRDs here")
    add.add_argument("--no-server-response", action="store_true", help="do not write PANs/PDRDs to the server")
    add.add_argument("--request-threshold", type=int, help="PDRs in flight at once")
    add.add_argument("--volume-threshold", type=int, help="bytes in flight at once")
    add.add_argument("--checksum-mandatory", action="store_true")
    add.add_argument("--verify-percent", type=int, default=100, help="share of given checksums to verify")
    add.add_argument("--no-cksum", action="store_true", help="do not compute a CKSUM when none is given")
    add.add_argument("--extra-file-type", action="append", default=[], metavar="DATA_TYPE=TYPE[,TYPE]",
                     help="file types beyond Table 4.5-4 (DATA_TYPE * for all)")
    add.add_argument("--metadata-optional", action="append", default=[], metavar="DATA_TYPE",
                     help="collections whose granules come without a metadata file")
    add.set_defaults(func=_cmd_provider_add)
    plist = prov.add_parser("list", help="the providers")
    plist.set_defaults(func=_cmd_provider_list)

    coll = sub.add_parser("collection", help="collections (ESDTs)").add_subparsers(dest="collection_command",
                                                                                 required=True)
    cadd = coll.add_parser("add", help="add collections the archive accepts, e.g. MOD09GHK.003")
    cadd.add_argument("esdt", nargs="+")
    cadd.add_argument("--description", default="")
    cadd.set_defaults(func=_cmd_collection_add)
