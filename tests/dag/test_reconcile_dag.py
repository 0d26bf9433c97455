"""The daily DAG run for real (``airflow dags test``): mapped districts, one of them down.

A district whose source is unreachable fails its own tasks while the others load; the
report fails the run naming it; once it is back, the next run completes it and reads
nothing of the others twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from urllib.parse import quote

import pandas as pd
import pytest

from hotich import db
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, serve
from tests.conftest import REPO
from tests.integration.pipeline_kit import birth, death, marriage, query, write_modern_sqlite
from tests.oncall_kit import smtp_server, webhook_server

pytestmark = pytest.mark.slow

REGISTER = [
    person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa"),
    person("027050000003", "Đỗ Đức Độ", "Nam", date(1950, 3, 3), dead=date(2019, 4, 30)),
]


# Airflow's own api-server app, with the plugins it finds: the dashboard must be mounted.
# Logged in as the local Airflow's admin (hotich's pages are behind Airflow's login).
PLUGIN_PROBE = """
import json, os, pathlib
from fastapi.testclient import TestClient
from airflow.api_fastapi.app import create_app
client = TestClient(create_app())
home = pathlib.Path(os.environ["AIRFLOW_HOME"])
password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
jwt = client.post("/auth/token", json={"username": "admin", "password": password}).json()["access_token"]
anonymous = [client.get(p).status_code for p in ("/hotich/api/progress", "/hotich/incidents")]
client.headers["Authorization"] = "Bearer " + jwt
r, page = client.get("/hotich/api/progress"), client.get("/hotich/")
incidents = client.get("/hotich/api/incidents")
print("PROBE " + json.dumps({"status": r.status_code, "body": r.json(), "page": page.status_code,
                             "anonymous": anonymous, "incidents": incidents.json()}))
