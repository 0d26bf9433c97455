"""hotich_reconcile on the CeleryExecutor: one worker against two, on the same province.

    .venv/bin/python benchmarks/bench_celery.py --scale 0.05            # generate, then run
    .venv/bin/python benchmarks/bench_celery.py --scale 0.05 --reuse    # the last province

Each round starts Airflow (api-server, scheduler, dag-processor; hotich_dev.celeryenv) with
the Redis broker (database 12, flushed), N workers of ``--concurrency`` slots each, a fresh
metadata and national database, triggers the DAG through the REST API and times the run
(trigger to end) and the district tasks' span (first start to last end, from the task
instances). On a 2-core machine two workers cannot do more than the two cores: the
speed-up is bounded by the cores, not by Celery (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import province_dir  # noqa: E402
from results import append, load_average  # noqa: E402

from hotich import db  # noqa: E402
from hotich_dev import celeryenv, embedded  # noqa: E402
from hotich_dev.demo import fresh_database  # noqa: E402
from hotich_dev.run import free_port, read_env_file, register_simulator  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
REDIS = "redis://127.0.0.1:6379/12"


def one_round(
    workers: int, concurrency: int, province: Path, server: str, register: str, port: int
) -> dict:
    """One run of the DAG with ``workers`` Celery workers; its timings."""
    import redis
    from sqlalchemy import text

    redis.Redis.from_url(REDIS).flushdb()
    tag = f"w{workers}"
    meta = fresh_database(server, f"hotich_bench_celery_meta_{tag}")
    national = fresh_database(server, f"hotich_bench_celery_national_{tag}")
    home = OUT / f"celery-{tag}"
    env = celeryenv.celery_env({
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        **read_env_file(province / "connections.env"),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
        "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
        "AIRFLOW_CONN_POPULATION_API": register,
        "AIRFLOW__CELERY__BROKER_URL": REDIS,
        "HOTICH_DISTRICTS_FILE": str(province / "districts.yaml"),
        "HOTICH_DATA_DIR": str(OUT / f"celery-data-{tag}"),
        "HOTICH_RECONCILE_SCHEDULE": "off",  # only the triggered run, no 01:00 run beside it
    })  # fmt: skip
    try:
        celeryenv.up(env, workers=workers, concurrency=concurrency)
        t0 = time.monotonic()
        run_id, state = celeryenv.trigger_and_wait(env)
        wall = time.monotonic() - t0
        engine = db.engine_for(meta)
        with engine.connect() as c:
            span, hosts = c.execute(text(
                "SELECT extract(epoch FROM max(end_date) - min(start_date)), count(DISTINCT hostname)"
                " FROM task_instance WHERE run_id = :r AND task_id LIKE 'district.%'"), {"r": run_id}).one()  # fmt: skip
        engine.dispose()
        n = db.engine_for(national)
        with n.connect() as c:
            records = c.execute(text("SELECT count(*) FROM recon.verdict")).scalar_one()
        n.dispose()
    finally:
        pid_dir = home / "pids"
        import signal

        for p in pid_dir.glob("*.pid"):
            try:
                os.kill(int(p.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
            p.unlink()
        time.sleep(10)
        redis.Redis.from_url(REDIS).flushdb()
    return {"state": state, "wall": wall, "span": float(span or 0), "hosts": hosts, "records": records,
            "load": load_average()}  # fmt: skip


def main() -> int:
    """Entry point; see the module docstring."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=2, help="task slots per worker")
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    server = embedded.embedded_uri(OUT / "pg")
    province = province_dir(args.scale, args.reuse, args.seed)
    rounds = {}
    with register_simulator(province / "register.parquet") as register:
        for workers in (1, 2):
            rounds[workers] = one_round(
                workers, args.concurrency, province, server, register, free_port()
            )
            print(workers, rounds[workers], flush=True)
    one, two = rounds[1], rounds[2]
    rows = [
        ("province", f"scale {args.scale:g}: {one['records']:,} records"),
        ("slots per worker", str(args.concurrency)),
        *[(f"{w} worker(s): run wall (trigger to end)", f"{r['wall']:.1f} s ({r['state']}; load {r['load']})")
          for w, r in rounds.items()],
        *[(f"{w} worker(s): district tasks span", f"{r['span']:.1f} s on {r['hosts']} host(s)")
          for w, r in rounds.items()],
        ("speed-up, two workers over one (wall)", f"{one['wall'] / two['wall']:.2f}x"),
        ("speed-up, two workers over one (district span)", f"{one['span'] / max(two['span'], 1e-9):.2f}x"),
    ]  # fmt: skip
    append(
        "Celery: two workers against one",
        f"hotich_reconcile on the CeleryExecutor (Redis broker), {os.cpu_count()} cores. Two workers"
        " on one 2-core machine share its cores: the speed-up is bounded by the cores, not Celery.",
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
