"""The run report's rejected-files section (pure): its top line says how many files this
run rejected, in how many districts, and what is still open or was resolved."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from hotich.ops.rejected import shape_rejected
from hotich.report import rejected_files_section

AT = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)  # 10:00 in Asia/Ho_Chi_Minh


def row(district: str, name: str, first: str, last: str, resolution: str | None = None) -> dict:
    return {"district_code": district, "file_name": name, "problem_kind": "format",
            "problem": f"{name}: format .xls (Excel 97-2003) is not read; save it as .xlsx (Excel Workbook)",
            "rejected_at": AT, "first_run_id": first, "last_run_id": last, "last_rejected_at": AT,
            "resolved_at": AT if resolution else None, "resolved_by_run": "r3" if resolution else None,
            "resolution": resolution}  # fmt: skip


def section(rows: list[dict], run_id: str = "r3"):
    return rejected_files_section(shape_rejected(pd.DataFrame(rows)), run_id)


def test_nothing_rejected_says_nothing() -> None:
    got = section([])
    assert (got.headline, got.tables) == ("", "")
    assert got.counts == {"rejected_this_run": 0, "districts_this_run": 0, "open": 0,
                          "open_districts": 0, "resolved_this_run": 0}  # fmt: skip


def test_one_file_in_one_district_is_singular_and_earlier_ones_are_counted_apart() -> None:
    got = section([row("263", "a.xls", "r3", "r3"), row("264", "b.xls", "r1", "r2"),
                   row("264", "c.xls", "r1", "r1", resolution="removed")])  # fmt: skip
    assert got.headline == (
        "**1 file rejected in 1 district: see below.** (1 file rejected in earlier runs still"
        " open; 1 file resolved in this run.)\n\n"
    )
    assert "| 263 | a.xls | format .xls (Excel 97-2003) is not read; save it as .xlsx (Excel" \
        " Workbook) | 2026-11-20 10:00 | rejected |" in got.tables  # fmt: skip
    assert "| 264 | b.xls | " in got.tables and " | not read in this run |" in got.tables
    assert "| 264 | c.xls | removed | 2026-11-20 10:00 |" in got.tables


def test_no_file_rejected_in_this_run_but_some_still_open() -> None:
    got = section([row("263", "a.xls", "r1", "r1"), row("263", "b.xls", "r1", "r1")])
    assert got.headline == (
        "**No file rejected in this run; 2 files rejected in earlier runs still open: see"
        " below.**\n\n"
    )
    got = section([row("263", "a.xls", "r1", "r1", resolution="corrected")])
    assert (
        got.headline
        == "**No file rejected in this run; 1 file resolved in this run: see below.**\n\n"
    )
    assert "## Rejected files\n" not in got.tables and "| 263 | a.xls | corrected |" in got.tables
