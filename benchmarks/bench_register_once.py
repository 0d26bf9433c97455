"""The register asked once per run across districts: duplicate asks without and with the
run's answer store (decision 0015), on a generated province.

    .venv/bin/python benchmarks/bench_register_once.py --scale 0.1
    .venv/bin/python benchmarks/bench_register_once.py --scale 0.1 --reuse --quota 20

Each district is extracted and validated once (the second round reconciles the first
round's validated records); then every district's reconcile
task runs in a fresh process, two at a time (the LocalExecutor on two cores), against the
register simulator in its own process, which counts how often it was asked each ID and
each match query (folded name, sex, date). Round one without the store
(``share_answers=False``), round two with it; both rounds' person verdicts are compared.
Results are appended to ``benchmarks/RESULTS.md`` with the machine's load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import requests

from hotich import pipeline
from hotich.config import RegisterSettings, Settings, load_districts
from hotich.register.client import PopulationClient
from hotich_dev import embedded
from hotich_dev.demo import fresh_database
from hotich_dev.run import read_env_file, register_simulator

OUT = Path(__file__).resolve().parent / "out"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def prepare(ctx: pipeline.RunContext, district: Any, uris: dict[str, str]) -> int:
    """Extract and validate one district (a worker process); records extracted."""
    out = pipeline.extract_district(ctx, district, lambda c: uris[f"AIRFLOW_CONN_{c.upper()}"])
    pipeline.validate_district(ctx, district.code)
    return int(out.get("extracted", 0))


def reconcile(ctx: pipeline.RunContext, code: str, register_uri: str) -> dict[str, Any]:
    """One district's reconcile task in a fresh process: seconds, client and store counts."""
    t0 = time.monotonic()
    with PopulationClient.from_uri(register_uri) as client:
        out = pipeline.reconcile_district(ctx, code, client)
        calls = client.stats.as_dict()
    return {"seconds": time.monotonic() - t0, "calls": calls, "shared": out["register_shared"]}


def admin(base: str, path: str, post: bool = False) -> dict[str, Any]:
    url = f"{base}/_admin/{path}"
    r = requests.post(url, json={}, timeout=30) if post else requests.get(url, timeout=30)
    r.raise_for_status()
    return r.json()


def one_round(
    ctx: pipeline.RunContext,
    districts: list,
    uris: dict[str, str],
    register_uri: str,
    workers: int,
    validated_by: pipeline.RunContext | None = None,
) -> dict[str, Any]:
    """Extract and validate every district (or take ``validated_by``'s validated records),
    then reconcile them all, ``workers`` at once."""
    spawn = multiprocessing.get_context("spawn")
    if validated_by is None:
        with ProcessPoolExecutor(workers, mp_context=spawn, max_tasks_per_child=1) as pool:
            records = sum(
                pool.map(prepare, [ctx] * len(districts), districts, [uris] * len(districts))
            )
    else:
        records = 0
        for d in districts:
            source = validated_by.workdir(d.code) / "validated.parquet"
            shutil.copyfile(source, ctx.workdir(d.code) / "validated.parquet")
            records += pq.ParquetFile(source).metadata.num_rows
    base = "http://" + register_uri.rsplit("@", 1)[1]
    admin(base, "reset-stats", post=True)
    t0 = time.monotonic()
    with ProcessPoolExecutor(workers, mp_context=spawn, max_tasks_per_child=1) as pool:
        tasks = list(
            pool.map(
                reconcile,
                [ctx] * len(districts),
                [d.code for d in districts],
                [register_uri] * len(districts),
            )
        )
    wall = time.monotonic() - t0
    asks = admin(base, "asks")
    pipeline.release_leases(ctx)
    pipeline.forget_register_answers(ctx)
    calls = sum(int(t["calls"]["requests"]) - int(t["calls"]["token_fetches"]) for t in tasks)
    return {
        "records": records,
        "asks": asks,
        "requests": calls,
        "wall": wall,
        "summed": sum(t["seconds"] for t in tasks),
        "waited": sum(float(t["shared"].get("seconds_waited", 0.0)) for t in tasks),
        "taken_over": sum(int(t["shared"].get("taken_over", 0)) for t in tasks),
    }


