"""The whole province through Airflow, as users run it: ``make run``, and a running scheduler.

    .venv/bin/python benchmarks/bench_airflow_run.py --scale 1.0 --reuse      # both paths
    .venv/bin/python benchmarks/bench_airflow_run.py --scale 0.05 --path scheduler
    .venv/bin/python benchmarks/bench_airflow_run.py --scale 1.0 --province DIR --path make-run

The province is ``bench_pipeline.py``'s (``benchmarks/out/province-<scale>``; generated
when missing or without ``--reuse``). Each path loads it into a fresh national database, with
its own Airflow metadata database and ``AIRFLOW_HOME``, and the register simulator serving
the province's register in its own process:

- ``make-run``: ``python -m hotich_dev.run`` (what ``make run`` runs: ``airflow dags test
  hotich_reconcile``), the clock around the command;
- ``scheduler``: ``make up``'s services (``hotich_dev.localenv up``: api-server, scheduler,
  dag-processor, triggerer; LocalExecutor), the DAG triggered through the REST API
  (``HOTICH_RECONCILE_SCHEDULE=off``, so that unpausing does not also make today's 01:00
  run) and waited for; the clock from the trigger to the run's end, the services' start-up
  reported apart.

Each path reports the wall time, the task time summed per task (from Airflow's own task
instances: start to end, the task process's start-up included), the gap between them
(the scheduler and the executor), and the ledger's agreement with the generator's truth.
Results are appended to ``benchmarks/RESULTS.md``. Target (issue 16): under 3 minutes wall
at scale 1.0 on 2 cores, on the way to 90 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_kit import Api, localenv, task_seconds, wait_for, when
from bench_pipeline import province_dir
from process_profile import CpuLedger, PgActivity, PySpy, top_functions
from results import append, load_average

OUT = Path(__file__).resolve().parent / "out"
DAG = "hotich_reconcile"


def embedded_server() -> str:
    """The URI of the bench's embedded PostgreSQL (the national and metadata databases)."""
    from hotich_dev import embedded

    return embedded.embedded_uri(OUT / "pg")


def path_env(province: Path, path: str, stamp: str) -> tuple[dict[str, str], Path, str]:
    """The environment of one path: the province's connections, a fresh national database,
    a fresh Airflow metadata database and home. (env, AIRFLOW_HOME, national URI)."""
    from hotich import db
    from hotich_dev.demo import fresh_database
    from hotich_dev.run import free_port, read_env_file

    server = embedded_server()
    tag = f"{path.replace('-', '_')}_{stamp.lower()}"
    root = OUT / f"airflow-run-{path}-{stamp}"
    home = root / "airflow"
    national = fresh_database(server, f"hotich_bench_run_{tag}")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HOTICH_"))}
    env.update(read_env_file(province / "connections.env"))
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(
            fresh_database(server, f"airflow_bench_run_{tag}")),
        "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
        "HOTICH_DISTRICTS_FILE": str(province / "districts.yaml"),
        "HOTICH_REGISTER_FILE": str(province / "register.parquet"),
        "HOTICH_DATA_DIR": str(root / "data"),
        "HOTICH_PGDATA": str(root / "no-embedded-pg"),  # make down leaves the bench's alone
        "HOTICH_RECONCILE_SCHEDULE": "off",
        "HOTICH_LATE_RUN_DEADLINE": "off",
        "HOTICH_TASK_RETRIES": "0",
    })  # fmt: skip
    return env, home, national


def ledger_agreement(national: str, province: Path, run_id: str) -> str:
    """The run's ledger against the generator's truth (status agreement)."""
    import pandas as pd

    from hotich import db
    from hotich_dev.accuracy import read_ledger, score

    conn = db.pg_connect(national)
    try:
        ledger = read_ledger(conn, run_id)
    finally:
        conn.close()
    accuracy = score(ledger, pd.read_parquet(province / "truth.parquet"))
    return f"{accuracy.status_agreement:.4%} of {len(ledger):,} records"


