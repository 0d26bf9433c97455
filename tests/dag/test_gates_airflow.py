"""A quality gate, the district Assets and the quality pages for real, through ``make up``'s
services (scheduler, dag-processor, triggerer, api-server; LocalExecutor):

- the daily run loads district 901 and emits its Asset event; district 902's gate blocks it
  (a bad batch of dates): no event, nothing loaded, and the ``quality_gate_blocked``
  incident opened by the real failure callback. The downstream DAG placed for the test
  (``tests/dag/asset_dags/hotich_downstream.py``, scheduled on both districts' Assets) runs
  for 901's event and not for 902;
- in a real headless Chromium, an ``op`` logs in on Airflow's login page, opens 902's quality
  history, clicks through to the failing source keys of its rule, opens the gate page and
  releases the block with a reason (the form's token checked); a viewer sees the counts only;
- the next run loads 902 (its ledger rows), emits 902's event alone (901 had nothing new),
  the downstream DAG runs for it, and the incident closes.

One scenario, so that Airflow's services start once for all of it. The screenshots
docs/screenshots/quality-history.png and quality-gate.png are taken here:
``HOTICH_UPDATE_SCREENSHOTS=1`` writes them there."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
import requests

from hotich import db, pipeline
from hotich.migrate import migrate
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, serve
from tests.conftest import REPO, require
from tests.dag.localenv_kit import bearer, free_port, localenv, stop_and_check, token
from tests.integration.pipeline_kit import (
    birth,
    modern,
    query,
    run_context,
    run_district,
    write_modern_sqlite,
)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "docs" / "screenshots"
ASSET_DAGS = Path(__file__).parent / "asset_dags"
REGISTER = [person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2))]
# 902 is judged on 5 records or more and blocks over 10 % failing a rule: 1 bad date of 10
# passes (its history), 3 of 10 block.
CAMPAIGN = (
    "campaign:\n  name: C\n  phases: [{name: p, first_year: 2000, last_year: 2030,"
    " target_entries: 100}]\n"
    "quality_gates: {districts: {'902': {rule_block: 0.10, min_evaluated: 5}}}\n"
)
BAD_DATE = "2018-02-30"
LATER = "2026-11-21 10:00:00"
WAIT_S = 480  # a run of two districts' eleven tasks on a shared machine, boundedly


def births(book: str, ids: range, bad: set[int], updated_at: str | None = None) -> list[dict]:
    """Births of ``book`` without a personal ID (linked by the register's linkage), those
    of ``bad`` with an impossible date of birth."""
    extra = {"updated_at": updated_at} if updated_at else {}
    return [birth(i, book=book, mother=None, dob=BAD_DATE if i in bad else "2018-01-02", **extra)
            for i in ids]  # fmt: skip


class Airflow:
    """The api-server of ``make up`` over HTTP, as the admin. On a shared machine it may take
    long to answer: the waits below are bounded by time, and a slow answer is one more try."""

    def __init__(self, url: str, home: Path) -> None:
        self.url, self.auth = url, bearer(token(url, home, "admin"))

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.url}/api/v2{path}", headers=self.auth, params=params, timeout=90)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.json()

    def _until(self, what: str, found: Any) -> Any:
        """``found()``'s first truthy answer, asked every second for at most WAIT_S."""
        deadline, last = time.monotonic() + WAIT_S, None
        while time.monotonic() < deadline:
            try:
                last = found()
            except (requests.Timeout, requests.ConnectionError) as slow:
                last = slow
            else:
                if last:
                    return last
            time.sleep(1)
        pytest.fail(f"{what} not within {WAIT_S} s: {last}")

    def parsed(self, dag_id: str) -> None:
        """Wait until the dag-processor has parsed the DAG."""
        self._until(f"{dag_id} parsed", lambda: requests.get(
            f"{self.url}/api/v2/dags/{dag_id}", headers=self.auth, timeout=90).status_code == 200)  # fmt: skip

    def unpause(self, dag_id: str) -> None:
        r = requests.patch(f"{self.url}/api/v2/dags/{dag_id}", headers=self.auth,
                           json={"is_paused": False}, timeout=90)  # fmt: skip
        assert r.status_code == 200, r.text

    def finished_runs(self, dag_id: str, count: int) -> list[dict]:
        """The DAG's runs, oldest first, once ``count`` of them have finished."""

        def runs() -> list[dict]:
            found = self.get(f"/dags/{dag_id}/dagRuns", order_by="run_after")["dag_runs"]
            done = sum(r["state"] in ("success", "failed") for r in found)
            return found if done >= count else []

        return self._until(f"{count} finished runs of {dag_id}", runs)

    def events_of(self, run_id: str) -> list[tuple[str, list[str]]]:
        """The Asset events hotich_reconcile's run emitted: the Asset, and the downstream
        runs each created."""
        events = self.get("/assets/events", source_dag_id="hotich_reconcile",
                          source_run_id=run_id)["asset_events"]  # fmt: skip
        return sorted((e["name"], [d["dag_id"] for d in e["created_dagruns"]]) for e in events)

    def triggered_by(self, run_id: str) -> list[str]:
        """What the downstream run says started it (its task's XCom)."""
        xcom = self.get(f"/dags/hotich_downstream/dagRuns/{run_id}/taskInstances/triggered_by"
                        "/xcomEntries/return_value")  # fmt: skip
        value = xcom["value"]
        return json.loads(value) if isinstance(value, str) else value


def test_a_blocked_district_emits_no_asset_event_until_released_in_the_ui(tmp_path, embedded_pg):
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright

    tag = uuid.uuid4().hex[:8]
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    engine = db.engine_for(national)
    migrate(engine, REPO / "include" / "sql")
    engine.dispose()
    campaign, districts = tmp_path / "campaign.yaml", tmp_path / "districts.yaml"
    campaign.write_text(CAMPAIGN, encoding="utf-8")
    districts.write_text(
        "districts:\n"
        "  - {code: '901', name: 'Một', flavor: modern, conn_id: district_901}\n"
        "  - {code: '902', name: 'Hai', flavor: modern, conn_id: district_902}\n",
        encoding="utf-8",
    )
    uris = {
        "district_901": write_modern_sqlite(tmp_path / "901.sqlite",
                                            births=births("901-KS-2018-01", range(1, 6), set())),
        "district_902": write_modern_sqlite(tmp_path / "902.sqlite",
                                            births=births("902-KS-2018-01", range(1, 11), {1})),
    }  # fmt: skip
    data = tmp_path / "data"
    dags = tmp_path / "dags"  # the daily DAG and the downstream one, nothing else
    dags.mkdir()
    (dags / "hotich_reconcile.py").symlink_to(REPO / "dags" / "hotich_reconcile.py")
    (dags / "hotich_downstream.py").symlink_to(ASSET_DAGS / "hotich_downstream.py")
    home, port = tmp_path / "airflow", free_port()
    with serve(RegisterIndex(load_register(pd.DataFrame(REGISTER)))) as register:
        from hotich.register.client import PopulationClient

        # Yesterday's run of 902 (in this process): 1 bad date of 10 passes its gate; its
        # quality history and a failing key are what the officer looks at.
        ctx = run_context(national, data, "seed-902", campaign_file=campaign)
        with PopulationClient(register.base_url, CLIENT_ID, CLIENT_SECRET) as client:
            assert run_district(ctx, modern("902"), uris, client)["quality_gate"] == "pass"
        pipeline.release_leases(ctx)
        # Today 902 sends a bad batch: 3 impossible dates of 10 new records.
        write_modern_sqlite(tmp_path / "902.sqlite",
                            births=births("902-KS-2018-01", range(11, 21), {11, 12, 13}, LATER))  # fmt: skip
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(
                db.ensure_database(embedded_pg, f"airflow_{tag}")
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer,op:op",
            # A task's supervisor gives up on the api-server after 5 tries of 5 s: on a shared
            # 2-core machine (load 15) plan_districts failed so before it started.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_POPULATION_API": f"http://{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}"
            f"@{register.base_url.removeprefix('http://')}",
            "AIRFLOW_CONN_DISTRICT_901": uris["district_901"],
            "AIRFLOW_CONN_DISTRICT_902": uris["district_902"],
            "HOTICH_CAMPAIGN_FILE": str(campaign),
            "HOTICH_DISTRICTS_FILE": str(districts),
            "HOTICH_DATA_DIR": str(data),
            "HOTICH_PGDATA": str(tmp_path / "no-embedded-pg"),
            "HOTICH_TASK_RETRIES": "0",
            # The scheduled run unpausing creates is today's 01:00: its 06:00 deadline passed.
            "HOTICH_LATE_RUN_DEADLINE": "off",
        }
        started = localenv("up", env)
        url = f"http://127.0.0.1:{port}"
        try:
            assert started.returncode == 0, started.stdout + started.stderr
            api = Airflow(url, home)
            api.parsed("hotich_downstream")
            api.parsed("hotich_reconcile")
            api.unpause("hotich_downstream")
            # Unpaused, the daily DAG gets its latest scheduled run (today's 01:00): run 1.
            api.unpause("hotich_reconcile")
            (first,) = api.finished_runs("hotich_reconcile", 1)
            run1 = first["dag_run_id"]
            assert first["state"] == "failed"  # 902 did not finish: the report says so

            # 901 committed: its event, which started the downstream DAG; 902: none. (The
            # scheduler creates the downstream run after the event: waited for first.)
            (down1,) = api.finished_runs("hotich_downstream", 1)
            assert down1["state"] == "success"
            assert api.events_of(run1) == [("hotich_registrations_901", ["hotich_downstream"])]
            assert api.triggered_by(down1["dag_run_id"]) == [f"hotich_registrations_901@{run1}"]
            loaded = dict(query(national, "SELECT district_code || ':' || run_id, count(*)"
                                " FROM recon.ledger GROUP BY 1"))  # fmt: skip
            assert loaded == {f"901:{run1}": 5, "902:seed-902": 10}
            blocked = query(national, "SELECT district_code, severity, state, run_ids, last_error"
                            " FROM ops.incident WHERE kind = 'quality_gate_blocked'")  # fmt: skip
            assert [b[:4] for b in blocked] == [("902", "high", "open", [run1])]
            assert "3 of 10 records failing (30.0%) > block at 10%" in blocked[0][4]

            walk_through_the_pages(sync_playwright, url, home, tmp_path, run1)
            viewer_sees_counts_only(url, home)
            assert query(national, "SELECT released_by, reason, blocked_run, used_by_run"
                         " FROM ops.quality_release") == [
                ("op", "Ngày sinh đã đối chiếu với sổ gốc", run1, None)]  # fmt: skip

            # Run 2: 902 released loads its 10 records; 901 has nothing new: no event.
            created = requests.post(f"{url}/api/v2/dags/hotich_reconcile/dagRuns", headers=api.auth,
                                    json={"dag_run_id": f"after_release_{tag}",
                                          "logical_date": dt.datetime.now(dt.UTC).isoformat()},
                                    timeout=90)  # fmt: skip
            assert created.status_code == 200, created.text
            second = api.finished_runs("hotich_reconcile", 2)[-1]
            run2 = second["dag_run_id"]
            assert (run2, second["state"]) == (f"after_release_{tag}", "success")
            assert query(national, "SELECT district_code, count(*) FROM recon.ledger"
                         " WHERE run_id = :r GROUP BY 1", r=run2) == [
                ("902", 10)]  # fmt: skip
            down2 = api.finished_runs("hotich_downstream", 2)[-1]
            assert down2["state"] == "success"
            assert api.events_of(run2) == [("hotich_registrations_902", ["hotich_downstream"])]
            assert api.triggered_by(down2["dag_run_id"]) == [f"hotich_registrations_902@{run2}"]
            assert query(national, "SELECT used_by_run FROM ops.quality_release") == [(run2,)]
            # The gate page now: the released run with who and why, the release used by it.
            gate = requests.get(f"{url}/hotich/quality/902/gate", timeout=90,
                                headers=bearer(token(url, home, "op"))).text  # fmt: skip
            assert "op: Ngày sinh đã đối chiếu với sổ gốc" in gate and "nan" not in gate.split()
            assert gate.count(f">{run2}<") == 2 and "đang chờ" not in gate
            assert query(national, "SELECT state, closed_by_run FROM ops.incident"
                         " WHERE kind = 'quality_gate_blocked'") == [("closed", run2)]  # fmt: skip
        finally:
            stop_and_check(env, home)


def walk_through_the_pages(
    sync_playwright: Any, url: str, home: Path, tmp_path: Path, blocked_run: str
) -> None:
    """An op logs in, reads 902's history, its failing keys, and releases the gate."""
    passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
    keep = os.environ.get("HOTICH_UPDATE_SCREENSHOTS")
    quality = f"{url}/hotich/quality/902"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(90_000)  # a shared machine's api-server can be slow
        page.goto(quality, timeout=60_000)
        assert "/auth/login" in page.url  # Airflow's own login, back here after
        page.fill("input[name=username]", "op")
        page.fill("input[name=password]", passwords["op"])
        page.click("button[type=submit]")
        page.wait_for_url(quality, timeout=60_000)
        # The history: one loaded run (the blocked one wrote none: the page says so), the
        # rule that run failed.
        assert page.locator("svg.chart").count() == 1
        banner = page.inner_text("#blocked")
        assert blocked_run in banner and "3 of 10 records failing" in banner
        assert "nan" not in page.inner_text("body").split()
        rule = page.locator("table tr", has_text="DATE_INVALID")
        assert rule.count() == 1, page.inner_text("body")
        page.screenshot(path=str(SHOTS / "quality-history.png" if keep
                                 else tmp_path / "quality-history.png"), full_page=True)  # fmt: skip
        rule.locator("a").click()
        page.wait_for_selector("table#keys")
        assert page.locator("table#keys td.code", has_text="902:birth:1").count() == 1
        assert "1 bản ghi" in page.inner_text("#total")

        page.click("text=Cổng chất lượng")
        page.wait_for_selector("table#gates")
        gates = page.locator("table#gates tr.block")
        assert gates.count() == 1 and "3 of 10 records failing" in gates.inner_text()
        page.fill("textarea[name=reason]", "Ngày sinh đã đối chiếu với sổ gốc")
        page.click("form button[type=submit]")
        page.wait_for_selector("p[role=status]")
        assert "Released for the district's next run" in page.inner_text("p[role=status]")
        releases = page.locator("table#releases tr", has_text="op")
        assert releases.count() == 1 and "đang chờ / waiting" in releases.inner_text()
        assert "nan" not in page.inner_text("body").split()
        assert page.locator("form textarea[name=reason]").count() == 0  # one waiting at a time
        page.screenshot(path=str(SHOTS / "quality-gate.png" if keep
                                 else tmp_path / "quality-gate.png"), full_page=True)  # fmt: skip
        browser.close()


def viewer_sees_counts_only(url: str, home: Path) -> None:
    """A viewer reads the history, the count of failing records and the gate, not the keys,
    and may not release."""
    viewer = bearer(token(url, home, "viewer"))
    failing = requests.get(f"{url}/hotich/quality/902/failing/DATE_INVALID", headers=viewer,
                           timeout=90)  # fmt: skip
    assert failing.status_code == 200
    assert "902:birth:" not in failing.text and 'id="total">1 bản ghi' in failing.text
    gate = requests.get(f"{url}/hotich/quality/902/gate", headers=viewer, timeout=90)
    assert gate.status_code == 200 and "<form" not in gate.text
    refused = requests.post(f"{url}/hotich/quality/902/release", headers=viewer, timeout=90,
                            data={"reason": "viewer"})  # fmt: skip
    assert refused.status_code == 403
