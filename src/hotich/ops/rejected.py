"""Rejected workbook files, as the run report and the campaign dashboard list them.

A workbook district's file rejected whole (``recon.rejected_file``) is the district's to
fix: it stays listed until the load of a later run finds it resolved (a corrected file of
the same name read, or the file taken out of the inbox: ``include/sql/load/
resolve_rejected.sql``). File names are not personal data and a rejection's problem
never quotes a cell (``hotich.extract.workbook``), so these rows may be shown wherever
the campaign's figures are.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hotich.config import TIMEZONE
from hotich.extract.workbook import DISTRICT_ACTION_VI
from hotich.load import read_sql

#: What the district does about a rejection of before V003 (no kind recorded).
DEFAULT_ACTION_VI = "Sửa tệp theo thông báo lỗi rồi đặt lại tệp đã sửa, cùng tên, vào thư mục nhận."

COLUMNS = (
    "district_code",
    "file_name",
    "problem_kind",
    "problem",
    "rejected_at",
    "first_run_id",
    "last_run_id",
    "last_rejected_at",
    "resolved_at",
    "resolved_by_run",
    "resolution",
)


def read_rejected_files(cur, sql_dir: Path, run_id: str | None = None) -> pd.DataFrame:
    """The open rejections, then those the load of ``run_id`` resolved (none if None),
    shaped by :func:`shape_rejected`; ``cur`` is a psycopg2 cursor."""
    return shape_rejected(read_sql(cur, sql_dir / "ops" / "rejected_files.sql", {"run_id": run_id}))


def shape_rejected(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``ops/rejected_files.sql`` with what their readers show: ``since`` (the
    first rejection, local minutes), ``detail`` (the problem less its leading file name)
    and ``action_vi`` (what the district does, in Vietnamese)."""
    frame = rows.reindex(columns=list(COLUMNS))
    since = pd.to_datetime(frame["rejected_at"], utc=True).dt.tz_convert(TIMEZONE)
    prefixes = frame["file_name"].astype(str) + ": "
    problems = frame["problem"].astype(str)
    return frame.assign(
        since=since.dt.strftime("%Y-%m-%d %H:%M"),
        detail=[p.removeprefix(f) for p, f in zip(problems, prefixes, strict=True)],
        action_vi=frame["problem_kind"].map(DISTRICT_ACTION_VI).fillna(DEFAULT_ACTION_VI),
    )


def open_rejections(rejected: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`read_rejected_files` not resolved."""
    return rejected[rejected["resolved_at"].isna()]
