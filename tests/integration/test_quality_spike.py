"""A quality spike for real: four runs of one district through the pipeline (SQLite source,
the national database on PostgreSQL, the register simulator on loopback). Three runs with
one record in ten missing its name make the district's past; the fourth, with three more
records whose date of birth does not exist, spikes, by its rate and by a reason code it
never reached before."""

from __future__ import annotations

from datetime import date

import pytest

from register_fixtures import person, register_client
from tests.integration.pipeline_kit import (
    birth,
    modern,
    run_context,
    run_district,
    write_modern_sqlite,
)

SPIKE = {"quality_spike_min_records": 10, "quality_spike_min_history": 3}


@pytest.fixture(scope="module")
def register():
    with register_client([person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2))]) as c:
        yield c


def test_a_district_spikes_against_its_own_past(tmp_path, national, register):
    rows: list[dict] = []
    spikes = []
    for run in range(4):
        first = 10 * run + 1
        new = [birth(i, name=None if i == first else f"Nguyễn Văn {chr(65 + i % 26)}")
               for i in range(first, first + 10)]  # fmt: skip
        if run == 3:  # three dates of birth that do not exist
            new[1:4] = [birth(i, dob="2018-02-30") for i in range(first + 1, first + 4)]
        rows += new
        uri = write_modern_sqlite(tmp_path / f"901-{run}.sqlite", births=rows)
        ctx = run_context(national, tmp_path / "data", f"run-{run}", **SPIKE)
        out = run_district(ctx, modern("901"), {"district_901": uri}, register)
        assert out["extracted"] == 10
        spikes.append(out["quality_spike"])
    assert spikes[:3] == [None, None, None]  # no past yet, then a past like it
    assert spikes[3] == (
        "quarantine rate 40.0% (4 of 10 records) is over 3 x its median 10.0% of the last 3 runs;"
        " DATE_INVALID failed 30.0% of the records a rule of it evaluated, never more than"
        " 0.0% before"
    )
    check_history_page(national, tmp_path)


def check_history_page(national: str, tmp_path) -> None:
    """The district's quality history as the page shows it: one line per reason code that
    failed, its share per run, and the rules the latest run failed."""
    from fastapi.testclient import TestClient

    from hotich.config import Settings
    from hotich.ops.dashboard import create_app
    from hotich.ops.quality_page import read_history, share_series
    from tests.integration.test_incident_store import shoot

    found = read_history(national, Settings().sql_dir, "901")
    labels, series = share_series(found["history"])
    assert len(labels) == 4
    assert series == {"DATE_INVALID": [0.0, 0.0, 0.0, 30.0], "REQUIRED_MISSING": [10.0] * 4}
    client = TestClient(create_app(lambda: national))
    page = client.get("/quality/901")
    assert page.status_code == 200
    assert 'aria-label="Huyện 901: tỷ lệ bản ghi vi phạm theo mã lý do (%)"' in page.text
    assert "The subject&#39;s full name is required." in page.text and "run-3" in page.text
    latest = {(r["reason"], r["failing"]) for r in found["latest"].to_dict("records")}
    assert latest == {("REQUIRED_MISSING", 1), ("DATE_INVALID", 3)}
    assert client.get("/quality/9x1").status_code == 404
    shoot(page.text, tmp_path, "quality-spike.png", "Chất lượng dữ liệu: huyện 901")
