"""Helpers of the tests that start Airflow's services with ``make up``'s code
(``hotich_dev.localenv``) and talk to its api-server over HTTP on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from hotich_dev.localenv import pid_alive
from tests.conftest import REPO


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
        answer = requests.get(api, timeout=30, headers=bearer(jwt))
        assert answer.status_code == 200, (user, answer.status_code, answer.text[:500])
        assert requests.get(page, timeout=30, cookies={"_token": jwt}).status_code == 200, user


def stop_and_check(env: dict[str, str], home: Path) -> None:
    """``make down``: every service it started is gone within 30 s, and it leaves the
    tests' own PostgreSQL alone."""
    running = pids(home)
    stopped = localenv("down", env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for _ in range(30):  # SIGTERM: give them a moment, boundedly
        if not any(pid_alive(p) for p in running):
            break
        time.sleep(1)
    assert not any(pid_alive(p) for p in running)
    assert "embedded PostgreSQL was not running" in stopped.stdout
