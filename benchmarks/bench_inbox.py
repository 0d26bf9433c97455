"""From a workbook dropped in a district's inbox to its fix list in the outbox.

    .venv/bin/python benchmarks/bench_inbox.py [--drops 20] [--rows 2000] [--settle 10]

A national database on the embedded PostgreSQL (``benchmarks/out/pg``), the register
simulator in its own process, one workbook district. Each drop writes a new 2,000-row
KhaiSinh workbook (about 5 % of rows with a defect) under a temporary name and renames
it into the inbox, as a copy that ends would; the clock starts at the rename. Then what
``hotich_inbox`` does, in this process: the inbox watcher (``hotich.inbox.InboxWatch``,
looking every ``--poll`` seconds) announces the file once it has held still ``--settle``
seconds; extract, validate, reconcile and load under the district's lease; the fix list
and report into the outbox (``hotich.feedback.stage.send_back``). The clock stops when
the fix list is in the outbox. Airflow's own latency (the triggerer's event to a
scheduled run, a worker picking each task: seconds per task with a scheduler) is not in
it; ``tests/dag/test_inbox_dag.py`` runs the DAG itself.
Target: p95 under 5 minutes (15 at most). Results are appended to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_inbox.py --fix-lists    # after bench_pipeline.py

``--fix-lists``: the fix list of every district of the province ``bench_pipeline.py``
loaded last (its national database), written as the daily run's ``send_back`` writes it;
the largest district's entries, rows, file size and time to write.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

from results import append, load_average

OUT = Path(__file__).resolve().parent / "out"
CODE = "263"


def workbook_rows(drop: int, rows: int, rng: random.Random) -> list[list]:
    """Synthetic KhaiSinh rows (no real person); entry numbers unique per drop."""
    from hotich.extract.workbook import TEMPLATE

    out: list[list] = [TEMPLATE["KhaiSinh"]]
    surnames, given = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"], ["An", "Bình", "Cúc", "Dũng", "Hà"]
    for i in range(rows):
        year = rng.randint(1990, 2020)
        dob = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}"
        pid = f"027{2 if year >= 2000 else 0}{year % 100:02d}{rng.randint(0, 999999):06d}"
        defect = rng.random()
        if defect < 0.02:
            dob = f"30/02/{year}"
        elif defect < 0.04:
            pid = pid[:9]
        elif defect < 0.05:
            pid = "=1+1"
        out.append([f"Q{drop}", 100_000 * drop + i, f"01/01/{year + 1}",
                    f"{rng.choice(surnames)} Văn {rng.choice(given)}", "Nam", dob, pid,
                    "Bắc Ninh", "Kinh", "Trần Thị Bình", str(year - 25), "Nguyễn Văn Cường"])  # fmt: skip
    return out


def write_drop(inbox: Path, drop: int, rows: int, rng: random.Random) -> tuple[Path, float]:
    """Write the drop under a temporary name, then rename it in; (path, time of rename)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("KhaiSinh")
    for r in workbook_rows(drop, rows, rng):
        sheet.append(r)
    tmp = inbox / f"~drop-{drop:02d}.tmp"  # ignored by the reader and the watcher
    book.save(tmp)
    final = inbox / f"so-{drop:02d}.xlsx"
    tmp.rename(final)
    return final, time.time()


