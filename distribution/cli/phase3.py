"""``ardis phase3``: ESO Phase 3 programs, collections and releases (seed 000), and the validator.

``ardis phase3 validate -r DIR -m create|update`` is the seed's
``java -jar validator.jar -r <dir> -m create|update``: the summary on the console
(``OK`` | ``ERROR``), ``validator.toc``, ``validator.error`` and ``validator.log``
beside the files (or in ``--out``); exit 0 OK, 1 ERROR.

Whoever runs ``ardis`` is the archive operator (ESO/EDP); ``--as USER`` speaks
as that Ardis user instead (a PI or CoI), and then the program's permissions apply.
"""

from __future__ import annotations

import argparse
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from distribution import db
from distribution.config import Settings
from distribution.errors import UserError


def _actor(args: argparse.Namespace) -> Any:
    from distribution.phase3.programs import Actor

    return Actor(args.as_user) if getattr(args, "as_user", None) else Actor.archive_operator()


def _cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.archiving import in_archive
    from distribution.phase3.validator import validate_release, write_outputs

    directory = Path(args.r)
    report = validate_release(directory, args.m, in_archive=in_archive(settings),  # type: ignore[arg-type]
                              verify_checksums=not args.no_checksums)
    write_outputs(report, Path(args.out) if args.out else directory)
    print(report.summary())
    for problem in report.problems[:20]:
        print(f"  {problem.render()}")
    if len(report.problems) > 20:
        print(f"  … {len(report.problems) - 20} more in validator.error")
    return 0 if report.ok else 1


