"""hotich_reconcile on the CeleryExecutor (Redis broker, two local workers, each with its own
working directory): district tasks run on both workers, and the ledger equals the one the
same stages write in one process over the same data (docs/scaling.md)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import date
from urllib.parse import quote

import pandas as pd
import pytest
import requests

from hotich import db
from hotich_dev import celeryenv
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, register_client, serve
from tests.dag.localenv_kit import bearer, free_port, localenv, token
from tests.integration.pipeline_kit import (
    birth,
    death,
    modern,
    query,
    run_context,
    run_districts,
    write_modern_sqlite,
)

pytestmark = pytest.mark.slow

REDIS_DB = 11  # flushed before and after; never database 0
DISTRICTS = ("901", "902", "903")
REGISTER = [person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa")]
# The rows of the ledger the contract scores (everything but the run and the time).
LEDGER = ("SELECT district_code, record_type, source_key, status, reasons, personal_id,"
          " content_hash FROM recon.verdict ORDER BY source_key")  # fmt: skip


def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("no Redis on 127.0.0.1:6379 (the Celery broker)")
    return client


def province(tmp_path) -> dict[str, str]:
    """Three small modern districts; their connections and districts file."""
    lines, env = ["districts:"], {}
    for n, code in enumerate(DISTRICTS):
        base = 100 * n
        env[f"AIRFLOW_CONN_DISTRICT_{code}"] = write_modern_sqlite(
            tmp_path / f"{code}.sqlite",
            births=[birth(base + 1, book=f"{code}-KS-2018-01", pid="027218000001" if n == 0 else None),
                    birth(base + 2, book=f"{code}-KS-2018-01", name=None),
                    birth(base + 3, book=f"{code}-KS-2018-01", name="Trần Thị Bình", sex="Nữ")],
            deaths=[death(base + 11)],
        )  # fmt: skip
        lines.append(
            f"  - {{code: '{code}', name: 'Huyện {code}', flavor: modern, conn_id: district_{code}}}"
        )
    (tmp_path / "districts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env["HOTICH_DISTRICTS_FILE"] = str(tmp_path / "districts.yaml")
    return env


def wait_for_run(url: str, headers: dict[str, str], run_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = requests.get(
            f"{url}/api/v2/dags/hotich_reconcile/dagRuns/{run_id}", headers=headers, timeout=30
        )
        state = r.json().get("state") if r.status_code == 200 else None
        if state in ("success", "failed"):
            return state
        time.sleep(2)
    return "timeout"


def test_district_tasks_run_on_both_celery_workers_and_the_ledger_is_the_local_one(
    tmp_path, embedded_pg
):
    broker = redis_client()
    broker.flushdb()
    tag = uuid.uuid4().hex[:8]
    meta = db.ensure_database(embedded_pg, f"airflow_c{tag}")
    national_celery = db.ensure_database(embedded_pg, f"national_c{tag}")
    national_local = db.ensure_database(embedded_pg, f"national_l{tag}")
    port = free_port()
    with serve(RegisterIndex(load_register(pd.DataFrame(REGISTER)))) as server:
        common = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            **province(tmp_path),
            "AIRFLOW_CONN_POPULATION_API": "http://"
            f"{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}@{server.base_url.removeprefix('http://')}",
            "HOTICH_TASK_RETRIES": "0",
        }
        home = tmp_path / "airflow-celery"
        env = celeryenv.celery_env({
            **common,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national_celery,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "HOTICH_DATA_DIR": str(tmp_path / "shared-data"),
            "HOTICH_WORK_STORAGE": f"file://{tmp_path / 'work-storage'}",  # decision 0018
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # Only the run triggered below: unpaused, the DAG would also make today's 01:00
            # run, which would compete with it for the two one-slot workers. The weekly
            # hotich_rereconcile, unpaused too, makes its latest run beside it: its plan
            # step must leave the districts this run holds alone (test_workfiles.py).
            "HOTICH_RECONCILE_SCHEDULE": "off",
        })  # fmt: skip
        try:
            celeryenv.up(env, workers=2, concurrency=1)
            url = env["AIRFLOW__API__BASE_URL"]
            headers = bearer(token(url, home, "admin"))
            deadline = time.monotonic() + 120
            while (
                requests.get(
                    f"{url}/api/v2/dags/hotich_reconcile", headers=headers, timeout=30
                ).status_code
                != 200
            ):
                assert time.monotonic() < deadline, (
                    "the dag-processor did not parse hotich_reconcile"
                )
                time.sleep(1)
            r = requests.post(f"{url}/api/v2/dags/hotich_reconcile/dagRuns", headers=headers,
                              json={"logical_date": None}, timeout=30)  # fmt: skip
            assert r.status_code == 200, r.text
            run_id = r.json()["dag_run_id"]
            state = wait_for_run(url, headers, run_id, 300)
            logs = "\n".join(
                p.read_text(errors="replace")[-3000:] for p in sorted((home / "logs").glob("*.log"))
            )
            assert state == "success", logs
            hosts = query(meta, "SELECT task_id, map_index, hostname, state FROM task_instance"
                                " WHERE run_id = :r AND task_id LIKE 'district.%'", r=run_id)  # fmt: skip
            assert len(hosts) == 4 * len(DISTRICTS) and {s for *_, s in hosts} == {"success"}, hosts
            assert {h for _, _, h, _ in hosts} == {"w1", "w2"}, hosts
        finally:
            stopped = localenv("down", env)
            broker.flushdb()
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        # Each worker worked in its own folder: nothing of the run's was written there.
        for w in ("w1", "w2"):
            assert not any((home / "workers" / w).iterdir()), w
        celery_ledger = query(national_celery, LEDGER)

    # The same data through the stages in this process, as the LocalExecutor's tasks run
    # them (tests/integration/pipeline_kit.run_districts): the ledger must be the same.
    uris = {f"district_{code}": common[f"AIRFLOW_CONN_DISTRICT_{code}"] for code in DISTRICTS}
    ctx = run_context(national_local, tmp_path / "local-data", run_id)
    with register_client(REGISTER) as register:
        outcomes = run_districts(ctx, [modern(code) for code in DISTRICTS], uris, register)
    assert not [o for o in outcomes.values() if isinstance(o, Exception)], outcomes
    local_ledger = query(national_local, LEDGER)
    assert len(celery_ledger) == 4 * len(DISTRICTS)
    assert celery_ledger == local_ledger
