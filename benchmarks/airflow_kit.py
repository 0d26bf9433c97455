"""What the benchmarks that go through ``make up``'s Airflow share: its REST API with a
token, ``hotich_dev.localenv up``/``down`` in the benchmark's environment, a bounded wait,
and the tasks' times from Airflow's own records. Imported by the scripts beside it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def when(stamp: str | None) -> float:
    """An API timestamp (ISO 8601, UTC) as epoch seconds; NaN for none."""
    if not stamp:
        return float("nan")
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Api:
    """Airflow's REST API as the benchmarks use it (a JWT from the simple auth manager)."""

    def __init__(self, url: str, home: Path) -> None:
        import json

        import requests

        self.url, self.http = url, requests.Session()
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        r = self.http.post(
            f"{url}/auth/token",
            json={"username": "admin", "password": passwords["admin"]},
            timeout=30,
        )
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def get(self, path: str, **params: str | int | float) -> dict:
        """A GET, asked again (at most 5 times) when the api-server is slow to answer: a
        loaded machine (the very runs being measured) delays it past the timeout."""
        import requests

        for attempt in range(5):
            try:
                r = self.http.get(f"{self.url}/api/v2/{path}", params=params, timeout=60)
                break
            except requests.Timeout:
                if attempt == 4:
                    raise
        r.raise_for_status()
        return r.json()

    def patch(self, path: str, body: dict) -> dict:
        r = self.http.patch(f"{self.url}/api/v2/{path}", json=body, timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict) -> dict:
        r = self.http.post(f"{self.url}/api/v2/{path}", json=body, timeout=30)
        r.raise_for_status()
        return r.json()

    def knows_dag(self, dag_id: str) -> bool:
        """Whether the dag-processor has parsed ``dag_id`` yet."""
        import requests

        try:
            self.get(f"dags/{dag_id}")
            return True
        except requests.HTTPError:
            return False

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """The run's final state (success, failed), or None while it runs."""
        state = self.get(f"dags/{dag_id}/dagRuns/{run_id}")["state"]
        return state if state in ("success", "failed") else None

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances (mapped ones each), as the API gives them."""
        return self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)[
            "task_instances"
        ]


def localenv(command: str, env: dict[str, str], timeout_s: float = 400) -> None:
    """``python -m hotich_dev.localenv <command>`` (up, down) in ``env``; exits on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "hotich_dev.localenv", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0:
        raise SystemExit(f"localenv {command} failed:\n{done.stdout}\n{done.stderr}")


def wait_for(what: str, check: Callable[[], T], timeout_s: float, every_s: float = 0.2) -> T:
    """Call ``check`` until it returns something true, at most ``timeout_s``; exit if never."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")


def task_seconds(tis: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds of task time per task id, summed over its mapped instances (start to end,
    the task process's start-up included)."""
    out: dict[str, float] = {}
    for ti in tis:
        if ti.get("start_date") and ti.get("end_date"):
            seconds = when(ti["end_date"]) - when(ti["start_date"])
            out[ti["task_id"]] = out.get(ti["task_id"], 0.0) + seconds
    return out
