"""Shared fixtures: Ardis settings on a fresh database, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from distribution import db
from devkit.airflow_stack import airflow_home_settings
from distribution.config import Settings, load_settings
import distribution.products.models  # noqa: F401  (their tables join Base.metadata)
import distribution.subscriptions.models  # noqa: F401
from distribution.models import Base
from tests.airflow_rest import AirflowRest, serve_airflow

PG_ADMIN_URL = os.environ.get("ARDIS_TEST_DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def pytest_configure(config: pytest.Config) -> None:
    """One Airflow home per test session, set before anything imports airflow.

    Retries are short (1 s) so failure paths finish quickly; runs are started by
    the tests, never by ``ardis order create`` (no ``ARDIS_AIRFLOW_URL`` unless a test sets it).
    """
    home = Path(tempfile.mkdtemp(prefix="ardis-airflow-"))
    # one JWT secret for this process's auth manager and the api-servers started on this home (they read the
    # file), so a token made in-process is good everywhere, whichever test first asks for the auth manager
    secret = home / "jwt-secret"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    os.environ.update(
        {
            **airflow_home_settings(home),
            "AIRFLOW__API_AUTH__JWT_SECRET": secret.read_text(),
            "ARDIS_RETRY_DELAY_SECONDS": "1",
            "ARDIS_RETRIES": "2",
        }
    )
    for name in ("ARDIS_AIRFLOW_URL", "ARDIS_AIRFLOW_TOKEN", "ARDIS_AIRFLOW_USERNAME", "ARDIS_AIRFLOW_PASSWORD"):
        os.environ.pop(name, None)  # no test reaches an Airflow it did not start


#: The longest test files (whole Airflow stacks), started first: pytest-xdist hands files out in collection order,
#: so one that began late would hold the whole run up while the other worker idles.
FIRST = ("tests/dags/test_celery_topology.py", "tests/dags/test_scheduler.py", "tests/faults/test_hitl_race.py",
         "tests/dags/test_console_retry.py", "tests/dags/test_phase3_dag.py", "tests/faults/test_media_faults.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the files of ``FIRST`` first, in that order; everything else keeps its order."""
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return FIRST.index(path) if path in FIRST else len(FIRST)
    items.sort(key=rank)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, migrated to head."""
    if not PG_ADMIN_URL:
        pytest.skip("ARDIS_TEST_DATABASE_URL not set (no PostgreSQL)")
    name = f"ardis_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    db.upgrade(url)
    yield url
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty Ardis database: every DB test runs on both backends."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        _truncate(url)
        return url
    url = f"sqlite:///{tmp_path / 'ardis.db'}"
    db.upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ardis.db'}"
    db.upgrade(url)
    return url


def make_settings(monkeypatch: pytest.MonkeyPatch, home: Path, url: str, **env: str) -> Settings:
    monkeypatch.setenv("ARDIS_HOME", str(home))
    monkeypatch.setenv("ARDIS_DATABASE_URL", url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    settings.ensure_dirs()
    return settings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Settings:
    """Settings under a temporary ARDIS_HOME, on SQLite and on PostgreSQL."""
    return make_settings(monkeypatch, tmp_path / "home", db_url)


@pytest.fixture
def sqlite_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> Settings:
    """Settings on SQLite only, for tests whose subject is not the database."""
    return make_settings(monkeypatch, tmp_path / "home", sqlite_url)


@pytest.fixture(scope="session")
def airflow_rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowRest]:
    """An Airflow api-server (``tests.airflow_rest``): Ardis's DAGs synced, logins required."""
    yield from serve_airflow(tmp_path_factory.mktemp("airflow-rest"))


@pytest.fixture
def airflow_client(airflow_rest: AirflowRest, monkeypatch: pytest.MonkeyPatch) -> AirflowRest:
    """``ardis`` in this test reaches that Airflow (``ARDIS_AIRFLOW_URL``, the ``ardis`` account)."""
    for key, value in airflow_rest.client_env().items():
        monkeypatch.setenv(key, value)
    return airflow_rest


@pytest.fixture
def rest_settings(airflow_client: AirflowRest, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on the Ardis database the ``airflow_rest`` server's plugin reads (shared by the session)."""
    return make_settings(monkeypatch, airflow_client.ardis_home, airflow_client.ardis_url)


@pytest.fixture
def artifacts() -> Path:
    """Where tests keep screenshots and rendered files for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
