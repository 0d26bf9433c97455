"""Personal data and secrets in what a real run leaves behind.

One ``airflow dags test`` of ``hotich_reconcile`` over a small generated province (every
flavor and store, the legacy district read through the shipped read-only MariaDB role, and
one district down so that an incident is raised), with every connection carrying a known
secret. Then every task log, every XCom value, every rendered template, every incident
(log line and webhook payload), the run reports and every file left in the run folder are
scanned for a full 12-digit ID or a full name of the generated sources, and for the secrets.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid

import pytest
import yaml
from sqlalchemy import text

from hotich import db, workfiles
from hotich_dev.leakscan import Scanner, file_texts
from hotich_dev.run import read_env_file
from hotich_dev.simulator import BackgroundServer, create_app
from tests.conftest import REPO
from tests.dag.test_reconcile_dag import airflow_dags_test, webhook
from tests.integration.pipeline_kit import generated_province, mariadb_reader

pytestmark = pytest.mark.slow
SCALE, SEED = 0.002, 20261126
CLIENT_ID = "hotich-privacy"
DOWN = "909"  # a district whose server does not answer: its failure is an incident
# One district of each flavor and store: modern on PostgreSQL and on SQLite, legacy (on
# MariaDB when it runs here), workbook; the others add time, not coverage.
KEPT = {"256", "259", "262", "263"}


def secret(what: str) -> str:
    """A secret nobody could find in the repository: made at run time."""
    return f"s3cr3t-{what}-{secrets.token_hex(8)}"


def with_password(uri: str, password: str) -> str:
    """``postgresql://postgres:@...`` with a password (the embedded server trusts, and
    ignores it; the point is that it travels through every connection)."""
    assert "postgres:@" in uri, uri
    return uri.replace("postgres:@", f"postgres:{password}@", 1)


@pytest.fixture(scope="module")
def province(tmp_path_factory, embedded_pg):
    out = tmp_path_factory.mktemp("province")
    prefix = f"hotich_priv_{uuid.uuid4().hex[:6]}_"
    with generated_province(out, embedded_pg, scale=SCALE, seed=SEED, prefix=prefix) as province:
        yield province


class Run:
    """What the DAG run left: its output, metadata database, folders, incidents, secrets."""

    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)

    def meta_rows(self, sql: str) -> list[tuple]:
        engine = db.engine_for(self.meta)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def dag_run(province, embedded_pg, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("privacy-run")
    keys = {k: secret(k) for k in ("national", "register", "district-pg", "district-mariadb",
                                   "alerts", "down")}  # fmt: skip
    uris = read_env_file(province / "connections.env")
    conns = {}
    for key, uri in uris.items():
        conns[key] = with_password(uri, keys["district-pg"]) if "postgres:@" in uri else uri
    entries = yaml.safe_load((province / "districts.yaml").read_text(encoding="utf-8"))
    entries = [d for d in entries["districts"] if d["code"] in KEPT]
    entries.append(
        {"code": DOWN, "name": "Xuống", "flavor": "modern", "conn_id": f"district_{DOWN}"}
    )
    (tmp / "districts.yaml").write_text(
        yaml.safe_dump({"districts": entries}, allow_unicode=True), encoding="utf-8"
    )
    tag = uuid.uuid4().hex[:8]
    meta = db.ensure_database(embedded_pg, f"airflow_priv_{tag}")
    national = with_password(db.ensure_database(embedded_pg, f"national_priv_{tag}"),
                             keys["national"])  # fmt: skip
    legacy_key = next((k for k, u in conns.items() if u.startswith("mysql")), None)
    app = create_app(province / "register.parquet", {CLIENT_ID: keys["register"]})
    with BackgroundServer(app) as server, webhook() as (alerts_url, incidents):
        host = server.base_url.removeprefix("http://")
        env = {
            **os.environ,
            **conns,
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_POPULATION_API": f"http://{CLIENT_ID}:{keys['register']}@{host}",
            f"AIRFLOW_CONN_DISTRICT_{DOWN}": f"mysql://hotich:{keys['down']}@127.0.0.1:1/down",
            "AIRFLOW_CONN_HOTICH_ALERTS": alerts_url.replace(
                "/hooks/", f"/hooks/{keys['alerts']}/"
            ),
            "HOTICH_DISTRICTS_FILE": str(tmp / "districts.yaml"),
            "HOTICH_DATA_DIR": str(tmp / "data"),
            "HOTICH_TASK_RETRIES": "0",
        }
        if legacy_key:  # the legacy district through the shipped read-only role
            with mariadb_reader(conns[legacy_key], keys["district-mariadb"]) as reader:
                env[legacy_key] = reader
                result = airflow_dags_test(env)
        else:
            result = airflow_dags_test(env)
    (tmp / "dags-test.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return Run(result=result, env=env, meta=meta, national=national, tmp=tmp,
               data=tmp / "data", home=tmp / "airflow", incidents=incidents, secrets=keys,
               legacy_key=legacy_key)  # fmt: skip


def test_the_run_loads_every_district_but_the_one_down(dag_run):
    out = dag_run.result.stdout + dag_run.result.stderr
    assert dag_run.result.returncode != 0, "a district down fails the run"
    assert "districts that did not finish this run" in out and DOWN in out
    assert [(i["event"], i.get("kind"), i.get("district")) for i in dag_run.incidents] == [
        ("opened", "district_source_down", DOWN), ("digest", None, None),
        ("opened", "run_incomplete", None)]  # fmt: skip
    # Personal data at rest: every district that loaded kept only its results (counts).
    (run_dir,) = (p for p in (dag_run.data / "runs").iterdir() if p.is_dir())
    for district in sorted(KEPT):
        left = sorted(p.name for p in (run_dir / district).rglob("*") if p.is_file())
        assert workfiles.personal_files(run_dir / district) == [], (district, left)
        assert workfiles.LOADED_MARKER in left, (district, left)
    if dag_run.legacy_key:  # the legacy district was read through the read-only role
        assert dag_run.env[dag_run.legacy_key].startswith("mysql://hotich_rd_")
    # Each task's dict of counts is one XCom, not one more per key (multiple_outputs).
    keys = {k for (k,) in dag_run.meta_rows("SELECT DISTINCT key FROM xcom")}
    assert keys == {"return_value"}, keys


@pytest.fixture(scope="module")
def scanner(province, dag_run) -> Scanner:
    """The generated province's full IDs and names, and the run's secrets."""
    return Scanner.from_province(province, secrets=dag_run.secrets.values())


def channels(run: Run) -> dict[str, list[tuple[str, str]]]:
    """Everything the run left that operators or other systems see, by channel."""
    out = run.result.stdout + run.result.stderr
    incident_lines = [ln for ln in out.splitlines() if "hotich.oncall" in ln]
    (run_dir,) = (p for p in (run.data / "runs").iterdir() if p.is_dir())
    return {
        # `airflow dags test` runs the tasks in its own process: their logs are its output
        # (a deployment writes the same lines to the log folder, scanned as well).
        "task logs": [("airflow dags test output", out), *file_texts(run.home / "logs")],
        "XCom": [
            (f"xcom {t}[{m}] {k}", v)
            for t, m, k, v in run.meta_rows("SELECT task_id, map_index, key, value::text FROM xcom")
        ],  # fmt: skip
        "rendered templates": [
            *(
                (f"rendered fields {t}[{m}]", v)
                for t, m, v in run.meta_rows(
                    "SELECT task_id, map_index, rendered_fields::text"
                    " FROM rendered_task_instance_fields"
                )
            ),
            *(
                (f"map index label {t}[{m}]", v or "")
                for t, m, v in run.meta_rows(
                    "SELECT task_id, map_index, rendered_map_index FROM task_instance"
                )
            ),
        ],  # fmt: skip
        "incidents": [
            *((f"incident log line {i}", ln) for i, ln in enumerate(incident_lines)),
            *(
                (f"webhook payload {i}", json.dumps(p, ensure_ascii=False))
                for i, p in enumerate(run.incidents)
            ),
        ],  # fmt: skip
        "reports": list(file_texts(run_dir / "_report")),
        # The fix lists in the districts' outbox hold each district's own data by design
        # (docs/personal-data.md, docs/feedback.md); their reports and manifests do not.
        "work files": [
            (p, t) for p, t in file_texts(run.data) if not ("/outbox/" in p and p.endswith(".xlsx"))
        ],  # fmt: skip
    }


CHANNELS = ["task logs", "XCom", "rendered templates", "incidents", "reports", "work files"]


def report(hits) -> str:
    return f"{len(hits)} found:\n" + "\n".join(map(str, hits[:30]))


def test_the_scanner_knows_the_provinces_people(scanner, dag_run):
    assert len(scanner.ids) > 2000 and len(scanner.names) > 2000
    # It finds them where they legitimately are: the review entries' source records.
    rows = [(f"review {k}", r) for k, r in db_rows(dag_run.national,
            "SELECT source_key, source_record::text FROM recon.review")]  # fmt: skip
    assert (
        rows and len({h.kind for h in scanner.scan_all(rows)} & {"personal ID", "full name"}) == 2
    )


def db_rows(uri: str, sql: str) -> list[tuple]:
    engine = db.engine_for(uri)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("channel", CHANNELS)
def test_no_personal_data_in(channel, dag_run, scanner):
    items = channels(dag_run)[channel]
    assert items, f"nothing to scan in {channel}"
    hits = [h for h in scanner.scan_all(items) if h.kind != "secret"]
    assert hits == [], report(hits)


@pytest.mark.parametrize("channel", CHANNELS)
def test_no_secret_in(channel, dag_run, scanner):
    items = channels(dag_run)[channel]
    hits = [h for h in scanner.scan_all(items) if h.kind == "secret"]
    assert hits == [], report(hits)
    if channel == "incidents":  # the down district's URI is named, its password masked
        assert any("hotich:***@127.0.0.1:1/down" in t for _, t in items)


# Every task of every hotich DAG rendered as `airflow tasks render` does (its own code path),
# for each task instance of the run, with the connections of the run's environment. A
# template that reads a connection is planted too: the render must show its secret.
RENDER_PROBE = r"""
import argparse, contextlib, io, json, sys
from airflow.cli.commands.task_command import task_render
from airflow.dag_processing.dagbag import DagBag
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session

