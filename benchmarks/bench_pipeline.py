"""The whole province through extract → validate → reconcile → load, stage by stage.

    .venv/bin/python benchmarks/bench_pipeline.py --scale 1.0            # generate, then run
    .venv/bin/python benchmarks/bench_pipeline.py --scale 1.0 --reuse    # run on the last province
    .venv/bin/python benchmarks/bench_pipeline.py --scale 0.2 --quota 20 # a register quota of 20 rps

The province is written to ``benchmarks/out/province-<scale>`` (PostgreSQL districts and the
national database on an embedded PostgreSQL in ``benchmarks/out/pg``; MariaDB for the legacy
district when it answers on 127.0.0.1:3306). The register simulator runs in its own process,
as the real register would. Each task (a district's
extract, validate, reconcile or load) runs in a fresh worker process, two at a time, as
Airflow's LocalExecutor runs them on two cores; the table gives each stage's total over
the districts, the register requests, and each kind of task's peak memory. Results are appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import socket
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import pandas as pd

from hotich import pipeline
from hotich.config import Settings, load_districts
from hotich.ops.progress import read_progress
from hotich.register.client import PopulationClient
from hotich_dev import embedded
from hotich_dev.accuracy import read_ledger, score
from hotich_dev.demo import fresh_database
from hotich_dev.run import read_env_file, register_simulator

OUT = Path(__file__).resolve().parent / "out"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


STAGES = ("extract", "validate", "reconcile", "load")


def run_stage(
    ctx: pipeline.RunContext, district, stage: str, uris: dict[str, str], register_uri: str
):
    """One task in a fresh worker process, as Airflow runs it: seconds, counts, peak RSS."""

    def resolve(conn_id: str) -> str:
        return uris[f"AIRFLOW_CONN_{conn_id.upper()}"]

    t0, started_at = time.monotonic(), time.time()
    stats: dict = {}
    out: dict = {}
    if stage == "extract":
        out = pipeline.extract_district(ctx, district, resolve)
    elif stage == "validate":
        pipeline.validate_district(ctx, district.code)
    elif stage == "reconcile":
        with PopulationClient.from_uri(register_uri) as client:
            pipeline.reconcile_district(ctx, district.code, client)
            stats = client.stats.as_dict()
    else:
        pipeline.load_district(ctx, district.code)
    span = (started_at, time.time())
    return (
        district,
        stage,
        time.monotonic() - t0,
        out.get("extracted", 0),
        stats,
        peak_rss_mb(),
        span,
    )


stage_rss: dict[str, float] = {}
spans: dict[str, list[tuple[float, float]]] = {}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: its own, from its exec on).

    Not ru_maxrss: Linux carries that across exec, so a worker spawned by a large parent
    (one that just generated the province) would report the parent's size.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="reuse the province generated before")
    ap.add_argument("--quota", type=float, default=None, help="register quota, requests per second")
    ap.add_argument("--workers", type=int, default=2, help="districts in parallel (cores)")
    args = ap.parse_args()

    server = embedded.embedded_uri(OUT / "pg")
    province = OUT / f"province-{args.scale:g}"
    mariadb = "mysql://root:@127.0.0.1:3306/test" if _reachable(3306) else None
    gen_s = None
    if not (args.reuse and (province / "truth.parquet").exists()):
        from hotich_dev.synth.province import generate

        t0 = time.monotonic()
        generate(
            scale=args.scale,
            seed=args.seed,
            out=province,
            pg_url=server,
            mariadb_url=mariadb,
            db_prefix=f"hotich_bench_{str(args.scale).replace('.', '_')}_",
        )
        gen_s = time.monotonic() - t0
    national = fresh_database(server, "hotich_bench_national")
    uris = read_env_file(province / "connections.env")
    districts = load_districts(province / "districts.yaml")
    ctx = pipeline.RunContext(
        run_id=f"bench-{dt.datetime.now():%Y%m%dT%H%M%S}",
        run_date=dt.date.today(),
        settings=Settings(data_dir=OUT / "work", migrate_on_run=True),
        civil_status_uri=national,
    )
    pipeline.prepare_database(ctx)
    stages = {"extract": 0.0, "validate": 0.0, "reconcile": 0.0, "load": 0.0}
    stats: dict[str, float] = {}
    records = 0
    extra = ["--quota", str(args.quota)] if args.quota else []
    started = time.monotonic()
    with register_simulator(province / "register.parquet", extra_args=extra) as register_uri:
        # Each task runs in a fresh worker process, two at a time, as Airflow's
        # LocalExecutor runs the mapped district tasks on two cores.
        # spawn, not fork: a task's peak memory is then its own, not the parent's.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=args.workers, max_tasks_per_child=1, mp_context=spawn
        ) as pool:
            pending = {
                pool.submit(run_stage, ctx, d, STAGES[0], uris, register_uri) for d in districts
            }
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    d, stage, seconds, extracted, client_stats, rss, span = future.result()
                    spans.setdefault(stage, []).append(span)
                    stages[stage] += seconds
                    records += extracted
                    for k, v in client_stats.items():
                        stats[k] = stats.get(k, 0) + v
                    stage_rss[stage] = max(stage_rss.get(stage, 0.0), rss)
                    nxt = STAGES.index(stage) + 1
                    if nxt < len(STAGES):
                        pending.add(pool.submit(run_stage, ctx, d, STAGES[nxt], uris, register_uri))
                    else:
                        print(
                            f"district {d.code}: done, {time.monotonic() - started:.0f} s so far",
                            flush=True,
                        )
    total = time.monotonic() - started
    conn = pipeline.connect(ctx)
    try:
        ledger = read_ledger(conn, ctx.run_id)
    finally:
        conn.close()
    accuracy = score(ledger, pd.read_parquet(province / "truth.parquet"))
    # What one view of the campaign dashboard (or make progress) costs at this scale.
    t0 = time.monotonic()
    progress = read_progress(national, Settings(districts_file=province / "districts.yaml"))
    progress_s = time.monotonic() - t0
    rows = [
        ("scale", f"{args.scale:g}"),
        ("records", f"{records:,}"),
        ("generation (s)", f"{gen_s:.1f}" if gen_s else "reused"),
        ("district workers in parallel", str(args.workers)),
        *[(f"{k}, summed over districts (s)", f"{v:.1f}") for k, v in stages.items()],
        (
            "extract + validate + load, wall estimate (s)",
            f"{total * (1 - stages['reconcile'] / max(sum(stages.values()), 1e-9)):.1f}",
        ),
        ("total wall time with reconcile (s)", f"{total:.1f}"),
        (
            "register requests / retries / 429s",
            f"{stats['requests']} / {stats['retries']} / {stats['rate_limited']}",
        ),
        ("register quota (rps)", f"{args.quota:g}" if args.quota else "off"),
        *[(f"peak memory of one {k} task (MB)", f"{v:.0f}") for k, v in stage_rss.items()],
        (
            "peak memory, two tasks together at most (MB)",
            f"{sum(sorted(stage_rss.values())[-args.workers :]):.0f}",
        ),
        ("status agreement with truth", f"{accuracy.status_agreement:.4%}"),
        (
            "campaign progress (dashboard view) read (s)",
            f"{progress_s:.2f} ({progress['totals']['records']:,} records)",
        ),
    ]
    if args.quota:
        # The floor: every admitted data request at Q per second (429s and tokens are free).
        admitted = stats["requests"] - stats["rate_limited"] - stats["token_fetches"]
        floor = admitted / args.quota
        first = min(a for a, _ in spans["reconcile"])
        last = max(b for _, b in spans["reconcile"])
        rows.append(
            (
                "reconcile span (first start to last end) / quota floor",
                f"{last - first:.1f} s / {floor:.1f} s = {(last - first) / max(floor, 1e-9):.2f}",
            )
        )
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    print(table)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(
            f"\n## Pipeline, scale {args.scale:g} ({dt.date.today()}, {_cpus()} cores)\n\n{table}\n"
        )
    return 0


def province_dir(scale: float, reuse: bool, seed: int = 1) -> Path:
    """This benchmark's province at ``scale`` (``out/province-<scale>``, the legacy district
    on the machine's MariaDB when it answers), generated unless ``reuse`` finds it. The
    other benchmarks reuse the same folder, so they make it the same way."""
    from hotich_dev.synth.province import generate

    province = OUT / f"province-{scale:g}"
    if reuse and (province / "truth.parquet").exists():
        return province
    mariadb = "mysql://root:@127.0.0.1:3306/test" if _reachable(3306) else None
    generate(
        scale=scale,
        seed=seed,
        out=province,
        pg_url=embedded.embedded_uri(OUT / "pg"),
        mariadb_url=mariadb,
        db_prefix=f"hotich_bench_{str(scale).replace('.', '_')}_",
    )
    return province


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return True
    except OSError:
        return False


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
