"""``make demo``: a synthetic province through the daily DAG, end to end, with a summary.

1. starts the embedded PostgreSQL and generates a small synthetic Bắc Ninh in
   ``data/demo/`` (modern districts in PostgreSQL and SQLite, a legacy table, a workbook
   inbox, the population register and the ground truth);
2. serves the register simulator on 127.0.0.1;
3. runs ``hotich_reconcile`` with ``airflow dags test`` into a fresh national database
   (``civil_status_demo``), then a second time to show that nothing is read twice;
4. prints the ledger per district and how it agrees with the ground truth.

``HOTICH_DEMO_SCALE`` (default 0.01, about 11,000 records) and ``HOTICH_DEMO_SEED`` tune it.
"""

from __future__ import annotations

import os
import sys
import time

import pandas as pd
from sqlalchemy import text

from hotich import db
from hotich.config import Settings
from hotich.markdown import markdown_table
from hotich.ops.progress import read_progress, render_text
from hotich_dev import PROJECT_ROOT, embedded
from hotich_dev.accuracy import read_ledger, score
from hotich_dev.run import read_env_file, register_simulator, run_dag

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEMO_DB = "civil_status_demo"


def fresh_database(server_uri: str, name: str) -> str:
    """Drop and create a database on the embedded server; return its URI."""
    engine = db.engine_for(server_uri, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
    return db.ensure_database(server_uri, name)


def ledger_table(ledger: pd.DataFrame) -> str:
    """Records per district and status, as Markdown."""
    pivot = ledger.pivot_table(
        index="district_code", columns="status", values="source_key", aggfunc="count", fill_value=0
    )
    for col in ("loaded", "review", "quarantined"):
        if col not in pivot:
            pivot[col] = 0
    pivot["total"] = pivot[["loaded", "review", "quarantined"]].sum(axis=1)
    pivot.loc["all"] = pivot.sum()
    columns = ["loaded", "review", "quarantined", "total"]
    return markdown_table(
        ["district", *columns],
        ([code, *(r[c] for c in columns)] for code, r in pivot.iterrows()),
    )


def main() -> int:
    """Entry point of ``make demo``."""
    from hotich_dev.synth.province import generate

    scale = float(os.environ.get("HOTICH_DEMO_SCALE", "0.01"))
    seed = int(os.environ.get("HOTICH_DEMO_SEED", "7"))
    server = embedded.embedded_uri()
    t0 = time.monotonic()
    print(f"[demo] generating a synthetic province (scale {scale}, seed {seed}) into {DEMO_DIR}")
    generate(scale=scale, seed=seed, out=DEMO_DIR, pg_url=server)
    national = fresh_database(server, DEMO_DB)
    env = {
        **os.environ,
        **read_env_file(DEMO_DIR / "connections.env"),
        "HOTICH_DISTRICTS_FILE": str(DEMO_DIR / "districts.yaml"),
        "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
        "HOTICH_DATA_DIR": str(DEMO_DIR / "work"),
    }
    with register_simulator(DEMO_DIR / "register.parquet") as register_uri:
        env["AIRFLOW_CONN_POPULATION_API"] = register_uri
        logs = DEMO_DIR / "work"
        print(f"[demo] running hotich_reconcile (airflow dags test; log: {logs / 'run-1.log'}) ...")
        first = run_dag(env, logs / "run-1.log")
        print(
            f"[demo] running it again: a second run reads nothing twice (log: {logs / 'run-2.log'}) ..."
        )
        second = run_dag(env, logs / "run-2.log")
    conn = db.pg_connect(national)
    try:
        ledger = read_ledger(conn)
    finally:
        conn.close()
    runs = ledger.groupby("run_id")["processed_at"].min().sort_values().index.tolist()
    truth = pd.read_parquet(DEMO_DIR / "truth.parquet")
    print("\n== hotich demo ==")
    print(
        f"first run {'succeeded' if first == 0 else 'FAILED'}; second run "
        f"{'succeeded' if second == 0 else 'FAILED'} in {time.monotonic() - t0:.0f} s in all\n"
    )
    if runs:
        first_run = ledger[ledger["run_id"] == runs[0]]
        print(ledger_table(first_run))
        print(f"\nsecond run: {len(ledger) - len(first_run)} records new or changed (expected 0)\n")
        print("agreement with the generator's ground truth:\n")
        print(score(first_run, truth).table())
        # What the campaign's managers see (make progress, or /hotich/ in the Airflow UI).
        settings = Settings.from_env(
            {**os.environ, "HOTICH_DISTRICTS_FILE": str(DEMO_DIR / "districts.yaml")}
        )
        print("\ncampaign progress (a small synthetic province against the real targets):\n")
        print(render_text(read_progress(national, settings)))
    print(f"\nnational database: {db.masked(national)} (recon.ledger, civil.*)")
    print(f"run reports and GX validation results: {DEMO_DIR / 'work' / 'runs'}")
    print(
        f"explore it in the Airflow UI, the campaign dashboard at /hotich/ included:"
        f" HOTICH_NATIONAL_DB={DEMO_DB} make up"
    )
    return 0 if first == 0 and second == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
