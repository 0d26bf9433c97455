"""The campaign dashboard over HTTP on loopback, on a national database the pipeline filled.

Every figure is stated: a hand-made district with entries of both campaign phases (and
one after them), run twice, with a correction and a re-load in between.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zoneinfo
from datetime import date
from pathlib import Path

import pytest
import requests

from hotich.config import TIMEZONE, Settings
from hotich.ops.dashboard import create_app
from hotich_dev.simulator import BackgroundServer
from register_fixtures import person, register_client
from tests.integration.pipeline_kit import (
    birth,
    death,
    marriage,
    modern,
    run_context,
    run_district,
    write_modern_sqlite,
)

TODAY = dt.datetime.now(zoneinfo.ZoneInfo(TIMEZONE)).date()


@pytest.fixture(scope="module")
def register():
    people = [
        person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa"),
        person("027050000003", "Đỗ Đức Độ", "Nam", date(1950, 3, 3), dead=date(2019, 4, 30)),
    ]
    with register_client(people) as client:
        yield client


def settings_with_campaign(tmp_path: Path) -> Settings:
    campaign = tmp_path / "campaign.yaml"
    deadline = TODAY + dt.timedelta(days=10)
    campaign.write_text(
        "campaign:\n  name: Test campaign\n  phases:\n"
        "    - {name: recent, first_year: 2006, last_year: 2018, target_entries: 2}\n"
        f"    - {{name: old, last_year: 2005, target_entries: 4, deadline: {deadline.isoformat()}}}\n",
        encoding="utf-8",
    )
    districts = tmp_path / "districts.yaml"
    districts.write_text('districts:\n  - {code: "901", name: "Thử", flavor: modern, conn_id: district_901}\n'
                         '  - {code: "902", name: "Chưa chạy", flavor: modern, conn_id: district_902}\n',
                         encoding="utf-8")  # fmt: skip
    return Settings(data_dir=tmp_path / "data", campaign_file=campaign, districts_file=districts)


# Each aggregate the load keeps (V009, V012) and the direct query over the ledger it stands for.
AGGREGATES = {
    "district_status": (
        "SELECT district_code, status, records FROM ops.district_status WHERE records <> 0",
        "SELECT district_code, last_status, count(*) FROM recon.source_state GROUP BY 1, 2",
    ),
    "registration_year": (
        "SELECT district_code, year, entries FROM ops.registration_year WHERE entries <> 0",
        "SELECT district_code, extract(year FROM registration_date)::int, count(*)"
        " FROM civil.registration GROUP BY 1, 2",
    ),
    "daily_progress": (
        "SELECT day, district_code, status, records FROM ops.daily_progress WHERE records <> 0",
        "SELECT (processed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, district_code, status,"
        " count(*) FROM recon.verdict GROUP BY 1, 2, 3",
    ),
    "daily_first_load": (
        "SELECT day, district_code, year, entries FROM ops.daily_first_load WHERE entries <> 0",
        "SELECT (f.first_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, r.district_code,"
        " extract(year FROM r.registration_date)::int, count(*) FROM (SELECT source_key,"
        " min(processed_at) AS first_at FROM recon.verdict WHERE status = 'loaded'"
        " GROUP BY 1) f JOIN civil.registration r USING (source_key) GROUP BY 1, 2, 3",
    ),
    "daily_backlog (today)": (
        "SELECT district_code, queue, open_entries FROM ops.daily_backlog"
        " WHERE day = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AND open_entries <> 0",
        "SELECT district_code, 'quarantine', count(*) FROM recon.quarantine WHERE closed_at IS NULL"
        " GROUP BY 1 UNION ALL SELECT district_code, 'review', count(*) FROM recon.review"
        " WHERE closed_at IS NULL GROUP BY 1",
    ),
    "open_backlog": (
        "SELECT queue, district_code, code, records FROM ops.open_backlog WHERE records <> 0",
        "SELECT 'quarantine', district_code, code, count(*) FROM recon.quarantine,"
        " unnest(reasons) AS code WHERE closed_at IS NULL GROUP BY 1, 2, 3 UNION ALL"
        " SELECT 'review', district_code, code, count(*) FROM recon.review,"
        " unnest(reasons) AS code WHERE closed_at IS NULL GROUP BY 1, 2, 3",
    ),
}


def assert_aggregates_match_ledger(uri: str) -> None:
    """Every aggregate the load maintains equals the direct query over the ledger."""
    import psycopg2

    conn = psycopg2.connect(uri)
    try:
        with conn.cursor() as cur:
            for name, (kept, direct) in AGGREGATES.items():
                cur.execute(kept)
                got = sorted(cur.fetchall())
                cur.execute(direct)
                want = sorted(cur.fetchall())
                assert got == want, name
                assert want, f"{name}: nothing to compare"
    finally:
        conn.close()


def test_dashboard_shows_phases_districts_and_backlog(tmp_path, national, register):
    src = tmp_path / "901.sqlite"
    uris = {"district_901": write_modern_sqlite(
        src,
        births=[
            birth(1, pid="027218000001"),  # 2018: loaded
            birth(2, pid="027218999999"),  # 2018: review, ID_NOT_FOUND
            birth(3, name=None),  # 2018: quarantined, REQUIRED_MISSING
            birth(4, book="901-KS-2004-01", reg="2004-06-01", name="Phạm Văn Cường", dob="2004-01-02",
                  mother=None),  # 2004: loaded
        ],
        deaths=[death(11)],  # 2019 (no phase): loaded
        marriages=[marriage(21, book="901-KH-2003-01", reg="2003-06-01", husband_dob="1970-01-02",
                            wife_dob="1975-02-03")],  # 2003: loaded
    )}  # fmt: skip
    district = modern("901")
    run_district(run_context(national, tmp_path / "data", "run-1"), district, uris, register)
    assert_aggregates_match_ledger(national)

    settings = settings_with_campaign(tmp_path)
    with BackgroundServer(create_app(lambda: national, lambda: settings)) as server:
        first = requests.get(f"{server.base_url}/api/progress", timeout=30).json()
        assert [(p["name"], p["loaded"], p["target_entries"]) for p in first["phases"]] == [
            ("recent", 1, 2), ("old", 2, 4)]  # fmt: skip
        old = first["phases"][1]
        assert old["days_left"] == 10 and old["needed_per_day"] == pytest.approx(2 / 10)
        assert old["pace_per_day"] == pytest.approx(2 / 7)
        assert old["projected_finish"] == (TODAY + dt.timedelta(days=7)).isoformat()
        assert old["on_track"] is True
        assert first["phases"][0]["on_track"] is None  # no deadline
        rows = {d["district_code"]: d for d in first["districts"]}
        assert {
            k: rows["901"][k]
            for k in ("name", "records", "loaded", "review", "quarantined", "last_run_id")
        } == {
            "name": "Thử",
            "records": 6,
            "loaded": 4,
            "review": 1,
            "quarantined": 1,
            "last_run_id": "run-1",
        }
        # A configured district that never finished a run is shown as such.
        assert rows["902"]["records"] == 0 and rows["902"]["last_run_id"] is None
        assert first["backlog"] == [
            {
                "queue": "quarantine",
                "district_code": "901",
                "code": "REQUIRED_MISSING",
                "records": 1,
            },
            {"queue": "review", "district_code": "901", "code": "ID_NOT_FOUND", "records": 1},
        ]

        # The district fixes record 3 and edits record 4 (already loaded): the next run
        # loads 3 for the first time and 4 again, which must not count twice in the pace.
        con = sqlite3.connect(src)
        con.execute(
            "UPDATE khai_sinh SET ho_ten = 'Phạm Thị Hạnh', gioi_tinh = 'Nữ',"
            " updated_at = '2026-11-21 08:00:00' WHERE id = 3"
        )
        con.execute(
            "UPDATE khai_sinh SET noi_sinh = 'Gia Bình', updated_at = '2026-11-21 08:00:00' WHERE id = 4"
        )
        con.commit()
        con.close()
        run_district(run_context(national, tmp_path / "data", "run-2"), district, uris, register)
        assert_aggregates_match_ledger(national)

        second = requests.get(f"{server.base_url}/api/progress", timeout=30).json()
        recent, old = second["phases"]
        assert (recent["loaded"], recent["share"], old["loaded"]) == (2, 1.0, 2)
        assert recent["pace_per_day"] == pytest.approx(2 / 7) and old[
            "pace_per_day"
        ] == pytest.approx(2 / 7)
        rows = {d["district_code"]: d for d in second["districts"]}
        assert (rows["901"]["loaded"], rows["901"]["quarantined"], rows["901"]["last_run_id"]) == (
            5,
            0,
            "run-2",
        )
        assert second["backlog"] == [
            {"queue": "review", "district_code": "901", "code": "ID_NOT_FOUND", "records": 1}
        ]
        assert second["totals"] == {"records": 6, "loaded": 5, "review": 1, "quarantined": 0}

        page = requests.get(f"{server.base_url}/", timeout=30)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert (
            "Test campaign" in page.text and "901 Thử" in page.text and "ID_NOT_FOUND" in page.text
        )
        assert "027218999999" not in page.text  # aggregates only: no personal ID
        # The four charts: loaded against target per phase (with the projection), records
        # per day, the backlog over time, open incidents.
        for title in ("Loaded against target: recent", "Loaded against target: old",
                      "Records per day", "Backlog: open quarantine", "Open incidents"):  # fmt: skip
            assert f'aria-label="{title}' in page.text, title
        charts = second["charts"]
        old_chart = charts["phases"][1]
        assert old_chart["days"][-1] == (TODAY + dt.timedelta(days=10)).isoformat()  # the deadline
        assert old_chart["loaded"][old_chart["days"].index(TODAY.isoformat())] == 2
        assert old_chart["projected"][-1] == pytest.approx(min(4, 2 + 10 * 2 / 7))
        assert charts["records_by_day"]["series"]["loaded"][-1] == 6  # 4 in run-1, 2 in run-2
        assert charts["backlog_by_day"]["series"] == {
            "quarantine": [0] * 59 + [0], "review": [0] * 59 + [1]}  # fmt: skip

    # The migration's backfill builds the same aggregates from the ledger alone.
    import psycopg2

    conn = psycopg2.connect(national)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE ops.daily_progress, ops.daily_first_load, ops.daily_backlog,"
                    " ops.district_status, ops.registration_year, ops.open_backlog")  # fmt: skip
        for name in ("V009__daily_progress.sql", "V012__open_backlog.sql"):
            cur.execute((Settings().sql_dir / name).read_text(encoding="utf-8"))
    conn.close()
    assert_aggregates_match_ledger(national)


def test_dashboard_names_an_unreachable_database_without_its_password(tmp_path):
    settings = settings_with_campaign(tmp_path)
    uri = "postgresql://hotich:s3cret@127.0.0.1:1/civil_status"  # port 1: nothing listens
    with BackgroundServer(create_app(lambda: uri, lambda: settings)) as server:
        r = requests.get(f"{server.base_url}/api/progress", timeout=30)
        page = requests.get(f"{server.base_url}/", timeout=30)
    assert r.status_code == 503 and page.status_code == 503
    assert "127.0.0.1:1/civil_status" in r.json()["error"] and "s3cret" not in r.text + page.text
