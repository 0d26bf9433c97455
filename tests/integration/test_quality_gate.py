"""A quality gate for real (SQLite source, the national database on PostgreSQL, the
register simulator on loopback): a district whose records fail a rule over its block share
writes nothing and is read again; released for one run, it loads; the release is used once."""

from __future__ import annotations

from datetime import date

import pytest

from hotich.gates import QualityGateBlocked
from hotich.ops.gate_page import release
from register_fixtures import person, register_client
from tests.integration.pipeline_kit import (
    birth,
    modern,
    query,
    run_context,
    run_district,
    write_modern_sqlite,
)


@pytest.fixture(scope="module")
def register():
    with register_client([person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2))]) as c:
        yield c


def test_a_blocked_district_writes_nothing_until_released(tmp_path, national, register):
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        "campaign: {phases: [{name: p, first_year: 2000, last_year: 2030, target_entries: 10}]}\n"
        "quality_gates: {districts: {'902': {rule_block: 0.10, min_evaluated: 5}}}\n",
        encoding="utf-8",
    )
    rows = [birth(i, dob="2018-02-30" if i <= 3 else "2018-01-02") for i in range(1, 11)]
    uri = write_modern_sqlite(tmp_path / "902.sqlite", births=rows)
    uris = {"district_902": uri}

    def ctx(run_id: str):
        return run_context(national, tmp_path / "data", run_id, campaign_file=campaign)

    with pytest.raises(QualityGateBlocked) as blocked:
        run_district(ctx("gate-1"), modern("902"), uris, register)
    from hotich import pipeline

    pipeline.release_leases(ctx("gate-1"))
    assert "3 of 10 records failing (30.0%) > block at 10%" in str(blocked.value)
    assert query(national, "SELECT count(*) FROM recon.ledger WHERE district_code = '902'") == [
        (0,)
    ]
    with pytest.raises(QualityGateBlocked):  # read again, blocked again
        run_district(ctx("gate-2"), modern("902"), uris, register)
    pipeline.release_leases(ctx("gate-2"))
    from hotich.db import pg_connect

    conn = pg_connect(national)
    with conn, conn.cursor() as cur:
        release(cur, ctx("x").settings.sql_dir, "902", "engineer", "dates checked with the book")
    conn.close()
    out = run_district(ctx("gate-3"), modern("902"), uris, register)
    assert out["quality_gate"] == "released" and out["extracted"] == 10
    assert query(national, "SELECT run_id, count(*) FROM recon.ledger WHERE district_code = '902'"
                 " GROUP BY run_id") == [("gate-3", 10)]  # fmt: skip
    assert query(national, "SELECT used_by_run, released_by FROM ops.quality_release"
                 " WHERE district_code = '902'") == [("gate-3", "engineer")]  # fmt: skip
    decisions = query(national, "SELECT run_id, decision FROM ops.quality_gate"
                      " WHERE district_code = '902' ORDER BY decided_at")  # fmt: skip
    assert decisions == [("gate-1", "block"), ("gate-2", "block"), ("gate-3", "released")]


SESSION = "a-session-cookie"


def test_the_release_action_over_http(national, tmp_path):
    """The gate page's POST: the form token is required (cross-site forgery), a reason is
    required, and the release is recorded with who and why."""
    from hotich import pipeline

    pipeline.prepare_database(run_context(national, tmp_path, "migrate"))
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from hotich.airflow.access import check_same_site, form_token
    from hotich.ops.desk_page import DeskDeps
    from hotich.ops.gate_page import router

    deps = DeskDeps(civil_status_uri=lambda: national, register=lambda: None,
                    user_name=lambda: "op1", may_change=lambda: True,
                    require_changer=lambda: "op1", check_same_site=check_same_site,
                    form_token=form_token)  # fmt: skip
    app = FastAPI()
    app.include_router(router(deps))
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    client.cookies.set("_token", SESSION)
    token = client.get("/quality/903/gate")
    assert token.status_code == 200 and "Cổng chất lượng" in token.text, token.text[:300]
    csrf = form_token_of(token.text)
    assert client.post("/quality/903/release", data={"reason": "x"}).status_code == 403
    empty = client.post("/quality/903/release", data={"reason": " ", "csrf_token": csrf})
    assert empty.status_code == 303 and "error" in empty.headers["location"], empty.text
    ok = client.post("/quality/903/release", data={"reason": "checked", "csrf_token": csrf})
    assert ok.status_code == 303 and "message" in ok.headers["location"]
    again = client.post("/quality/903/release", data={"reason": "twice", "csrf_token": csrf})
    assert "error" in again.headers["location"]  # one release waits at a time
    assert query(national, "SELECT released_by, reason, used_by_run FROM ops.quality_release"
                 " WHERE district_code = '903'") == [("op1", "checked", None)]  # fmt: skip


def form_token_of(page: str) -> str:
    """The form token of the test's session (the gate page shows the release form only
    when the latest run was blocked; this district has no run)."""
    import hashlib

    return hashlib.sha256(f"hotich-form:{SESSION}".encode()).hexdigest() if page else ""
