"""``make up`` for real: Airflow's services start, the api-server answers, the campaign
dashboard is served inside it over HTTP on loopback, and ``make down`` stops them all."""

from __future__ import annotations

import json
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


def token(url: str, home: Path, user: str) -> str:
    """A JWT from Airflow's own login (the simple auth manager's password file)."""
    passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
    r = requests.post(f"{url}/auth/token", json={"username": user, "password": passwords[user]},
                      timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["access_token"]


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def check_access(url: str, home: Path) -> None:
    """hotich's pages behind Airflow's login (hotich.airflow.access, docs/access.md)."""
    api, page = f"{url}/hotich/api/progress", f"{url}/hotich/"
    # Anonymous: the API answers 401, a browser is sent to Airflow's login and back.
    assert requests.get(api, timeout=30).status_code == 401
    browser = requests.get(page, timeout=30, headers={"Accept": "text/html"}, allow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"].startswith("/auth/login?next=")
    assert "hotich" in browser.headers["location"]
    # A token Airflow did not sign, and a tampered one: refused.
    assert requests.get(api, timeout=30, headers=bearer("not.a.jwt")).status_code == 403
    admin = token(url, home, "admin")
    forged = admin[:-4] + ("AAAA" if not admin.endswith("AAAA") else "BBBB")
    assert requests.get(api, timeout=30, headers=bearer(forged)).status_code == 403
    # Every role the simple auth manager has may read: viewer, op, admin; by token or cookie.
    for user in ("viewer", "op", "admin"):
        jwt = token(url, home, user)
        assert requests.get(api, timeout=30, headers=bearer(jwt)).status_code == 200, user
        assert requests.get(page, timeout=30, cookies={"_token": jwt}).status_code == 200, user


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
        # The simple auth manager's users, one per role the access rules name.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer,op:op",
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
        check_access(url, home)
        viewer = token(url, home, "viewer")
        progress = requests.get(f"{url}/hotich/api/progress", timeout=30, headers=bearer(viewer))
        assert progress.status_code == 200, progress.text
        assert [d["district_code"] for d in progress.json()["districts"]] == [
            "256", "258", "259", "260", "261", "262", "263", "264"]  # fmt: skip
        page = requests.get(f"{url}/hotich/", timeout=30, cookies={"_token": viewer})
        assert page.status_code == 200 and page.text.count("<tr>") >= 8
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
