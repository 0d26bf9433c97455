"""Run Airflow configured inside the project, on the embedded PostgreSQL.

``python -m hotich_dev.localenv airflow dags test hotich_reconcile`` starts the embedded
database when needed, migrates Airflow's metadata once, sets the Airflow environment
(``AIRFLOW_HOME`` under the project, examples off, LocalExecutor, Asia/Ho_Chi_Minh) and
runs the command. ``python -m hotich_dev.localenv up`` / ``down`` start and stop Airflow's services and
the embedded database.
``python -m hotich_dev.localenv env`` prints the environment as shell exports.

Whatever the caller's environment already names (``AIRFLOW_CONN_CIVIL_STATUS_DB``,
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``, …) is kept: the defaults only fill the gaps.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

from hotich import db
from hotich.config import TIMEZONE
from hotich_dev import PROJECT_ROOT, embedded, runguard
from hotich_dev.runguard import pid_alive

AIRFLOW_HOME = PROJECT_ROOT / ".airflow"


def airflow_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Airflow runs with in this project (starts the embedded DB if used)."""
    env = dict(os.environ if base is None else base)
    port = env.get("AIRFLOW__API__PORT", "8080")
    defaults = {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # One task process per core: the mapped district tasks are CPU-bound (pandas, GX,
        # the link); Airflow's default of 32 ran 8 validate tasks at once on 2 cores, each
        # 8 times slower and all in memory together (benchmarks/RESULTS.md, decision 0022).
        "AIRFLOW__CORE__PARALLELISM": str(max(2, os.cpu_count() or 2)),
        # Task processes start with pandas, pyarrow, GX and the stages imported: the
        # executor's workers come from a fork server that imported them (hotich.airflow.preload).
        "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
        "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": "hotich.airflow.preload",
        # A task supervisor that reads its task's last output before the process is gone
        # waits this long to notice the exit, holding the executor's slot: 5 s by default,
        # after 10 of a province's 35 tasks (decision 0025).
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": TIMEZONE,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": port,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # Great Expectations: no usage statistics, no progress bars in task logs.
        "GX_ANALYTICS_ENABLED": "False",
        # Local runs migrate the national database themselves (a deployment does not).
        "HOTICH_MIGRATE_ON_RUN": "true",
        # Deprecation notices of Airflow's own dependencies, repeated at every parse.
        "PYTHONWARNINGS": "ignore:GitWildMatchPattern:DeprecationWarning",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    needs_embedded = not env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or not (
        env.get("AIRFLOW_CONN_CIVIL_STATUS_DB") or env.get("HOTICH_DATABASE_URL")
    )
    if needs_embedded:
        server = embedded.embedded_uri()
        env.setdefault(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            db.sqlalchemy_url(db.ensure_database(server, embedded.AIRFLOW_DB)),
        )
        if not env.get("AIRFLOW_CONN_CIVIL_STATUS_DB"):
            # HOTICH_NATIONAL_DB picks another database of the embedded server: make demo
            # fills civil_status_demo, and the UI can show it.
            env["AIRFLOW_CONN_CIVIL_STATUS_DB"] = env.get("HOTICH_DATABASE_URL") or (
                db.ensure_database(
                    server, env.get("HOTICH_NATIONAL_DB") or embedded.CIVIL_STATUS_DB
                )
            )
    return env


def ensure_migrated(env: dict[str, str]) -> None:
    """Run ``airflow db migrate`` once per metadata database and Airflow version."""
    from airflow import __version__ as airflow_version

    stamp_dir = Path(env["AIRFLOW_HOME"])
    stamp_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].encode()).hexdigest()[:10]
    stamp = stamp_dir / f".migrated-{airflow_version}-{key}"
    if stamp.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.touch()


SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
UP_TIMEOUT_S = 180  # the api-server's first start (plugins, auth manager) takes a while