def metadata_task_instances(sql_alchemy_conn: str) -> tuple[str, list[dict[str, Any]]]:
    """The last run of the DAG and its task instances, from Airflow's metadata database
    (``airflow dags test`` records them there as the scheduler would)."""
    import sqlalchemy as sa

    engine = sa.create_engine(sql_alchemy_conn)
    try:
        with engine.connect() as conn:
            run_id = conn.execute(
                sa.text("SELECT run_id FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                {"d": DAG},
            ).scalar_one()
            rows = conn.execute(
                sa.text(
                    "SELECT task_id, start_date, end_date FROM task_instance"
                    " WHERE dag_id = :d AND run_id = :r"
                ),
                {"d": DAG, "r": run_id},
            ).mappings()
            tis = [
                {
                    "task_id": r["task_id"],
                    "start_date": r["start_date"].isoformat() if r["start_date"] else None,
                    "end_date": r["end_date"].isoformat() if r["end_date"] else None,
                }
                for r in rows
            ]
    finally:
        engine.dispose()
    return run_id, tis


class Profile:
    """The CPU ledger, and py-spy on one process, around the measured part (``--profile``)."""

    def __init__(self, enabled: bool, out: Path) -> None:
        self.enabled, self.out = enabled, out
        self.ledger: CpuLedger | None = None
        self.spy: PySpy | None = None
        self.pg: PgActivity | None = None

    def start(self, spy_pid: int | None, roots: tuple[int, ...] = ()) -> None:
        """Start the ledger (this process's descendants and ``roots``'), and py-spy on
        ``spy_pid`` and its descendants."""
        if not self.enabled:
            return
        self.ledger = CpuLedger(roots)
        self.ledger.__enter__()
        self.pg = PgActivity((embedded_server(),))
        self.pg.__enter__()
        if spy_pid is not None:
            self.spy = PySpy(spy_pid, self.out / "py-spy.raw")
            self.spy.__enter__()

    def stop(self) -> None:
        """Stop both (idempotent)."""
        if not self.enabled:
            return
        if self.spy is not None:
            self.spy.__exit__(None, None, None)
        if self.ledger is not None:
            self.ledger.__exit__(None, None, None)
        if self.pg is not None:
            self.pg.__exit__(None, None, None)
        self.enabled = False

    def rows(self) -> list[tuple[str, str]]:
        """CPU seconds per process kind, and py-spy's top functions (none unprofiled)."""
        if self.ledger is None:
            return []
        cpu = self.ledger.per_kind()
        rows = [("CPU seconds, all processes, during the run", f"{sum(cpu.values()):.1f}")]
        rows += [(f"CPU: {kind} (s)", f"{s:.1f}") for kind, s in cpu.items()]
        peak = self.ledger.peak_rss_per_kind().get("task process")
        if peak is not None:  # issue 16's target: under 1.5 GB, whatever the district's size
            rows.append(("peak resident set of one task process, polled each second (MB)",
                         f"{peak / 2**20:,.0f}"))  # fmt: skip
        if self.pg is not None:
            rows += [(f"PostgreSQL busy: {what} (s)", f"{s:.1f}") for what, s in self.pg.top(15)]
        raw = self.out / "py-spy.raw"
        if self.spy is not None and raw.exists():
            # Per function only: py-spy names a forked task process by the title it had
            # when first seen (its supervisor's), so the CPU ledger above tells the kinds.
            inclusive, own, _processes = top_functions(raw, self.spy.rate, 20)
            rows += [(f"py-spy inclusive: `{fn}` (s)", f"{s:.1f}") for fn, s in inclusive]
            rows += [(f"py-spy self: `{fn}` (s)", f"{s:.1f}") for fn, s in own]
        return rows


def run_make_run(province: Path, stamp: str, profile: bool = False) -> list[tuple[str, str]]:
    """``make run``'s path: ``python -m hotich_dev.run`` over the province."""
    env, home, national = path_env(province, "make-run", stamp)
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / "make-run.log"
    prof = Profile(profile, home.parent / "profile")
    before = load_average()
    t0 = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotich_dev.run"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
        prof.start(proc.pid)
        try:
            code = proc.wait()
        finally:
            prof.stop()
    wall = time.monotonic() - t0
    after = load_average()
    if code != 0:
        raise SystemExit(f"make run exited {code}: see {log}")
    run_id, tis = metadata_task_instances(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    return _rows("make run", wall, None, tis, before, after,
                 ledger_agreement(national, province, run_id)) + prof.rows()  # fmt: skip


def run_scheduler(province: Path, stamp: str, profile: bool = False) -> list[tuple[str, str]]:
    """``make up``'s path: the services started, the DAG triggered through the REST API."""
    from hotich_dev.run import register_simulator

    env, home, national = path_env(province, "scheduler", stamp)
    url = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
    with register_simulator(province / "register.parquet") as register_uri:
        env["AIRFLOW_CONN_POPULATION_API"] = register_uri
        t_up = time.monotonic()
        localenv("up", env)
        try:
            api = Api(url, home)
            wait_for("the dag-processor to parse the DAG", lambda: api.knows_dag(DAG), 300, 1)
            up_s = time.monotonic() - t_up
            api.patch(f"dags/{DAG}", {"is_paused": False})
            prof = Profile(profile, home.parent / "profile")
            pids = {f.stem: int(f.read_text()) for f in (home / "pids").glob("*.pid")}
            prof.start(pids["scheduler"], tuple(pids.values()))
            before = load_average()
            t0 = time.time()
            run_id = api.post(f"dags/{DAG}/dagRuns", {"logical_date": None})["dag_run_id"]
            try:
                state = wait_for("the run to end", lambda: api.run_state(DAG, run_id), 3600, 1)
            finally:
                prof.stop()
            run = api.get(f"dags/{DAG}/dagRuns/{run_id}")
            wall = when(run["end_date"]) - t0
            after = load_average()
            if state != "success":
                raise SystemExit(f"run {run_id} {state}: see {home / 'logs'}")
            tis = api.task_instances(DAG, run_id)
        finally:
            localenv("down", env)
    held = slot_held_after_end(home / "logs" / "scheduler.log", tis)
    return _rows("a running scheduler (make up), triggered through the REST API", wall, up_s,
                 tis, before, after, ledger_agreement(national, province, run_id)) + held + prof.rows()  # fmt: skip


_WORKLOAD_FINISHED = re.compile(
    r"Workload finished .*?duration=([0-9.]+).*?workload_id=([0-9a-f-]+)"
)


def slot_held_after_end(scheduler_log: Path, tis: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """How long the executor's slots stayed taken after their tasks had ended: each task
    supervisor's own duration (its ``Workload finished`` line) less the task's, summed, and
    how many tasks were followed by more than a second of it (decision 0025)."""
    supervised = {m[2]: float(m[1]) for m in _WORKLOAD_FINISHED.finditer(
        scheduler_log.read_text(errors="replace"))} if scheduler_log.is_file() else {}  # fmt: skip
    lags = [supervised[t["id"]] - float(t["duration"]) for t in tis
            if t.get("id") in supervised and t.get("duration") is not None]  # fmt: skip
    if not lags:
        return []
    return [
        ("executor slots held after their tasks ended, summed (s)", f"{sum(lags):.1f}"),
        ("tasks followed by more than 1 s of it", f"{sum(lag > 1 for lag in lags)} of {len(lags)}"),
    ]


def _rows(
    path: str,
    wall: float,
    up_s: float | None,
    tis: list[dict[str, Any]],
    before: str,
    after: str,
    agreement: str,
) -> list[tuple[str, str]]:
    per_task = task_seconds(tis)
    starts = [when(t["start_date"]) for t in tis if t.get("start_date")]
    ends = [when(t["end_date"]) for t in tis if t.get("end_date")]
    span = max(ends) - min(starts)
    rows = [("path", path), ("**wall time (s)**", f"**{wall:.1f}**")]
    if up_s is not None:
        rows.append(("services' start-up until the DAG is parsed, not counted (s)", f"{up_s:.0f}"))
    rows += [
        ("first task start to last task end (s)", f"{span:.1f}"),
        ("task time, summed over the tasks (s)", f"{sum(per_task.values()):.1f}"),
        ("task instances", str(len(tis))),
        *[(f"task `{k}`, summed over districts (s)", f"{v:.1f}") for k, v in sorted(per_task.items())],
        ("ledger: status agreement with the truth", agreement),
        ("load average before / after", f"{before} / {after}"),
        ("target: under 180 s wall", "met" if wall < 180 else "NOT met"),
    ]  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--reuse", action="store_true", help="reuse the province generated before")
    ap.add_argument("--path", choices=("make-run", "scheduler", "both"), default="both")
    ap.add_argument("--province", type=Path, help="a province generated before, elsewhere")
    ap.add_argument("--profile", action="store_true",
                    help="CPU per process kind, and py-spy's top functions (benchmarks/requirements.txt)")  # fmt: skip
    args = ap.parse_args()
    province = args.province or province_dir(args.scale, args.reuse)
    stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    import pandas as pd

    from hotich_dev.run import stop_signals_raise

    records = len(pd.read_parquet(province / "truth.parquet", columns=["source_key"]))
    for path in ("make-run", "scheduler") if args.path == "both" else (args.path,):
        # A kill (SIGTERM, SIGHUP) stops the services and the simulator as Ctrl-C does.
        with stop_signals_raise():
            rows = (
                run_make_run(province, stamp, args.profile)
                if path == "make-run"
                else run_scheduler(province, stamp, args.profile)
            )
        append(f"Province through Airflow, {path}, scale {args.scale:g} ({dt.date.today()}, 2 cores)",
               f"`benchmarks/bench_airflow_run.py --path {path}`: {records:,} records, a fresh"
               " national database, the register simulator in its own process.", rows)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
