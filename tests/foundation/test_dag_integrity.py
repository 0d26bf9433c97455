"""Every DAG file imports cleanly, without touching a database or the network, and without
the heavy libraries only a task's work needs (the DAG processor parses the files again and
again: what they import is what its parse time is made of)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

PROBE = r"""
import json, socket, sys, time
calls = []
def refuse(*a, **k):
    calls.append(repr(a[:1]))
    raise OSError("network or database call at DAG import time")
socket.socket.connect = refuse
socket.create_connection = refuse
import psycopg2
psycopg2.connect = refuse
from airflow.dag_processing.dagbag import DagBag
t0 = time.monotonic()
bag = DagBag(dag_folder=sys.argv[1])
took = time.monotonic() - t0
heavy = sorted(m for m in ("great_expectations", "matplotlib", "openpyxl", "fastapi") if m in sys.modules)
dags = {
    d.dag_id: {
        "owners": sorted({t.owner for t in d.tasks}),
        "retries": sorted({t.retries for t in d.tasks}),
        "tags": sorted(d.tags or []),
        "doc_md": bool(d.doc_md),
        "tasks": len(d.tasks),
    }
    for d in bag.dags.values()
}
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "took": took, "heavy": heavy, "dags": dags, "calls": calls}))
"""


def _import_dags() -> dict:
    env = {
        **os.environ,
        "HOTICH_TASK_RETRIES": "3",
        "AIRFLOW_HOME": str(REPO / ".airflow-test"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dags_import_cleanly_light_and_offline():
    result = _import_dags()
    assert result["errors"] == {}
    assert result["calls"] == [], "a DAG file called the network or a database at import"
    # Not a timing assertion (a loaded machine makes any bound flaky): the imports it is made of.
    assert result["heavy"] == [], f"DAG files import {result['heavy']} ({result['took']:.2f} s)"
    assert {"hotich_reconcile", "hotich_rereconcile"} <= set(result["dags"])
    for dag_id, d in result["dags"].items():
        assert d["owners"] and "airflow" not in d["owners"], f"{dag_id} has no owner"
        assert min(d["retries"]) >= 1, f"{dag_id} has tasks without retries"
        assert d["tags"], f"{dag_id} has no tags"
        assert d["doc_md"], f"{dag_id} has no doc_md"


def test_daily_dag_schedule_and_mapping():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    dag = bag.dags["hotich_reconcile"]
    assert dag.timetable.expression == "0 1 * * *"
    assert str(dag.timetable.timezone) == "Asia/Ho_Chi_Minh"
    assert dag.catchup is False and dag.max_active_runs == 1
    # A run left behind is failed by the scheduler instead of blocking the next (6 h default).
    assert dag.dagrun_timeout is not None and dag.dagrun_timeout.total_seconds() == 6 * 3600
    ids = set(dag.task_ids)
    assert {
        "plan_districts",
        "district.extract",
        "district.validate",
        "district.reconcile",
        "district.load",
        "report",
    } <= ids
