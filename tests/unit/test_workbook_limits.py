"""Workbook inbox limits (issue 15): hostile files are rejected whole by the limit they
break, a declared dimension cannot blow up memory, and file names cannot forge log lines.

Every file is built here on disk, as a real ``.xlsx`` (openpyxl, then its XML patched
in the zip) or ``.csv``, and read by the real reader.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pandas as pd
import pytest

from hotich.config import Settings
from hotich.errors import loggable
from hotich.extract import RecordSink
from hotich.extract.workbook import TEMPLATE, WorkbookLimits, extract_workbook, read_file

DEFAULTS = WorkbookLimits.from_settings(Settings())
SHEET = "KhaiSinh"
WIDTH = len(TEMPLATE[SHEET])


def birth_row(i: int) -> list[Any]:
    """One plausible KhaiSinh row (synthetic people)."""
    return [
        "Q1", i + 1, "01/02/2003", f"Nguyễn Văn {i}", "Nam", "01/01/2003",
        f"{i:012d}", "Bắc Ninh", "Kinh", "Trần Thị Bình", "1980", "Nguyễn Văn Cường",
    ]  # fmt: skip


def _col(n: int) -> str:
    return openpyxl.utils.get_column_letter(n)


def _sheet_data(rows: Iterable[Sequence[Any]], first: int = 2) -> str:
    """``<row>`` elements for data rows (inline strings, numbers), from row ``first``."""
    out = []
    for r, row in enumerate(rows, start=first):
        cells = []
        for c, value in enumerate(row, start=1):
            ref = f"{_col(c)}{r}"
            if value is None:
                continue
            if isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out)


def write_xlsx(
    path: Path,
    rows: Iterable[Sequence[Any]] = (),
    *,
    dimension: str | None = None,
    extra_xml: str = "",
    extra_members: dict[str, bytes] | None = None,
) -> Path:
    """A KhaiSinh workbook: openpyxl writes the header, then the sheet's XML is patched
    in the zip: the data rows (generated as XML, fast), a declared ``<dimension>``, and
    ``extra_members`` added as parts (deflated)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append(TEMPLATE[SHEET])
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    data = _sheet_data(rows) + extra_xml
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = content.decode("utf-8").replace(
                    "</row></sheetData>", "</row>" + data + "</sheetData>"
                )
                if dimension is not None:
                    xml = re.sub(
                        r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', xml
                    )
                    assert f'<dimension ref="{dimension}"/>' in xml
                content = xml.encode("utf-8")
            zout.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
        for name, blob in (extra_members or {}).items():
            zout.writestr(name, blob, compress_type=zipfile.ZIP_DEFLATED)
    plain.unlink()
    return path


def write_csv(path: Path, rows: Iterable[Sequence[Any]]) -> Path:
    """A ``KhaiSinh_*.csv`` file: the header, then the rows (all text)."""
    lines = [",".join(TEMPLATE[SHEET])]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_all(
    path: Path, limits: WorkbookLimits = DEFAULTS, chunk_rows: int = 20_000
) -> pd.DataFrame:
    frames = [frame for _, frame in read_file(path, limits, chunk_rows)]
    return pd.concat(frames) if frames else pd.DataFrame(columns=TEMPLATE[SHEET])


def extract(inbox: Path, tmp: Path, **kwargs: Any) -> tuple[Any, pd.DataFrame]:
    sink = RecordSink(tmp / "extract.parquet")
    try:
        result = extract_workbook(
            "263", inbox, known_files={}, known_hashes={}, sink=sink, **kwargs
        )
    finally:
        sink.close()
    return result, pd.read_parquet(tmp / "extract.parquet")


def rejected_problem(inbox: Path, tmp: Path, **kwargs: Any) -> str:
    result, records = extract(inbox, tmp, **kwargs)
    assert result.workbook_files == [] and records.empty
    [rejected] = result.rejected_files
    return rejected["problem"]


# --- the declared dimension ---------------------------------------------------------------
def test_defaults_fit_a_campaign_workbook() -> None:
    assert DEFAULTS.max_rows >= 20_000 * 2
    assert 10 * 2**20 <= DEFAULTS.max_file_bytes <= 100 * 2**20
    assert DEFAULTS.max_unpacked_bytes <= 200 * 2**20
    assert DEFAULTS.max_cell_chars >= 255  # the longest contract column (places)


def test_settings_read_the_workbook_limits_from_the_environment() -> None:
    env = {
        "HOTICH_WORKBOOK_MAX_FILE_BYTES": "1000",
        "HOTICH_WORKBOOK_MAX_UNPACKED_BYTES": "2000",
        "HOTICH_WORKBOOK_MAX_COMPRESSION_RATIO": "30",
        "HOTICH_WORKBOOK_MAX_ROWS": "40",
        "HOTICH_WORKBOOK_MAX_CELL_CHARS": "50",
    }
    assert WorkbookLimits.from_settings(Settings.from_env(env)) == WorkbookLimits(
        1000, 2000, 30, 40, 50
    )