def _cmd_program_create(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.programs import create_program

    with db.session_scope(settings.database_url) as session:
        program = create_program(session, _actor(args), args.code, args.pi, args.title)
        print(f"program {program.code}: PI {args.pi}")
    return 0


def _cmd_grant(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.programs import grant_coi, revoke_coi

    with db.session_scope(settings.database_url) as session:
        (grant_coi if args.func_name == "grant" else revoke_coi)(session, _actor(args), args.code, args.user)
    print(f"{args.user}: CoI access to {args.code} {'granted' if args.func_name == 'grant' else 'revoked'}")
    return 0


def _cmd_program_show(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from distribution.phase3.models import Phase3Collection
    from distribution.phase3.programs import Role, get_program, members, require

    with db.session_scope(settings.database_url) as session:
        program = get_program(session, args.code)
        require(session, program, _actor(args), {Role.PI, Role.COI, Role.OPERATOR}, "see the program")
        print(f"program {program.code}  {program.title}")
        for user_id, role in members(session, program):
            print(f"  {role.value:<3} {user_id}")
        for c in session.scalars(select(Phase3Collection).where(Phase3Collection.program_id == program.id)):
            print(f"  collection {c.name} -> {c.esdt}")
    return 0


def _cmd_collection_create(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.releases import create_collection

    with db.session_scope(settings.database_url) as session:
        c = create_collection(session, _actor(args), args.program, args.name, args.esdt)
        print(f"collection {args.program}/{c.name}: archived as {c.esdt}")
    return 0


def _cmd_release_create(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.areas import upload_area
    from distribution.phase3.releases import create_release

    when = date.fromisoformat(args.release_date) if args.release_date else None
    with db.session_scope(settings.database_url) as session:
        release = create_release(session, _actor(args), args.program, args.collection, args.name, args.mode, when)
        print(f"release {release.id}: {release.path} ({release.mode}) Open; upload into {release.path} "
              f"(local area {upload_area(settings, release)})")
    return 0


def _cmd_release_move(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.models import ReleaseState
    from distribution.phase3.releases import find_release, move

    to = {"close": ReleaseState.CLOSED, "reopen": ReleaseState.OPEN}[args.func_name]
    with db.session_scope(settings.database_url) as session:
        release = find_release(session, args.release)
        move(session, release, to, _actor(args), "closed for validation" if to is ReleaseState.CLOSED else "reopened")
        print(f"release {release.path}: {release.state.value}"
              + ("; the ardis_phase3_poll DAG starts its validation" if to is ReleaseState.CLOSED else ""))
    return 0


def _cmd_release_show(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.releases import history

    with db.session_scope(settings.database_url) as session:
        release = _visible_release(session, args)
        print(f"release {release.id}: {release.path}  {release.mode}  {release.state.value}"
              f"  release date {release.release_date or '-'}  run {release.airflow_run_id or '-'}")
        for when, who, frm, to, why in history(release):
            print(f"  {when}  {who:<12} {frm:>12} -> {to:<12} {why}")
        if release.error_report:
            print("error report:\n" + release.error_report.rstrip())
    return 0


def _cmd_release_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from distribution.phase3.models import Phase3Release
    from distribution.phase3.releases import can_see

    actor = _actor(args)
    with db.session_scope(settings.database_url) as session:
        for release in session.scalars(select(Phase3Release).order_by(Phase3Release.id)):
            if can_see(session, release, actor):
                print(f"{release.id:>6}  {release.state.value:<12} {release.mode:<6} {release.path}")
    return 0


def _visible_release(session: Any, args: argparse.Namespace) -> Any:
    """``args.release`` when the ``--as`` user may see it; UserError otherwise."""
    from distribution.phase3.releases import can_see, find_release

    release = find_release(session, args.release)
    if not can_see(session, release, _actor(args)):
        raise UserError(f"release {args.release} is not published: only its program's people may see it")
    return release


def _cmd_release_content(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.archiving import content_eso

    with db.session_scope(settings.database_url) as session:
        release = _visible_release(session, args)
        text = content_eso(session, release)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"CONTENT.ESO written to {args.out}")
    else:
        print(text, end="")
    return 0


def _cmd_release_description(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.archiving import description_path

    with db.session_scope(settings.database_url) as session:
        release = _visible_release(session, args)
        path = description_path(session, release)
        if path is None:
            raise UserError(f"release {release.path} has no archived release-description.tar (archived releases only)")
    shutil.copyfile(path, args.out)
    print(f"release-description.tar of {release.path} written to {args.out}")
    return 0


def _cmd_upload_server(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.upload import host_key, serve_uploads

    settings.ensure_dirs()
    fingerprint = host_key(settings).get_fingerprint("sha256")
    print(f"serving the Phase 3 upload areas by SFTP on {args.host}:{args.port} (host key {fingerprint})", flush=True)
    serve_uploads(settings, args.host, args.port)
    return 0


def _cmd_upload_password(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.orders.pull_server import load_or_create_secret
    from distribution.phase3.upload import upload_password

    print(upload_password(load_or_create_secret(settings.home), args.user))
    return 0


def _cmd_upload_key(settings: Settings, args: argparse.Namespace) -> int:
    from distribution.phase3.upload import add_upload_key, upload_keys

    if args.action == "list":
        print("\n".join(upload_keys(settings, args.user)) or f"{args.user} logs in by password only")
        return 0
    if not args.key_file:
        raise UserError("upload-key add needs the public key file")
    print(f"{args.user} may log in with {add_upload_key(settings, args.user, Path(args.key_file).read_text())}")
    return 0


def _as(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="as_user", metavar="USER", help="speak as this Ardis user (PI or CoI)")


def register(sub: Any) -> None:
    """Add ``ardis phase3`` to the parser."""
    p3 = sub.add_parser("phase3", help="ESO Phase 3 data releases").add_subparsers(dest="phase3_command",
                                                                                  required=True)
    val = p3.add_parser("validate", help="validate a release directory (validator.jar -r DIR -m create|update)")
    val.add_argument("-r", required=True, metavar="DIR", help="the release directory")
    val.add_argument("-m", required=True, choices=["create", "update"], help="create or update")
    val.add_argument("--out", help="where validator.toc/.error/.log go (default: DIR)")
    val.add_argument("--no-checksums", action="store_true", help="do not verify CHECKSUM/DATASUM (headers only)")
    val.set_defaults(func=_cmd_validate)

    prog = p3.add_parser("program", help="programs and their permissions").add_subparsers(dest="p3_program",
                                                                                          required=True)
    pc = prog.add_parser("create", help="a new program and its PI (archive operator)")
    pc.add_argument("code")
    pc.add_argument("--pi", required=True, help="the PI's Ardis user id")
    pc.add_argument("--title", default="")
    pc.set_defaults(func=_cmd_program_create)
    for name, what in (("grant", "give a user CoI access (PI)"), ("revoke", "take a CoI's access away (PI)")):
        g = prog.add_parser(name, help=what)
        g.add_argument("code")
        g.add_argument("user")
        _as(g)
        g.set_defaults(func=_cmd_grant, func_name=name)
    ps = prog.add_parser("show", help="a program's PI, CoIs and collections")
    ps.add_argument("code")
    _as(ps)
    ps.set_defaults(func=_cmd_program_show)

    coll = p3.add_parser("collection", help="collections").add_subparsers(dest="p3_collection", required=True)
    cc = coll.add_parser("create", help="a new collection of a program (PI/CoI)")
    cc.add_argument("program")
    cc.add_argument("name")
    cc.add_argument("--esdt", help="the Ardis collection ShortName.VVV it is archived as (default NAME.001)")
    _as(cc)
    cc.set_defaults(func=_cmd_collection_create)

    rel = p3.add_parser("release", help="releases").add_subparsers(dest="p3_release", required=True)
    rc = rel.add_parser("create", help="a new Open release (PI/CoI)")
    rc.add_argument("program")
    rc.add_argument("collection")
    rc.add_argument("name")
    rc.add_argument("--mode", default="create", choices=["create", "update"])
    rc.add_argument("--release-date", help="YYYY-MM-DD: proprietary to the program until then")
    _as(rc)
    rc.set_defaults(func=_cmd_release_create)
    for name, what in (("close", "close an Open release: validation starts (PI only)"),
                       ("reopen", "open a release in Error again to correct it (PI/CoI)")):
        m = rel.add_parser(name, help=what)
        m.add_argument("release", help="id or program/collection/release")
        _as(m)
        m.set_defaults(func=_cmd_release_move, func_name=name)
    for name, func, what in (("show", _cmd_release_show, "state, history and error report"),
                             ("content", _cmd_release_content, "CONTENT.ESO of an archived release")):
        s = rel.add_parser(name, help=what)
        s.add_argument("release", help="id or program/collection/release")
        if name == "content":
            s.add_argument("--out", help="write it to this file")
        _as(s)
        s.set_defaults(func=func)
    rd = rel.add_parser("description", help="the archived release-description.tar of a release")
    rd.add_argument("release", help="id or program/collection/release")
    rd.add_argument("--out", required=True, help="write it to this file")
    _as(rd)
    rd.set_defaults(func=_cmd_release_description)
    rl = rel.add_parser("list", help="the releases you may see")
    _as(rl)
    rl.set_defaults(func=_cmd_release_list)

    up = p3.add_parser("upload-server", help="serve the Open releases' upload areas by SFTP")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=2222)
    up.set_defaults(func=_cmd_upload_server)
    pw = p3.add_parser("upload-password", help="a user's SFTP upload password (derived, never stored)")
    pw.add_argument("user")
    pw.set_defaults(func=_cmd_upload_password)
    uk = p3.add_parser("upload-key", help="SSH public keys a user may log in to the upload server with")
    uk.add_argument("action", choices=["add", "list"])
    uk.add_argument("user")
    uk.add_argument("key_file", nargs="?", help="add: the OpenSSH public key file (id_ed25519.pub)")
    uk.set_defaults(func=_cmd_upload_key)
