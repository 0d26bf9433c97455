"""The run's register answer store on its own (decision 0015): what claiming, writing and
reading the answers costs the national database, with the register itself free.

    .venv/bin/python benchmarks/bench_register_store.py
    .venv/bin/python benchmarks/bench_register_store.py --districts 8 --ids 140000

Each district's task (a fresh process, ``--workers`` at a time, as the LocalExecutor runs
them) asks ``SharedRegister.batch_get`` for its IDs; a share of them (``--overlap``) are
also another district's, as at scale 1.0. The register behind the store answers at once
from memory, so the time measured is the store's: the claims, the answers' COPY, marking
them answered, the waits and reads of shared keys. The same keys run once with the
store's tables as the migrations leave them and once as WAL-logged tables with the
default fill factor (the layout before V014), each in a fresh national database, and the
CPU of the national database's server processes is read from /proc around each round.
Results are appended to ``benchmarks/RESULTS.md`` with the machine's load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from results import append, load_average

from hotich.config import Settings
from hotich.db import engine_for, pg_connect
from hotich.migrate import migrate
from hotich.model import CITIZEN_COLUMNS
from hotich.register.shared import SharedRegister
from hotich_dev import embedded
from hotich_dev.demo import fresh_database

OUT = Path(__file__).resolve().parent / "out"

#: The layout before V014: logged tables, fill factor 100 (every answered mark a new
#: row version with new index entries).
BEFORE_V014 = """
ALTER TABLE recon.register_ask SET LOGGED;
ALTER TABLE recon.register_answer SET LOGGED;
ALTER TABLE recon.register_ask RESET (fillfactor);
"""


class MemoryRegister:
    """A register that knows every ID it is asked and answers at once."""

    def batch_get(self, ids: list[str]) -> tuple[pd.DataFrame, set[str]]:
        """One citizen per ID, every column filled."""
        frame = pd.DataFrame({c: [f"{c}-{i}" for i in ids] for c in CITIZEN_COLUMNS})
        frame["so_dinh_danh"] = ids
        return frame, set()


def district_ids(n_districts: int, per_district: int, overlap: float) -> list[list[str]]:
    """Each district's 12-digit IDs; ``overlap`` of each also in the next district's."""
    rng = np.random.default_rng(1)
    ids = rng.choice(10**11, size=n_districts * per_district, replace=False) + 10**11
    own = [ids[i * per_district : (i + 1) * per_district] for i in range(n_districts)]
    shared = int(per_district * overlap)
    out = []
    for i in range(n_districts):
        nxt = own[(i + 1) % n_districts][:shared]
        out.append([str(x) for x in np.concatenate([own[i], nxt])])
    return out


def one_district(uri: str, run_id: str, code: str, ids: list[str]) -> dict[str, float]:
    """One district task's asks through the store (its own process)."""
    settings = Settings()
    started = time.monotonic()
    with SharedRegister(
        MemoryRegister(),
        lambda: pg_connect(uri),
        settings.sql_dir,
        run_id,
        code,
        settings.register,
    ) as store:
        found, missing = store.batch_get(ids)
    assert len(found) == len(set(ids)) and not missing, (len(found), len(missing))
    return {"seconds": time.monotonic() - started, **store.stats.as_dict()}


def postgres_cpu(datadir: Path) -> float:
    """CPU seconds of the embedded server: the postmaster's own, its ended backends' (which
    it reaped) and those still running."""
    pid = int((datadir / "postmaster.pid").read_text().split()[0])
    main = psutil.Process(pid)
    t = main.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for p in main.children(recursive=True):
        try:
            c = p.cpu_times()
            total += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return total


def one_round(server: str, label: str, layout_sql: str | None, args: argparse.Namespace):
    """A fresh national database, the store's layout, every district's asks."""
    uri = fresh_database(server, f"hotich_bench_store_{label}")
    engine = engine_for(uri)
    migrate(engine, Settings().sql_dir)
    engine.dispose()
    if layout_sql:
        with pg_connect(uri) as conn, conn.cursor() as cur:
            cur.execute(layout_sql)
    keys = district_ids(args.districts, args.ids, args.overlap)
    run_id = f"store-{label}-{dt.datetime.now():%H%M%S}"
    cpu0, t0 = postgres_cpu(OUT / "pg"), time.monotonic()
    with ProcessPoolExecutor(args.workers) as pool:
        futs = [
            pool.submit(one_district, uri, run_id, f"{i:03d}", ids) for i, ids in enumerate(keys)
        ]
        per = [f.result() for f in futs]
    wall, cpu = time.monotonic() - t0, postgres_cpu(OUT / "pg") - cpu0
    asked = sum(int(p["ids_asked"]) for p in per)
    return {"wall": wall, "pg_cpu": cpu, "asked": asked, "keys": sum(map(len, keys))}


def main() -> int:
    """Both rounds, then the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--districts", type=int, default=8)
    ap.add_argument("--ids", type=int, default=140_000, help="IDs of each district's own")
    ap.add_argument("--overlap", type=float, default=0.03)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    server = embedded.embedded_uri(OUT / "pg")
    before = load_average()
    rounds = {
        "before V014 (logged, fill factor 100)": one_round(server, "logged", BEFORE_V014, args),
        "V014 (unlogged, fill factor 50)": one_round(server, "unlogged", None, args),
    }
    rows = [("districts, IDs each (overlap)", f"{args.districts}, {args.ids:,} ({args.overlap:.0%})"),
            ("tasks at once", str(args.workers))]  # fmt: skip
    for label, r in rounds.items():
        rows += [
            (f"{label}: wall (s)", f"{r['wall']:.1f}"),
            (f"{label}: national database CPU (s)", f"{r['pg_cpu']:.1f}"),
            (f"{label}: IDs asked of the register / keys", f"{r['asked']:,} / {r['keys']:,}"),
        ]
    a, b = rounds.values()
    rows += [("wall, before / after", f"{a['wall'] / b['wall']:.2f}x"),
             ("national database CPU, before / after", f"{a['pg_cpu'] / b['pg_cpu']:.2f}x"),
             ("load average before / after", f"{before} / {load_average()}")]  # fmt: skip
    append(
        f"The register answer store on its own ({dt.date.today()}, 2 cores)",
        "`benchmarks/bench_register_store.py`: every district's `SharedRegister.batch_get` "
        "against a register that answers at once, so the time is the store's.",
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
