"""The late-run deadline for real: Airflow's scheduler evaluates hotich_reconcile's
``DeadlineAlert`` and its triggerer runs the callback (``hotich.airflow.callbacks.late_run``),
which opens a run-wide ``late_run`` incident in the national database and posts it to the
alerts webhook on loopback. ``dags test`` evaluates no deadline: this starts ``make up``'s
services (scheduler, triggerer, dag-processor, api-server). The deadline is made short by
the campaign file (``late_run_by`` at the schedule's own 01:00: the deadline is the run's
logical date), and the run is kept from finishing by a district whose source is missing."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
import requests

from hotich import db
from hotich.config import Settings
from hotich.migrate import migrate
from tests.dag.localenv_kit import bearer, free_port, localenv, stop_and_check, token
from tests.integration.pipeline_kit import query
from tests.oncall_kit import webhook_server

pytestmark = pytest.mark.slow


def test_the_deadline_alert_opens_a_late_run_incident(tmp_path, embedded_pg):
    tag = uuid.uuid4().hex[:8]
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    engine = db.engine_for(national)
    migrate(engine, Settings().sql_dir)
    engine.dispose()
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text("campaign:\n  name: C\n  late_run_by: '01:00'\n"
                        "  phases:\n    - {name: P, target_entries: 5}\n", encoding="utf-8")  # fmt: skip
    districts = tmp_path / "districts.yaml"
    districts.write_text("districts:\n  - {code: '901', name: 'Một', flavor: modern, conn_id: district_901}\n",
                         encoding="utf-8")  # fmt: skip
    home, port = tmp_path / "airflow", free_port()
    with webhook_server() as hook:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(
                db.ensure_database(embedded_pg, f"airflow_{tag}")
            ),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_HOTICH_ALERTS": hook.url,
            "AIRFLOW_CONN_DISTRICT_901": f"sqlite:///{tmp_path / 'missing.sqlite'}",
            "HOTICH_CAMPAIGN_FILE": str(campaign),
            "HOTICH_DISTRICTS_FILE": str(districts),
            "HOTICH_DATA_DIR": str(tmp_path / "data"),
            "HOTICH_PGDATA": str(tmp_path / "no-embedded-pg"),
            "HOTICH_TASK_RETRIES": "0",
        }
        started = localenv("up", env)
        url = f"http://127.0.0.1:{port}"
        try:
            assert started.returncode == 0, started.stdout + started.stderr
            auth = bearer(token(url, home, "admin"))
            dag = f"{url}/api/v2/dags/hotich_reconcile"
            for _ in range(120):  # the dag-processor parses the DAG
                if requests.get(dag, headers=auth, timeout=10).status_code == 200:
                    break
                time.sleep(1)
            run_id = f"late_{tag}"
            created = requests.post(f"{dag}/dagRuns", headers=auth, timeout=30, json={
                "dag_run_id": run_id, "logical_date": dt.datetime.now(dt.UTC).isoformat()})  # fmt: skip
            assert created.status_code == 200, created.text
            assert requests.patch(dag, headers=auth, json={"is_paused": False},
                                  timeout=30).status_code == 200  # fmt: skip
            opened: list[tuple] = []
            for _ in range(120):
                opened = query(national, "SELECT district_code, severity, state, run_ids"
                                         " FROM ops.incident WHERE kind = 'late_run'")  # fmt: skip
                if opened and hook.received:
                    break
                time.sleep(1)
            # Unpausing also lets the scheduler create today's 01:00 run (its deadline
            # passed too): one incident, for the run-wide kind, naming our run.
            assert [r[:3] for r in opened] == [(None, "medium", "open")]
            assert run_id in opened[0][3]
            assert [(m["event"], m["kind"]) for m in hook.received] == [("opened", "late_run")]
            assert "not finished by its deadline" in hook.received[0]["text"]
        finally:
            stop_and_check(env, home)
