"""PDR ingest through real ``dag.test()`` runs of ``ardis_pdr_poll`` and ``ardis_ingest``.

The providers' PDR servers are real: pyftpdlib over FTP and OpenSSH over SFTP on
127.0.0.1, their credentials in Airflow Connections (``AIRFLOW_CONN_*``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from distribution.ingest import pan
from distribution.inventory.archive import get_or_create_collection
from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, write_delivery
from distribution.models import Granule, GranuleEvent, PdrRecord, PdrState, Provider
from distribution.ingest.pdr import Pdr
from distribution.ingest.pdr import render_pdr
from devkit.peers import FtpServer, SshServer
from distribution.ingest.providers import ProviderSpec, add_provider
from tests.dags.conftest import run_dag, task_states
from tests.integration.conftest import sshd  # noqa: F401  (fixture)
from tests.servers import run_ftp_server

pytestmark = pytest.mark.dags
SCALE = 1 / 32
STEPS = ["validate", "pull", "archive", "answer"]


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def _collections(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        for esdt in {s.esdt for s in SAMPLES}:
            get_or_create_collection(session, esdt)


def poll_and_ingest(dagbag: Any, settings: Settings) -> list[int]:
    """One poll run, then one ingest run per PDR it took; returns their ids."""
    with session_scope(settings.database_url) as session:
        for p in session.scalars(select(Provider)):
            p.last_polled_at = None
    poll = run_dag(dagbag, "ardis_pdr_poll", {})
    assert task_states(poll)["discover"] == "success"
    with session_scope(settings.database_url) as session:
        waiting = [r.id for r in session.scalars(select(PdrRecord).where(PdrRecord.state == PdrState.NEW))]
    for pdr_id in waiting:
        run = run_dag(dagbag, "ardis_ingest", {"pdr_id": pdr_id})
        states = task_states(run)
        assert states["archive"] == "success" and states["answer"] == "success", states
    return waiting


def _broken(pdr: Pdr) -> Pdr:
    """Group 1 loses a file, group 2 states a wrong size, group 3 a wrong MD5; group 4 stays good."""
    g0, g1, g2, g3 = pdr.groups
    g1 = dataclasses.replace(g1, files=(dataclasses.replace(g1.files[0], size=g1.files[0].size - 1), *g1.files[1:]))
    g2 = dataclasses.replace(g2, files=(dataclasses.replace(g2.files[0], checksum_value="f" * 32), *g2.files[1:]))
    return dataclasses.replace(pdr, groups=(g0, g1, g2, g3))


def _check_answers(settings: Settings, pdr_dir: Path, good: Pdr, broken: Pdr) -> None:
    short = pan.parse_pan((pdr_dir / "GOOD.PAN").read_text())
    assert isinstance(short, pan.ShortPan) and short.disposition == pan.SUCCESSFUL
    long = pan.parse_pan((pdr_dir / "BROKEN.PAN").read_text())
    assert isinstance(long, pan.LongPan)
    got = [(f.name, f.disposition) for f in long.files]
    g0, g1, g2, g3 = broken.groups
    expected = ([(f.file_id, pan.FILES_NOT_FOUND) for f in g0.files]
                + [(f.file_id, pan.SIZE_CHECK_FAILURE) for f in g1.files]
                + [(f.file_id, pan.CHECKSUM_VERIFICATION_FAILURE) for f in g2.files]
                + [(f.file_id, pan.SUCCESSFUL) for f in g3.files])
    assert got == expected
    with session_scope(settings.database_url) as session:
        lgids = sorted(session.scalars(select(Granule.local_granule_id)))
        assert lgids == sorted([s.lgid for s in SAMPLES[:2]] + [SAMPLES[3].lgid])
        assert len(list(session.scalars(select(GranuleEvent)))) == 3


def _check_asset_events(settings: Settings) -> None:
    """Each archive step announced its new granules on the asset subscriptions listen to."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                  .filter(AssetModel.uri == "ardis://granules/insert").all())
        announced = sorted(g for e in events for g in (e.extra or {}).get("granule_ids", []))
    with session_scope(settings.database_url) as s:
        archived = sorted(s.scalars(select(Granule.id)))
    assert set(archived) <= set(announced)


