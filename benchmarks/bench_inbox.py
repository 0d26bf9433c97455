"""From a workbook dropped in a district's inbox to its fix list in the outbox.

    .venv/bin/python benchmarks/bench_inbox.py [--drops 20] [--rows 2000]

The path a district's staff take, through ``make up``'s Airflow (the default, the headline
figure): a national database and Airflow's metadata database on the embedded PostgreSQL
(``benchmarks/out/pg``), the register simulator in its own process, one workbook district,
and Airflow's services started by ``make up``'s own code (``hotich_dev.localenv up``:
api-server, scheduler, dag-processor, triggerer; LocalExecutor) with their own
``AIRFLOW_HOME`` on a free port; ``hotich_inbox`` unpaused through the REST API. Each drop
writes a new 2,000-row KhaiSinh workbook (about 5 % of rows with a defect) under a
temporary name and renames it into the inbox, as a copy that ends would; the clock starts
at the rename and stops when the drop's fix list is in the outbox: the triggerer's
``InboxFileTrigger`` announcing the file (poll and settle), the asset event, the
scheduler's run, and its tasks (lease, extract, validate, reconcile, load, send back), each
started by the executor. A first drop (not counted) warms the services; each drop waits
for the previous run to end. Where the time goes comes from Airflow's own records (the
asset event's timestamp, the run's and task instances' start and end dates, read through
the REST API). Target: p95 under 5 minutes (15 at most). Results are appended to
benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_inbox.py --in-process [--settle 10 --poll 5]

``--in-process``: the same steps in this process, no Airflow (the watcher, then
``hotich.pipeline``'s functions and ``send_back``): what the work itself costs, without
the triggerer, scheduler and task start-up; a lower bound of the figure above.

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

from airflow_kit import Api, localenv, wait_for
from airflow_kit import when as _when
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


def p95(xs: list[float]) -> float:
    """The 95th percentile, nearest rank (of 20 drops: the 19th)."""
    return sorted(xs)[max(0, int(round(len(xs) * 0.95)) - 1)]


def spread(xs: list[float]) -> str:
    """``p50 / p95 / max`` of ``xs`` in seconds."""
    return f"{statistics.median(xs):.1f} / {p95(xs):.1f} / {max(xs):.1f}"


@dataclasses.dataclass
class Bench:
    """What both modes share: a fresh national database, the districts file naming one
    workbook district and its inbox, a register file (one person: the drops' IDs are not
    in it, as a campaign's old books' often are not)."""

    root: Path
    inbox: Path
    data: Path
    server: str
    national: str
    districts_file: Path
    register_file: Path


def prepare(kind: str) -> Bench:
    import pandas as pd

    from hotich import db
    from hotich.config import Settings
    from hotich.migrate import migrate
    from hotich_dev import embedded

    stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    root = OUT / f"{kind}-{stamp}"
    inbox, data = root / "inbox", root / "data"
    inbox.mkdir(parents=True)
    server = embedded.embedded_uri(OUT / "pg")
    national = db.ensure_database(server, f"hotich_bench_{kind}_{stamp.lower()}")
    engine = db.engine_for(national)
    migrate(engine, Settings().sql_dir)
    engine.dispose()
    districts_file = root / "districts.yaml"
    districts_file.write_text(
        f"districts:\n  - {{code: '{CODE}', name: 'Gia Bình', flavor: workbook, inbox: {inbox}}}\n",
        encoding="utf-8")  # fmt: skip
    register = pd.DataFrame(columns=["so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh",
                                     "noi_dang_ky_khai_sinh", "ho_ten_cha", "ho_ten_me",
                                     "trang_thai", "ngay_chet"])  # fmt: skip
    register.loc[0] = ["027190000001", "Đỗ Văn Mẫu", "Nam", dt.date(1990, 1, 1), "027", None,
                       None, "con_song", None]  # fmt: skip
    register.to_parquet(root / "register.parquet")
    return Bench(root, inbox, data, server, national, districts_file, root / "register.parquet")


def bench_in_process(args: argparse.Namespace) -> int:
    """The inbox DAG's steps in this process: no Airflow latency (a lower bound)."""
    from hotich import pipeline
    from hotich.config import District, Flavor, Settings
    from hotich.feedback import outbox, stage
    from hotich.inbox import InboxWatch
    from hotich.register.client import PopulationClient
    from hotich_dev.run import register_simulator

    b = prepare("inbox")
    settle = max(args.settle or 0.0, 2 * args.poll)  # as dags/hotich_inbox.py gives the trigger
    settings = Settings(data_dir=b.data, migrate_on_run=True, inbox_settle_seconds=0.0,
                        districts_file=b.districts_file)  # fmt: skip
    district = District(CODE, "Gia Bình", Flavor.WORKBOOK, inbox=b.inbox)
    rng = random.Random(12)
    before = load_average()
    totals, detect, process, entries, fix_s = [], [], [], [], []
    with register_simulator(b.register_file) as uri:
        watch = InboxWatch(b.inbox, settle)
        for drop in range(1, args.drops + 1):
            _, t0 = write_drop(b.inbox, drop, args.rows, rng)
            deadline = time.monotonic() + 900
            while not watch.look(time.time()):
                if time.monotonic() > deadline:
                    raise SystemExit("the watcher never announced the file")
                time.sleep(args.poll)
            t1 = time.time()
            run_id = f"inbox-{drop:02d}"
            ctx = pipeline.RunContext(run_id, dt.date.today(), settings, b.national)
            with PopulationClient.from_uri(uri, settings.register) as client:
                pipeline.extract_district(ctx, district, lambda _: "")
                pipeline.validate_district(ctx, CODE)
                pipeline.reconcile_district(ctx, CODE, client)
                pipeline.load_district(ctx, CODE)
            out = stage.send_back(ctx, [district], smtp=None, province=False)
            fix = Path(out["districts"][CODE]["fix_list"])
            assert fix.exists() and fix.parent == outbox.outbox_dir(b.data, CODE, run_id)
            t2 = time.time()
            totals.append(t2 - t0)
            detect.append(t1 - t0)
            process.append(t2 - t1)
            entries.append(out["districts"][CODE]["entries"])
            fix_s.append(out["districts"][CODE]["seconds"])
            print(f"drop {drop}: {t2 - t0:.1f} s (detect {t1 - t0:.1f}, process {t2 - t1:.1f});"
                  f" fix list {entries[-1]} entries", file=sys.stderr)  # fmt: skip

    rows = [
        ("drops / rows per workbook", f"{args.drops} / {args.rows:,}"),
        ("watcher: poll / held still for (s)", f"{args.poll:g} / {settle:g}"),
        ("drop to fix list, no Airflow: p50 / p95 / max (s)", spread(totals)),
        ("of which the watcher's wait: p50 / max (s)", f"{statistics.median(detect):.1f} / {max(detect):.1f}"),
        ("of which processing: p50 / p95 / max (s)", spread(process)),
        ("fix list at the last drop: entries / time to write (s)", f"{entries[-1]:,} / {fix_s[-1]:.2f}"),
        ("load average before / after", f"{before} / {load_average()}"),
    ]  # fmt: skip
    append(f"Inbox drop to fix list, in one process, no Airflow ({dt.date.today()}, 2 cores)",
           "`benchmarks/bench_inbox.py --in-process`: the inbox DAG's steps in one process"
           " (watcher, extract, validate, reconcile, load, fix list) without the triggerer,"
           " the scheduler or task start-up: a lower bound of the real path's figure; the fix"
           " list grows by each drop's defective rows.", rows)  # fmt: skip
    return 0


