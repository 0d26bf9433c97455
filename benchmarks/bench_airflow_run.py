"""The whole province through Airflow, the way users run it (issue 16).

    .venv/bin/python benchmarks/bench_airflow_run.py --scale 1.0 --mode make-run
    .venv/bin/python benchmarks/bench_airflow_run.py --scale 1.0 --mode make-run --profile
    .venv/bin/python benchmarks/bench_airflow_run.py --scale 1.0 --mode scheduler
    .venv/bin/python benchmarks/bench_airflow_run.py --scale 0.1 --mode serial   # the old make run

The province is the one ``bench_pipeline.py`` writes (``benchmarks/out/province-<scale>``,
generated first when missing); the national database is fresh for each run
(``hotich_bench_airflow_national`` on the benchmarks' embedded PostgreSQL), Airflow's
metadata in ``hotich_bench_airflow_meta``, ``AIRFLOW_HOME`` in ``benchmarks/out/airflow``.

Modes:
- ``make-run``: ``python -m hotich_dev.run`` as an operator types ``make run``
  (LocalExecutor, parallelism = cores; ``docs/decisions/0015``). ``--profile`` runs it
  under ``py-spy record --subprocesses`` and prints the top of the profile;
- ``scheduler``: ``make up``'s services (``hotich_dev.localenv up``), the DAG triggered
  through Airflow's REST API and waited for, then the services stopped;
- ``serial``: ``airflow dags test`` without an executor, what ``make run`` was before;
- ``day``: a day of the campaign on a province already loaded (by ``make-run`` before,
  whose national database is kept): ``--changes`` records (default 20,000) changed or
  added in the modern districts' sources (half each: a changed place of birth, a copy
  under a new id and entry number), then ``make run``. The sources keep the changes.

Measured: wall time from start to the run's end, each stage's task time summed over the
districts (from Airflow's task instances), each kind of task's peak memory (the VmHWM of
the task process, ``airflow worker -- <ti id>``, sampled every 0.5 s: with ``serial`` all
tasks run in one process, whose peak is given), and agreement with the ground truth. A
section is appended to ``benchmarks/RESULTS.md`` with the load average before and after.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import requests
from results import append, load_average
from sqlalchemy import create_engine, text

from hotich import db
from hotich_dev import PROJECT_ROOT, embedded
from hotich_dev.accuracy import read_ledger, score
from hotich_dev.demo import fresh_database
from hotich_dev.run import free_port, read_env_file

OUT = Path(__file__).resolve().parent / "out"
HOME = OUT / "airflow"
DAG_ID = "hotich_reconcile"
STAGES = ("plan_districts", "extract", "validate", "reconcile", "load", "send_back", "report")


def bench_env(province: Path, national: str, meta: str, port: int) -> dict[str, str]:
    """The environment of one benchmarked run (the province's connections, a fresh
    national database, the benchmarks' Airflow home)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HOTICH"))}
    env.update(read_env_file(province / "connections.env"))
    env.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW__API__PORT": str(port),
            "HOTICH_DISTRICTS_FILE": str(province / "districts.yaml"),
            "HOTICH_REGISTER_FILE": str(province / "register.parquet"),
            "HOTICH_DATA_DIR": str(OUT / "airflow-work"),
            "HOTICH_TASK_RETRIES": "0",
        }
    )
    return env


class TaskMemory:
    """Peak RSS (VmHWM, MB) of each task process (``airflow worker -- <ti id>``), and of
    one other process by pid (the serial run's), sampled every 0.5 s."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def sample(self) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if cmd.startswith(b"airflow worker -- "):
                    key = cmd[len(b"airflow worker -- ") :].split(b"\0")[0].decode().strip()
                elif b"dags\0test\0" in cmd:
                    key = "dags-test"
                else:
                    continue
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        mb = int(line.split()[1]) / 1024
                        self.peaks[key] = max(self.peaks.get(key, 0.0), mb)
            except OSError:
                continue

    def loop(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()

    def __enter__(self) -> TaskMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def task_instances(meta: str, run_id: str) -> pd.DataFrame:
    """The run's task instances: id, stage, map index, state, seconds."""
    engine = create_engine(db.sqlalchemy_url(meta))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, task_id, map_index, state, start_date, end_date"
                    " FROM task_instance WHERE dag_id = :d AND run_id = :r"
                ),
                {"d": DAG_ID, "r": run_id},
            ).all()
    finally:
        engine.dispose()
    frame = pd.DataFrame(rows, columns=["id", "task_id", "map_index", "state", "start", "end"])
    frame["stage"] = frame["task_id"].str.removeprefix("district.")
    frame["seconds"] = (frame["end"] - frame["start"]).dt.total_seconds()
    frame["id"] = frame["id"].astype(str)
    return frame