def up() -> int:
    """Fail the runs a gone ``make run`` left behind (``hotich_dev.runguard``), start
    Airflow's services in the background, wait until the api-server answers its health
    check, and print the URL (and the login, once). Non-zero when it does not come up."""
    import json

    env = airflow_env()
    ensure_migrated(env)
    # Before the scheduler could resume them: fail the runs a gone `make run` left behind.
    runguard.sweep(env)
    home = Path(env["AIRFLOW_HOME"])
    pid_dir, logs = home / "pids", home / "logs"
    pid_dir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        pid_file = pid_dir / f"{service}.pid"
        if pid_file.exists() and pid_alive(int(pid_file.read_text())):
            continue
        with open(logs / f"{service}.log", "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow", service],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid_file.write_text(str(proc.pid))
    url = env["AIRFLOW__API__BASE_URL"]
    if not api_server_healthy(url, int((pid_dir / "api-server.pid").read_text()), UP_TIMEOUT_S):
        print(
            f"the api-server did not come up at {url}: see {logs / 'api-server.log'}",
            file=sys.stderr,
        )
        return 1
    print(
        f"Airflow UI: {url}  (campaign progress: {url}/hotich/; logs in {logs}; stop with make down)"
    )
    passwords = home / "simple_auth_manager_passwords.json.generated"
    shown = home / ".login-shown"
    if passwords.exists() and not shown.exists():
        for user, password in json.loads(passwords.read_text()).items():
            print(f"login: {user} / {password}  (shown once; kept in {passwords})")
        shown.touch()
    return 0


def _airflow_home() -> str:
    """AIRFLOW_HOME as the services run with it (without starting any database)."""
    return os.environ.get("AIRFLOW_HOME", str(AIRFLOW_HOME))


DOWN_GRACE_S = 30  # SIGTERM first; a service still running after this gets SIGKILL


def down() -> int:
    """Stop what :func:`up` started (and wait until it has), then the embedded PostgreSQL."""
    import signal
    import time

    pid_dir = Path(_airflow_home()) / "pids"
    stopping: dict[str, int] = {}
    for pid_file in sorted(pid_dir.glob("*.pid")) if pid_dir.exists() else []:
        pid = int(pid_file.read_text())
        if pid_alive(pid):
            # The service alone: it stops its own workers (a SIGTERM to the whole group
            # left the scheduler waiting for workers that were already gone).
            os.kill(pid, signal.SIGTERM)
            stopping[pid_file.stem] = pid
        pid_file.unlink()
    deadline = time.monotonic() + DOWN_GRACE_S
    while any(pid_alive(p) for p in stopping.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for service, pid in stopping.items():
        stuck = pid_alive(pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # whatever of its process group is left
        print(
            f"killed {service}: it did not stop within {DOWN_GRACE_S} s"
            if stuck
            else f"stopped {service}"
        )
    print(
        "embedded PostgreSQL stopped"
        if embedded.stop_embedded()
        else "embedded PostgreSQL was not running"
    )
    return 0


def api_server_healthy(url: str, pid: int, timeout_s: float) -> bool:
    """Wait until the api-server at ``url`` answers its health check; False when its process
    ``pid`` died or ``timeout_s`` passed first."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if not pid_alive(pid) or time.monotonic() > deadline:
            return False
        time.sleep(1)


def main(argv: list[str]) -> int:
    """Entry point; see the module docstring."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    if argv[0] in {"up", "down"}:
        return up() if argv[0] == "up" else down()
    env = airflow_env()
    if argv[0] == "env":
        keys = sorted(k for k in env if k.startswith(("AIRFLOW", "HOTICH", "GX_", "PYTHONPATH")))
        for key in keys:
            print(f"export {key}={shlex.quote(env[key])}")
        return 0
    if argv[0] == "airflow":
        ensure_migrated(env)
        if argv[1:3] == ["dags", "test"]:
            # Airflow 3.3.2's `dags test` fails the second run of a DAG with a DeadlineAlert
            # (it looks the alert up by its serialized dict instead of its id): a run on
            # demand has no late-run deadline; make up's scheduler keeps it.
            env = {**env, "HOTICH_LATE_RUN_DEADLINE": "off"}
            # The tasks run in this one process: it starts as the fork server's task
            # processes do, the preload's imports frozen for the garbage collector and young
            # objects collected every 50,000 (decision 0026).
            argv = [sys.executable, "-c", _PRELOADED_AIRFLOW, *argv[1:]]
        else:
            argv = [sys.executable, "-m", "airflow", *argv[1:]]
    os.execvpe(argv[0], argv, env)
    return 127  # not reached


#: ``python -m airflow`` after ``hotich.airflow.preload`` (its arguments follow ``-c``).
_PRELOADED_AIRFLOW = (
    "import runpy, hotich.airflow.preload; runpy.run_module('airflow', run_name='__main__')"
)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