"""


@contextmanager
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """An alerts webhook on 127.0.0.1: its URL, and the JSON bodies it received."""
    with webhook_server() as hook:
        yield hook.url, hook.received


def airflow_dags_test(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hotich_dev.localenv",
            "airflow",
            "dags",
            "test",
            "hotich_reconcile",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_daily_dag_end_to_end_with_a_district_down(tmp_path, embedded_pg):
    """Four real runs: district 905 down for two of them (its incident opens, repeats, then
    closes when it is back), then the national database down (incidents sent unrecorded)."""
    src = write_modern_sqlite(
        tmp_path / "901.sqlite",
        births=[birth(1, pid="027218000001"), birth(2, name=None)],
        deaths=[death(11)],
        marriages=[marriage(21)],
    )
    districts = tmp_path / "districts.yaml"
    districts.write_text(
        "districts:\n"
        "  - {code: '901', name: 'Một', flavor: modern, conn_id: district_901}\n"
        "  - {code: '905', name: 'Năm', flavor: modern, conn_id: district_905}\n",
        encoding="utf-8",
    )
    tag = uuid.uuid4().hex[:8]
    meta = db.ensure_database(embedded_pg, f"airflow_{tag}")
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    index = RegisterIndex(load_register(pd.DataFrame(REGISTER)))
    with serve(index) as server, webhook_server() as hook, smtp_server() as mailbox:
        host = server.base_url.removeprefix("http://")
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_POPULATION_API": f"http://{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}@{host}",
            "AIRFLOW_CONN_DISTRICT_901": src,
            "AIRFLOW_CONN_DISTRICT_905": "mysql://root:@127.0.0.1:1/down",
            "HOTICH_DISTRICTS_FILE": str(districts),
            "HOTICH_DATA_DIR": str(tmp_path / "data"),
            "HOTICH_TASK_RETRIES": "0",
            "AIRFLOW_CONN_HOTICH_ALERTS": hook.url,
            "AIRFLOW_CONN_HOTICH_SMTP": mailbox.connection_uri(),
            "HOTICH_ALERTS_EMAIL_TO": "oncall@sotttt.test",
        }
        # Run 1: 905 is down, and the webhook fails (HTTP 500) all along.
        hook.answer = 500
        first = airflow_dags_test(env)
        log = first.stdout + first.stderr
        assert first.returncode != 0, "a run with a district down must fail"
        assert "districts that did not finish this run" in log and "905" in log
        rows = query(national, "SELECT source_key, status FROM recon.ledger ORDER BY source_key")
        assert rows == [
            ("901:birth:1", "loaded"),
            ("901:birth:2", "quarantined"),
            ("901:death:11", "loaded"),
            ("901:marriage:21", "loaded"),
        ]
        # No full personal ID reaches the task logs.
        assert "027218000001" not in log
        # The failing webhook failed no task: only 905's extract (its source) and the
        # report (naming 905) failed; everything of 901 succeeded.
        states = dict(query(meta, "SELECT task_id || coalesce(' ' || rendered_map_index, ''), state"
                                  " FROM task_instance"))  # fmt: skip
        assert {t for t, st in states.items() if st == "failed"} == {
            "district.extract 905 Năm", "report"}  # fmt: skip
        assert [st for t, st in states.items() if "901" in t] == ["success"] * 4
        assert "the webhook channel did not take the opened message" in log
        assert hook.received == []
        # The person on call got two incidents by email: the district's source, then the run,
        # and between them the report's digest of what is still open.
        assert [m["Subject"].split(" / ")[0] for m in mailbox.messages] == [
            "[hotich] OPENED (medium) district 905: district source cannot be read",
            "[hotich] DIGEST: 1 incident(s) still open",
            "[hotich] OPENED (low) the run: districts did not finish this run",
        ]
        assert mailbox.recipients == [["oncall@sotttt.test"]] * 3
        assert "không đọc được nguồn dữ liệu của huyện" in mailbox.bodies()[1]
        assert "127.0.0.1:1/down" in mailbox.bodies()[0]
        opened = query(national, "SELECT kind, district_code, state, occurrences, stages FROM"
                                 " ops.incident ORDER BY incident_id")  # fmt: skip
        assert opened == [
            ("district_source_down", "905", "open", 1, ["hotich_reconcile:district.extract"]),
            ("run_incomplete", None, "open", 1, ["hotich_reconcile:report"]),
        ]
        # District 901's registrations are an Asset updated by its committed load; 905,
        # whose load never ran, emitted nothing.
        events = query(meta, "SELECT a.name, e.extra FROM asset_event e JOIN asset a"
                             " ON a.id = e.asset_id ORDER BY e.id")  # fmt: skip
        assert [(n, x["loaded"]) for n, x in events] == [("hotich_registrations_901", 3)]
        # In the UI, each mapped district task is labelled with its district, not a number.
        labels = query(meta, "SELECT DISTINCT rendered_map_index FROM task_instance"
                             " WHERE task_id = 'district.extract' ORDER BY 1")  # fmt: skip
        assert labels == [("901 Một",), ("905 Năm",)]

        # Run 2: 905 still down, the webhook answers again. The repeats tell nobody, but
        # the first repeat sends the two openings the webhook did not take in run 1.
        hook.answer = 204
        second = airflow_dags_test(env)
        assert second.returncode != 0
        assert [(i["event"], i.get("kind"), i.get("district"), i.get("task_id"))
                for i in hook.received] == [
            ("opened", "district_source_down", "905", "district.extract"),
            ("opened", "run_incomplete", None, "report"),
            ("digest", None, None, None),
        ]  # fmt: skip
        assert [(i["kind"], i["district"], i["runs"]) for i in hook.received[2]["open"]] == [
            ("district_source_down", "905", 2)]  # fmt: skip
        down = hook.received[0]
        assert down["text"].startswith(
            "[hotich] district 905: district source cannot be read; district.extract"
        )
        assert "127.0.0.1:1/down" in down["error"] and down["runbook"] == "docs/reliability.md"
        assert "905" in hook.received[1]["error"]
        assert len(mailbox.messages) == 4  # and the day's digest
        assert query(national, "SELECT occurrences, cardinality(run_ids), state FROM ops.incident"
                               " ORDER BY incident_id") == [(2, 2, "open")] * 2  # fmt: skip
        hook.received.clear()

        # Run 3: 905 comes back (empty), 901 unchanged: the run completes, and both
        # incidents close, each told once per channel with how long it was open; nothing
        # is left open, so no digest.
        write_modern_sqlite(tmp_path / "905.sqlite")
        env["AIRFLOW_CONN_DISTRICT_905"] = f"sqlite:///{tmp_path / '905.sqlite'}"
        third = airflow_dags_test(env)
        assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
        assert [(i["event"], i["kind"], i["task_id"]) for i in hook.received] == [
            ("closed", "district_source_down", "hotich_reconcile:district.extract"),
            ("closed", "run_incomplete", "hotich_reconcile:report"),
        ]
        assert hook.received[0]["open_for_s"] > 0 and hook.received[0]["occurrences"] == 2
        assert [m["Subject"].split(" / ")[0] for m in mailbox.messages[4:]] == [
            "[hotich] CLOSED (medium) district 905: district source cannot be read",
            "[hotich] CLOSED (low) the run: districts did not finish this run",
        ]
        closed = query(national, "SELECT state, open_for > interval '0', cardinality(run_ids),"
                                 " closed_by_run = run_ids[2] FROM ops.incident")  # fmt: skip
        assert closed[0][:3] == ("closed", True, 2) and not closed[0][3]
        assert query(national, "SELECT count(*) FILTER (WHERE delivered_at IS NULL), count(*)"
                               " FROM ops.incident_notice") == [(0, 8)]  # fmt: skip
        runs = query(national, "SELECT run_id, count(*) FROM recon.ledger GROUP BY run_id")
        assert len(runs) == 1, "a later run re-read records of the first"
        summary = query(national, "SELECT run_id, district_code, extracted FROM recon.run_summary")
        later = {r[0] for r in summary} - {r[0] for r in runs}
        assert sorted((d, n) for r, d, n in summary if r in later and d == "901") == [
            ("901", 0), ("901", 0)]  # fmt: skip
        # Loads that committed nothing loaded (901 unchanged, 905 empty) update no Asset.
        assert len(query(meta, "SELECT id FROM asset_event")) == 1
        hook.received.clear()

        # The campaign dashboard, mounted in Airflow's api-server by the plugin.
        probe = subprocess.run([sys.executable, "-m", "hotich_dev.localenv", sys.executable, "-c", PLUGIN_PROBE],
                               env=env, cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
        line = next((x for x in probe.stdout.splitlines() if x.startswith("PROBE ")), None)
        assert line, probe.stdout[-2000:] + probe.stderr[-2000:]
        seen = json.loads(line.removeprefix("PROBE "))
        assert (seen["anonymous"], seen["status"], seen["page"]) == ([401, 401], 200, 200), seen
        assert [(i["kind"], i["state"]) for i in seen["incidents"]] == [
            ("district_source_down", "closed"), ("run_incomplete", "closed")]  # fmt: skip
        assert seen["body"]["totals"] == {"records": 4, "loaded": 3, "review": 0, "quarantined": 1}
        assert [d["district_code"] for d in seen["body"]["districts"]] == ["901", "905"]

        # Run 4: the national database goes away: the run fails with its own incident,
        # sent as it is (it cannot be recorded), and the report says no district was
        # planned instead of crashing on a missing plan.
        env["AIRFLOW_CONN_CIVIL_STATUS_DB"] = "postgresql://postgres:pw@127.0.0.1:9/civil_status"
        fourth = airflow_dags_test(env)
        log = fourth.stdout + fourth.stderr
        assert fourth.returncode != 0
        assert "TypeError" not in log
        assert [(i["kind"], i["task_id"], i["incident_id"]) for i in hook.received] == [
            ("national_database_down", "plan_districts", None),
            ("run_incomplete", "report", None),
        ]
        assert (
            "127.0.0.1:9" in hook.received[0]["error"] and ":pw@" not in hook.received[0]["error"]
        )
        assert "plan_districts failed" in hook.received[1]["error"]
        assert len(mailbox.messages) == 8
