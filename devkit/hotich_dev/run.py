"""``make run``: run the daily DAG once to the end over what the environment names.

``airflow dags test hotich_reconcile`` with the project's Airflow settings (see
``hotich_dev.localenv``). The environment names the districts file
(``HOTICH_DISTRICTS_FILE``), each district's ``AIRFLOW_CONN_<ID>``, ``civil_status_db`` and
``population_api``. What it does not name falls back to the project's defaults: the
embedded PostgreSQL for Airflow's metadata and the national database, and, when no
``population_api`` is named, the register simulator serving the demo's register
(``HOTICH_REGISTER_FILE``, default ``data/demo/register.parquet``) and, for the default
districts file, the demo's district connections (``data/demo/connections.env``). Exits
non-zero when the run failed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from hotich_dev import PROJECT_ROOT

DEMO_CLIENT = ("hotich-demo", "demo-secret")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def register_simulator(
    register_file: Path, port: int | None = None, extra_args: list[str] | None = None
) -> Iterator[str]:
    """Serve the register simulator on 127.0.0.1 while the block runs; yield its conn URI."""
    port = port or free_port()
    client_id, secret = DEMO_CLIENT
    log = open(register_file.parent / "population_api.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hotich_dev.population_api",
            "--register",
            str(register_file),
            "--port",
            str(port),
            "--client",
            f"{client_id}:{secret}",
            *(extra_args or []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the register simulator exited; see {log.name}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the register simulator did not start within 120 s; see {log.name}")
        yield f"http://{client_id}:{secret}@127.0.0.1:{port}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        log.close()


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (the generator's connections.env)."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip()
    return pairs


def run_dag(env: dict[str, str], log_file: Path | None = None) -> int:
    """``airflow dags test hotich_reconcile`` in the project's Airflow; its exit code.

    With ``log_file``, Airflow's output goes there instead of the terminal.
    """
    cmd = [
        sys.executable,
        "-m",
        "hotich_dev.localenv",
        "airflow",
        "dags",
        "test",
        "hotich_reconcile",
    ]
    if log_file is None:
        return subprocess.run(cmd, env=env, cwd=PROJECT_ROOT).returncode
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "wb") as out:
        return subprocess.run(
            cmd, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
        ).returncode


def main() -> int:
    """Entry point of ``make run``."""
    env = dict(os.environ)
    demo_connections = PROJECT_ROOT / "data" / "demo" / "connections.env"
    if not env.get("HOTICH_DISTRICTS_FILE") and demo_connections.exists():
        # The default districts file names the demo's districts; their connections are
        # the demo's unless the environment names them.
        for key, value in read_env_file(demo_connections).items():
            env.setdefault(key, value)
    if env.get("AIRFLOW_CONN_POPULATION_API"):
        return run_dag(env)
    register_file = Path(
        env.get("HOTICH_REGISTER_FILE", PROJECT_ROOT / "data" / "demo" / "register.parquet")
    )
    if not register_file.exists():
        print(
            "make run: no population register named: set AIRFLOW_CONN_POPULATION_API"
            f" (or HOTICH_REGISTER_FILE for the simulator; {register_file} does not exist)",
            file=sys.stderr,
        )
        return 2
    with register_simulator(register_file) as uri:
        env["AIRFLOW_CONN_POPULATION_API"] = uri
        return run_dag(env)


if __name__ == "__main__":
    sys.exit(main())
