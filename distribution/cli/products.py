"""``ardis dp``: ELT data product specifications (validate, merge locally, submit, list, show)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from distribution import db
from distribution.config import Settings
from distribution.errors import UserError


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from e


def _cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.products import load_dictionaries, parse_spec
    from distribution.products.pipeline import collection_for, dictionary_dirs

    spec = parse_spec(_read(args.spec))
    problems = []
    for source in spec.file_sources():
        where = source.where
        if not where.is_local:
            print(f"source {source.source_name}: {where} (remote: reached over SFTP by the ardis_dp_merge run)")
        elif not Path(where.path).is_file():
            problems.append(f"source {source.source_name}: {where.path} is not a file")
    try:
        load_dictionaries(spec.keyword_dictionaries, dictionary_dirs(settings, Path(args.spec).resolve().parent))
    except UserError as e:
        problems.append(str(e))
    try:
        print(f"collection: {collection_for(spec.instrument)}")
    except UserError as e:
        problems.append(str(e))
    if problems:
        raise UserError("; ".join(problems))
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
        print(f"product {result.product_id}: {result.spec_id} submitted; the ardis_dp_poll DAG starts its merge")
    else:
        print(f"product {result.product_id}: {result.spec_id} was already submitted ({result.state}); not again")
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
    dp = sub.add_parser("dp", help="ELT data product specifications").add_subparsers(dest="dp_command", required=True)
    val = dp.add_parser("validate", help="check a specification (schema, sources, dictionaries) without merging")
    val.add_argument("spec")
    val.set_defaults(func=_cmd_validate)
    mrg = dp.add_parser("merge", help="merge a specification's local sources into one FITS file")
    mrg.add_argument("spec")
    mrg.add_argument("--out", help="the product file (default: filePrefix + fileId + .fits here)")
    mrg.set_defaults(func=_cmd_merge)
    sbm = dp.add_parser("submit", help="hand a specification to Ardis: merged, archived, once per id")
    sbm.add_argument("spec")
    sbm.set_defaults(func=_cmd_submit)
    lst = dp.add_parser("list", help="submitted specifications and their state")
    lst.set_defaults(func=_cmd_list)
