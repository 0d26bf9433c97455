"""``make run``'s DAG runs in Airflow's metadata database: owned, and failed when left behind.

``make run`` (``hotich_dev.run``) starts ``airflow dags test hotich_reconcile`` with a
marker in the run's conf naming itself (host, pid, process start). A run that ends
without it (Ctrl-C, SIGTERM, a kill -9 of the whole process group, a closed terminal)
would stay "running" in Airflow for good: with ``max_active_runs=1`` it blocks the daily
schedule, and a scheduler started later resumes it without its work files. So:

- :func:`orphans` finds the runs of ``hotich_reconcile`` still queued or running whose
  ``make run`` is gone (read-only SQL on the metadata database: no Airflow import);
- ``python -m hotich_dev.runguard fail RUN_ID…`` (in the project's Airflow environment)
  marks them failed through Airflow's ORM, with their unfinished task instances, and
  gives back the district leases they hold in the national database (``hotich.lease``),
  printing one line per run.

``make run`` does both at its start and when it is interrupted; ``make up`` at its start,
before the scheduler could resume such a run. Runs without the marker (the scheduler's,
the UI's) are not touched. Nothing of an unfinished district was committed, so the next
run reads it again.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text

DAG_ID = "hotich_reconcile"
MARKER = "hotich_make_run"  # the conf key make run's runs carry
UNFINISHED = ("queued", "running")


def pid_alive(pid: int) -> bool:
    """Whether a process with that id runs (a zombie, exited but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc here: the signal's answer stands
        return True


def process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, ``/proc/<pid>/stat``), or None:
    with the pid, it names one process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_marker(pid: int | None = None) -> dict[str, Any]:
    """The conf marker of a run started by the process ``pid`` (default: this one)."""
    pid = os.getpid() if pid is None else pid
    return {"host": socket.gethostname(), "pid": pid, "started": process_start(pid)}


def owner_gone(marker: dict[str, Any]) -> bool:
    """Whether the ``make run`` of a marker is gone. A run of another host is never
    judged gone: its process cannot be seen from here."""
    if marker.get("host") != socket.gethostname():
        return False
    pid = int(marker.get("pid", 0))
    if pid <= 0 or not pid_alive(pid):
        return True
    started = marker.get("started")
    return started is not None and process_start(pid) != started


@dataclass(frozen=True)
class MarkedRun:
    """An unfinished run of the DAG that a ``make run`` started."""

    run_id: str
    state: str
    owner: dict[str, Any]


def marked_runs(metadata_url: str) -> list[MarkedRun]:
    """The DAG's queued or running runs that carry a ``make run`` marker, oldest first."""
    engine = create_engine(metadata_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT run_id, state, conf FROM dag_run WHERE dag_id = :dag"
                    " AND state IN ('queued', 'running') ORDER BY id"
                ),
                {"dag": DAG_ID},
            ).all()
    except Exception as exc:  # noqa: BLE001 - not migrated yet, or unreachable: nothing to sweep
        print(f"make run: cannot look for runs left behind: {type(exc).__name__}", file=sys.stderr)
        return []
    finally:
        engine.dispose()
    out = []
    for run_id, state, conf in rows:
        conf = json.loads(conf) if isinstance(conf, str) else conf
        marker = (conf or {}).get(MARKER) if isinstance(conf or {}, dict) else None
        if isinstance(marker, dict):
            out.append(MarkedRun(run_id, state, marker))
    return out


def orphans(metadata_url: str) -> list[MarkedRun]:
    """Unfinished runs whose ``make run`` is gone."""
    return [r for r in marked_runs(metadata_url) if owner_gone(r.owner)]


def runs_of(metadata_url: str, marker: dict[str, Any]) -> list[str]:
    """The unfinished runs a given ``make run`` (its marker) started."""
    return [r.run_id for r in marked_runs(metadata_url) if r.owner == marker]


def fail_runs(env: dict[str, str], run_ids: list[str], why: str) -> int:
    """Mark the runs failed in a child process under ``env`` (the project's Airflow
    environment); it prints one line per run. Its exit code."""
    if not run_ids:
        return 0
    return subprocess.run(
        [sys.executable, "-m", "hotich_dev.runguard", "fail", "--why", why, *run_ids],
        env=env,
        check=False,
    ).returncode


def sweep(env: dict[str, str]) -> list[str]:
    """Fail the runs left behind by a ``make run`` that is gone (one line each); their ids."""
    found = [r.run_id for r in orphans(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])]
    fail_runs(env, found, "left behind by a make run that is gone")
    return found


# --- the ORM side: run in the project's Airflow environment -----------------------------


def _give_back_leases(run_id: str) -> str:
    """Give back the run's district leases in the national database; what happened."""
    from hotich.config import Settings
    from hotich.connections import civil_status_uri
    from hotich.db import pg_connect
    from hotich.lease import release_run

    settings = Settings.from_env()
    try:
        conn = pg_connect(civil_status_uri(settings))
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT to_regclass('recon.district_lease')")
                if cur.fetchone()[0] is None:
                    return "no leases"
                released = release_run(cur, settings.sql_dir, run_id)
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - the leases expire anyway: say so, go on
        return (
            f"its leases were not given back ({type(exc).__name__}); they expire after"
            f" {settings.lease_expiry_minutes} min"
        )
    return f"leases given back: {', '.join(released)}" if released else "no leases held"


def fail_in_airflow(run_ids: list[str], why: str) -> list[str]:
    """Mark each run failed if still queued or running, and its unfinished task instances
    failed, through Airflow's ORM; give back its leases. One line per run."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, State, TaskInstanceState
    from sqlalchemy import select

    lines = []
    with create_session() as session:
        for run_id in run_ids:
            dr = session.scalar(
                select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id)
            )
            if dr is None or dr.state not in UNFINISHED:
                lines.append(f"run {run_id}: {dr.state if dr else 'not found'}, left as it is")
                continue
            owner = (dr.conf or {}).get(MARKER) or {}
            was = f"{dr.state} (make run pid {owner.get('pid', '?')})"
            tis = session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id
                )
            ).all()
            unfinished = [ti for ti in tis if ti.state not in State.finished]
            for ti in unfinished:
                ti.set_state(TaskInstanceState.FAILED, session=session)
            dr.set_state(DagRunState.FAILED)
            dr.note = f"make run: {why}; marked failed"
            session.merge(dr)
            session.commit()
            lines.append(
                f"run {run_id} was {was}: marked failed, {why}; {len(unfinished)} unfinished"
                f" task instances failed; {_give_back_leases(run_id)}"
            )
    return lines


def main(argv: list[str]) -> int:
    """``fail --why TEXT RUN_ID…``: see the module docstring."""
    if len(argv) < 3 or argv[0] != "fail" or argv[1] != "--why":
        print(__doc__)
        return 2
    for line in fail_in_airflow(argv[3:], argv[2]):
        print(f"make run: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