def bench_fix_lists() -> int:
    """Every district's fix list over bench_pipeline.py's national database."""
    from hotich import db, pipeline, validate
    from hotich.config import Settings, load_districts
    from hotich.feedback import messages, outbox
    from hotich_dev import embedded

    server = embedded.embedded_uri(OUT / "pg")
    national = db.ensure_database(server, "hotich_bench_national")
    province = max(OUT.glob("province-*"), key=lambda p: p.stat().st_mtime)
    settings = Settings(data_dir=OUT / "fixlists")
    catalogue = messages.load_catalogue(settings.messages_file)
    codes = validate.load_province_codes(settings.province_codes_file)
    ctx = pipeline.RunContext(f"fixlists-{dt.datetime.now():%Y%m%dT%H%M%S}", dt.date.today(),
                              settings, national)  # fmt: skip
    before = load_average()
    written = []
    conn = pipeline.connect(ctx)
    try:
        for d in load_districts(province / "districts.yaml"):
            with conn, conn.cursor() as cur:
                written.append(outbox.write_district_fix_list(cur, settings, d, ctx.run_id,
                                                              catalogue, codes))  # fmt: skip
    finally:
        conn.close()
    largest = max(written, key=lambda f: f.summary.entries)
    size = largest.fix_list.stat().st_size if largest.fix_list else 0
    rows = [("province", province.name),
            ("districts / entries to fix, all", f"{len(written)} / {sum(f.summary.entries for f in written):,}"),
            ("largest district", largest.district_code),
            ("its entries / rows (fields to correct)", f"{largest.summary.entries:,} / {largest.summary.problems:,}"),
            ("its workbook (MB)", f"{size / 2**20:.2f}"),
            ("time to read, find the fields and write it (s)", f"{largest.seconds:.2f}"),
            ("load average before / after", f"{before} / {load_average()}")]  # fmt: skip
    append(f"Fix lists, {province.name} ({dt.date.today()}, 2 cores)",
           "`benchmarks/bench_inbox.py --fix-lists`: every district's fix list over the province"
           " `bench_pipeline.py` loaded.", rows)  # fmt: skip
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--drops", type=int, default=20)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--poll", type=float, default=5.0)
    ap.add_argument("--fix-lists", action="store_true")
    args = ap.parse_args()
    if args.fix_lists:
        return bench_fix_lists()

    import pandas as pd

    from hotich import db, pipeline
    from hotich.config import District, Flavor, Settings
    from hotich.feedback import outbox, stage
    from hotich.inbox import InboxWatch
    from hotich.migrate import migrate
    from hotich.register.client import PopulationClient
    from hotich_dev import embedded
    from hotich_dev.run import register_simulator

    stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    root = OUT / f"inbox-{stamp}"
    inbox, data = root / "inbox", root / "data"
    inbox.mkdir(parents=True)
    server = embedded.embedded_uri(OUT / "pg")
    national = db.ensure_database(server, f"hotich_bench_inbox_{stamp.lower()}")
    settings = Settings(data_dir=data, migrate_on_run=True, inbox_settle_seconds=0.0)
    engine = db.engine_for(national)
    migrate(engine, settings.sql_dir)
    engine.dispose()
    district = District(CODE, "Gia Bình", Flavor.WORKBOOK, inbox=inbox)
    (root / "districts.yaml").write_text(
        f"districts:\n  - {{code: '{CODE}', name: 'Gia Bình', flavor: workbook, inbox: {inbox}}}\n",
        encoding="utf-8")  # fmt: skip
    settings = dataclasses.replace(settings, districts_file=root / "districts.yaml")
    register = pd.DataFrame(columns=["so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh",
                                     "noi_dang_ky_khai_sinh", "ho_ten_cha", "ho_ten_me",
                                     "trang_thai", "ngay_chet"])  # fmt: skip
    register.loc[0] = ["027190000001", "Đỗ Văn Mẫu", "Nam", dt.date(1990, 1, 1), "027", None,
                       None, "con_song", None]  # fmt: skip
    register.to_parquet(root / "register.parquet")
    rng = random.Random(12)
    before = load_average()
    totals, detect, process, entries, fix_s = [], [], [], [], []
    with register_simulator(root / "register.parquet") as uri:
        watch = InboxWatch(inbox, args.settle)
        for drop in range(1, args.drops + 1):
            _, t0 = write_drop(inbox, drop, args.rows, rng)
            deadline = time.monotonic() + 900
            while not watch.look(time.time()):
                if time.monotonic() > deadline:
                    raise SystemExit("the watcher never announced the file")
                time.sleep(args.poll)
            t1 = time.time()
            run_id = f"inbox-{drop:02d}"
            ctx = pipeline.RunContext(run_id, dt.date.today(), settings, national)
            with PopulationClient.from_uri(uri, settings.register) as client:
                pipeline.extract_district(ctx, district, lambda _: "")
                pipeline.validate_district(ctx, CODE)
                pipeline.reconcile_district(ctx, CODE, client)
                pipeline.load_district(ctx, CODE)
            out = stage.send_back(ctx, [district], smtp=None, province=False)
            fix = Path(out["districts"][CODE]["fix_list"])
            assert fix.exists() and fix.parent == outbox.outbox_dir(data, CODE, run_id)
            t2 = time.time()
            totals.append(t2 - t0)
            detect.append(t1 - t0)
            process.append(t2 - t1)
            entries.append(out["districts"][CODE]["entries"])
            fix_s.append(out["districts"][CODE]["seconds"])
            print(f"drop {drop}: {t2 - t0:.1f} s (detect {t1 - t0:.1f}, process {t2 - t1:.1f});"
                  f" fix list {entries[-1]} entries", file=sys.stderr)  # fmt: skip

    def p95(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(round(len(xs) * 0.95)) - 1)]

    rows = [
        ("drops / rows per workbook", f"{args.drops} / {args.rows:,}"),
        ("watcher: poll / settle (s)", f"{args.poll:g} / {args.settle:g}"),
        ("drop to fix list: p50 / p95 / max (s)",
         f"{statistics.median(totals):.1f} / {p95(totals):.1f} / {max(totals):.1f}"),
        ("of which the watcher's wait: p50 / max (s)", f"{statistics.median(detect):.1f} / {max(detect):.1f}"),
        ("of which processing: p50 / p95 / max (s)",
         f"{statistics.median(process):.1f} / {p95(process):.1f} / {max(process):.1f}"),
        ("fix list at the last drop: entries / time to write (s)", f"{entries[-1]:,} / {fix_s[-1]:.2f}"),
        ("load average before / after", f"{before} / {load_average()}"),
        ("target: p95 under 300 s", "met" if p95(totals) < 300 else "NOT met"),
    ]  # fmt: skip
    append(f"Inbox drop to fix list ({dt.date.today()}, 2 cores)",
           "`benchmarks/bench_inbox.py`: the inbox DAG's steps in one process (watcher,"
           " extract, validate, reconcile, load, fix list), not Airflow's scheduling latency;"
           " the fix list grows by each drop's defective rows.", rows)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
