"""``ardis-demo --workdir DIR``: Ardis end to end on one machine, nothing faked.

A sample provider drops products and a PDR into its directory. Ardis starts real
peers on 127.0.0.1 (the embedded FTP pull server, an FTP server to push to,
OpenSSH sshd for scp, Samba smbd for SMB where installed), takes a subscription
in the ICD's e-mail text (every new MOD09GHK.003 granule, by scp), and starts
Airflow (api-server, scheduler, dag-processor; LocalExecutor). The polling DAG
takes the PDR, ingests the granules and writes the PAN back (shown); the
subscription fires for its granule with no one touching it. Then the demo places
one order per delivery method (DVD and DLT on virtual drives, their operator
steps answered through Airflow's REST API), waits for every run, reads the media
back with osirrox and tar, downloads the pulled files with a real FTP client,
checks every delivered file against the archive's checksums, and prints where the
files and notices are.
"""

from __future__ import annotations

import ftplib
import logging
import os
import subprocess
import tarfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution import db
from distribution.cli.airflow import AirflowUnreachable, airflow_names, start_run
from devkit.operator import Operator, shipping_clerk
from devkit.airflow_stack import AirflowStack
from distribution.inventory.archive import granule_ur
from distribution.checksums import checksum_file
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, write_delivery
from distribution.orders.delivery import pull_login
from distribution.errors import ArdisError
from distribution.shipping.drives import drive_kind, find_drive, tape_drive
from distribution.shipping.paperwork import packing_list_path, volumes_of
from distribution.orders.pull_server import build_pull_server, load_or_create_secret, pull_password
from distribution.inventory.archive import get_or_create_collection
from distribution.models import Granule, GranuleFile, GranuleStatus, MediaType, Order, PdrRecord, PdrState, Request
from distribution.ingest.pdr import render_pdr
from distribution.ingest.providers import ProviderSpec, add_provider
from distribution.orders.placing import Contact, Destination, RequestSpec, create_order
from distribution.time import utcnow
from devkit.peers import PeerUnavailable, free_port, run_ftp_server, run_smbd, run_sshd

PROVIDER = "DEMO_SIPS"
PDR_NAME = "DEMO_SIPS.20261201.PDR"
RUN_TIMEOUT = 600.0


@dataclass
class DemoRequest:
    label: str
    request_id: str
    order_id: str
    media_type: MediaType
    where: Path | None


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def _configure(workdir: Path, ftp_port: int) -> Settings:
    os.environ.update(
        {
            "ARDIS_HOME": str(workdir / "ardis"),
            "ARDIS_DATABASE_URL": f"sqlite:///{workdir / 'ardis' / 'ardis.db'}",
            "ARDIS_OUTBOX_DIR": str(workdir / "outbox"),
            "ARDIS_FTP_PORT": str(ftp_port),
            "ARDIS_RETRY_DELAY_SECONDS": "5",
            "ARDIS_RETRIES": "2",
            "ARDIS_ARCHIVE_NAME": "ARDIS DEMO",
        }
    )
    settings = load_settings()
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    return settings


def _provide(settings: Settings, workdir: Path) -> Path:
    """A provider's area with sample products and the PDR announcing them; returns the PDR's directory."""
    area = workdir / "provider"
    (area / "PDR").mkdir(parents=True, exist_ok=True)
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name=PROVIDER, root_directory=str(area), polling_directory="/PDR",
                                           response_email="sips-ops@example.org", polling_interval_seconds=30))
        for esdt in sorted({s.esdt for s in SAMPLES}):
            get_or_create_collection(session, esdt)
    pdr = write_delivery(area, "DATA", originating_system=PROVIDER)
    (area / "PDR" / PDR_NAME).write_text(render_pdr(pdr))
    return area / "PDR"


SUBSCRIPTION = """User ID: sips2
first name: Demo
last name: Subscriber
telephone: 301-555-0100
Email Address: sips2@example.org
notification text: demo subscription
ESDT: {esdt}
event: INSERT
scp: Enable
FTP Host: 127.0.0.1:{port}
FTP Destination: {directory}
start date: {start}
expiration date: {end}
qualifier statement: QAPercentMissingData < 50
"""


def _subscribe(settings: Settings, ssh_port: int, directory: Path) -> int:
    """A standing order (ICD 4.3.1 e-mail text): every new MOD09GHK.003 granule, pushed by scp."""
    from distribution.subscriptions.store import answer_message

    directory.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    text = SUBSCRIPTION.format(esdt=SAMPLES[0].esdt, port=ssh_port, directory=directory,
                               start=(now - timedelta(days=1)).strftime("%m/%d/%Y-%H:%M"),
                               end=(now + timedelta(days=365)).strftime("%m/%d/%Y-%H:%M"))
    with session_scope(settings.database_url) as session:
        answer = answer_message(session, text, None, actor="demo", conn_id="ardis_demo_scp")
    _say(f"subscription request answered ({answer.subject}):")
    print(answer.text, end="" if answer.text.endswith("\n") else "\n", flush=True)
    if not answer.accepted or answer.subscription_id is None:
        raise ArdisError("the demo's subscription request was refused")
    return answer.subscription_id


