"""The fix list: a district's problems as a workbook its staff can work from.

One sheet per record type (the problems of :func:`hotich.feedback.messages.problems`) and
a summary sheet: how many entries were fixed since the last list, how many remain, since
when the oldest waits. Headers are Vietnamese, frozen, filterable and sized. Every value
is written as text, never as a formula: a cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return (formula injection, OWASP "CSV injection") is stored as
a string cell with Excel's quote prefix, so that neither a spreadsheet nor a user editing
the cell evaluates it, and the district's value stays exactly as typed. The list holds
the district's own data in full: it goes to the district that owns it (docs/personal-data.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hotich.feedback.messages import Catalogue, today_local

# (problem column, header, widest it gets in characters) of a record type's sheet, in
# order: each column is as wide as its header or its longest value, up to that bound.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("book", "Số quyển", 30),
    ("entry_no", "Số đăng ký", 20),
    ("registration_date", "Ngày đăng ký", 14),
    ("file_name", "Tệp", 40),
    ("row_number", "Dòng", 10),
    ("local_key", "Khóa nguồn", 40),
    ("field_label", "Trường cần sửa", 30),
    ("value", "Giá trị hiện tại", 40),
    ("message", "Lỗi cần sửa", 90),
    ("code", "Mã lỗi", 24),
    ("waiting_since", "Chờ sửa từ", 14),
)
WIDTH_PADDING = 2  # characters beside the longest text (the filter button's room)
DATE_CHARS = 10  # a date as a spreadsheet shows it: 30/02/1990
SUMMARY_SHEET = "Tóm tắt"
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
# Texts a spreadsheet cell would take for an error value, not a text (openpyxl's list).
_EXCEL_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_SHEET_ORDER = ("birth", "death", "marriage", "unknown")


@dataclass(frozen=True)
class Summary:
    """What the summary sheet says (and the run report, the district report)."""

    district_code: str
    district_name: str
    run_id: str
    written_at: dt.datetime
    entries: int  # open entries (records) in the list
    problems: int  # rows: fields to correct
    fixed: int  # entries of the last list closed since, the record no longer waiting
    oldest_since: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (for XCom and the outbox's manifest: counts, no personal data)."""
        return {
            "district_code": self.district_code,
            "run_id": self.run_id,
            "written_at": self.written_at.isoformat(),
            "entries": self.entries,
            "problems": self.problems,
            "fixed": self.fixed,
            "oldest_since": self.oldest_since.isoformat() if self.oldest_since else None,
        }


def inert(value: Any) -> bool:
    """Whether a text value would be read as a formula by a spreadsheet."""
    return isinstance(value, str) and value.startswith(RISKY_START)


def _cell(ws: Any, value: Any, style: Any = None) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        value = None
    cell = WriteOnlyCell(ws, value=None)
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # never "f", whatever the text begins with
        if inert(value):
            cell.quotePrefix = True
    else:
        cell.value = value
    if style is not None:
        cell.font = style
    return cell


