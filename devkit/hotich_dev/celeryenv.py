"""Run hotich_reconcile on Airflow's CeleryExecutor: Redis broker, N local Celery workers.

``python -m hotich_dev.celeryenv up [WORKERS]`` starts the api-server, scheduler and
dag-processor as ``hotich_dev.localenv up`` does (same environment, same pid files, so
``python -m hotich_dev.localenv down`` stops everything), with the CeleryExecutor and
``WORKERS`` (default 2) ``airflow celery worker`` processes, each with its own Celery
hostname, queue ``default`` and its OWN working directory (``$AIRFLOW_HOME/workers/wN``).
Nothing passes between stages through a worker's working directory: the run's work files
live under ``HOTICH_DATA_DIR`` (an absolute folder every worker reaches; docs/scaling.md,
docs/decisions/0018).

The broker is ``HOTICH_CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``); the
result backend is Airflow's metadata database (the provider's default, ``db+`` prefix).
Each worker's task processes report their worker's name as the task instance's hostname
(``[core] hostname_callable`` = :func:`worker_hostname`), so that the task instances show
which worker ran them even though all workers share this machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from hotich_dev import localenv

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
SERVICES = ("api-server", "scheduler", "dag-processor")
WORKER_ENV = "HOTICH_CELERY_WORKER"  # the worker's name, inherited by its task processes


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the workers: the worker's own name when set (all
    workers share one machine), else the machine's FQDN."""
    return os.environ.get(WORKER_ENV) or socket.getfqdn()


def celery_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``localenv.airflow_env`` with the CeleryExecutor and the Redis broker."""
    env = dict(os.environ if base is None else base)
    env["AIRFLOW__CORE__EXECUTOR"] = "CeleryExecutor"
    env.setdefault(
        "AIRFLOW__CELERY__BROKER_URL", env.get("HOTICH_CELERY_BROKER_URL", DEFAULT_BROKER)
    )
    env.setdefault("AIRFLOW__CORE__HOSTNAME_CALLABLE", f"{__name__}.worker_hostname")
    # Not one task per local core (make up's LocalExecutor): the workers' own --concurrency
    # bounds what runs on each machine; the scheduler may send up to Airflow's default.
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "32")
    env = localenv.airflow_env(env)
    if "HOTICH_DATA_DIR" in env and not Path(env["HOTICH_DATA_DIR"]).is_absolute():
        # A relative data folder would be each worker's own (its working directory).
        env["HOTICH_DATA_DIR"] = str(Path(env["HOTICH_DATA_DIR"]).resolve())
    return env


def _start(cmd: list[str], env: dict[str, str], cwd: Path, log: Path, pid_file: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    pid_file.write_text(str(proc.pid))
    return proc.pid


def up(
    env: dict[str, str], workers: int = 2, concurrency: int = 2, timeout_s: float = 180
) -> dict[str, int]:
    """Start the services and ``workers`` Celery workers; wait for the api-server's health
    check. Returns service name -> pid (also written to ``$AIRFLOW_HOME/pids``)."""
    localenv.ensure_migrated(env)
    home = Path(env["AIRFLOW_HOME"])
    pid_dir, logs = home / "pids", home / "logs"
    pid_dir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    started: dict[str, int] = {}
    for service in SERVICES:
        started[service] = _start([sys.executable, "-m", "airflow", service], env, home,
                                  logs / f"{service}.log", pid_dir / f"{service}.pid")  # fmt: skip
    for n in range(1, workers + 1):
        name = f"w{n}"
        cwd = home / "workers" / name
        cwd.mkdir(parents=True, exist_ok=True)
        wenv = {**env, WORKER_ENV: name}
        cmd = [sys.executable, "-m", "airflow", "celery", "worker", "--queues", "default",
               "--concurrency", str(concurrency), "--celery-hostname", f"{name}@{socket.gethostname()}-{os.getpid()}",
               "--skip-serve-logs", "--without-mingle", "--without-gossip"]  # fmt: skip
        started[f"worker-{name}"] = _start(cmd, wenv, cwd, logs / f"worker-{name}.log",
                                           pid_dir / f"worker-{name}.pid")  # fmt: skip
    url = env["AIRFLOW__API__BASE_URL"]
    if not localenv.api_server_healthy(url, started["api-server"], timeout_s):
        raise RuntimeError(f"the api-server did not come up at {url}: see {logs}")
    return started


def trigger_and_wait(
    env: dict[str, str], dag_id: str = "hotich_reconcile", timeout_s: float = 1800
) -> tuple[str, str]:
    """Trigger ``dag_id`` through the api-server (as admin, the simple auth manager's
    password file), once the dag-processor has parsed it; wait until the run ends.
    Returns (run id, state: success, failed or timeout)."""
    import json

    import requests

    url, home = env["AIRFLOW__API__BASE_URL"], Path(env["AIRFLOW_HOME"])
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())[
        "admin"
    ]
    r = requests.post(
        f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=30
    )
    r.raise_for_status()
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    deadline = time.monotonic() + timeout_s
    dag = f"{url}/api/v2/dags/{dag_id}"
    while requests.get(dag, headers=headers, timeout=30).status_code != 200:
        if time.monotonic() > deadline:
            return "", "timeout"
        time.sleep(1)
    requests.patch(dag, headers=headers, json={"is_paused": False}, timeout=30).raise_for_status()
    r = requests.post(f"{dag}/dagRuns", headers=headers, json={"logical_date": None}, timeout=30)
    r.raise_for_status()
    run_id = r.json()["dag_run_id"]
    while time.monotonic() < deadline:
        r = requests.get(f"{dag}/dagRuns/{run_id}", headers=headers, timeout=30)
        state = r.json().get("state") if r.status_code == 200 else None
        if state in ("success", "failed"):
            return run_id, state
        time.sleep(1)
    return run_id, "timeout"


def main(argv: list[str]) -> int:
    """Entry point; see the module docstring."""
    if not argv or argv[0] != "up":
        print(__doc__)
        return 0
    env = celery_env()
    started = up(env, workers=int(argv[1]) if len(argv) > 1 else 2)
    print(f"Airflow (CeleryExecutor) at {env['AIRFLOW__API__BASE_URL']}: {', '.join(started)};"
          " stop with make down")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
