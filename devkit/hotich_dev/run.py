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

Interrupted (Ctrl-C, SIGTERM, SIGHUP), it stops Airflow, marks the run and its unfinished
tasks failed, gives back the run's district leases and exits 128 + the signal's number.
A kill -9 cannot be handled: the run is failed by the next ``make run`` (or ``make up``),
which fails every run left behind by a ``make run`` that is gone, one line each
(``hotich_dev.runguard``). Nothing of an unfinished district was committed: the next run
reads it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from hotich_dev import PROJECT_ROOT

DEMO_CLIENT = ("hotich-demo", "demo-secret")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) reached ``make run``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While the block runs, a stop signal raises :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def stop_signals_ignored() -> Iterator[None]:
    """While the block runs (the cleanup after a stop), stop signals are ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child killed when this process dies (Linux
    ``PR_SET_PDEATHSIG``): no DAG run or simulator goes on after a kill -9 of make run."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    parent = os.getpid()

    def preexec() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def kill_child(proc: subprocess.Popen) -> None:
    """Kill ``airflow dags test`` and wait for it. Not SIGTERM: it goes on with its task
    (seen retrying the register 10 s after one) and would then run the next ones; the run
    is abandoned, and what it did not commit is rolled back by the national database."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@contextlib.contextmanager
def register_simulator(
    register_file: Path, port: int | None = None, extra_args: list[str] | None = None
) -> Iterator[str]:
    """Serve the register simulator on 127.0.0.1 while the block runs; yield its conn URI."""
    port = port or free_port()
    client_id, secret = DEMO_CLIENT
    log = open(register_file.parent / "population_api.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(  # noqa: PLW1509 - preexec_fn: make run starts no threads
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
        preexec_fn=die_with_parent(),
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

    First fails the runs a gone ``make run`` left behind; the run started carries this
    process's marker (``hotich_dev.runguard``). With ``log_file``, Airflow's output goes
    there instead of the terminal. A stop signal stops Airflow, fails the run, and raises
    :class:`Interrupted`.
    """
    from hotich_dev import runguard
    from hotich_dev.localenv import airflow_env, ensure_migrated

    env = airflow_env(env)
    ensure_migrated(env)
    runguard.sweep(env)
    marker = runguard.owner_marker()
    cmd = [
        sys.executable,
        "-m",
        "hotich_dev.localenv",
        "airflow",
        "dags",
        "test",
        "hotich_reconcile",
        "--conf",
        json.dumps({runguard.MARKER: marker}),
    ]
    out = None
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_file, "wb")  # noqa: SIM115 - closed below
    proc = None
    try:
        with stop_signals_raise():
            proc = subprocess.Popen(  # noqa: PLW1509 - preexec_fn: make run starts no threads
                cmd,
                env=env,
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                preexec_fn=die_with_parent(),
            )
            return proc.wait()
    except Interrupted as stop:
        with stop_signals_ignored():
            print(f"make run: {stop}: stopping Airflow and failing its run ...", flush=True)
            if proc is not None:
                kill_child(proc)
            mine = runguard.runs_of(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], marker)
            if not mine:
                print("make run: no run of it is left unfinished", flush=True)
            runguard.fail_runs(env, mine, f"interrupted by {stop}")
        raise
    finally:
        if out is not None:
            out.close()


def main() -> int:
    """Entry point of ``make run``: 128 + the signal's number when a stop signal ends it."""
    try:
        with stop_signals_raise():
            return _main()
    except Interrupted as stop:
        return 128 + stop.signum


def _main() -> int:
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
