"""docker-compose.yml, .env.example and the Dockerfile, checked without a Docker engine (none runs here).

The structure is read with PyYAML (anchors resolved, as Compose resolves them); the file as a
whole is validated by Debian's ``docker-compose config`` (1.29, its own compose schema and
variable interpolation) when that client is installed (``scripts/system-packages.sh``).
Nothing here builds the image or starts a container.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "airflow-worker-media", "flower", "ardis-ftp"}
SERVICES = AIRFLOW_SERVICES | {"postgres", "redis", "mailpit"}
SHARED_SECRETS = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
                  "AIRFLOW__CORE__EXECUTION_API_SERVER_URL")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_every_service_of_the_deployment_is_there(compose: dict[str, Any]) -> None:
    assert SERVICES <= set(compose["services"])
    assert "x-airflow-common" in compose


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    one_shot = {"airflow-init", "airflow-cli"}
    missing = [name for name, s in compose["services"].items() if name not in one_shot and "healthcheck" not in s]
    assert missing == []
    for name, service in compose["services"].items():
        if "healthcheck" in service:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_workers_healthchecks_ask_for_their_queue_not_a_ping(compose: dict[str, Any]) -> None:
    for name, queue in (("airflow-worker", "default"), ("airflow-worker-media", "media")):
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert "active_queues" in test and f'"name": "{queue}"' in test, name


def test_airflow_services_share_one_configuration(compose: dict[str, Any]) -> None:
    common = compose["x-airflow-common"]["environment"]
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert common["ARDIS_DATABASE_URL"].startswith("postgresql+psycopg2://ardis:")
    assert common["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:") or \
        common["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:@redis:")
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name].get("environment", common)
        for key in SHARED_SECRETS:
            assert env.get(key) == common[key], (name, key)


def test_every_volume_used_is_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert {"postgres-db-volume", "ardis-data", "airflow-logs"} <= declared
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith(("/", ".")):
                assert source.startswith("/") or (ROOT / source).exists(), (name, mount)
            else:
                assert source in declared, (name, mount)
    workers = ("airflow-worker", "airflow-worker-media", "airflow-apiserver", "ardis-ftp")
    assert all(any(m.startswith("ardis-data:") for m in compose["services"][w]["volumes"]) for w in workers)


def test_postgres_creates_ardis_database(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    init = [m for m in postgres["volumes"] if "docker-entrypoint-initdb.d" in m]
    assert init, postgres["volumes"]
    script = ROOT / init[0].split(":")[0]
    assert "CREATE DATABASE ardis" in script.read_text()


def test_init_migrates_creates_users_and_runs_ardis_setup(compose: dict[str, Any]) -> None:
    init = compose["services"]["airflow-init"]
    script = ROOT / "docker" / Path(init["command"][0]).name
    text = script.read_text()
    assert "airflow db migrate" in text and "airflow users create" in text and "ardis setup" in text
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = compose["services"][name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_drive_host_worker(compose: dict[str, Any]) -> None:
    from ardis_airflow.names import MEDIA_QUEUE

    media = compose["services"]["airflow-worker-media"]
    assert f"--queues {MEDIA_QUEUE}" in media["command"] and "--concurrency" in media["command"]
    assert media["profiles"] == ["drive-host"]
    assert media["hostname"]
    assert [d.split(":")[-1] for d in media["devices"]] == ["/dev/sr0", "/dev/nst0"]
    assert "/run/udev:/run/udev:ro" in media["volumes"]
    assert len(media["group_add"]) == 2
    hours = re.fullmatch(r"(\d+)h", media["stop_grace_period"])
    assert hours and int(hours.group(1)) >= 1, "a burn or tape write must not be killed mid-way"
    assert "--queues default" in compose["services"]["airflow-worker"]["command"]


def test_ftp_server_publishes_its_passive_ports(compose: dict[str, Any]) -> None:
    ftp = compose["services"]["ardis-ftp"]
    command = " ".join(ftp["command"])
    assert "ardis ftp-server" in command and "--passive-ports" in command and "--masquerade-address" in command
    assert any("30000-30009" in port for port in ftp["ports"])


def test_env_example_lists_every_setting_and_holds_no_secret() -> None:
    example = _env_example()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE.read_text()))
    assert used <= set(example), sorted(used - set(example))
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    assert required and all(example[name] == "" for name in required), "a committed secret"
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM apache/airflow:3.3.2-python3.11" in text
    assert '-e ".[airflow]"' in text
    assert all(tool in text for tool in ("xorriso", "mt-st", "openssh-client"))
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "apache-airflow-providers-celery" in pyproject


def _copied_before_install(dockerfile: str) -> set[str]:
    """The top-level names the Dockerfile COPYs into the image before its ``pip install``."""
    copied: set[str] = set()
    for line in dockerfile.split("RUN pip install", 1)[0].splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if words[:1] == ["COPY"]:
            copied |= {source.strip("./").split("/", 1)[0] for source in words[1:-1]}
    return copied


def _packages_installed() -> set[str]:
    """The top-level packages setuptools finds with pyproject's ``[tool.setuptools.packages.find] include``."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    found = {p.name for p in ROOT.iterdir()
             if (p / "__init__.py").is_file() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)}
    assert found, patterns
    return found


def test_the_image_holds_everything_the_install_and_airflow_need() -> None:
    """``pip install -e .`` in the image: every package pyproject installs (an editable install of a missing
    one imports nothing: ``ardis-demo`` and the Celery workers' ``devkit`` would fail at run time), the
    migrations, Airflow's DAGs and plugins folders, and what docker-compose.yml mounts or runs from docker/."""
    text = (ROOT / "Dockerfile").read_text()
    copied = _copied_before_install(text)
    needed = _packages_installed() | {"pyproject.toml", "README.md", "sql", "dags", "plugins", "docker"}
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"
    with (ROOT / "pyproject.toml").open("rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert {target.split(".", 1)[0] for target in scripts.values()} <= copied, scripts
    ignore = ROOT / ".dockerignore"
    if ignore.exists():  # a pattern there would drop a copied folder from the build context
        ignored = {line.strip().strip("/") for line in ignore.read_text().splitlines()}
        assert not ignored & copied, sorted(ignored & copied)


def test_the_image_check_sees_a_missing_package() -> None:
    """The check above, on a Dockerfile without its ``COPY devkit`` line: it must find devkit missing."""
    text = (ROOT / "Dockerfile").read_text()
    without = "\n".join(line for line in text.splitlines() if " devkit " not in f"{line} ")
    assert "devkit" in _packages_installed() and "devkit" in _copied_before_install(text)
    assert "devkit" not in _copied_before_install(without)


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("Debian's docker-compose is not installed (scripts/system-packages.sh); no Docker engine here")
    return subprocess.run([client, "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file",
                           str(env_file), "config", "-q"], capture_output=True, text=True, timeout=120)


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    filled = {key: value or "not-a-real-secret" for key, value in _env_example().items()}
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in filled.items()))
    result = _compose_config(env)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_refuses_a_missing_secret(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE.read_text())  # as committed: every secret empty
    result = _compose_config(env)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr or "in .env" in result.stderr