def last_run(meta: str) -> tuple[str, str, float]:
    """The newest run of the DAG: id, state, seconds from its start to its end."""
    engine = create_engine(db.sqlalchemy_url(meta))
    try:
        with engine.connect() as conn:
            run_id, state, start, end = conn.execute(
                text(
                    "SELECT run_id, state, start_date, end_date FROM dag_run WHERE dag_id = :d"
                    " ORDER BY id DESC LIMIT 1"
                ),
                {"d": DAG_ID},
            ).one()
    finally:
        engine.dispose()
    return run_id, state, (end - start).total_seconds() if start and end else float("nan")


def run_make_run(env: dict[str, str], log: Path, profile: Path | None) -> int:
    """``make run`` (``python -m hotich_dev.run``), optionally under py-spy; exit code."""
    cmd = [sys.executable, "-m", "hotich_dev.run"]
    if profile is not None:
        spy = Path(sys.executable).parent / "py-spy"
        cmd = [str(spy), "record", "--subprocesses", "--nonblocking", "--rate", "20",
               "--format", "raw", "--output", str(profile), "--", *cmd]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.run(cmd, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out).returncode


def run_serial(env: dict[str, str], log: Path) -> int:
    """What ``make run`` was before 0015: ``airflow dags test`` with no executor."""
    from hotich_dev.localenv import airflow_env

    env = airflow_env(env)
    cmd = [sys.executable, "-m", "hotich_dev.localenv", "airflow", "dags", "test", DAG_ID]
    with log.open("wb") as out:
        return subprocess.run(cmd, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out).returncode


@contextlib.contextmanager
def services(env: dict[str, str]) -> Iterator[str]:
    """``make up``'s services on ``env``'s port (scheduled runs off: only the triggered
    one runs); stopped afterwards, without stopping any embedded PostgreSQL."""
    env = {**env, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    env.setdefault("AIRFLOW__CORE__PARALLELISM", str(os.cpu_count() or 2))
    up = subprocess.run([sys.executable, "-m", "hotich_dev.localenv", "up"], env=env,
                        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=400)  # fmt: skip
    try:
        if up.returncode != 0:
            raise RuntimeError(f"make up failed: {up.stdout}{up.stderr}")
        yield f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
    finally:
        pids = [int(p.read_text()) for p in (HOME / "pids").glob("*.pid")]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.5)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        for p in (HOME / "pids").glob("*.pid"):
            p.unlink()


def _alive(pid: int) -> bool:
    from hotich_dev.runguard import pid_alive

    return pid_alive(pid)


def run_through_scheduler(url: str) -> tuple[str, float]:
    """Unpause the DAG, trigger a run through the REST API, wait for its end: run id and
    seconds from the trigger to the end seen."""
    passwords = json.loads((HOME / "simple_auth_manager_passwords.json.generated").read_text())
    jwt = requests.post(f"{url}/auth/token", timeout=30,
                        json={"username": "admin", "password": passwords["admin"]})  # fmt: skip
    jwt.raise_for_status()
    auth = {"Authorization": f"Bearer {jwt.json()['access_token']}"}
    api = f"{url}/api/v2/dags/{DAG_ID}"
    deadline = time.monotonic() + 300
    while requests.get(api, headers=auth, timeout=30).status_code != 200:  # the first parse
        if time.monotonic() > deadline:
            raise RuntimeError("the DAG was not parsed within 300 s")
        time.sleep(1)
    requests.patch(api, headers=auth, json={"is_paused": False}, timeout=30).raise_for_status()
    t0 = time.monotonic()
    made = requests.post(f"{api}/dagRuns", headers=auth, json={"logical_date": None}, timeout=30)
    made.raise_for_status()
    run_id = made.json()["dag_run_id"]
    while True:
        state = requests.get(f"{api}/dagRuns/{run_id}", headers=auth, timeout=30).json()["state"]
        if state in ("success", "failed"):
            return run_id, time.monotonic() - t0
        time.sleep(1)


