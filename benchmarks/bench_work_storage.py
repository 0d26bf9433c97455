"""One district's validate + reconcile + load with its work files in the local folder, and on a
``file://`` work storage (decision 0018: each stage fetches the district's files into a
scratch folder, then publishes what it wrote):

    .venv/bin/python benchmarks/bench_work_storage.py --scale 0.05            # generate, then run
    .venv/bin/python benchmarks/bench_work_storage.py --scale 0.05 --reuse    # the last province
    .venv/bin/python benchmarks/bench_work_storage.py --reuse --modes local   # the default path only

Each round extracts the district into a fresh national database (untimed), then times the
three stages in this process; rounds alternate the modes, the medians are reported with the
load average, and the ledgers of the modes are compared. Results are appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from hotich import pipeline
from hotich.config import Settings, load_districts
from hotich.model import Flavor
from hotich.register.client import PopulationClient
from hotich_dev import embedded
from hotich_dev.accuracy import read_ledger
from hotich_dev.demo import fresh_database
from hotich_dev.run import read_env_file, register_simulator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import province_dir  # noqa: E402
from results import append, load_average  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
STAGES = ("validate", "reconcile", "load")


def stage(ctx: pipeline.RunContext, mode: str, code: str) -> AbstractContextManager:
    """The context a task's stage runs in, as the tasks give it (hotich.airflow.workstore:
    the run's own without a work storage, else a scratch copy); before decision 0018, the
    run's own."""
    try:
        from hotich.airflow import workstore
    except ImportError:
        assert mode == "local"
        return nullcontext(ctx)
    return workstore.staged(ctx, workstore.district(code))


def one_round(server, province, district, uris, register_uri, mode: str, n: int):
    """A fresh national database, the district extracted, then the three stages timed."""
    national = fresh_database(server, f"hotich_bench_ws_{mode}")
    work = OUT / "work-storage" / mode
    shutil.rmtree(work, ignore_errors=True)
    storage = f"file://{work / 'storage'}" if mode == "file" else None
    ctx = pipeline.RunContext(
        run_id=f"ws-{n}",
        run_date=dt.date.today(),
        # (no work_storage field before decision 0018: the "before" run of the local mode)
        settings=Settings(data_dir=work / "data", migrate_on_run=True, work_storage=storage)
        if storage
        else Settings(data_dir=work / "data", migrate_on_run=True),
        civil_status_uri=national,
    )
    pipeline.prepare_database(ctx)

    def resolve(conn_id: str) -> str:
        return uris[f"AIRFLOW_CONN_{conn_id.upper()}"]

    with stage(ctx, mode, district.code) as local:
        records = pipeline.extract_district(local, district, resolve)["extracted"]
    seconds = {}
    for name in STAGES:
        if name == "load" and mode != "local":  # the copy alone, of the fullest folder
            t0 = time.monotonic()
            with stage(ctx, mode, district.code) as local:
                size = sum(p.stat().st_size for p in local.run_folder.rglob("*") if p.is_file())
            seconds["fetch+publish alone"] = time.monotonic() - t0
            seconds["folder MB"] = size / 2**20
        t0 = time.monotonic()
        with stage(ctx, mode, district.code) as local:
            if name == "validate":
                pipeline.validate_district(local, district.code)
            elif name == "reconcile":
                with PopulationClient.from_uri(register_uri) as client:
                    pipeline.reconcile_district(local, district.code, client)
            else:
                pipeline.load_district(local, district.code)
        seconds[name] = time.monotonic() - t0
    conn = pipeline.connect(ctx)
    try:
        ledger = read_ledger(conn, ctx.run_id)
    finally:
        conn.close()
    cols = ["source_key", "status", "reasons", "personal_id"]
    ledger = ledger[cols].sort_values("source_key").reset_index(drop=True)
    ledger["reasons"] = ledger["reasons"].map(tuple)
    return records, seconds, ledger


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="reuse the province generated before")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", default="local,file", help="local, file or both (local,file)")
    ap.add_argument("--label", default="", help="a note for the results' title")
    args = ap.parse_args()
    modes = args.modes.split(",")

    server = embedded.embedded_uri(OUT / "pg")
    province = province_dir(args.scale, args.reuse, args.seed)
    uris = read_env_file(province / "connections.env")
    district = next(d for d in load_districts(province / "districts.yaml")
                    if d.flavor is Flavor.MODERN)  # fmt: skip
    load_before = load_average()
    times: dict[str, dict[str, list[float]]] = {m: {s: [] for s in STAGES} for m in modes}
    copies: list[tuple[float, float]] = []  # (seconds, MB) of fetch+publish alone
    ledgers, records = {}, 0
    with register_simulator(province / "register.parquet") as register_uri:
        one_round(server, province, district, uris, register_uri, modes[0], 0)  # warm-up
        for n in range(1, args.rounds + 1):
            for mode in modes:
                records, seconds, ledgers[mode] = one_round(
                    server, province, district, uris, register_uri, mode, n
                )
                if "folder MB" in seconds:
                    copies.append((seconds.pop("fetch+publish alone"), seconds.pop("folder MB")))
                for name, s in seconds.items():
                    times[mode][name].append(s)
    same = all(ledgers[m].equals(ledgers[modes[0]]) for m in modes)
    rows = [("scale, district", f"{args.scale:g}, {district.label} ({records:,} records)"),
            ("rounds (after one warm-up)", str(args.rounds))]  # fmt: skip
    for mode in modes:
        total = [sum(t) for t in zip(*times[mode].values(), strict=True)]
        parts = ", ".join(f"{s} {statistics.median(v):.2f}" for s, v in times[mode].items())
        rows.append((f"{mode}: validate+reconcile+load, median (s)",
                     f"{statistics.median(total):.2f} ({parts}); all: "
                     + ", ".join(f"{t:.2f}" for t in total)))  # fmt: skip
    if copies:
        rows.append(("file: fetch + publish of the district's full folder alone, median (s)",
                     f"{statistics.median(c for c, _ in copies):.3f} ({copies[0][1]:.1f} MB)"))  # fmt: skip
    if len(modes) > 1:
        rows.append(("ledgers of the modes equal", str(same)))
    rows.append(("load average before / after", f"{load_before} / {load_average()}"))
    title = (
        f"Work storage, one district ({dt.date.today()}){' ' + args.label if args.label else ''}"
    )
    append(title, "benchmarks/bench_work_storage.py; stages in one process.", rows)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
