"""What a workbook inbox holds besides readable workbooks (issue 15): files in a format
that is not read and workbooks without a template sheet are rejected, each with one
line saying why; lock, hidden and temporary files are ignored without a word; and no
rejection quotes a cell, even when row 1 is a record or a cell cannot be parsed.

Every file is written here on disk and read by the real reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotich.extract.workbook import DISTRICT_ACTION_VI, TEMPLATE, ignored, inbox_files
from tests.integration.pipeline_kit import write_workbook
from tests.unit.test_workbook_limits import birth_row, extract, rejected_problem, write_xlsx

# Files people's desktops leave beside the workbooks: never read, never listed.
LOCK_AND_HIDDEN = [
    "~$a.xlsx",  # Excel's owner file while a.xlsx is open
    ".~lock.a.xlsx#",  # LibreOffice's lock file
    ".DS_Store",
    "._a.xlsx",  # macOS resource fork on a shared drive
    "Thumbs.db",
    "desktop.ini",
    "~WRL0001.tmp",  # Office's temporary file while saving
    "a.xlsx~",  # an editor's backup
]


def test_lock_hidden_and_temporary_files_are_ignored_without_a_word(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_xlsx(inbox / "a.xlsx", [birth_row(1)])
    for name in LOCK_AND_HIDDEN:
        (inbox / name).write_bytes(b"\x00lock")
    (inbox / "subfolder").mkdir()  # folders are not looked into
    assert all(ignored(name) for name in LOCK_AND_HIDDEN)
    assert [p.name for p in inbox_files(inbox)] == ["a.xlsx"]
    # While a.xlsx is open (its lock files beside it) it is not read, nor rejected.
    held, _ = extract(inbox, tmp_path)
    assert held.workbook_files == held.rejected_files == held.inbox_files == []
    (inbox / "~$a.xlsx").unlink()
    (inbox / ".~lock.a.xlsx#").unlink()

    result, records = extract(inbox, tmp_path)
    assert [f["file_name"] for f in result.workbook_files] == ["a.xlsx"] and len(records) == 1
    assert result.rejected_files == []
    assert [f["file_name"] for f in result.inbox_files] == ["a.xlsx"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("old.xls", "old.xls: format .xls (Excel 97-2003) is not read; save it as .xlsx (Excel Workbook)"),
        ("macro.xlsm", "macro.xlsm: format .xlsm (Excel macro-enabled) is not read; save it as .xlsx (Excel Workbook)"),
        ("calc.ods", "calc.ods: format .ods (OpenDocument) is not read; save it as .xlsx (Excel Workbook)"),
        ("OLD.XLS", "OLD.XLS: format .xls (Excel 97-2003) is not read; save it as .xlsx (Excel Workbook)"),
    ],
)  # fmt: skip
def test_a_spreadsheet_format_not_read_is_rejected_saying_to_save_it_as_xlsx(
    tmp_path: Path, name: str, expected: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # Content does not matter: a real .xlsx renamed is refused by its name all the same.
    write_xlsx(inbox / name, [birth_row(1)])
    result, records = extract(inbox, tmp_path)
    assert records.empty and result.workbook_files == []
    [rejected] = result.rejected_files
    assert (rejected["problem"], rejected["problem_kind"]) == (expected, "format")
    assert "lưu lại dưới dạng .xlsx" in DISTRICT_ACTION_VI["format"]


def test_any_other_file_is_rejected_saying_to_take_it_out(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "scan.pdf").write_bytes(b"%PDF-1.4")
    (inbox / "README").write_text("notes", encoding="utf-8")
    result, _ = extract(inbox, tmp_path)
    problems = {r["file_name"]: (r["problem"], r["problem_kind"]) for r in result.rejected_files}
    assert problems == {
        "README": (
            "README: a file without an extension is not read (an inbox holds .xlsx workbooks"
            " and <sheet>_*.csv files); take it out of the inbox",
            "not_a_workbook",
        ),
        "scan.pdf": (
            "scan.pdf: format .pdf is not read (an inbox holds .xlsx workbooks and"
            " <sheet>_*.csv files); take it out of the inbox",
            "not_a_workbook",
        ),
    }


def test_a_workbook_without_a_template_sheet_is_rejected_naming_its_sheets(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [TEMPLATE["KhaiSinh"], birth_row(1)]
    write_workbook(inbox / "a.xlsx", {"Sheet1": [["x"]], "khai sinh": rows})
    result, records = extract(inbox, tmp_path)
    assert records.empty and result.workbook_files == []
    [rejected] = result.rejected_files
    assert rejected["problem_kind"] == "no_template_sheet"
    assert rejected["problem"] == (
        "a.xlsx: no template sheet (KhaiSinh, KhaiTu, KetHon); its sheets: 'Sheet1',"
        " 'khai sinh' ('khai sinh' looks like KhaiSinh: sheet names must be exactly the"
        " template's)"
    )


def test_row_1_holding_a_record_is_rejected_without_quoting_it(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    record = birth_row(7)  # the header row left out: row 1 is a record
    write_workbook(inbox / "a.xlsx", {"KhaiSinh": [record, birth_row(8)]})
    problem = rejected_problem(inbox, tmp_path)
    assert problem.startswith(
        "a.xlsx: sheet KhaiSinh: row 1 holds none of the template's headers (is the header"
        " row missing?)"
    )
    assert "Nguyễn Văn 7" not in problem and "000000000007" not in problem


def test_unexpected_headers_are_named_by_column_not_by_their_text(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    header = list(TEMPLATE["KhaiSinh"])
    header[3] = "Ho va ten"  # typed without diacritics
    header[6] = "Nguyễn Thị Hoa"  # a name typed in the header row
    write_workbook(inbox / "a.xlsx", {"KhaiSinh": [header, birth_row(1)]})
    problem = rejected_problem(inbox, tmp_path)
    assert problem == (
        "a.xlsx: sheet KhaiSinh: headers differ from the template (missing 'Họ và tên',"
        " 'Số định danh'; unexpected column D (looks like 'Họ và tên'), column G)"
    )


def test_a_cell_the_parser_cannot_read_is_not_quoted(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # A cell typed as a number that holds a name: openpyxl's error quotes the name.
    bad = '<row r="3"><c r="D3" t="n"><v>Nguyễn Văn Tư</v></c></row>'
    write_xlsx(inbox / "a.xlsx", [birth_row(1)], extra_xml=bad)
    problem = rejected_problem(inbox, tmp_path)
    assert problem == (
        "a.xlsx: sheet KhaiSinh: cannot be read after row 2: ValueError (its text is not"
        " shown: it may quote a cell)"
    )


def test_every_kind_of_rejection_tells_the_district_what_to_do_in_vietnamese() -> None:
    assert set(DISTRICT_ACTION_VI) == {
        "format", "not_a_workbook", "no_template_sheet", "headers", "csv_name", "empty",
        "limit", "unreadable",
    }  # fmt: skip
    assert all(text.endswith(".") and text[0].isupper() for text in DISTRICT_ACTION_VI.values())
