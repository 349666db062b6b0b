"""Housekeeping: expired pull areas, finished staging, requests left without a run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from distribution.inventory.archive import granule_ur
from distribution.config import Settings, load_settings
from distribution.db import session_scope
from distribution.orders.delivery import begin_request, deliver_request, pull_directory, stage_request, verify_request
from devkit.sample_data import load_samples
from distribution.orders.housekeeping import purge_expired_pull_areas, purge_finished_staging, requests_without_run
from distribution.models import MediaType, RequestState
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request
from distribution.time import utcnow


def _pulled_request(settings: Settings, tmp_path: Path) -> str:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]
        order = create_order(session, settings, Contact("hk", "hk@example.org"), [RequestSpec(MediaType.FTP_PULL, urs)])
        request_id = str(order.requests[0].request_id)
    stage_request(settings, request_id)
    verify_request(settings, request_id)
    deliver_request(settings, request_id)
    return request_id


def test_expired_pull_directories_are_removed_once(settings: Settings, tmp_path: Path) -> None:
    request_id = _pulled_request(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        pull = pull_directory(settings, request)
        assert any(pull.iterdir())
    assert purge_expired_pull_areas(settings) == []  # not yet expired
    with session_scope(settings.database_url) as session:
        get_request(session, request_id).ftp_expires_at = utcnow() - timedelta(minutes=1)
    assert purge_expired_pull_areas(settings) == [request_id]
    assert not pull.exists()
    assert purge_expired_pull_areas(settings) == []
    # The archive keeps the data; only the pull copy (a hard link) is gone.
    with session_scope(settings.database_url) as session:
        for rg in get_request(session, request_id).granules:
            assert all(Path(f.archive_path).exists() for f in rg.granule.files)


def test_staging_of_finished_requests_is_removed(settings: Settings, tmp_path: Path) -> None:
    request_id = _pulled_request(settings, tmp_path)
    assert purge_finished_staging(settings) == []  # still open
    with session_scope(settings.database_url) as session:
        get_request(session, request_id).state = RequestState.COMPLETE
    assert purge_finished_staging(settings) == [request_id]
    assert not (settings.staging_root / request_id).exists()


def test_requests_without_run_until_their_run_begins(settings: Settings, tmp_path: Path) -> None:
    with session_scope(settings.database_url) as session:
        urs = [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=0.01)]
        order = create_order(session, settings, Contact("hk", "hk@example.org"),
                             [RequestSpec(MediaType.FTP_PULL, urs[:1]), RequestSpec(MediaType.FTP_PULL, urs[1:2])])
        ids = [str(r.request_id) for r in order.requests]
    assert [r.request_id for r in requests_without_run(settings)] == ids
    begin_request(settings, ids[0], f"request-{ids[0]}")
    assert [r.request_id for r in requests_without_run(settings)] == ids[1:]


def test_pull_login_per_order_or_per_user(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                          tmp_path: Path) -> None:
    request_id = _pulled_request(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert pull_directory(settings, request) == settings.pull_root / str(request.order.order_id) / request_id
        monkeypatch.setenv("ARDIS_FTP_LOGIN_MODE", "user")
        by_user = load_settings()
        assert pull_directory(by_user, request) == by_user.pull_root / "hk" / request_id