def test_ftp_pdr_server_end_to_end(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    _collections(settings)
    root = tmp_path / "ftproot"
    (root / "PDR").mkdir(parents=True)
    with run_ftp_server(root, "sips1", "sips1-pw") as server:  # type: FtpServer
        _connection(monkeypatch, "sips1_ftp", {"conn_type": "ftp", "host": server.host, "port": server.port,
                                               "login": server.username, "password": server.password})
        with session_scope(settings.database_url) as session:
            add_provider(session, ProviderSpec(name="SIPS1", method="ftp", conn_id="sips1_ftp",
                                               polling_directory="/PDR"))
        good = write_delivery(root, "GOOD", SAMPLES[:2], scale=SCALE)
        (root / "PDR" / "GOOD.PDR").write_text(render_pdr(good))
        broken_data = write_delivery(root, "BROKEN", SAMPLES, scale=SCALE, first_seed=11)
        broken = _broken(broken_data)
        (root / broken.groups[0].files[0].path.lstrip("/")).unlink()
        (root / "PDR" / "BROKEN.PDR").write_text(render_pdr(broken))
        assert len(poll_and_ingest(dagbag, settings)) == 2
        _check_answers(settings, root / "PDR", good, broken)
        _check_asset_events(settings)
        assert poll_and_ingest(dagbag, settings) == []  # the same PDRs at the next tick: not again
        with session_scope(settings.database_url) as session:
            assert len(list(session.scalars(select(PdrRecord)))) == 2


def test_sftp_pdr_server_end_to_end(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                    sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    settings = sqlite_settings
    _collections(settings)
    area = tmp_path / "sips2"
    (area / "PDR").mkdir(parents=True)
    _connection(monkeypatch, "sips2_sftp", {
        "conn_type": "sftp", "host": sshd.host, "port": sshd.port, "login": sshd.username,
        "extra": {"private_key": sshd.private_key, "known_hosts": sshd.known_hosts}})
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="SIPS2", method="sftp", conn_id="sips2_sftp",
                                           polling_directory=str(area / "PDR")))
    # Over SFTP the provider's paths are the server's own absolute paths.
    relative = str(area.relative_to("/"))
    good = write_delivery(Path("/"), f"{relative}/GOOD", SAMPLES[:2], scale=SCALE)
    (area / "PDR" / "GOOD.PDR").write_text(render_pdr(good))
    broken = _broken(write_delivery(Path("/"), f"{relative}/BROKEN", SAMPLES, scale=SCALE, first_seed=11))
    Path(broken.groups[0].files[0].path).unlink()
    (area / "PDR" / "BROKEN.PDR").write_text(render_pdr(broken))
    assert len(poll_and_ingest(dagbag, settings)) == 2
    _check_answers(settings, area / "PDR", good, broken)
    (area / "PDR" / "GOOD.PDR").write_text(render_pdr(good))  # written again, same bytes
    assert poll_and_ingest(dagbag, settings) == []


def test_rejected_pdr_runs_every_step_and_gets_its_pdrd(dagbag: Any, sqlite_settings: Settings,
                                                        tmp_path: Path) -> None:
    settings = sqlite_settings
    area = tmp_path / "local"
    (area / "PDR").mkdir(parents=True)
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="LOCAL", root_directory=str(area), polling_directory="/PDR"))
    pdr = write_delivery(area, "DATA", SAMPLES[:1], scale=SCALE)  # its collection is not in the archive
    (area / "PDR" / "X.PDR").write_text(render_pdr(pdr))
    [pdr_id] = poll_and_ingest(dagbag, settings)
    assert pan.parse_pdrd((area / "PDR" / "X.PDRD").read_text()) == pan.ShortPdrd(pan.INVALID_DATA_TYPE)
    with session_scope(settings.database_url) as session:
        record = session.get(PdrRecord, pdr_id)
        assert record.state is PdrState.RESPONDED and record.files == []
        assert record.airflow_run_id is not None