# --- the real path: make up's Airflow ---------------------------------------------------


def airflow_env(
    b: Bench, home: Path, port: int, register_uri: str, args: argparse.Namespace
) -> dict[str, str]:
    """``make up``'s environment for this bench (``hotich_dev.localenv`` fills the rest)."""
    import os

    from hotich import db

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HOTICH_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(
            db.ensure_database(b.server, f"airflow_{b.root.name.lower().replace('-', '_')}")),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW_CONN_CIVIL_STATUS_DB": b.national,
        "AIRFLOW_CONN_POPULATION_API": register_uri,
        "HOTICH_DISTRICTS_FILE": str(b.districts_file),
        "HOTICH_DATA_DIR": str(b.data),
        "HOTICH_PGDATA": str(b.root / "no-embedded-pg"),  # make down leaves the bench's alone
        "HOTICH_INBOX_POLL_SECONDS": f"{args.poll:g}",
    })  # fmt: skip
    if args.settle is not None:  # make up's default: 0 (the watcher holds 2 polls anyway)
        env["HOTICH_INBOX_SETTLE_SECONDS"] = f"{args.settle:g}"
    for item in args.set or []:  # settings under test: --set AIRFLOW__SCHEDULER__X=1
        key, _, value = item.partition("=")
        env[key] = value
    return env