def _subscription_request(settings: Settings, subscription_id: int, directory: Path) -> DemoRequest:
    """Wait for the order the subscription placed for the ingested MOD09GHK granule."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            order = session.scalar(select(Order).where(Order.source == "subscription").order_by(Order.id))
            if order is not None and order.requests:
                r = order.requests[0]
                _say(f"subscription {subscription_id} fired: order {order.order_id} request {r.request_id}")
                return DemoRequest(f"scp by subscription {subscription_id} (no one placed it)", str(r.request_id),
                                   str(order.order_id), r.media_type, directory)
        time.sleep(2)
    raise ArdisError(f"subscription {subscription_id} placed no order within {RUN_TIMEOUT:.0f} s")


def _wait_parsed() -> dict[str, Any]:
    """Ardis's DAG ids and pools as the Ardis plugin tells them, once every Ardis DAG is parsed."""
    deadline = time.monotonic() + RUN_TIMEOUT
    names: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            names = airflow_names()
        except AirflowUnreachable as e:
            _say(f"waiting for the Ardis plugin: {e}")
        else:
            if set(names["all_dags"]) <= set(names["parsed"]):
                return names
        time.sleep(3)
    raise ArdisError(f"Ardis's DAGs were not all parsed within {RUN_TIMEOUT:.0f} s: {names}")


def _wait_ingest(settings: Settings) -> list[str]:
    """Wait for the PDR's ingest to be answered; the URs of the granules it archived."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            record = session.scalar(select(PdrRecord).where(PdrRecord.name == PDR_NAME))
            if record is not None and record.state is PdrState.RESPONDED:
                granules = session.scalars(select(Granule).where(Granule.source_pdr_id == record.id)
                                           .order_by(Granule.id))
                return [granule_ur(g, settings) for g in granules]
        time.sleep(3)
    raise ArdisError(f"the PDR {PDR_NAME} was not answered within {RUN_TIMEOUT:.0f} s")


def _serve_pull_area(stack: ExitStack, settings: Settings) -> None:
    server = build_pull_server(settings.pull_root, "127.0.0.1", settings.ftp_port, load_or_create_secret(settings.home))
    thread = threading.Thread(target=server.serve_forever, kwargs={"handle_exit": False}, daemon=True)
    thread.start()
    stack.callback(server.close_all)


def _place_orders(settings: Settings, urs: list[str], targets: dict[MediaType, tuple[Destination, Path]],
                  ) -> list[DemoRequest]:
    contact = Contact(user_id="demo", email="demo.user@example.org", first_name="Demo", last_name="User",
                      organization="Ardis Demo", shipping_address="1616 McCormick Drive\nLandover, MD 20785",
                      checksum_list=True)
    placed = []
    specs = [("FtpPull: every sample granule", RequestSpec(MediaType.FTP_PULL, urs, userstring="demo pull")),
             ("DVD: every sample granule, burned on the virtual burner",
              RequestSpec(MediaType.DVD, urs, userstring="demo DVD")),
             ("DLT: two granules, written to the virtual tape drive",
              RequestSpec(MediaType.DLT, urs[:2], userstring="demo DLT"))]
    for media, (dest, _) in targets.items():
        specs.append((f"{media.value} to {dest.host}:{dest.directory}",
                      RequestSpec(media, urs[:2], dest, userstring=f"demo {media.value}")))
    for label, spec in specs:
        with session_scope(settings.database_url) as session:
            order = create_order(session, settings, contact, [spec], source="demo")
            request = order.requests[0]
            placed.append(DemoRequest(label, str(request.request_id), str(order.order_id), spec.media_type,
                                      targets.get(spec.media_type, (None, None))[1]))
    return placed


def _wait(settings: Settings, placed: list[DemoRequest]) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    ids = [p.request_id for p in placed]
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            states = {r.request_id: r.state for r in session.scalars(select(Request).where(Request.request_id.in_(ids)))}
        if all(s.is_terminal for s in states.values()):
            return
        time.sleep(3)
    raise ArdisError(f"requests not finished after {RUN_TIMEOUT:.0f} s: {states}")


def _check_pull(settings: Settings, request: Request, download_dir: Path) -> list[str]:
    """Download the pull directory with ftplib and compare with the archive's MD5s."""
    login = pull_login(settings, request)
    problems = []
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", settings.ftp_port, timeout=30)
        ftp.login(login, pull_password(load_or_create_secret(settings.home), login))
        ftp.cwd(str(request.ftp_dir))
        for rg in request.granules:
            for rf in rg.files:
                local = download_dir / rf.dist_name
                with local.open("wb") as out:
                    ftp.retrbinary(f"RETR {rf.dist_name}", out.write, blocksize=1 << 20)
                problems += _compare(local, rf.granule_file)
    return problems


