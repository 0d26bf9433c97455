"""A day of the campaign: the new or changed records of one day through Airflow, on a
province already loaded.

    .venv/bin/python benchmarks/bench_day.py --scale 0.1            # generate, load, the day
    .venv/bin/python benchmarks/bench_day.py --scale 0.1 --reuse    # the day again, same base
    .venv/bin/python benchmarks/bench_day.py --scale 1.0 --changes 20000

1. generates the province once into ``--out`` (default ``/tmp/hotich_day``: PostgreSQL and
   SQLite modern districts, the legacy table in MariaDB when it answers on 127.0.0.1:3306,
   workbook inboxes) on an embedded PostgreSQL there, and keeps a pristine copy of every
   district source;
2. the base: ``airflow dags test hotich_reconcile`` as ``make run`` runs it
   (``hotich_dev.run.run_dag``) into a fresh national database, kept as a template, so that
   ``--reuse`` starts the day again from the same loaded province without loading it again;
3. the day: ``--changes`` records (default 20,000 × scale) new or changed across the
   districts, in proportion to their size, half new and half changed: rows corrected in
   place (modern: ``updated_at`` set to now, district time), rows added (modern, legacy),
   a new workbook file per workbook district and one ``.csv`` file replaced with some rows
   changed;
4. the day's run, timed: its wall (from ``dag_run``) and each task's time, summed per task
   (from ``task_instance``: end minus start), with the machine's load average.

Results are appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import append, load_average  # noqa: E402

from hotich import db  # noqa: E402
from hotich_dev import embedded  # noqa: E402
from hotich_dev.day import apply_day, district_sizes, province_sources  # noqa: E402
from hotich_dev.demo import fresh_database  # noqa: E402
from hotich_dev.run import read_env_file, register_simulator, run_dag  # noqa: E402

MARIADB = "mysql://root:@127.0.0.1:3306/test"


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tag(scale: float) -> str:
    return str(scale).replace(".", "_")


# --- the province and its pristine copy ------------------------------------------------------


def _database(uri: str) -> str:
    """The database name of a PostgreSQL URI."""
    from sqlalchemy.engine import make_url

    return str(make_url(db.sqlalchemy_url(uri)).database)


def snapshot(province: Path, server: str, restore: bool) -> None:
    """Keep (``restore=False``) or put back (``restore=True``) a pristine copy of every
    district source: PostgreSQL databases as templates, MariaDB tables copied, SQLite files
    and inboxes copied."""
    pristine = province / "pristine"
    pristine.mkdir(exist_ok=True)
    for d in province_sources(province):
        code = d["code"]
        if d["flavor"] == "workbook":
            inbox, keep = Path(d["inbox"]), pristine / f"inbox-{code}"
            src, dst = (keep, inbox) if restore else (inbox, keep)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, copy_function=shutil.copy2)
            continue
        uri = d["uri"]
        if uri.startswith("sqlite"):
            path = Path(uri.split("///", 1)[1])
            keep = pristine / path.name
            shutil.copy2(*((keep, path) if restore else (path, keep)))
        elif uri.startswith("postgres"):
            name = _database(uri)
            src, dst = (f"{name}_pristine", name) if restore else (name, f"{name}_pristine")
            engine = db.engine_for(server, isolation_level="AUTOCOMMIT")
            with engine.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{dst}" WITH (FORCE)'))
                c.execute(text(f'CREATE DATABASE "{dst}" TEMPLATE "{src}"'))
            engine.dispose()
        else:  # MariaDB: the one table, copied beside itself
            src, dst = ("hotich_pristine", "hotich") if restore else ("hotich", "hotich_pristine")
            engine = db.engine_for(uri)
            with engine.begin() as c:
                c.execute(text(f"DROP TABLE IF EXISTS {dst}"))
                c.execute(text(f"CREATE TABLE {dst} LIKE {src}"))
                c.execute(text(f"INSERT INTO {dst} SELECT * FROM {src}"))
            engine.dispose()
    (pristine / ".done").touch()


def copy_database(server: str, src: str, dst: str) -> str:
    """``dst`` as a copy of ``src`` (a template) on the embedded server; its URI."""
    engine = db.engine_for(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{dst}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{dst}" TEMPLATE "{src}"'))
    engine.dispose()
    return db.ensure_database(server, dst)


def bench_campaign(province: Path, out: Path) -> Path:
    """The project's campaign file with the legacy districts' rule gate raised to 100%: the
    synthetic legacy table's few records of no known kind (``LoaiGiay``) all fail their one
    rule and would block its load every run, so that the day would measure a district
    read again whole rather than a day's changes (a gate of the data, not of its size)."""
    from hotich.config import Settings

    doc = yaml.safe_load(Settings().campaign_file.read_text(encoding="utf-8"))
    gates = doc.setdefault("quality_gates", {})
    districts = gates.get("districts") or {}
    for d in province_sources(province):
        if d["flavor"] == "legacy":
            districts[str(d["code"])] = {"rule_block": 1.0}
    gates["districts"] = districts
    path = out / "campaign.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- runs and their timings ------------------------------------------------------------------