def breakdown(
    api: Api, run_id: str, t0: float, t_fix: float, events: list[dict]
) -> dict[str, float]:
    """Where one drop's time went, from Airflow's own records."""
    run = api.get(f"dags/hotich_inbox/dagRuns/{run_id}")
    tis = api.get(f"dags/hotich_inbox/dagRuns/{run_id}/taskInstances")["task_instances"]
    event = next(e for e in events if any(r["run_id"] == run_id for r in e["created_dagruns"]))
    t_event = _when(event["timestamp"])
    done = [ti for ti in tis if ti["start_date"] and _when(ti["start_date"]) < t_fix]
    first = min(_when(ti["start_date"]) for ti in done)
    running = sum(min(_when(ti["end_date"]), t_fix) - _when(ti["start_date"]) for ti in done)
    return {
        "total": t_fix - t0,
        "detect": t_event - t0,  # the trigger's polls and settle, until its event is stored
        "to_run": _when(run["queued_at"]) - t_event,  # the scheduler makes the run
        "to_first_task": first - _when(run["queued_at"]),
        "tasks": running,  # task instances running (start-up in the task process included)
        "between_tasks": (t_fix - first) - running,  # scheduler + executor between tasks
        "tis": float(len(done)),
        **{
            f"task:{ti['task_id']}": min(_when(ti["end_date"]), t_fix) - _when(ti["start_date"])
            for ti in done
        },
    }