def _compare(path: Path, archived: GranuleFile) -> list[str]:
    if not path.exists():
        return [f"{path} missing"]
    if path.stat().st_size != archived.size:
        return [f"{path} has {path.stat().st_size} bytes, archive {archived.size}"]
    ctype = archived.checksum_type
    if ctype and checksum_file(path, ctype) != archived.checksum_value:
        return [f"{path} {ctype} differs from the archive"]
    return []


def _check(settings: Settings, placed: list[DemoRequest], workdir: Path) -> list[str]:
    problems: list[str] = []
    with session_scope(settings.database_url) as session:
        for p in placed:
            request = session.scalar(select(Request).where(Request.request_id == p.request_id))
            assert request is not None
            delivered = [rg for rg in request.granules if rg.status == GranuleStatus.DELIVERED]
            if len(delivered) != len(request.granules):
                problems.append(f"request {p.request_id} ({p.media_type.value}) ended {request.state.value}")
            if p.media_type == MediaType.FTP_PULL and request.ftp_dir:
                download = workdir / "downloaded" / p.request_id
                download.mkdir(parents=True, exist_ok=True)
                try:
                    problems += _check_pull(settings, request, download)
                except (OSError, EOFError, ftplib.Error) as e:
                    problems.append(f"FTP pull of request {p.request_id} failed: {e}")
                p.where = download
            elif not p.media_type.is_electronic:
                p.where = workdir / "from_media" / p.request_id
                problems += _check_media(settings, request, p.where)
            elif p.where is not None:
                for rg in delivered:
                    for rf in rg.files:
                        problems += _compare(p.where / rf.dist_name, rf.granule_file)
    return problems