run_id = sys.argv[1]
bag = DagBag(dag_folder=sys.argv[2])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "rendered": {}}
with create_session() as session:
    tis = [(t.dag_id, t.task_id, t.map_index) for t in session.query(TaskInstance).filter(TaskInstance.run_id == run_id)]
for dag_id, dag in sorted(bag.dags.items()):
    if "hotich" not in (dag.tags or []):
        continue
    # A DAG this run is not of is rendered for a run Airflow makes up in memory.
    ran = any(d == dag_id for d, _, _ in tis)
    for task in dag.tasks:
        mapped = getattr(task, "is_mapped", False)
        indexes = sorted(m for d, t, m in tis if d == dag_id and t == task.task_id) or [0 if mapped else -1]
        for map_index in indexes:
            args = argparse.Namespace(dag_id=dag_id, task_id=task.task_id, bundle_name=None,
                                      logical_date_or_run_id=run_id if ran else "2026-01-01T00:00:00+00:00",
                                      map_index=map_index, verbose=False)
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf):
                    task_render(args)
                text = buf.getvalue()
            except Exception as exc:
                text = f"RENDER FAILED: {type(exc).__name__}: {exc}"
            out["rendered"][f"{dag_id}.{task.task_id}[{map_index}]"] = text
# The planted template: a task that would put a connection's password in its arguments.
dag = bag.dags["hotich_reconcile"]
task = dag.get_task("plan_districts")
task.op_kwargs = {"leak": "{{ conn.civil_status_db.password }}"}
args = argparse.Namespace(dag_id="hotich_reconcile", task_id="plan_districts", bundle_name=None,
                          logical_date_or_run_id=run_id, map_index=-1, verbose=False)
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    task_render(args, dag=dag)
out["planted"] = buf.getvalue()
print("RENDER " + json.dumps(out))
"""


def test_rendered_templates_hold_no_secret(dag_run, scanner):
    """``airflow tasks render`` of every task of every hotich DAG, for every task instance
    of the run. Airflow 3.3's render cannot resolve a task's XCom inputs outside a task
    runner (it needs the supervisor); those tasks' renders are the ones Airflow stored
    while running them (``rendered_task_instance_fields``, scanned in ``test_no_secret_in``)."""
    (run_id,) = {r[0] for r in dag_run.meta_rows("SELECT run_id FROM dag_run")}
    probe = subprocess.run(
        [sys.executable, "-m", "hotich_dev.localenv", sys.executable, "-c", RENDER_PROBE,
         run_id, str(REPO / "dags")],
        env=dag_run.env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = next((x for x in probe.stdout.splitlines() if x.startswith("RENDER ")), None)
    assert line, probe.stdout[-3000:] + probe.stderr[-3000:]
    seen = json.loads(line.removeprefix("RENDER "))
    assert seen["errors"] == {}
    rendered = seen["rendered"]
    done = {k: v for k, v in rendered.items() if not v.startswith("RENDER FAILED")}
    assert "hotich_reconcile.plan_districts[-1]" in done
    needs_runner = "cannot import name 'SUPERVISOR_COMMS'"
    failed = {k: v for k, v in rendered.items() if k not in done and needs_runner not in v}
    assert failed == {}
    stored = dag_run.meta_rows("SELECT task_id, map_index FROM rendered_task_instance_fields")
    ran = dag_run.meta_rows(
        "SELECT task_id, map_index FROM task_instance WHERE state IN ('success', 'failed')"
    )
    assert sorted(stored) == sorted(ran)  # every task instance that ran
    hits = [h for h in scanner.scan_all(done.items()) if h.kind == "secret"]
    assert hits == [], report(hits)
    # The render does resolve connections: a template reading one shows its password.
    planted = scanner.scan("planted template", seen["planted"])
    assert [h.kind for h in planted] == ["secret"]
