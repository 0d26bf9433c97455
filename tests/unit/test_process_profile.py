"""The benchmarks' profile (benchmarks/process_profile.py): py-spy's raw stacks summed per
function and per process kind, and the CPU ledger of a real child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from process_profile import (  # noqa: E402
    CpuLedger,
    PgActivity,
    kind_of,
    statement_label,
    top_functions,
)

RAW = (
    'process 7:"python -c from multiprocessing.forkserver import main; main(4)";'
    'process 9:"airflow worker -- 01a2-ti";'
    "_run_worker (airflow/executors/local_executor.py:90);"
    "load (hotich/airflow/tasks.py:200);copy_frame (hotich/load.py:252);"
    "CSVFormatter._save_chunk (pandas/io/formats/csvs.py:318) 30\n"
    'process 9:"airflow worker -- 01a2-ti";load (hotich/airflow/tasks.py:200) 10\n'
    'process 3:"/venv/bin/python -m airflow scheduler";'
    "SchedulerJobRunner._do_scheduling (airflow/jobs/scheduler_job_runner.py:1938) 20\n"
)


def test_top_functions_per_function_and_process(tmp_path: Path) -> None:
    raw = tmp_path / "py-spy.raw"
    raw.write_text(RAW)
    inclusive, own, processes = top_functions(raw, rate=10)
    assert dict(processes) == {"task process": 4.0, "scheduler": 2.0}
    assert dict(inclusive)["load (hotich/airflow/tasks.py)"] == 4.0
    assert dict(inclusive)["copy_frame (hotich/load.py)"] == 3.0
    assert not any("local_executor" in f or "process" in f for f, _ in inclusive)  # plumbing
    assert own[0] == ("CSVFormatter._save_chunk (pandas/io/formats/csvs.py)", 3.0)


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("airflow worker -- LocalExecutor: 01a2", "executor worker (task supervisor)"),
        ("airflow worker -- 01a2-33", "task process"),
        ('python -c from multiprocessing.forkserver import main; main("/x/run-scheduler/")',
         "fork server"),
        ("/venv/bin/python -m airflow scheduler", "scheduler"),
        ("postgres: hotich civil_status 127.0.0.1(5) COPY", "PostgreSQL: the national database"),
        ("postgres: postgres airflow_x 127.0.0.1(5) idle", "PostgreSQL: Airflow's metadata database"),
        ("postgres: 15/main: u src_901 127.0.0.1(5) idle", "PostgreSQL: other databases (district sources)"),
        ("postgres: 15/main: checkpointer", "PostgreSQL"),
        ("postgres: io worker 0", "PostgreSQL"),
    ],
)  # fmt: skip
def test_kind_of(title: str, kind: str) -> None:
    assert kind_of(title) == kind


def test_cpu_ledger_counts_a_child_that_has_ended() -> None:
    with CpuLedger(interval_s=0.1) as ledger:
        subprocess.run(
            [sys.executable, "-c", "import time\nt = time.process_time()\n"
             "while time.process_time() - t < 0.6: pass\ntime.sleep(0.3)"],
            check=True, timeout=60,
        )  # fmt: skip
    assert ledger.per_kind().get("other", 0.0) >= 0.4


def test_cpu_ledger_keeps_each_kinds_largest_resident_set() -> None:
    """A child that holds 200 MB for a while is seen at that size at some poll."""
    with CpuLedger(interval_s=0.1) as ledger:
        subprocess.run(
            [sys.executable, "-c", "import time; b = bytearray(200 * 2**20); time.sleep(0.6)"],
            check=True, timeout=60,
        )  # fmt: skip
    assert ledger.peak_rss_per_kind().get("other", 0) >= 200 * 2**20


def test_statement_label_drops_comments_and_collapses_whitespace() -> None:
    query = "-- One load.\n-- Parameters: run_id.\nDELETE FROM civil.person p\n   USING s -- why\nWHERE 1;"
    assert statement_label(query) == "DELETE FROM civil.person p USING s WHERE 1;"
    assert statement_label("SELECT " + "x, " * 100, width=20) == "SELECT x, x, x, x, x"
    assert statement_label("-- only a comment") == "(empty)"


def test_pg_activity_sees_a_busy_backend(external_pg: str) -> None:
    import psycopg2

    with PgActivity((external_pg,), interval_s=0.05) as activity:
        with psycopg2.connect(external_pg) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.6)")
    busy = dict(activity.top())
    key = next(k for k in busy if k.endswith("SELECT pg_sleep(0.6)"))
    assert "PgSleep" in key and busy[key] >= 0.3