def change_sources(province: Path, changes: int) -> tuple[int, int]:
    """A day of the campaign in the modern districts' sources: ``changes`` births spread
    over them, half changed (place of birth), half added (a copy under a new id and entry
    number), all with an ``updated_at`` after every earlier one. (changed, added)."""
    from hotich.config import load_districts
    from hotich.model import Flavor

    uris = read_env_file(province / "connections.env")
    modern = [d for d in load_districts(province / "districts.yaml") if d.flavor is Flavor.MODERN]
    per = changes // len(modern)
    done = [0, 0]
    for d in modern:
        uri = uris[f"AIRFLOW_CONN_{d.conn_id.upper()}"]
        engine = create_engine(db.sqlalchemy_url(uri))
        with engine.begin() as conn:
            newest, top = conn.execute(text("SELECT max(updated_at), max(id) FROM khai_sinh")).one()
            if isinstance(newest, str):
                newest = dt.datetime.fromisoformat(newest)
            stamp = newest + dt.timedelta(hours=1)
            if engine.dialect.name == "sqlite":
                stamp = stamp.isoformat(sep=" ", timespec="seconds")  # type: ignore[assignment]
            half = per // 2
            done[0] += conn.execute(
                text(
                    "UPDATE khai_sinh SET noi_sinh = coalesce(noi_sinh, '') || ' (đã sửa)',"
                    " updated_at = :t WHERE id IN (SELECT id FROM khai_sinh ORDER BY id LIMIT :n)"
                ),
                {"t": stamp, "n": half},
            ).rowcount
            cols = [
                c[0]
                for c in conn.execute(text("SELECT * FROM khai_sinh LIMIT 0")).cursor.description
            ]
            picked = ", ".join(
                {"id": "id + :off", "so_dang_ky": "so_dang_ky + 500000", "updated_at": ":t"}.get(
                    c, c
                )
                for c in cols
            )
            done[1] += conn.execute(
                text(
                    f"INSERT INTO khai_sinh ({', '.join(cols)}) SELECT {picked} FROM khai_sinh"
                    " WHERE id IN (SELECT id FROM khai_sinh ORDER BY id DESC LIMIT :n)"
                ),
                {"t": stamp, "n": per - half, "off": int(top)},
            ).rowcount
        engine.dispose()
    return done[0], done[1]


def profile_top(raw: Path, n: int = 15) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The top of a py-spy raw profile: functions by own samples, and hotich's functions
    (and imports) by inclusive samples, each as a share of all samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        frames = [f for f in frames if not f.startswith("process ")]
        if not frames:
            continue
        own[_short(frames[-1])] += samples
        seen = set()
        for frame in frames:
            if "hotich" in frame or "<frozen importlib._bootstrap>" in frame:
                key = _short(frame)
                if "importlib._bootstrap" in frame:
                    key = "(imports)"
                if key not in seen:
                    inclusive[key] += samples
                    seen.add(key)
    share = lambda c: f"{c / max(total, 1):.1%} ({c} samples)"  # noqa: E731
    return (
        [(k, share(c)) for k, c in own.most_common(n)],
        [(k, share(c)) for k, c in inclusive.most_common(n)],
    )