def last_run(meta: str) -> tuple[str, float, dict[str, tuple[int, float]], str]:
    """(run id, wall seconds, task id -> (instances, summed seconds), state) of the last run."""
    engine = db.engine_for(meta)
    with engine.connect() as c:
        run_id, wall, state = c.execute(text(
            "SELECT run_id, extract(epoch FROM end_date - start_date), state FROM dag_run"
            " ORDER BY id DESC LIMIT 1")).one()  # fmt: skip
        rows = c.execute(text(
            "SELECT task_id, count(*), sum(extract(epoch FROM end_date - start_date))"
            " FROM task_instance WHERE run_id = :r GROUP BY task_id ORDER BY task_id"),
            {"r": run_id}).all()  # fmt: skip
    engine.dispose()
    return run_id, float(wall or 0), {t: (int(k), float(s or 0)) for t, k, s in rows}, state


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--changes", type=int, default=None, help="default 20,000 x scale")
    ap.add_argument("--out", type=Path, default=Path("/tmp/hotich_day"))
    ap.add_argument("--reuse", action="store_true", help="the province and its base load of before")
    ap.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    changes = args.changes if args.changes is not None else round(20_000 * args.scale)

    out = args.out.resolve()
    server = embedded.embedded_uri(out / "pg")
    tag = _tag(args.scale)
    province = out / f"province-{args.scale:g}"
    base_db, national_db = f"day_{tag}_base", f"day_{tag}_national"
    meta = db.sqlalchemy_url(db.ensure_database(server, f"day_{tag}_airflow"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        **(read_env_file(province / "connections.env") if province.exists() else {}),
        "AIRFLOW_HOME": str(out / f"airflow-{tag}"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
        "HOTICH_DISTRICTS_FILE": str(province / "districts.yaml"),
        "HOTICH_DATA_DIR": str(out / f"data-{tag}"),
    }
    timings: dict[str, float] = {}
    kept = (province / "pristine" / ".done").exists()
    fresh = not (args.reuse and kept and _has_db(server, base_db))
    if fresh:
        from hotich_dev.synth.province import generate

        if not (args.reuse and (province / "truth.parquet").exists()):
            t0 = time.monotonic()
            generate(scale=args.scale, seed=args.seed, out=province, pg_url=server,
                     mariadb_url=MARIADB if _reachable(3306) else None,
                     db_prefix=f"hotich_day_{tag}_")  # fmt: skip
            timings["generate"] = time.monotonic() - t0
            kept = False  # a new province: its own pristine copy
        snapshot(province, server, restore=kept)
        env.update(read_env_file(province / "connections.env"))
    else:
        snapshot(province, server, restore=True)
    env["HOTICH_CAMPAIGN_FILE"] = str(bench_campaign(province, out))
    with register_simulator(province / "register.parquet") as register_uri:
        env["AIRFLOW_CONN_POPULATION_API"] = register_uri
        if fresh:
            shutil.rmtree(out / f"data-{tag}", ignore_errors=True)
            env["AIRFLOW_CONN_CIVIL_STATUS_DB"] = fresh_database(server, national_db)
            t0 = time.monotonic()
            rc = run_dag(env, out / f"base-{tag}.log")
            timings["base"] = time.monotonic() - t0
            if rc != 0:
                print(f"the base run failed; see {out / f'base-{tag}.log'}", file=sys.stderr)
                return 1
            shutil.rmtree(out / f"data-{tag}-base", ignore_errors=True)
            shutil.copytree(out / f"data-{tag}", out / f"data-{tag}-base")
            copy_database(server, national_db, base_db)
        else:
            env["AIRFLOW_CONN_CIVIL_STATUS_DB"] = copy_database(server, base_db, national_db)
            shutil.rmtree(out / f"data-{tag}", ignore_errors=True)
            shutil.copytree(out / f"data-{tag}-base", out / f"data-{tag}")
        t0 = time.monotonic()
        touched = apply_day(province, changes)
        timings["changes"] = time.monotonic() - t0
        load = load_average()
        t0 = time.monotonic()
        rc = run_dag(env, out / f"day-{tag}.log")
        timings["day"] = time.monotonic() - t0
    run_id, wall, tasks, state = last_run(meta)
    national = env["AIRFLOW_CONN_CIVIL_STATUS_DB"]
    engine = db.engine_for(national)
    with engine.connect() as c:
        day_rows = c.execute(text("SELECT count(*) FROM recon.ledger WHERE run_id = :r"),
                             {"r": run_id}).scalar_one()  # fmt: skip
    engine.dispose()
    task_total = sum(s for _, s in tasks.values())
    per_task = sorted(tasks.items(), key=lambda kv: -kv[1][1])
    rows = [
        ("province", f"scale {args.scale:g}, {sum(district_sizes(province).values()):,} records"),
        (
            "changes",
            f"{sum(touched.values()):,} records new or changed in {len(touched)} districts",
        ),
        ("day run", f"{state}; {day_rows:,} ledger rows"),
        ("wall (dag_run end - start)", f"{wall:.1f} s"),
        ("wall (make run's airflow dags test, process)", f"{timings['day']:.1f} s"),
        ("task time, summed", f"{task_total:.1f} s"),
        *((f"task {t} ({k}×)", f"{s:.1f} s") for t, (k, s) in per_task),
        ("load average before the day run (1, 5, 15 min)", load),
        ("load average after", load_average()),
    ]
    if "base" in timings:
        rows.append(
            ("base run (the whole province, airflow dags test)", f"{timings['base']:.0f} s")
        )
    print("\n".join(f"{k}: {v}" for k, v in rows))
    if not args.no_results:
        append(f"A day of the campaign through Airflow (scale {args.scale:g}, {dt.date.today()})",
               "`benchmarks/bench_day.py`: a province already loaded, then a day's new or changed"
               " records in its district sources, run as `make run` runs it (`airflow dags test`)."
               " Task times from Airflow's `task_instance` (end - start).", rows)  # fmt: skip
    return 0 if rc == 0 else 1


def _has_db(server: str, name: str) -> bool:
    engine = db.engine_for(server)
    with engine.connect() as c:
        found = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    engine.dispose()
    return found is not None


if __name__ == "__main__":
    sys.exit(main())
