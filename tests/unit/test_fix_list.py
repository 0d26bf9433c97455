"""The fix list: problems found from the district's own row, in Vietnamese, written as a
workbook that opened back keeps its text and never evaluates a formula-like cell."""

from __future__ import annotations

import datetime as dt
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from hotich import model, validate
from hotich.config import Settings
from hotich.feedback import fixlist, messages
from hotich.model import Flavor

SETTINGS = Settings()
CATALOGUE = messages.load_catalogue(SETTINGS.messages_file)
CODES = validate.load_province_codes(SETTINGS.province_codes_file)
OPENED = pd.Timestamp("2026-11-20T03:00Z")
HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _entries() -> pd.DataFrame:
    birth = {"Số quyển": "01", "Số đăng ký": "1", "Ngày đăng ký": "05/03/1990",
             "Họ và tên": "Nguyễn Thị Ánh", "Giới tính": "Nữ", "Ngày sinh": "30/02/1990",
             "Số định danh": "12345"}  # fmt: skip
    marriage = {"Số quyển": "02", "Số đăng ký": "7", "Ngày đăng ký": "05/03/2010",
                "Họ tên chồng": "Trần Văn Bình", "Ngày sinh chồng": "01/01/1995",
                "Số định danh chồng": "027195000001", "Họ tên vợ": "Lê\x07 Thị Cúc",
                "Ngày sinh vợ": "01/01/1994"}  # fmt: skip
    death = {"Số quyển": "03", "Số đăng ký": "9", "Ngày đăng ký": "05/03/2010",
             "Họ và tên": "", "Giới tính": "Nữ", "Ngày sinh": "1950", "Ngày chết": "01/01/2011"}  # fmt: skip
    rows = [
        ("263:birth:sổ 1.xlsx#5", "birth", ["DATE_INVALID", "ID_FORMAT"], birth, None),
        ("263:marriage:sổ 1.xlsx#7", "marriage",
         ["ID_CENTURY_SEX", "MARRIAGE_AGE", "RETURNED", "VALUE_INVALID"], marriage,
         "Tên vợ sai, xem lại sổ gốc"),
        ("263:death:sổ 1.xlsx#9", "death", ["DATE_ORDER", "DUPLICATE_ENTRY", "REQUIRED_MISSING"],
         death, None),
    ]  # fmt: skip
    rows += [
        (f"263:birth:hostile.xlsx#{i + 2}", "birth", ["REQUIRED_MISSING"],
         {**birth, "Ngày sinh": "01/01/1990", "Số định danh": None, "Họ và tên": "",
          "Số đăng ký": h}, None)
        for i, h in enumerate(HOSTILE)
    ]  # fmt: skip
    return pd.DataFrame(
        rows, columns=["source_key", "record_type", "reasons", "source_record", "note"]
    ).assign(opened_at=OPENED)


@pytest.fixture(scope="module")
def found() -> pd.DataFrame:
    return messages.problems(_entries(), Flavor.WORKBOOK, CATALOGUE, CODES)


def test_every_reason_code_has_a_vietnamese_message():
    assert set(CATALOGUE.reasons) == model.ALL_CODES
    assert all(t["message"] and not t["message"].isascii() for t in CATALOGUE.reasons.values())


def test_a_catalogue_missing_a_code_is_refused(tmp_path):
    text = SETTINGS.messages_file.read_text(encoding="utf-8").replace("  DATE_ORDER:", "  X_ORDER:")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(messages.CatalogueError, match="DATE_ORDER"):
        messages.load_catalogue(tmp_path / "m.yaml")


def test_the_field_and_its_problem_in_plain_vietnamese(found):
    by = {(r.source_key.split(":")[1], r.code, r.field): r for r in found.itertuples()}
    assert by["birth", "DATE_INVALID", "subject_dob"].message.startswith(
        "Ngày sinh 30/02/1990 không tồn tại"
    )
    assert by["birth", "ID_FORMAT", "subject_id"].message == (
        "Số định danh 12345 không phải 12 chữ số"
    )
    assert "chữ số thứ tư" in by["marriage", "ID_CENTURY_SEX", "husband_id"].message
    # The husband is 15 at registration, the wife 16: both are named.
    assert {"husband_dob", "wife_dob"} <= {f for (_, c, f) in by if c == "MARRIAGE_AGE"}
    assert by["marriage", "RETURNED", ""].message == (
        "Cán bộ rà soát trả lại: Tên vợ sai, xem lại sổ gốc"
    )
    # A control character is shown, not written (a spreadsheet cannot hold it).
    assert by["marriage", "VALUE_INVALID", "wife_name"].value == "Lê\\x07 Thị Cúc"
    assert by["death", "DATE_ORDER", "registration_date"].message == (
        "Ngày đăng ký 05/03/2010 trước Ngày chết 01/01/2011"
    )
    assert by["death", "REQUIRED_MISSING", "subject_name"].field_label == "Họ và tên"
    assert "Quyển 03, số đăng ký 9" in by["death", "DUPLICATE_ENTRY", "entry_no"].message
    first = found[found["source_key"] == "263:birth:sổ 1.xlsx#5"].iloc[0]
    assert (first["file_name"], first["row_number"], first["book"]) == ("sổ 1.xlsx", 5, "01")
    # Every quarantine code of every entry has its row.
    for e in _entries().itertuples():
        assert set(e.reasons) <= set(found.loc[found["source_key"] == e.source_key, "code"])