def _short(frame: str) -> str:
    """``func (path/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for cut in ("site-packages/", "/src/", "/devkit/"):
        if cut in where:
            where = where.split(cut, 1)[1]
    return f"{name} ({where})"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument(
        "--mode", choices=("make-run", "scheduler", "serial", "day"), default="make-run"
    )
    ap.add_argument("--changes", type=int, default=20_000, help="day: records changed or new")
    ap.add_argument("--profile", action="store_true", help="make-run under py-spy")
    args = ap.parse_args()

    server = embedded.embedded_uri(OUT / "pg")
    province = OUT / f"province-{args.scale:g}"
    if not (province / "truth.parquet").exists():
        print(f"{province} missing: run bench_pipeline.py --scale {args.scale:g} first")
        return 2
    if args.mode == "day":
        national = db.ensure_database(server, "hotich_bench_airflow_national")
        changed = change_sources(province, args.changes)
    else:
        national = fresh_database(server, "hotich_bench_airflow_national")
    meta = db.ensure_database(server, "hotich_bench_airflow_meta")
    env = bench_env(province, national, meta, free_port())
    log = OUT / f"airflow-run-{args.mode}.log"
    profile = OUT / "airflow-run.pyspy.txt" if args.profile else None
    load_before = load_average()
    t0 = time.monotonic()
    with TaskMemory() as memory:
        if args.mode in ("make-run", "day"):
            rc = run_make_run(env, log, profile)
            wall = time.monotonic() - t0
            run_id, state, run_s = last_run(meta)
        elif args.mode == "serial":
            rc = run_serial(env, log)
            wall = time.monotonic() - t0
            run_id, state, run_s = last_run(meta)
        else:
            with services(env) as url:
                up_s = time.monotonic() - t0
                run_id, wall = run_through_scheduler(url)
            _, state, run_s = last_run(meta)
            rc = 0 if state == "success" else 1
    load_after = load_average()
    tis = task_instances(meta, run_id)
    tis["peak_mb"] = tis["id"].map(memory.peaks)
    engine_conn = db.pg_connect(national)
    try:
        accuracy = score(
            read_ledger(engine_conn, run_id), pd.read_parquet(province / "truth.parquet")
        )
    finally:
        engine_conn.close()
    by_stage = tis.groupby("stage").agg(
        tasks=("seconds", "size"), seconds=("seconds", "sum"), longest=("seconds", "max"),
        peak_mb=("peak_mb", "max"),
    )  # fmt: skip
    rows = [
        ("mode", args.mode + (" under py-spy (20 Hz)" if profile else "")),
        ("scale / records", f"{args.scale:g} / {accuracy.records:,}"),
        ("exit code / run state", f"{rc} / {state}"),
        ("wall, start to end (s)", f"{wall:.1f}"),
        ("Airflow's run duration (s)", f"{run_s:.1f}"),
        ("task time summed over all tasks (s)", f"{tis['seconds'].sum():.1f}"),
    ]
    if args.mode == "day":
        rows.insert(
            2, ("records changed / added in the sources", f"{changed[0]:,} / {changed[1]:,}")
        )
    if args.mode == "scheduler":
        rows.insert(
            4, ("make up until the api-server answered (s, before the wall)", f"{up_s:.1f}")
        )
    for stage in STAGES:
        if stage in by_stage.index:
            s = by_stage.loc[stage]
            peak = "" if pd.isna(s["peak_mb"]) else f", peak RSS of one task {s['peak_mb']:.0f} MB"
            rows.append(
                (
                    f"{stage}: tasks, summed s, longest s",
                    f"{s['tasks']}, {s['seconds']:.1f}, {s['longest']:.1f}{peak}",
                )  # fmt: skip
            )
    if "dags-test" in memory.peaks:
        rows.append(("peak RSS of the run's own process (MB)", f"{memory.peaks['dags-test']:.0f}"))
    rows += [
        ("status agreement with truth", f"{accuracy.status_agreement:.4%}"),
        ("load average before / after", f"{load_before} / {load_after}"),
    ]
    append(
        f"Airflow run, {args.mode}, scale {args.scale:g} ({dt.date.today()}, {os.cpu_count()} cores)",
        f"`benchmarks/bench_airflow_run.py --scale {args.scale:g} --mode {args.mode}"
        f"{' --profile' if profile else ''}`; log in `benchmarks/out/{log.name}`.",
        rows,
    )
    if profile is not None and profile.exists():
        own, mine = profile_top(profile)
        append("Profile of that run: top functions by own samples", "py-spy, all processes.", own)
        append("Profile of that run: hotich's functions and imports, inclusive", "", mine)
    return rc


if __name__ == "__main__":
    sys.exit(main())
