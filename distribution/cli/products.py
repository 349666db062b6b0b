"""``ardis dp``: ELT data product specifications (validate, merge locally, submit, list, show)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from distribution import db
from distribution.config import Settings
from distribution.errors import UserError
from distribution.orders.delivery import Credentials


#: What Ardis does with the seed's Listing 3 as published (distribution/products/spec.py says why).
STRICT_JSON = ("A specification is strict JSON: a trailing comma, as in the seed's Listing 3 after the target "
               "source's location, is refused with its line and column ('line 79 column 52: trailing comma').")


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from e


def _dp_credentials(host: str) -> Credentials | None:
    """The connection ``ardis_dp_<host>`` for ``validate``: from the environment, else say why it cannot be used.

    Airflow's REST API never gives a connection's secrets, so one kept only in
    Airflow's database is named as such (the merge run will use it) and its
    source is not checked.
    """
    from distribution.cli.airflow import undefined_connections
    from distribution.products.check import connection_id, environment_credentials

    found = environment_credentials(host)
    if found is not None:
        return found
    conn_id = connection_id(host)
    env = f"AIRFLOW_CONN_{conn_id.upper()}"
    missing = undefined_connections([conn_id])
    if missing:
        raise UserError(f"Airflow connection {conn_id} is not defined: the merge run could not fetch from {host}")
    if missing == []:
        raise UserError(f"not checked: Airflow connection {conn_id} is defined in Airflow, which does not give its "
                        f"secrets to the ardis command; set {env} here to check it")
    raise UserError(f"not checked: no connection {conn_id} here ({env}) and Airflow was not asked "
                    "(ARDIS_AIRFLOW_URL)")


def _cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    """Schema, sources reachable (remote ones over SFTP, host keys verified), dictionaries loadable; no merge.

    The report: one line per check on stdout (``ok`` / ``FAIL``), one ``ardis:``
    line per problem on stderr; exit 0 when every check passed, 1 otherwise.
    """
    from distribution.products import SpecError, parse_spec
    from distribution.products.check import Check, check_spec
    from distribution.products.pipeline import collection_for, dictionary_dirs

    try:
        spec = parse_spec(_read(args.spec))
    except SpecError as e:
        for problem in e.problems:
            print(f"ardis: {args.spec}: {problem}", file=sys.stderr)
        print(f"INVALID: {len(e.problems)} problem{'s' if len(e.problems) > 1 else ''} in the specification")
        return 1
    checks = check_spec(spec, _dp_credentials, dictionary_dirs(settings, Path(args.spec).resolve().parent))
    try:
        checks.append(Check("collection", True, collection_for(spec.instrument)))
    except UserError as e:
        checks.append(Check("collection", False, str(e)))
    for check in checks:
        print(check)
    failed = [c for c in checks if not c.ok]
    for check in failed:
        print(f"ardis: {check.what}: {check.detail}", file=sys.stderr)
    if failed:
        print(f"INVALID: {spec.id}: {len(failed)} of {len(checks)} checks failed")
        return 1
    print(f"VALID: {spec.id} -> {spec.target.file_name} ({len(spec.sources)} sources)")
    return 0


def _cmd_merge(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.products import load_dictionaries, merge_product, parse_spec
    from distribution.products.pipeline import dictionary_dirs

    spec = parse_spec(_read(args.spec))
    remote = [f"{s.source_name} ({s.location})" for s in spec.file_sources() if not s.where.is_local]
    if remote:
        raise UserError(f"ardis dp merge reads local files only; remote: {', '.join(remote)} (use ardis dp submit)")
    dictionaries = load_dictionaries(spec.keyword_dictionaries,
                                     dictionary_dirs(settings, Path(args.spec).resolve().parent))
    fetched = {s.source_name: Path(s.where.path) for s in spec.file_sources()}
    out = Path(args.out) if args.out else Path.cwd() / spec.target.file_name
    print(merge_product(spec, fetched, out, dictionaries).summary)
    return 0


def _cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.products.pipeline import submit

    result = submit(settings, _read(args.spec), origin=str(Path(args.spec).resolve()))
    if result.new:
        again = f" again{result.replaced}" if result.replaced else ""
        print(f"product {result.product_id}: {result.spec_id} submitted{again}; the ardis_dp_poll DAG starts its merge")
    else:
        print(f"product {result.product_id}: {result.spec_id} was already submitted ({result.state}); not again")
    return 0


def _cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    """The published JSON Schema of the specification (``dp_specification.schema.json``)."""
    import json

    from distribution.products import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from distribution.products.models import DataProduct

    with db.session_scope(settings.database_url) as session:
        for p in session.scalars(select(DataProduct).order_by(DataProduct.id)):
            granule = f"granule {p.granule_id}" if p.granule_id else "-"
            print(f"{p.id:>6}  {p.state.value:<9} {p.spec_id:<40} {granule}  {p.detail or ''}")
    return 0


def register(sub: Any) -> None:
    """Add ``ardis dp`` to the parser."""
    dp = sub.add_parser("dp", help="ELT data product specifications", description=STRICT_JSON).add_subparsers(
        dest="dp_command", required=True)
    val = dp.add_parser("validate", help="check a specification (schema, sources reachable, dictionaries loadable) "
                        "without merging; exit 0 valid, 1 not")
    val.add_argument("spec")
    val.set_defaults(func=_cmd_validate)
    mrg = dp.add_parser("merge", help="merge a specification's local sources into one FITS file")
    mrg.add_argument("spec")
    mrg.add_argument("--out", help="the product file (default: filePrefix + fileId + .fits here)")
    mrg.set_defaults(func=_cmd_merge)
    sbm = dp.add_parser("submit", help="hand a specification to Ardis: merged, archived, once per id")
    sbm.add_argument("spec")
    sbm.set_defaults(func=_cmd_submit)
    sch = dp.add_parser("schema", help="print the published JSON Schema of a specification")
    sch.set_defaults(func=_cmd_schema)
    lst = dp.add_parser("list", help="submitted specifications and their state")
    lst.set_defaults(func=_cmd_list)
