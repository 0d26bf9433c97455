"""The review desk's pages over a real national database and a real register on
loopback: the list, one record beside its register candidates, a decision by form, the
refusals (a reader who may not decide, a forged cross-site form), and the access log.
The signed-in user comes from a test header here; Airflow's own login in front of these
routes is proved in tests/dag/test_review_desk.py."""

from __future__ import annotations

import contextlib
import re

from fastapi import Header, HTTPException
from fastapi.testclient import TestClient

from hotich.airflow.access import check_same_site, form_token
from hotich.config import Settings
from hotich.ops.dashboard import create_app
from hotich.ops.desk_page import DeskDeps
from tests.integration.pipeline_kit import query, run_context, run_district
from tests.integration.test_pipeline import district_901, ledger
from tests.integration.test_pipeline import register as register  # noqa: F401 - fixture

OFFICERS = {"officer1"}


def user_name(x_test_user: str = Header("")) -> str:
    if not x_test_user:
        raise HTTPException(401, "not signed in")
    return x_test_user


def may_change(x_test_user: str = Header("")) -> bool:
    return x_test_user in OFFICERS


def require_changer(x_test_user: str = Header("")) -> None:
    if x_test_user not in OFFICERS:
        raise HTTPException(403, "may read but not decide")


def client_for(national: str, register, settings: Settings) -> TestClient:
    deps = DeskDeps(
        civil_status_uri=lambda: national,
        register=lambda: contextlib.nullcontext(register),
        user_name=user_name,
        may_change=may_change,
        require_changer=require_changer,
        check_same_site=check_same_site,
        form_token=form_token,
        settings=lambda: settings,
    )
    app = create_app(lambda: national, settings=lambda: settings, desk=deps)
    client = TestClient(app, base_url="http://testserver")
    client.cookies.set("_token", "a-session-cookie")
    return client


def test_officer_decides_a_record_beside_the_register_and_the_run_applies_it(
    tmp_path, national, register
):
    district, uris = district_901(tmp_path)
    settings = run_context(national, tmp_path / "data", "run-1").settings
    run_district(run_context(national, tmp_path / "data", "run-1"), district, uris, register)
    client = client_for(national, register, settings)
    officer, viewer = {"X-Test-User": "officer1"}, {"X-Test-User": "viewer1"}

    anonymous = client.get("/desk/")
    assert anonymous.status_code == 401, anonymous.text
    home = client.get("/desk/", headers=viewer)
    assert home.status_code == 200 and "901" in home.text
    page = client.get("/desk/901", headers=viewer)
    assert page.status_code == 200
    assert "901:birth:2" in page.text and "901:death:12" in page.text
    only_deaths = client.get("/desk/901?record_type=death", headers=viewer)
    assert "901:death:12" in only_deaths.text and "901:birth:2" not in only_deaths.text

    # The given ID in review: the register does not know it; a viewer gets no form.
    view = client.get("/desk/record/901:birth:2", headers=viewer)
    assert view.status_code == 200 and "không có trong cơ sở dữ liệu" in view.text
    assert '<form class="decide"' not in view.text
    view = client.get("/desk/record/901:birth:2", headers=officer)
    assert "Xác nhận số định danh" in view.text and "Không gắn với ai" not in view.text
    fields = dict(re.findall(r'name="(content_hash|csrf_token)" value="([^"]*)"', view.text))
    form = {"role": "subject", "choice": "confirm:", "reason": "bản gốc khớp", **fields}

    # Refused: a reader who may not decide; a form without this session's token; another
    # site's form carrying the right token.
    url = "/desk/record/901:birth:2/decide"
    assert client.post(url, data=form, headers=viewer).status_code == 403
    forged = client.post(url, data={**form, "csrf_token": "guess"}, headers=officer)
    assert forged.status_code == 403 and "token" in forged.text
    cross = client.post(url, data=form, headers={**officer, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and "another site" in cross.text
    assert query(national, "SELECT count(*) FROM recon.decision") == [(0,)]

    done = client.post(url, data=form, headers=officer, follow_redirects=False)
    assert done.status_code == 303 and "message=" in done.headers["location"]
    assert query(national, "SELECT decision, decided_by, reason FROM recon.decision") == [
        ("confirm", "officer1", "bản gốc khớp")
    ]
    (snapshot,) = query(national, "SELECT register_snapshot FROM recon.decision")[0]
    assert snapshot["not_found"] is True
    after = client.get("/desk/record/901:birth:2", headers=officer)
    assert "officer1" in after.text and "chờ lần chạy tới" in after.text

    # An ID-less person: every candidate of the register's answer, with why.
    death = client.get("/desk/record/901:death:12", headers=officer)
    assert death.status_code == 200 and "Gắn với người" in death.text

    # The campaign dashboard counts the desk: who waits, since when, decided not applied.
    desk = client.get("/api/progress", headers=viewer).json()["desk"]
    assert (desk["waiting"], desk["districts"][0]["decided_not_applied"]) == (4, 1)
    assert [(d["decided"], d["applied"]) for d in desk["decisions_by_day"]] == [(1, 0)]

    run_district(run_context(national, tmp_path / "data", "run-2"), district, uris, register)
    desk = client.get("/api/progress", headers=viewer).json()["desk"]
    assert (desk["waiting"], desk["districts"][0]["decided_not_applied"]) == (3, 0)
    assert [(d["decided"], d["applied"]) for d in desk["decisions_by_day"]] == [(1, 1)]
    assert "Review desk: 3 persons wait" in client.get("/", headers=viewer).text
    assert ledger(national, "run-2") == {"901:birth:2": ("loaded", ["DECIDED"], "027218999999")}
    assert client.get("/desk/record/901:birth:2", headers=officer).status_code == 404
    log = query(national, "SELECT who, action, source_key FROM recon.access_log ORDER BY access_id")
    assert ("viewer1", "list", None) in log and ("viewer1", "view", "901:birth:2") in log
    assert ("officer1", "decide", "901:birth:2") in log
