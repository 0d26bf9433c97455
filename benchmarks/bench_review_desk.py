"""The review desk at the campaign's size, as an officer uses it, and re-reconciliation.

    .venv/bin/python benchmarks/bench_review_desk.py --desk                 # pages over 100,000 waiting
    .venv/bin/python benchmarks/bench_review_desk.py --recheck [--quota 20] # after bench_pipeline.py

``--desk``: a national database on the embedded PostgreSQL (``benchmarks/out/pg``) with
``--waiting`` persons waiting for a decision (default 100,000, over the eight districts),
then the desk's list pages served through the desk's FastAPI routes (database query,
Jinja2 rendering, HTTP response, in process): the first page of a district, a page deep
in it (by key), and pages filtered by reason, record type and age. Target: every page
under 300 ms.

``--recheck``: re-reconciliation (``pipeline.recheck_district``) of every district of the
province that ``bench_pipeline.py`` loaded last (its national database and register),
two districts at a time, with the register simulator in its own process, quota off or
``--quota`` requests/s. Target under a quota: at most 1.2 times the floor the quota sets
(requests / quota). Results are appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from results import append, load_average

from hotich.config import Settings

OUT = Path(__file__).resolve().parent / "out"
DISTRICTS = ("256", "258", "259", "260", "261", "262", "263", "264")

FILL = """
INSERT INTO recon.waiting_record
    (source_key, district_code, record_type, content_hash, record, source_record, status,
     reasons, personal_id, run_id, waiting_since)
SELECT d || ':birth:' || i, d, 'birth', md5(i::text), '{}'::jsonb, '{}'::jsonb,
       CASE WHEN i %% 3 = 0 THEN 'review' ELSE 'loaded' END,
       CASE WHEN i %% 3 = 0 THEN ARRAY['ID_NOT_FOUND'] WHEN i %% 3 = 1 THEN ARRAY['LINK_AMBIGUOUS']
            ELSE ARRAY['LINK_NONE'] END,
       NULL, 'bench', now() - make_interval(days => i %% 60)
FROM unnest(%(districts)s::text[]) AS d, generate_series(1, %(per_district)s) AS i;
INSERT INTO recon.waiting_person
    (source_key, role, district_code, record_type, kind, reasons, given_id, decided, waiting_since)
SELECT source_key, 'subject', district_code, record_type,
       CASE reasons[1] WHEN 'ID_NOT_FOUND' THEN 'given_id_in_review'
            WHEN 'LINK_AMBIGUOUS' THEN 'link_ambiguous' ELSE 'link_none' END,
       reasons, NULL, false, waiting_since
