"""``make up`` for real: Airflow's services start, the api-server answers, the campaign
dashboard is served inside it over HTTP on loopback, and ``make down`` stops them all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from hotich import db
from hotich.config import Settings
from hotich.migrate import migrate
from hotich_dev.localenv import pid_alive
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def localenv(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotich_dev.localenv", command], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=400)  # fmt: skip


def pids(home: Path) -> list[int]:
    return [int(p.read_text()) for p in (home / "pids").glob("*.pid")]


def test_up_serves_airflow_and_the_dashboard_then_down_stops_everything(tmp_path, embedded_pg):
    tag = uuid.uuid4().hex[:8]
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    engine = db.engine_for(national)
    migrate(engine, Settings().sql_dir)  # the owner's step (python -m hotich.migrate)
    engine.dispose()
    home, port = tmp_path / "airflow", free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(
            db.ensure_database(embedded_pg, f"airflow_{tag}")
        ),
        "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
        "HOTICH_PGDATA": str(tmp_path / "no-embedded-pg"),  # down must not stop the tests' server
    }
    started = localenv("up", env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        url = f"http://127.0.0.1:{port}"
        assert f"Airflow UI: {url}" in started.stdout and "login: admin / " in started.stdout
        assert sorted(p.stem for p in (home / "pids").glob("*.pid")) == [
            "api-server", "dag-processor", "scheduler", "triggerer"]  # fmt: skip
        health = requests.get(f"{url}/api/v2/monitor/health", timeout=10)
        assert health.status_code == 200 and health.json()["metadatabase"]["status"] == "healthy"
        progress = requests.get(f"{url}/hotich/api/progress", timeout=30)
        assert progress.status_code == 200, progress.text
        assert [d["district_code"] for d in progress.json()["districts"]] == [
            "256", "258", "259", "260", "261", "262", "263", "264"]  # fmt: skip
        assert requests.get(f"{url}/hotich/", timeout=30).text.count("<tr>") >= 8
        # A second `up` finds the services running and starts nothing new.
        running = pids(home)
        again = localenv("up", env)
        assert again.returncode == 0 and sorted(pids(home)) == sorted(running)
    finally:
        running = pids(home)
        stopped = localenv("down", env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for _ in range(30):  # SIGTERM: give them a moment, boundedly
        if not any(pid_alive(p) for p in running):
            break
        time.sleep(1)
    assert not any(pid_alive(p) for p in running)
    assert "embedded PostgreSQL was not running" in stopped.stdout
