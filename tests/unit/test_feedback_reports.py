"""The district and province reports: Vietnamese labels, server-drawn charts, and text
from the districts (a name, a note, a GX argument) escaped, never markup or a template."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from hotich.config import District, Flavor, Settings
from hotich.feedback import messages, reports

SETTINGS = Settings()
CATALOGUE = messages.load_catalogue(SETTINGS.messages_file)
HOSTILE = "<script>alert(1)</script>"
TEMPLATE = "{{ 7*7 }}"
NOW = pd.Timestamp("2026-11-25T03:00Z")


def _data() -> reports.ReportData:
    runs = pd.DataFrame(
        [("263", f"run-{i}", NOW + pd.Timedelta(days=i), 100, 80, 5, 15, 15 - i) for i in range(3)],
        columns=["district_code", "run_id", "finished_at", "extracted", "loaded", "review",
                 "quarantined", "entries"],
    )  # fmt: skip
    codes = pd.DataFrame(
        [("263", "quarantined", "DATE_INVALID", 10), ("263", "quarantined", "RETURNED", 5),
         ("263", "loaded", "", 80), ("263", "review", "ID_NOT_FOUND", 5)],
        columns=["district_code", "status", "code", "records"],
    )  # fmt: skip
    backlog = pd.DataFrame(
        [("quarantine", "263", "DATE_INVALID", 9), ("review", "263", "ID_NOT_FOUND", 5)],
        columns=["queue", "district_code", "code", "records"],
    )
    ages = pd.DataFrame(
        [("263", 0, 4), ("263", 12, 5)], columns=["district_code", "age_days", "entries"]
    )
    return reports.ReportData("run-2", runs, codes, backlog, ages)


GX = [{"suite": "hotich_birth", "success": False, "records": 100,
       "statistics": {"evaluated_expectations": 20, "unsuccessful_expectations": 1},
       "results": [{"success": False, "reason": "DATE_INVALID", "expectation_type": "expect_x",
                    "kwargs": {"column": HOSTILE}, "unexpected_count": 10}]}]  # fmt: skip


@pytest.fixture(scope="module")
def district_html() -> str:
    district = District("263", f"{HOSTILE} {TEMPLATE}", Flavor.WORKBOOK)
    fix = {"entries": 9, "problems": 12, "fixed": 3, "file": f"{HOSTILE}.xlsx"}
    context = reports.district_context(_data(), district, CATALOGUE, GX, fix)
    return reports.render(SETTINGS.templates_dir, "district.html", context)


def test_the_district_report_escapes_what_the_districts_wrote(district_html):
    assert HOSTILE not in district_html and "<script" not in district_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in district_html
    text = re.sub(r"<svg.*?</svg>", "", district_html, flags=re.DOTALL)
    assert f"263 &lt;script&gt;alert(1)&lt;/script&gt; {TEMPLATE}" in text and "49" not in text


def test_the_district_report_in_vietnamese_with_its_charts(district_html):
    for text in ("Lần chạy này", "Danh sách cần sửa và tuổi của nó", "Xu hướng (3 lần chạy gần nhất)",
                 "Kết quả kiểm tra chất lượng (Great Expectations)", "Ngày không hợp lệ", "trên 30 ngày"):  # fmt: skip
        assert text in district_html, text
    assert district_html.count("<svg") == 3 and "http" not in district_html.split("<svg")[0]
    # This run: 80 loaded, 5 in review, 15 to fix; 9 waiting, the oldest 12 days.
    assert "<b>9</b> bản ghi" in district_html and "<b>12</b> ngày" in district_html


def test_the_province_report(tmp_path):
    districts = [
        District("263", HOSTILE, Flavor.WORKBOOK),
        District("264", "Lương Tài", Flavor.MODERN),
    ]
    html = reports.render(
        SETTINGS.templates_dir, "province.html",
        reports.province_context(_data(), districts, CATALOGUE, TEMPLATE, {"263": {"fixed": 3}}),
    )  # fmt: skip
    assert "<script" not in html and "Báo cáo toàn tỉnh: {{ 7*7 }}" in html
    assert "không chạy lần này" in html and html.count("<svg") == 4