def _check_media(settings: Settings, request: Request, out: Path) -> list[str]:
    """Read each volume back as a user would (osirrox for the disc image, tar for the tape), then compare."""
    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    session = Session.object_session(request)
    assert session is not None
    kind = drive_kind(request.media_type)
    for volume in volumes_of(session, request):  # where each disc and cartridge was written, as recorded
        for medium in volume.written_to:
            if "disc" in medium:
                done = subprocess.run(["osirrox", "-indev", medium["disc"], "-extract", "/", str(out)],
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    problems.append(f"osirrox could not read {medium['disc']}: {done.stderr.strip()[-200:]}")
                continue
            cartridge = tape_drive(find_drive(settings, kind, volume.drive), medium["tape"])
            with tarfile.open(cartridge.path, mode="r|") as tar:  # type: ignore[attr-defined]
                tar.extractall(out, filter="data")
    for rg in request.granules:
        for rf in rg.files:
            problems += _compare(out / str(rg.directory_number) / rf.dist_name, rf.granule_file)
    if not packing_list_path(settings, request).exists():
        problems.append(f"request {request.request_id}: no packing list")
    return problems


def _summary(settings: Settings, placed: list[DemoRequest], skipped: list[str], problems: list[str]) -> None:
    print()
    print("Ardis demo — requests")
    with session_scope(settings.database_url) as session:
        for p in placed:
            request = session.scalar(select(Request).where(Request.request_id == p.request_id))
            assert request is not None
            print(f"  order {p.order_id} request {p.request_id}  {p.media_type.value:<8} {request.state.value:<9}"
                  f" run {request.airflow_run_id}")
            print(f"      {p.label}; files: {p.where}")
            if p.media_type == MediaType.SCP and p.where is not None:
                print(f"      DN copy: {p.where / (p.request_id + '.notifyscp')}")
            if not p.media_type.is_electronic:
                print(f"      shipped {request.carrier} {request.tracking_number}; packing list "
                      f"{packing_list_path(settings, request)}")
    print(f"  DNs (one .eml per notice): {settings.outbox_dir}")
    for line in skipped:
        print(f"  skipped: {line}")
    print("  checks: " + ("every delivered file matches the archive's size and checksum" if not problems else "FAILED"))
    for line in problems:
        print(f"    - {line}")


def run_demo(workdir: Path, keep_running: bool = False) -> int:
    """Run the whole demo; 0 when every request delivered verified files."""
    workdir.mkdir(parents=True, exist_ok=True)
    # Not one line per FTP command: with a handler present pyftpdlib keeps our level.
    ftp_log = logging.getLogger("pyftpdlib")
    ftp_log.addHandler(logging.NullHandler())
    ftp_log.setLevel(logging.WARNING)
    settings = _configure(workdir, free_port())
    _say(f"archive under {settings.home}")
    pdr_dir = _provide(settings, workdir)
    _say(f"provider {PROVIDER} put {len(SAMPLES)} granules and {PDR_NAME} into {pdr_dir}")
    skipped: list[str] = []
    with ExitStack() as stack:
        _serve_pull_area(stack, settings)
        airflow = AirflowStack(workdir / "airflow")
        _say("preparing Airflow (db migrate)")
        airflow.migrate()
        targets: dict[MediaType, tuple[Destination, Path]] = {}
        push_root = workdir / "delivered"
        ftp = stack.enter_context(run_ftp_server(push_root / "ftp", "pushuser", "push-secret"))
        airflow.add_connection("ardis_demo_ftp", {"conn_type": "ftp", "host": "127.0.0.1", "port": ftp.port,
                                                  "login": "pushuser", "password": "push-secret"})
        targets[MediaType.FTP_PUSH] = (Destination("127.0.0.1", ftp.port, "/incoming", "ardis_demo_ftp"),
                                       push_root / "ftp" / "incoming")
        (push_root / "ftp" / "incoming").mkdir(parents=True, exist_ok=True)
        try:
            ssh = stack.enter_context(run_sshd(workdir / "sshd"))
            scp_dir = push_root / "scp"
            scp_dir.mkdir(parents=True, exist_ok=True)
            airflow.add_connection("ardis_demo_scp", {
                "conn_type": "sftp", "host": "127.0.0.1", "port": ssh.port, "login": ssh.username,
                "extra": {"private_key": ssh.private_key, "known_hosts": ssh.known_hosts}})
            targets[MediaType.SCP] = (Destination("127.0.0.1", ssh.port, str(scp_dir), "ardis_demo_scp"), scp_dir)
            subscribed = _subscribe(settings, ssh.port, push_root / "subscriber")
        except PeerUnavailable as e:
            skipped.append(f"scp: {e}")
            subscribed = None
        try:
            smb = stack.enter_context(run_smbd(workdir / "smbd"))
            airflow.add_connection("ardis_demo_smb", {"conn_type": "samba", "host": "127.0.0.1", "port": smb.port,
                                                      "login": smb.username, "password": smb.password})
            targets[MediaType.SMB_PUSH] = (Destination("127.0.0.1", smb.port, f"{smb.share}/incoming",
                                                       "ardis_demo_smb"), smb.root / "incoming")
            (smb.root / "incoming").mkdir(parents=True, exist_ok=True)
        except PeerUnavailable as e:
            skipped.append(f"SmbPush: {e}")
        _say("starting Airflow: api-server, scheduler, dag-processor")
        airflow.start(workdir / "logs")
        if not keep_running:
            stack.callback(airflow.stop)
        os.environ.update(airflow.client_env())  # how ``ardis`` reaches Airflow: its REST API, as user ardis
        airflow.wait_ready([])
        names = _wait_parsed()
        airflow.create_pools({pool: 1 for pool in names["pools"].values()})
        _say(f"Airflow is up at {airflow.api_url}")
        airflow.cli("dags", "trigger", names["dags"]["pdr_poll"])  # the first poll now, not at the next tick
        urs = _wait_ingest(settings)
        answer = pdr_dir / PDR_NAME.replace(".PDR", ".PAN")
        _say(f"ingested {len(urs)} granules; the PAN written back as {answer}:")
        print(answer.read_text(), end="", flush=True)
        if len(urs) != len(SAMPLES):
            raise ArdisError(f"{len(urs)} of {len(SAMPLES)} granules were archived; see {answer}")
        placed = _place_orders(settings, urs, targets)
        if subscribed is not None:
            placed.append(_subscription_request(settings, subscribed, push_root / "subscriber"))
        clerk = Operator(airflow.api_url, list(names["dags"]["media"].values()), shipping_clerk)
        clerk.start()  # plays the operator: loads blank media, confirms the shipments (Airflow's REST API)
        stack.callback(clerk.stop)
        for p in placed:
            outcome = start_run(p.request_id)
            _say(f"order {p.order_id} request {p.request_id} {p.media_type.value}: {outcome}")
        _wait(settings, placed)
        problems = _check(settings, placed, workdir)
        _summary(settings, placed, skipped, problems)
        if keep_running:
            _say(f"Airflow stays up at {airflow.api_url} (stop it with: pkill -f 'airflow ')")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """``ardis-demo --workdir DIR [--keep-running]`` (``make demo``)."""
    import argparse

    p = argparse.ArgumentParser(prog="ardis-demo", description="run Ardis end to end on sample data")
    p.add_argument("--workdir", required=True)
    p.add_argument("--keep-running", action="store_true", help="leave Airflow and the servers up")
    args = p.parse_args(argv)
    return run_demo(Path(args.workdir).resolve(), keep_running=args.keep_running)


if __name__ == "__main__":
    raise SystemExit(main())
