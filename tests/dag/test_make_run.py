"""``make run`` for real (``python -m hotich_dev.run``), interrupted and run twice at once.

While a run hangs in reconcile (the register answers nothing), holding district 901's
lease, a second ``make run`` skips the district and succeeds without writing anything.
SIGTERM then ends the first: its Airflow run is failed, with its unfinished tasks, and
its lease given back. A third is killed with SIGKILL, process group and all, so nothing
can clean up: the next ``make run`` fails the run it left behind, gives back its lease,
and completes, loading every record once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from urllib.parse import quote

import pandas as pd
import pytest

from hotich import db
from hotich_dev.runguard import MARKER
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, serve
from tests.conftest import REPO
from tests.integration.pipeline_kit import birth, death, marriage, query, write_modern_sqlite

pytestmark = pytest.mark.slow

REGISTER = [person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa")]
RECORDS = ["901:birth:1", "901:birth:2", "901:death:11", "901:marriage:21"]
WAIT_S = 240  # for a make run to reach the register (Airflow's start, extract, validate)


def make_run(env: dict[str, str]) -> subprocess.Popen:
    """``make run`` in its own process group (so that a test can kill the whole group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hotich_dev.run"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_until_asking(proc: subprocess.Popen, admitted, seen: int) -> None:
    """Until the run's reconcile has sent the register a request (bounded)."""
    deadline = time.monotonic() + WAIT_S
    while len(admitted) <= seen:
        if proc.poll() is not None:
            pytest.fail(f"make run ended before reconcile: {proc.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"make run did not reach the register within {WAIT_S} s")
        time.sleep(0.2)


def runs(meta: str) -> dict[int, tuple[str, str]]:
    """make run's pid -> (run id, state), from Airflow's metadata database."""
    rows = query(meta, "SELECT run_id, state, conf FROM dag_run ORDER BY id")
    return {conf[MARKER]["pid"]: (run_id, state) for run_id, state, conf in rows}


def unfinished_tasks(meta: str, run_id: str) -> list[tuple]:
    return query(meta, "SELECT task_id, state FROM task_instance WHERE run_id = :r AND"
                       " (state IS NULL OR state NOT IN ('success', 'failed', 'skipped',"
                       " 'upstream_failed', 'removed'))", r=run_id)  # fmt: skip


def test_interrupted_make_runs_end_failed_and_the_next_run_loads_every_record_once(
    tmp_path, embedded_pg
):
    src = write_modern_sqlite(
        tmp_path / "901.sqlite",
        births=[birth(1, pid="027218000001"), birth(2, name=None)],
        deaths=[death(11)],
        marriages=[marriage(21)],
    )
    districts = tmp_path / "districts.yaml"
    districts.write_text(
        "districts:\n  - {code: '901', name: 'Một', flavor: modern, conn_id: district_901}\n",
        encoding="utf-8",
    )
    tag = uuid.uuid4().hex[:8]
    meta = db.ensure_database(embedded_pg, f"airflow_{tag}")
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    with serve(RegisterIndex(load_register(pd.DataFrame(REGISTER)))) as server:
        simulator = server.app.state.simulator
        admitted = simulator.stats.admitted
        # The register answers nothing within the client's 30 s timeout: reconcile retries.
        simulator.configure({"latency_ms": 35_000})
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_POPULATION_API": "http://"
            f"{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}@{server.base_url.removeprefix('http://')}",
            "AIRFLOW_CONN_DISTRICT_901": src,
            "HOTICH_DISTRICTS_FILE": str(districts),
            "HOTICH_DATA_DIR": str(tmp_path / "data"),
            "HOTICH_TASK_RETRIES": "0",
        }
        leases = "SELECT district_code, run_id FROM recon.district_lease"

        # 1. A make run hangs in reconcile, holding district 901.
        first = make_run(env)
        wait_until_asking(first, admitted, 0)
        run_1 = runs(meta)[first.pid][0]
        assert query(national, leases) == [("901", run_1)]

        # 2. Another make run meanwhile: it skips 901, says who holds it, and succeeds.
        second = subprocess.run([sys.executable, "-m", "hotich_dev.run"], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        log = second.stdout + second.stderr
        assert second.returncode == 0, log[-3000:]
        assert f"district 901: skipped: held by run {run_1} since " in log
        assert query(national, "SELECT count(*) FROM recon.verdict") == [(0,)]

        # 3. SIGTERM to the first: its run ends failed, its lease is given back.
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=120)
        assert first.returncode == 128 + signal.SIGTERM, out[-3000:]
        assert f"make run: run {run_1} was running (make run pid {first.pid}): marked failed" in out
        assert "leases given back: 901" in out
        assert runs(meta)[first.pid] == (run_1, "failed")
        assert unfinished_tasks(meta, run_1) == []
        assert query(national, leases) == []

        # 4. SIGKILL to a third one's whole process group: nothing can clean up.
        third = make_run(env)
        wait_until_asking(third, admitted, len(admitted))
        run_3 = runs(meta)[third.pid][0]
        os.killpg(third.pid, signal.SIGKILL)
        third.communicate(timeout=60)
        assert runs(meta)[third.pid] == (run_3, "running")
        assert query(national, leases) == [("901", run_3)]

        # 5. The next make run fails what the killed one left behind, then completes.
        simulator.configure({"latency_ms": 0})
        fourth = subprocess.run([sys.executable, "-m", "hotich_dev.run"], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        log = fourth.stdout + fourth.stderr
        assert fourth.returncode == 0, log[-3000:]
        orphan_lines = [line for line in log.splitlines() if "marked failed" in line]
        assert len(orphan_lines) == 1, log[-3000:]
        assert re.fullmatch(
            rf"make run: run {re.escape(run_3)} was running \(make run pid {third.pid}\): marked"
            r" failed, left behind by a make run that is gone; [1-9]\d* unfinished task"
            r" instances failed; leases given back: 901",
            orphan_lines[0],
        ), orphan_lines
        assert runs(meta)[third.pid] == (run_3, "failed")
        assert unfinished_tasks(meta, run_3) == []
    (run_4, state), *_ = query(meta, "SELECT run_id, state FROM dag_run ORDER BY id DESC")
    assert state == "success"
    ledger = query(national, "SELECT source_key, run_id FROM recon.ledger ORDER BY source_key")
    assert ledger == [(key, run_4) for key in RECORDS]  # every record once, by the last run
    assert query(national, leases) == []