def verdicts(ctx: pipeline.RunContext, districts: list) -> pd.DataFrame:
    """Every district's person verdicts of a round, in one order."""
    frames = [pd.read_parquet(ctx.workdir(d.code) / "persons.parquet") for d in districts]
    out = pd.concat(frames, ignore_index=True)
    out["reasons"] = out["reasons"].map(lambda r: ",".join(sorted(r)))
    return out.sort_values(["source_key", "role"]).reset_index(drop=True).astype(str)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="reuse the province generated before")
    ap.add_argument("--quota", type=float, default=None, help="register quota, requests per second")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    server = embedded.embedded_uri(OUT / "pg")
    province = OUT / f"province-{args.scale:g}"
    if not (args.reuse and (province / "truth.parquet").exists()):
        from hotich_dev.synth.province import generate

        generate(scale=args.scale, seed=args.seed, out=province, pg_url=server,
                 mariadb_url=None, db_prefix=f"hotich_once_{str(args.scale).replace('.', '_')}_")  # fmt: skip
    national = fresh_database(server, "hotich_bench_once")
    uris = read_env_file(province / "connections.env")
    districts = load_districts(province / "districts.yaml")
    stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    extra = ["--quota", str(args.quota)] if args.quota else []
    rounds: dict[str, dict[str, Any]] = {}
    contexts: dict[str, pipeline.RunContext] = {}
    with register_simulator(province / "register.parquet", extra_args=extra) as register_uri:
        for label, share in (("without store", False), ("with store", True)):
            settings = Settings(data_dir=OUT / "work-once", migrate_on_run=True,
                                register=RegisterSettings(share_answers=share))  # fmt: skip
            ctx = pipeline.RunContext(
                run_id=f"once-{stamp}-{int(share)}",
                run_date=dt.date.today(),
                settings=dataclasses.replace(settings),
                civil_status_uri=national,
            )
            pipeline.prepare_database(ctx)
            # The second round reconciles the first round's validated records.
            first = contexts.get("without store")
            contexts[label] = ctx
            rounds[label] = one_round(ctx, districts, uris, register_uri, args.workers, first)
            print(label, rounds[label], flush=True)
    same = verdicts(contexts["without store"], districts).equals(
        verdicts(contexts["with store"], districts)
    )
    load_avg = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    def dup(r: dict[str, Any], kind: str) -> str:
        a = r["asks"][kind]
        extra_asks = a["asked"] - a["distinct"]
        return f"{extra_asks:,} of {a['asked']:,} ({extra_asks / max(a['asked'], 1):.1%})"

    rows = [("records", f"{rounds['with store']['records']:,}", "")]
    measures = [
        ("ID asks that repeat one already made", lambda r: dup(r, "ids")),
        ("match-query asks that repeat one already made", lambda r: dup(r, "queries")),
        ("register data requests", lambda r: f"{r['requests']:,}"),
        ("reconcile wall, first start to last end (s)", lambda r: f"{r['wall']:.1f}"),
        ("reconcile tasks summed (s)", lambda r: f"{r['summed']:.1f}"),
        ("of which waiting for other districts' answers (s)", lambda r: f"{r['waited']:.1f}"),
        ("claims taken over", lambda r: str(r["taken_over"])),
    ]
    for name, fn in measures:
        rows.append((name, fn(rounds["without store"]), fn(rounds["with store"])))
    rows.append(("person verdicts identical", "", "yes" if same else "NO"))
    table = "| measure | without store | with store |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    print(table)
    quota = f"quota {args.quota:g} rps" if args.quota else "no quota"
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(
            f"\n## Register asked once per run, scale {args.scale:g} ({dt.date.today()},"
            f" {os.cpu_count()} cores, {args.workers} reconcile tasks at once, {quota},"
            f" load average {load_avg})\n\n`benchmarks/bench_register_once.py`\n\n{table}\n"
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