def bench_airflow(args: argparse.Namespace) -> int:
    """The drops through make up's Airflow: the headline figure."""
    import glob

    from hotich.workfiles import run_dir
    from hotich_dev.run import register_simulator
    from hotich_dev.runguard import pid_alive

    b = prepare("inbox-airflow")
    home = b.root / "airflow"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rng = random.Random(12)
    pattern = str(b.data / "outbox" / CODE / "*" / f"danh-sach-can-sua-{CODE}.xlsx")
    measured: list[dict[str, float]] = []
    with register_simulator(b.register_file) as register_uri:
        env = airflow_env(b, home, port, register_uri, args)
        t_up = time.time()
        localenv("up", env)
        try:
            up_s = time.time() - t_up
            api = Api(f"http://127.0.0.1:{port}", home)
            wait_for("the dag-processor to parse hotich_inbox",
                     lambda: api.knows_dag("hotich_inbox"), 300, 1)  # fmt: skip
            api.patch("dags/hotich_inbox", {"is_paused": False})
            before = load_average()
            seen: set[str] = set()
            for drop in range(0, args.drops + 1):  # drop 0 warms the services
                _, t0 = write_drop(b.inbox, drop, args.rows, rng)
                new = wait_for(f"drop {drop}'s fix list",
                               lambda seen=seen: set(glob.glob(pattern)) - seen, 900)  # fmt: skip
                t_fix = time.time()
                (fix,) = new
                seen |= new
                folder = Path(fix).parent.name
                runs = api.get("dags/hotich_inbox/dagRuns", limit=100, order_by="-run_after")[
                    "dag_runs"
                ]
                (run_id,) = [
                    r["dag_run_id"]
                    for r in runs
                    if run_dir(Path("."), r["dag_run_id"]).name == folder
                ]
                state = wait_for(
                    f"run {run_id} to end",
                    lambda r=run_id: api.run_state("hotich_inbox", r),
                    300,
                    0.5,
                )
                if state != "success":
                    raise SystemExit(f"run {run_id} {state}: see {home / 'logs'}")
                events = api.get("assets/events", limit=100, order_by="-timestamp")["asset_events"]
                parts = breakdown(api, run_id, t0, t_fix, events)
                print(f"drop {drop}{' (warm-up)' if drop == 0 else ''}: {parts['total']:.1f} s"
                      f" (detect {parts['detect']:.1f}, to run {parts['to_run']:.1f}, to first task"
                      f" {parts['to_first_task']:.1f}, {parts['tis']:.0f} tasks {parts['tasks']:.1f},"
                      f" between {parts['between_tasks']:.1f})", file=sys.stderr)  # fmt: skip
                if drop:
                    measured.append(parts)
            after = load_average()
        finally:
            pids = [int(p.read_text()) for p in (home / "pids").glob("*.pid")]
            localenv("down", env)
            left = [p for p in pids if pid_alive(p)]
            if left:
                print(f"services still running after make down: {left}", file=sys.stderr)

    def col(key: str) -> list[float]:
        return [m[key] for m in measured]

    tasks = sorted({k for m in measured for k in m if k.startswith("task:")})
    totals = col("total")
    rows = [
        ("drops / rows per workbook", f"{args.drops} / {args.rows:,} (after one warm-up drop)"),
        ("make up: services started, api-server healthy (s)", f"{up_s:.0f}"),
        ("inbox watcher: poll / held still for (s)", f"{args.poll:g} / {max(args.settle or 0, 2 * args.poll):g}"),
        ("settings changed from make up's", ", ".join(args.set or []) or "none"),
        ("**drop to fix list: p50 / p95 / max (s)**", f"**{spread(totals)}**"),
        ("rename to asset event (triggerer: polls, settle): p50 / p95 / max (s)", spread(col("detect"))),
        ("asset event to queued run (scheduler): p50 / p95 / max (s)", spread(col("to_run"))),
        ("queued run to its first task running: p50 / p95 / max (s)", spread(col("to_first_task"))),
        ("tasks running, up to the fix list: p50 / p95 / max (s)", spread(col("tasks"))),
        ("between tasks (scheduler, executor): p50 / p95 / max (s)", spread(col("between_tasks"))),
        *[(f"task `{t[5:]}` running: p50 / max (s)", f"{statistics.median(col(t)):.1f} / {max(col(t)):.1f}")
          for t in tasks if all(t in m for m in measured)],
        ("load average before / after", f"{before} / {after}"),
        ("target: p95 under 300 s", "met" if p95(totals) < 300 else "NOT met"),
    ]  # fmt: skip
    append(f"Inbox drop to fix list through make up's Airflow ({dt.date.today()}, 2 cores)",
           "`benchmarks/bench_inbox.py`: each drop renamed into a district inbox, the clock"
           " stopped when its fix list is in the outbox, through make up's services (triggerer"
           " `InboxFileTrigger` → asset event → scheduler → `hotich_inbox`'s tasks on the"
           " LocalExecutor); the parts from Airflow's own timestamps. The fix list grows by"
           " each drop's defective rows.", rows)  # fmt: skip
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--drops", type=int, default=20)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument(
        "--settle",
        type=float,
        default=None,
        help="HOTICH_INBOX_SETTLE_SECONDS (make up: 0; the watcher holds 2 polls)",
    )
    ap.add_argument("--poll", type=float, default=5.0)
    ap.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="an environment setting for the Airflow services (repeatable)",
    )
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--fix-lists", action="store_true")
    args = ap.parse_args()
    if args.fix_lists:
        return bench_fix_lists()
    if args.in_process:
        return bench_in_process(args)
    return bench_airflow(args)


if __name__ == "__main__":
    raise SystemExit(main())