def _value(ws: Any, value: Any) -> Any:
    """A value as ``ws.append`` takes it: the value itself where openpyxl stores it as it
    stands (a plain text that no spreadsheet reads as a formula or an error code, a number,
    a date), else a cell of :func:`_cell`. Values bare, openpyxl fills one cell object per
    row instead of building one per value: the fix lists' rows are written about a third
    faster (benchmarks/RESULTS.md)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    kind = type(value)
    if kind is str:
        return _cell(ws, value) if inert(value) or value in _EXCEL_ERRORS else value
    if kind is float:
        return None if value != value else value
    return _cell(ws, value) if isinstance(value, str) else value


def _local_date(value: Any) -> dt.date | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Asia/Ho_Chi_Minh")
    return ts.date()


def write_fix_list(
    path: Path, problems: pd.DataFrame, summary: Summary, catalogue: Catalogue
) -> Path:
    """Write the fix list to ``path`` (atomically: a temporary name, then renamed)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    wb = Workbook(write_only=True)
    _summary_sheet(wb.create_sheet(SUMMARY_SHEET), problems, summary, catalogue, bold)
    present = [t for t in _SHEET_ORDER if (problems["record_type"] == t).any()]
    for rtype in present:
        ws = wb.create_sheet(catalogue.record_types.get(rtype, rtype)[:31])
        rows = problems[problems["record_type"] == rtype]
        values = {c: rows[c].tolist() for c, _, _ in COLUMNS}
        # An entry opens with its load's transaction: a sheet holds a few distinct times.
        since = values["waiting_since"]
        local = {v: _local_date(v) for v in set(since)}
        values["waiting_since"] = [local[v] for v in since]
        values["row_number"] = [None if pd.isna(v) else int(v) for v in values["row_number"]]
        widths = column_widths(pd.DataFrame(values, columns=[c for c, _, _ in COLUMNS]))
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[_letter(i)].width = width
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{_letter(len(COLUMNS))}{len(rows) + 1}"
        ws.append([_cell(ws, header, bold) for _, header, _ in COLUMNS])
        for row in zip(*(values[c] for c, _, _ in COLUMNS), strict=True):
            ws.append([_value(ws, v) for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    wb.save(tmp)
    tmp.replace(path)
    return path


def text_lengths(values: pd.Series) -> pd.Series:
    """How many characters each value takes in a cell (a date: ``dd/mm/yyyy``; none: 0)."""
    dates = values.map(lambda v: isinstance(v, dt.date))
    out = values.astype("string").str.len().fillna(0).astype(int)
    return out.mask(dates, DATE_CHARS)


def column_widths(rows: pd.DataFrame) -> list[int]:
    """Each column of :data:`COLUMNS` as wide as its header or its longest value, plus
    :data:`WIDTH_PADDING`, up to the column's bound (long texts wrap in no cell: a value
    wider than the bound is cut on screen, in full in the cell)."""
    widths = []
    for column, header, widest in COLUMNS:
        longest = int(text_lengths(rows[column]).max()) if len(rows) else 0
        widths.append(min(max(len(header), longest) + WIDTH_PADDING, widest))
    return widths


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


def summary_lines(
    problems: pd.DataFrame, summary: Summary, catalogue: Catalogue
) -> list[tuple[str, Any]]:
    """The summary's (label, value) lines, Vietnamese."""
    oldest = _local_date(summary.oldest_since)
    days = (today_local() - oldest).days if oldest else None
    lines: list[tuple[str, Any]] = [
        ("Đơn vị", f"{summary.district_code} {summary.district_name}"),
        ("Lần chạy", summary.run_id),
        ("Lập lúc", summary.written_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Đã sửa từ danh sách trước", summary.fixed),
        ("Còn phải sửa (bản ghi)", summary.entries),
        ("Số lỗi cần sửa", summary.problems),
        ("Bản ghi chờ lâu nhất từ ngày", oldest),
        ("Số ngày chờ lâu nhất", days),
    ]
    for rtype in _SHEET_ORDER:
        n = int(problems.loc[problems["record_type"] == rtype, "source_key"].nunique())
        if n:
            lines.append((f"Bản ghi cần sửa: {catalogue.record_types.get(rtype, rtype)}", n))
    for code, n in problems["code"].value_counts().items():
        lines.append((f"Lỗi {code}: {catalogue.title(str(code))}", int(n)))
    return lines


def _summary_sheet(
    ws: Any, problems: pd.DataFrame, summary: Summary, catalogue: Catalogue, bold: Any
) -> None:
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 40
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, "Mục", bold), _cell(ws, "Giá trị", bold)])
    for label, value in summary_lines(problems, summary, catalogue):
        ws.append([_cell(ws, label, bold), _cell(ws, value)])


def counts_by_type(problems: pd.DataFrame) -> Mapping[str, int]:
    """Entries to fix per record type."""
    return {
        str(k): int(v) for k, v in problems.groupby("record_type")["source_key"].nunique().items()
    }