FROM recon.waiting_record;
ANALYZE recon.waiting_record;
ANALYZE recon.waiting_person;
"""


def bench_desk(waiting: int, repeats: int) -> None:
    from fastapi.testclient import TestClient

    from hotich.airflow.access import check_same_site, form_token
    from hotich.db import engine_for, pg_connect
    from hotich.migrate import migrate
    from hotich.ops.dashboard import create_app
    from hotich.ops.desk_page import DeskDeps
    from hotich_dev import embedded
    from hotich_dev.demo import fresh_database

    server = embedded.embedded_uri(OUT / "pg")
    national = fresh_database(server, "hotich_bench_desk")
    engine = engine_for(national)
    migrate(engine, Settings().sql_dir)
    engine.dispose()
    t0 = time.monotonic()
    conn = pg_connect(national)
    with conn, conn.cursor() as cur:
        cur.execute(FILL, {"districts": list(DISTRICTS), "per_district": waiting // len(DISTRICTS)})
    conn.close()
    fill_s = time.monotonic() - t0
    deps = DeskDeps(
        civil_status_uri=lambda: national,
        register=lambda: contextlib.nullcontext(None),
        user_name=lambda: "bench-officer",
        may_change=lambda: True,
        require_changer=lambda: None,
        check_same_site=check_same_site,
        form_token=form_token,
    )
    client = TestClient(create_app(lambda: national, desk=deps))
    deep = f"260:birth:{int(waiting / len(DISTRICTS) * 0.9)}|subject"
    pages = {
        "district home (counts over all waiting)": "/desk/",
        "first page of a district": "/desk/260",
        "a page deep in a district (by key)": f"/desk/260?after={deep}",
        "filtered by reason": "/desk/260?reason=LINK_AMBIGUOUS",
        "filtered by record type and age (30 days or more)": "/desk/260?record_type=birth&days=30",
    }
    rows = [("persons waiting", f"{waiting:,}"), ("filling them (s)", f"{fill_s:.1f}"),
            ("load average before", load_average())]  # fmt: skip
    worst = 0.0
    for label, url in pages.items():
        assert client.get(url).status_code == 200, url  # warm: connection, templates
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        listed = r.text.count("/desk/record/")
        assert url == "/desk/" or listed > 0, f"{url} listed no record"
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        worst = max(worst, p95)
        rows.append((f"{label}: median / p95 (ms), records listed",
                     f"{statistics.median(times):.0f} / {p95:.0f}, {listed}"))  # fmt: skip
    rows.append(("load average after", load_average()))
    rows.append(
        ("target: every page under 300 ms", "met" if worst < 300 else f"NOT met ({worst:.0f} ms)")
    )
    append(f"Review desk, {waiting:,} waiting ({dt.date.today()}, 2 cores)",
           f"`benchmarks/bench_review_desk.py --desk`: each page {repeats} times through the desk's"
           " routes (query, Jinja2, response), after one warm-up.", rows)  # fmt: skip


def bench_recheck(quota: float | None, workers: int) -> None:
    from hotich import db, pipeline
    from hotich.config import load_districts
    from hotich.register.client import PopulationClient
    from hotich_dev import embedded
    from hotich_dev.run import register_simulator

    server = embedded.embedded_uri(OUT / "pg")
    national = db.ensure_database(server, "hotich_bench_national")  # bench_pipeline.py's
    province = max(OUT.glob("province-*"), key=lambda p: p.stat().st_mtime)
    districts = load_districts(province / "districts.yaml")
    run_id = f"recheck-{dt.datetime.now():%Y%m%dT%H%M%S}"
    ctx = pipeline.RunContext(run_id=run_id, run_date=dt.date.today(),
                              settings=Settings(data_dir=OUT / "work"), civil_status_uri=national)  # fmt: skip
    conn = pipeline.connect(ctx)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM recon.waiting_record")
        waiting = cur.fetchone()[0]
    conn.close()
    extra = ["--quota", str(quota)] if quota else []
    load_before = load_average()
    stats: dict[str, int] = {}
    with register_simulator(province / "register.parquet", extra_args=extra) as register_uri:

        def one(d) -> dict:
            with PopulationClient.from_uri(register_uri) as client:
                out = pipeline.recheck_district(ctx, d.code, client)
                out["calls"] = client.stats.as_dict()
                return out

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, districts))
        total = time.monotonic() - t0
    for r in results:
        for k, v in r["calls"].items():
            stats[k] = stats.get(k, 0) + v
    rows = [
        ("province", province.name),
        ("waiting records", f"{waiting:,}"),
        ("records asked again", f"{sum(r['rechecked'] for r in results):,}"),
        ("new ledger rows", f"{sum(r['extracted'] for r in results):,}"),
        ("districts in parallel", str(workers)),
        ("register requests / retries / 429s",
         f"{stats.get('requests', 0)} / {stats.get('retries', 0)} / {stats.get('rate_limited', 0)}"),
        ("register quota (rps)", f"{quota:g}" if quota else "off"),
        ("wall time (s)", f"{total:.1f}"),
        ("load average before / after", f"{load_before} / {load_average()}"),
    ]  # fmt: skip
    if quota:
        # The floor counts the requests the work needs, not the ones a 429 sent back.
        needed = stats.get("requests", 0) - stats.get("retries", 0)
        floor = needed / quota
        rows.append(("wall time / quota floor (requests needed / quota)",
                     f"{total:.1f} s / {floor:.1f} s = {total / floor:.2f}"))  # fmt: skip
    append(f"Re-reconciliation, {province.name}, quota {quota or 'off'} ({dt.date.today()}, 2 cores)",
           "`benchmarks/bench_review_desk.py --recheck`: every district of the province"
           " `bench_pipeline.py` loaded, the register unchanged since (so no new rows).", rows)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--desk", action="store_true")
    ap.add_argument("--waiting", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--recheck", action="store_true")
    ap.add_argument("--quota", type=float, default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.desk:
        bench_desk(args.waiting, args.repeats)
    if args.recheck:
        bench_recheck(args.quota, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
