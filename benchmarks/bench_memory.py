"""Peak memory of each stage's task for one district, each in its own process.

    .venv/bin/python benchmarks/bench_memory.py --scale 0.2              # generate, then measure
    .venv/bin/python benchmarks/bench_memory.py --scale 1.0 --reuse      # on the province made before
    .venv/bin/python benchmarks/bench_memory.py --scale 0.2 --reuse --trace load   # top allocations

Issue 16: a task's memory must grow with the chunk (``Settings.chunk_rows``), not with the
district. The province goes to ``--out`` (default ``/tmp/hotich-mem``: a scale-1.0 province
takes minutes to generate, so it is made once and reused), with an embedded PostgreSQL for
the district sources and the national database. The largest district (most records in the
ground truth) goes through extract → validate → reconcile → load, each stage in a fresh
``spawn`` process as Airflow's task runner runs it; the stage reports its own peak resident
memory (VmHWM: from its exec on, not the parent's). ``--trace STAGE`` runs that stage under
``tracemalloc`` and prints the lines holding most at its peak. A table is printed, and with
``--record`` appended to ``benchmarks/RESULTS.md`` with the machine's load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from hotich import pipeline
from hotich.config import District, Settings, load_districts
from hotich.register.client import PopulationClient

STAGES = ("extract", "validate", "reconcile", "load")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def vm_hwm_mb() -> float:
    """This process's peak resident memory in MB (VmHWM), its own from its exec on."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def vm_rss_mb() -> float:
    """This process's resident memory now, in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_stage(
    ctx: pipeline.RunContext,
    district: District,
    stage: str,
    uris: dict[str, str],
    register_uri: str,
    trace: bool,
    profile: bool = False,
) -> dict[str, Any]:
    """One stage of one district in this (fresh) process: seconds, peak memory, counts."""
    # What the task process holds before the stage runs (imports: pandas, pyarrow, GX).
    if stage == "validate":
        from hotich import validate  # noqa: F401  (GX is imported by the stage)
    base = vm_rss_mb()
    if trace:
        import tracemalloc

        tracemalloc.start(12)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.monotonic()

    def resolve(conn_id: str) -> str:
        return uris[f"AIRFLOW_CONN_{conn_id.upper()}"]

    if stage == "extract":
        out = pipeline.extract_district(ctx, district, resolve)
    elif stage == "validate":
        out = pipeline.validate_district(ctx, district.code)
    elif stage == "reconcile":
        with PopulationClient.from_uri(register_uri) as client:
            out = pipeline.reconcile_district(ctx, district.code, client)
    else:
        out = pipeline.load_district(ctx, district.code)
    seconds = time.monotonic() - t0
    top: list[str] = []
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        top.extend(line for line in text.getvalue().splitlines() if line.strip())
    if trace:
        import tracemalloc

        snapshot = tracemalloc.take_snapshot()
        _, peak = tracemalloc.get_traced_memory()
        top = [f"traced peak {peak / 2**20:.0f} MiB (live at the end below)"]
        for stat in snapshot.statistics("traceback")[:8]:
            frames = [
                f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback
            ]
            top.append(f"{stat.size / 2**20:8.1f} MiB  " + " <- ".join(frames[:4]))
        tracemalloc.stop()
    counts = {k: v for k, v in out.items() if isinstance(v, int)}
    return {
        "stage": stage,
        "seconds": seconds,
        "peak_mb": vm_hwm_mb(),
        "base_mb": base,
        "counts": counts,
        "top": top,
    }


def largest_district(province: Path, districts: list[District]) -> tuple[District, int]:
    """The district with the most records in the ground truth, and its count."""
    truth = pd.read_parquet(province / "truth.parquet", columns=["district_code"])
    sizes = truth["district_code"].value_counts()
    by_code = {d.code: d for d in districts}
    for c, n in sizes.items():
        if c in by_code:
            return by_code[str(c)], int(n)
    raise RuntimeError(f"no district of districts.yaml in the truth ({list(sizes.index)[:5]})")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/hotich-mem"))
    ap.add_argument("--reuse", action="store_true", help="reuse the province generated before")
    ap.add_argument("--district", help="district code (default: the largest)")
    ap.add_argument("--chunk-rows", type=int, default=Settings().chunk_rows)
    ap.add_argument("--trace", choices=STAGES, action="append", default=[])
    ap.add_argument(
        "--profile",
        choices=STAGES,
        action="append",
        default=[],
        help="run STAGE under cProfile and print its top functions",
    )
    ap.add_argument("--label", default="", help="a word for the table's title (before/after)")
    ap.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = ap.parse_args()

    from hotich_dev import embedded
    from hotich_dev.accuracy import read_ledger
    from hotich_dev.demo import fresh_database
    from hotich_dev.run import read_env_file, register_simulator

    server = embedded.embedded_uri(args.out / "pg")
    province = args.out / f"province-{args.scale:g}"
    if not (args.reuse and (province / "truth.parquet").exists()):
        from hotich_dev.synth.province import generate

        t0 = time.monotonic()
        generate(scale=args.scale, seed=args.seed, out=province, pg_url=server,
                 db_prefix=f"hotich_mem_{str(args.scale).replace('.', '_')}_")  # fmt: skip
        print(f"province generated in {time.monotonic() - t0:.0f} s", flush=True)
    districts = load_districts(province / "districts.yaml")
    if args.district:
        district = next(d for d in districts if d.code == args.district)
        size = -1
    else:
        district, size = largest_district(province, districts)
    national = fresh_database(server, "hotich_mem_national")
    uris = read_env_file(province / "connections.env")
    ctx = pipeline.RunContext(
        run_id=f"mem-{dt.datetime.now():%Y%m%dT%H%M%S}",
        run_date=dt.date.today(),
        settings=Settings(
            data_dir=args.out / "work",
            migrate_on_run=True,
            chunk_rows=args.chunk_rows,
            work_retention_hours=1,
        ),
        civil_status_uri=national,
    )
    pipeline.prepare_database(ctx)
    print(f"district {district.label} ({district.flavor.value}, {size:,} records in the truth),"
          f" chunk_rows {args.chunk_rows:,}", flush=True)  # fmt: skip
    rows = []
    spawn = multiprocessing.get_context("spawn")
    with register_simulator(province / "register.parquet") as register_uri:
        for stage in STAGES:
            with spawn.Pool(1, maxtasksperchild=1) as pool:
                r = pool.apply(
                    run_stage,
                    (
                        ctx,
                        district,
                        stage,
                        uris,
                        register_uri,
                        stage in args.trace,
                        stage in args.profile,
                    ),
                )
            rows.append(r)
            print(f"{stage}: {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB"
                  f" (at start {r['base_mb']:.0f} MB) {r['counts']}", flush=True)  # fmt: skip
            for line in r["top"]:
                print("   ", line)
    conn = pipeline.connect(ctx)
    try:
        ledger = read_ledger(conn, ctx.run_id)
    finally:
        conn.close()
    load_avg = os.getloadavg()
    statuses = ledger["status"].value_counts().to_dict()
    title = (f"Peak memory per stage{' (' + args.label + ')' if args.label else ''}, scale"
             f" {args.scale:g}, district {district.code} ({len(ledger):,} records), chunk_rows"
             f" {args.chunk_rows:,} ({dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores,"
             f" load average {load_avg[0]:.1f} / {load_avg[1]:.1f} at the end)")  # fmt: skip
    table = "| stage | seconds | peak RSS (MB) | RSS at the stage's start (MB) |\n"
    table += "| --- | ---: | ---: | ---: |\n"
    table += "\n".join(
        f"| {r['stage']} | {r['seconds']:.1f} | {r['peak_mb']:,.0f} | {r['base_mb']:,.0f} |"
        for r in rows
    )
    table += f"\n\nLedger: {', '.join(f'{k} {v:,}' for k, v in sorted(statuses.items()))}."
    print(f"\n### {title}\n\n{table}")
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(f"\n### {title}\n\n`benchmarks/bench_memory.py`\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