def test_declared_dimension_does_not_pad_rows(tmp_path: Path) -> None:
    rows = [birth_row(i) for i in range(5)]
    plain = read_all(write_xlsx(tmp_path / "plain.xlsx", rows))
    padded_file = write_xlsx(tmp_path / "padded.xlsx", rows, dimension="A1:XFD1048576")
    padded = read_all(padded_file)
    assert list(padded.columns) == TEMPLATE[SHEET] and list(padded.index) == [2, 3, 4, 5, 6]
    pd.testing.assert_frame_equal(padded, plain)
    assert padded.loc[2, "Họ và tên"] == "Nguyễn Văn 0" and padded.loc[6, "Số đăng ký"] == 5


MEASURE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from hotich.config import Settings
    from hotich.extract.workbook import WorkbookLimits, read_file
    import openpyxl, pandas  # imported before the baseline
    def status_mb(key):  # VmRSS: resident now; VmHWM: its peak (this process image only)
        return int(Path("/proc/self/status").read_text().split(key + ":")[1].split()[0]) / 1024
    base, started = status_mb("VmRSS"), time.monotonic()
    rows = sum(len(f) for _, f in read_file(Path(sys.argv[1]), WorkbookLimits.from_settings(Settings())))
    growth = status_mb("VmHWM") - base
    print(json.dumps({"rows": rows, "growth_mb": round(growth, 1),
                      "seconds": round(time.monotonic() - started, 2)}))
    """
)


def test_dimension_padded_20000_rows_read_in_bounded_memory(tmp_path: Path) -> None:
    """Issue 15: 0.6 MB declaring A1:XFD1048576 took 2.66 GB for 20,000 rows (the old
    reader: 2,533 MB peak growth measured here). Peak RSS (VmHWM; ``ru_maxrss`` would
    inherit pytest's across exec) over the resident size before reading, in a fresh
    process: C allocations included, unlike tracemalloc."""
    path = write_xlsx(
        tmp_path / "KhaiSinh_padded.xlsx",
        (birth_row(i) for i in range(20_000)),
        dimension="A1:XFD1048576",
    )
    assert path.stat().st_size < 2 * 2**20
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    measured = json.loads(out.stdout)
    print(f"\ndimension-padded 20,000 rows: {measured}")
    assert measured["rows"] == 20_000
    assert measured["growth_mb"] < 300


def test_stray_cell_at_the_last_row_is_over_the_row_limit(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    stray = '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    write_xlsx(inbox / "stray.xlsx", [birth_row(0)], extra_xml=stray)
    problem = rejected_problem(inbox, tmp_path)
    assert "stray.xlsx: sheet KhaiSinh: over the workbook limit max_rows = 100,000" in problem
    assert "HOTICH_WORKBOOK_MAX_ROWS" in problem


# --- zip bombs ----------------------------------------------------------------------------
def test_declared_unpacked_size_over_the_limit_is_rejected_before_reading(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bomb = b"\0" * (DEFAULTS.max_unpacked_bytes + 2**20)
    write_xlsx(inbox / "bomb.xlsx", [birth_row(0)], extra_members={"xl/media/pad.bin": bomb})
    del bomb
    assert (inbox / "bomb.xlsx").stat().st_size < 2 * 2**20
    started = time.monotonic()
    problem = rejected_problem(inbox, tmp_path)
    elapsed = time.monotonic() - started
    print(f"\nzip bomb rejected in {elapsed:.3f} s: {problem}")
    assert problem.startswith("bomb.xlsx: over the workbook limit max_unpacked_bytes = 104,857,600")
    assert "HOTICH_WORKBOOK_MAX_UNPACKED_BYTES" in problem and "bytes unpacked" in problem


def test_one_huge_cell_in_a_tiny_file_is_rejected_by_its_compression_ratio(tmp_path: Path) -> None:
    """Issue 15: one 283 MB cell in a 0.28 MB file peaked at 6.5 GB (here 20 MB, same ratio)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_xlsx(inbox / "cell.xlsx", [birth_row(0), ["Q1", 2, None, "A" * 20 * 2**20]])
    problem = rejected_problem(inbox, tmp_path)
    assert problem.startswith("cell.xlsx: over the workbook limit max_compression_ratio = 150")
    assert (
        "'xl/worksheets/sheet1.xml'" in problem
        and "HOTICH_WORKBOOK_MAX_COMPRESSION_RATIO" in problem
    )


def test_file_over_the_size_limit_is_rejected(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_xlsx(inbox / "big.xlsx", [birth_row(i) for i in range(200)])
    write_csv(inbox / "KhaiSinh_big.csv", [birth_row(i) for i in range(200)])
    result, records = extract(inbox, tmp_path, limits=replace(DEFAULTS, max_file_bytes=4000))
    assert records.empty and result.workbook_files == []
    problems = {r["file_name"]: r["problem"] for r in result.rejected_files}
    assert set(problems) == {"big.xlsx", "KhaiSinh_big.csv"}
    for name, problem in problems.items():
        assert problem.startswith(f"{name}: over the workbook limit max_file_bytes = 4,000")
        assert "HOTICH_WORKBOOK_MAX_FILE_BYTES" in problem


# --- rows and cells -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_cell_over_the_limit_is_rejected_without_its_value(tmp_path: Path, kind: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    long_place = "Thôn Đông " * 101  # 1,010 characters
    rows = [birth_row(0), birth_row(1)[:7] + [long_place] + birth_row(1)[8:]]
    name = "long.xlsx" if kind == "xlsx" else "KhaiSinh_long.csv"
    (write_xlsx if kind == "xlsx" else write_csv)(inbox / name, rows)
    problem = rejected_problem(inbox, tmp_path)
    assert problem == (
        f"{name}: sheet KhaiSinh: over the workbook limit max_cell_chars = 1,000"
        " (HOTICH_WORKBOOK_MAX_CELL_CHARS): row 3, column 'Nơi sinh' holds 1,010 characters"
    )


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_rows_over_the_limit_are_rejected_and_trailing_empty_rows_do_not_count(
    tmp_path: Path, kind: str
) -> None:
    limits = replace(DEFAULTS, max_rows=50)
    write = write_xlsx if kind == "xlsx" else write_csv
    prefix = "" if kind == "xlsx" else "KhaiSinh_"
    at_limit = [birth_row(i) for i in range(50)] + [[None] * WIDTH, ["  "] + [None] * (WIDTH - 1)]
    ok = read_all(write(tmp_path / f"{prefix}ok.{kind}", at_limit), limits)
    assert len(ok) == 50 and ok.index[-1] == 51
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox / f"{prefix}over.{kind}", [birth_row(i) for i in range(51)])
    problem = rejected_problem(inbox, tmp_path, limits=limits)
    assert problem == (
        f"{prefix}over.{kind}: sheet KhaiSinh: over the workbook limit max_rows = 50"
        " (HOTICH_WORKBOOK_MAX_ROWS): more than 50 data rows"
    )


def test_a_file_rejected_half_way_leaves_none_of_its_rows(tmp_path: Path) -> None:
    """Chunks of 10 rows: the bad cell is in row 32, after three chunks were read."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = [birth_row(i) for i in range(40)]
    bad[30] = bad[30][:3] + ["X" * 1001] + bad[30][4:]
    write_xlsx(inbox / "a_bad.xlsx", bad)
    write_xlsx(inbox / "b_good.xlsx", [birth_row(i) for i in range(25)])
    write_csv(inbox / "KhaiSinh_c.csv", [birth_row(i) for i in range(3)])
    result, records = extract(inbox, tmp_path, chunk_rows=10)
    [rejected] = result.rejected_files
    assert (
        rejected["file_name"] == "a_bad.xlsx"
        and "row 32, column 'Họ và tên'" in rejected["problem"]
    )
    assert [(f["file_name"], f["rows_read"]) for f in result.workbook_files] == [
        ("KhaiSinh_c.csv", 3),  # name order: capitals first
        ("b_good.xlsx", 25),
    ]
    assert (result.extracted, result.read) == (28, 28) and len(records) == 28
    assert not records["local_key"].str.startswith("a_bad.xlsx").any()
    assert records["local_key"].iloc[0] == "KhaiSinh_c.csv#2"
    assert records["local_key"].iloc[-1] == "b_good.xlsx#26"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "extract.parquet",
        "inbox",
    ]  # no spool left


def test_interior_empty_rows_keep_their_row_numbers(tmp_path: Path) -> None:
    rows = [birth_row(0), [None] * WIDTH, birth_row(2), [None] * WIDTH]
    frame = read_all(write_xlsx(tmp_path / "gaps.xlsx", rows), chunk_rows=1)
    assert list(frame.index) == [2, 3, 4]
    assert frame.loc[3].isna().all() and frame.loc[4, "Số đăng ký"] == 3


# --- log lines ----------------------------------------------------------------------------
def test_loggable_escapes_control_characters() -> None:
    assert (
        loggable("a\nb\rc\x1b[31md\x00\x7f\x85\u2028")
        == "a\\nb\\rc\\x1b[31md\\x00\\x7f\\x85\\u2028"
    )
    assert loggable("Sổ Tiên Du #3.xlsx") == "Sổ Tiên Du #3.xlsx"


def test_a_file_name_cannot_split_or_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    forged = "x\nINFO district 263: read fake.xlsx (0 rows)\r\x1b[2K"
    write_csv(inbox / f"KhaiSinh_{forged}.csv", [birth_row(0)])
    write_xlsx(inbox / f"bad{forged}.xlsx", [birth_row(0), ["Y" * 1001]])
    with caplog.at_level("INFO", logger="hotich.extract"):
        result, records = extract(inbox, tmp_path)
    assert len(records) == 1 and len(result.rejected_files) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "hotich.extract.workbook"]
    assert len(lines) == 2
    for line in lines:
        assert not re.search("[\n\r\x1b]", line), line
        assert "x\\nINFO district 263: read fake.xlsx (0 rows)\\r\\x1b[2K" in line
    # The names themselves are kept as they are in the extract state.
    assert result.workbook_files[0]["file_name"] == f"KhaiSinh_{forged}.csv"