def test_the_workbook_opened_back(found, tmp_path):
    summary = fixlist.Summary("263", "Gia Bình", "manual__1", dt.datetime.now(dt.UTC),
                              entries=found["source_key"].nunique(), problems=len(found),
                              fixed=4, oldest_since=OPENED.to_pydatetime())  # fmt: skip
    path = fixlist.write_fix_list(tmp_path / "fix.xlsx", found, summary, CATALOGUE)
    wb = load_workbook(path)
    assert wb.sheetnames == [fixlist.SUMMARY_SHEET, "Khai sinh", "Khai tử", "Kết hôn"]
    ws = wb["Khai sinh"]
    headers = [c.value for c in ws[1]]
    assert headers == [h for _, h, _ in fixlist.COLUMNS]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:K{(found['record_type'] == 'birth').sum() + 1}"
    values = [c.value for row in ws.iter_rows(min_row=2) for c in row]
    assert "Ngày sinh 30/02/1990 không tồn tại hoặc không đúng dạng ngày/tháng/năm" in values
    # The formula-like values are there exactly as typed, as text cells with a quote prefix.
    cells = {c.value: c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    for h in HOSTILE:
        h = h.replace("\r", "\n")  # XML reads a carriage return as a line feed
        assert h in cells, repr(h)
        assert cells[h].data_type == "s" and cells[h].quotePrefix
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml
    lines = {r[0].value: r[1].value for r in wb[fixlist.SUMMARY_SHEET].iter_rows(min_row=2)}
    assert lines["Đã sửa từ danh sách trước"] == 4
    assert lines["Còn phải sửa (bản ghi)"] == summary.entries
    assert lines["Bản ghi chờ lâu nhất từ ngày"].date() == dt.date(2026, 11, 20)


def test_texts_that_look_like_excel_errors_or_numbers_stay_text(found, tmp_path):
    """Values are written bare where openpyxl keeps them as typed: a text equal to an Excel
    error code is still a text cell, a missing value an empty one, a date a date."""
    from openpyxl.cell.cell import ERROR_CODES

    assert fixlist._EXCEL_ERRORS == set(ERROR_CODES)
    births = found[found["record_type"] == "birth"].reset_index(drop=True)
    typed = [*ERROR_CODES, "007", "1e5", "Nguyễn Thị Ánh", float("nan"), None]
    rows = births.iloc[[0] * len(typed)].reset_index(drop=True).assign(value=typed)
    rows.loc[len(typed) - 1, "waiting_since"] = None
    summary = fixlist.Summary("263", "Gia Bình", "manual__1", dt.datetime.now(dt.UTC),
                              entries=1, problems=len(rows), fixed=0, oldest_since=None)  # fmt: skip
    ws = load_workbook(fixlist.write_fix_list(tmp_path / "f.xlsx", rows, summary, CATALOGUE))[
        "Khai sinh"
    ]
    column = [h for _, h, _ in fixlist.COLUMNS].index("Giá trị hiện tại")
    cells = [row[column] for row in ws.iter_rows(min_row=2)]
    for cell, value in zip(cells, typed, strict=True):
        if isinstance(value, str):
            assert (cell.value, cell.data_type) == (value, "s")
        else:
            assert cell.value is None
    since = [row[len(fixlist.COLUMNS) - 1].value for row in ws.iter_rows(min_row=2)]
    assert since[0].date() == dt.date(2026, 11, 20) and since[-1] is None
    assert ws.cell(2, len(fixlist.COLUMNS)).is_date


def test_columns_are_as_wide_as_their_content_within_bounds(found, tmp_path):
    """A book "901-KS-2018" is not cut; a long message stops at its column's bound."""
    rows = found[found["record_type"] == "birth"].copy()
    rows.loc[rows.index[0], "book"] = "901-KS-2018"
    rows.loc[rows.index[1], "message"] = "Rất dài " * 40
    summary = fixlist.Summary("263", "Gia Bình", "manual__2", dt.datetime.now(dt.UTC),
                              entries=rows["source_key"].nunique(), problems=len(rows),
                              fixed=0, oldest_since=None)  # fmt: skip
    path = fixlist.write_fix_list(tmp_path / "wide.xlsx", rows, summary, CATALOGUE)
    ws = load_workbook(path)["Khai sinh"]
    for i, (_, header, widest) in enumerate(fixlist.COLUMNS, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        width = ws.column_dimensions[letter].width
        texts = [header] + [
            c.strftime("%d/%m/%Y") if isinstance(c, dt.datetime) else str(c)
            for (c,) in ws.iter_rows(min_row=2, min_col=i, max_col=i, values_only=True)
            if c is not None
        ]
        longest = max(len(t) for t in texts)
        assert width == min(longest + fixlist.WIDTH_PADDING, widest), (header, width, longest)
    book = ws.column_dimensions["A"].width
    assert book >= len("901-KS-2018") + 1  # the book is read whole
    assert ws.column_dimensions["I"].width == 90  # the long message: its bound
    assert ws.column_dimensions["E"].width == len("Dòng") + fixlist.WIDTH_PADDING
