"""``make up`` and the review desk for real: Airflow's services start, the api-server
answers, hotich's pages are served inside it behind Airflow's login (docs/access.md), an
officer logs in on Airflow's own login page and decides in a real headless Chromium
(Debian's ``chromium`` driven by Playwright), ``make down`` stops every service, real DAG
runs (``airflow dags test``) apply the decisions, and re-reconciliation through its DAG
writes the one row a register that caught up asks for (docs/ledger.md).

One scenario, so that Airflow's services start once for all of it. The screenshot of
the desk in docs/ is taken here: ``HOTICH_UPDATE_SCREENSHOTS=1`` writes it there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
import requests

from hotich import db
from hotich.config import Settings
from hotich.migrate import migrate
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, serve
from tests.conftest import REPO, require
from tests.dag.localenv_kit import (
    bearer,
    check_access,
    free_port,
    localenv,
    pids,
    stop_and_check,
    token,
)
from tests.integration.pipeline_kit import birth, query, write_modern_sqlite

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = REPO / "docs" / "screenshots" / "review-desk.png"
# Two register persons fit birth 1 equally (same name, sex and date, no parent to tell
# them apart): LINK_AMBIGUOUS. Birth 2 gives an ID the register does not know yet.
REGISTER = [
    person("027218000011", "Lê Văn Bình", "Nam", date(2018, 1, 2), father="Lê Văn Hải"),
    person("027218000012", "Lê Văn Bình", "Nam", date(2018, 1, 2), father="Lê Văn Hùng"),
]
LATE = person("027218000099", "Trần Văn Cường", "Nam", date(2018, 1, 2))


def dags_test(dag_id: str, env: dict[str, str]) -> None:
    run = subprocess.run([sys.executable, "-m", "hotich_dev.localenv", "airflow", "dags", "test", dag_id],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def ledger_since(national: str, seen: set[str]) -> dict[str, tuple]:
    rows = query(
        national, "SELECT run_id, source_key, status, reasons, personal_id FROM recon.ledger"
    )
    return {k: (s, list(r), p) for run, k, s, r, p in rows if run not in seen}


def runs(national: str) -> set[str]:
    return {r for (r,) in query(national, "SELECT DISTINCT run_id FROM recon.ledger")}


class _Forger(BaseHTTPRequestHandler):
    """Another site (another port of 127.0.0.1: the same *site* to a browser, so the
    cookie goes along) whose page posts a decision to the desk on load."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = (
            f'<form id="f" method="post" action="{self.target}">'
            '<input name="role" value="subject"><input name="content_hash" value="x">'
            '<input name="choice" value="return:"><input name="reason" value="forged">'
            '<input name="note" value="forged"></form><script>f.submit()</script>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_officer_decides_in_the_browser_and_the_runs_apply_it(tmp_path, embedded_pg):
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright

    src = write_modern_sqlite(tmp_path / "901.sqlite", births=[
        birth(1, name="Lê Văn Bình", mother=None),
        birth(2, name="Trần Văn Cường", mother=None, pid="027218000099"),
        birth(3, name="Phạm Văn Dũng", mother=None, pid="027218000098"),
    ])  # fmt: skip
    districts = tmp_path / "districts.yaml"
    districts.write_text("districts:\n  - {code: '901', name: 'Một', flavor: modern, conn_id: district_901}\n",
                         encoding="utf-8")  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    engine = db.engine_for(national)
    migrate(engine, Settings().sql_dir)
    engine.dispose()
    home, port = tmp_path / "airflow", free_port()
    with serve(RegisterIndex(load_register(pd.DataFrame(REGISTER)))) as register:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(
                db.ensure_database(embedded_pg, f"airflow_{tag}")
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer,op:op",
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_POPULATION_API": f"http://{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}"
            f"@{register.base_url.removeprefix('http://')}",
            "AIRFLOW_CONN_DISTRICT_901": src,
            "HOTICH_DISTRICTS_FILE": str(districts),
            "HOTICH_DATA_DIR": str(tmp_path / "data"),
            "HOTICH_PGDATA": str(tmp_path / "no-embedded-pg"),
        }
        dags_test("hotich_reconcile", env)
        assert ledger_since(national, set()) == {
            "901:birth:1": ("loaded", ["LINK_AMBIGUOUS"], None),
            "901:birth:2": ("review", ["ID_NOT_FOUND"], None),
            "901:birth:3": ("review", ["ID_NOT_FOUND"], None),
        }
        seen = runs(national)

        started = localenv("up", env)
        url = f"http://127.0.0.1:{port}"
        desk = f"{url}/hotich/desk"
        try:
            assert started.returncode == 0, started.stdout + started.stderr
            assert f"Airflow UI: {url}" in started.stdout and "login: admin / " in started.stdout
            assert sorted(p.stem for p in (home / "pids").glob("*.pid")) == [
                "api-server", "dag-processor", "scheduler", "triggerer"]  # fmt: skip
            health = requests.get(f"{url}/api/v2/monitor/health", timeout=10)
            assert (
                health.status_code == 200 and health.json()["metadatabase"]["status"] == "healthy"
            )
            check_access(url, home)
            progress = requests.get(f"{url}/hotich/api/progress", timeout=30,
                                    headers=bearer(token(url, home, "viewer")))  # fmt: skip
            assert [d["district_code"] for d in progress.json()["districts"]] == ["901"]
            # A second `up` finds the services running and starts nothing new.
            running = pids(home)
            again = localenv("up", env)
            assert again.returncode == 0 and sorted(pids(home)) == sorted(running)

            # Anonymous: 401 for a client, a browser is sent to Airflow's login.
            assert requests.get(f"{desk}/901", timeout=30).status_code == 401
            passwords = (home / "simple_auth_manager_passwords.json.generated").read_text()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])  # fmt: skip
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{desk}/", timeout=60_000)
                assert "/auth/login" in page.url
                page.fill("input[name=username]", "op")
                page.fill("input[name=password]", json.loads(passwords)["op"])
                page.click("button[type=submit]")
                page.wait_for_url(f"{desk}/**", timeout=60_000)
                page.click("text=901 Một")
                page.click("text=901:birth:1")
                page.wait_for_selector("table.candidates")
                rows = page.locator("table.candidates tr.best")
                assert rows.count() == 2  # the tie, both shown with their fathers
                assert "Lê Văn Hải" in page.content() and "Lê Văn Hùng" in page.content()
                # Why they tie, in the officer's words: no parent in the record tells them apart.
                assert all("ngang hạng với 1 ứng viên khác" in rows.nth(i).inner_text()
                           and "không có thông tin cha mẹ" in rows.nth(i).inner_text()
                           for i in range(2))  # fmt: skip
                page.check("input[value='link:027218000012']")
                page.fill("textarea[name=reason]", "Cha ghi trong sổ gốc là Lê Văn Hùng")
                shot = (
                    SCREENSHOT
                    if os.environ.get("HOTICH_UPDATE_SCREENSHOTS")
                    else tmp_path / "desk.png"
                )
                page.screenshot(path=str(shot), full_page=True)
                page.click("form.decide button")
                page.wait_for_selector("p.msg.ok")
                assert "lần chạy tới" in page.inner_text("p.msg.ok")

                # A page of another site posts a decision with the officer's cookie: refused.
                forger_port = free_port()
                _Forger.target = f"{desk}/record/901:birth:2/decide"
                forger = ThreadingHTTPServer(("127.0.0.1", forger_port), _Forger)
                threading.Thread(target=forger.serve_forever, daemon=True).start()
                try:
                    with page.expect_response(lambda r: "/decide" in r.url) as answer:
                        page.goto(f"http://127.0.0.1:{forger_port}/")
                    assert answer.value.status == 403
                finally:
                    forger.shutdown()
                browser.close()

            # A viewer reads the record but may not decide; an op returns birth 2 by token.
            viewer, op = token(url, home, "viewer"), token(url, home, "op")
            view = requests.get(f"{desk}/record/901:birth:2", headers=bearer(viewer), timeout=30)
            assert view.status_code == 200 and 'form class="decide"' not in view.text
            (content_hash,) = query(national, "SELECT content_hash FROM recon.waiting_record"
                                    " WHERE source_key = '901:birth:2'")[0]  # fmt: skip
            form = {"role": "subject", "content_hash": content_hash, "choice": "return:",
                    "reason": "sai số định danh", "note": "Kiểm tra lại số định danh"}  # fmt: skip
            url_decide = f"{desk}/record/901:birth:2/decide"
            refused = requests.post(url_decide, data=form, headers=bearer(viewer), timeout=30)
            assert refused.status_code == 403
            done = requests.post(url_decide, data=form, headers=bearer(op), timeout=30,
                                 allow_redirects=False)  # fmt: skip
            assert done.status_code == 303
        finally:
            stop_and_check(env, home)

        decisions = query(national, "SELECT source_key, decision, personal_id, decided_by FROM recon.decision"
                          " ORDER BY decision_id")  # fmt: skip
        assert decisions == [("901:birth:1", "link", "027218000012", "op"),
                             ("901:birth:2", "return", None, "op")]  # fmt: skip
        log = set(query(national, "SELECT who, action, source_key FROM recon.access_log"))
        assert {("op", "view", "901:birth:1"), ("op", "decide", "901:birth:1"),
                ("viewer", "view", "901:birth:2"), ("op", "decide", "901:birth:2")} <= log  # fmt: skip

        # The next daily run applies both decisions: exactly their two rows.
        dags_test("hotich_reconcile", env)
        assert ledger_since(national, seen) == {
            "901:birth:1": ("loaded", ["DECIDED", "LINKED"], "027218000012"),
            "901:birth:2": ("quarantined", ["RETURNED"], None),
        }
        assert query(national, "SELECT source_key, reasons FROM recon.quarantine WHERE closed_at IS NULL") == [
            ("901:birth:2", ["RETURNED"])]  # fmt: skip
        seen = runs(national)

    # The register issued birth 3's ID since: re-reconciliation writes that row alone.
    with serve(RegisterIndex(load_register(pd.DataFrame([*REGISTER, LATE,
               person("027218000098", "Phạm Văn Dũng", "Nam", date(2018, 1, 2))])))) as caught_up:  # fmt: skip
        env["AIRFLOW_CONN_POPULATION_API"] = (
            f"http://{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}@{caught_up.base_url.removeprefix('http://')}"
        )
        dags_test("hotich_rereconcile", env)
    assert ledger_since(national, seen) == {"901:birth:3": ("loaded", [], "027218000098")}
