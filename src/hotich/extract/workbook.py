"""``workbook`` districts: the digitization campaign's spreadsheets in an inbox folder.

A file is read when its content hash is new (a file replaced under the same name is read
again, and only its changed rows go on). A file that cannot be opened, or any of whose
template sheets has headers other than the template's, is rejected whole with a message
naming the file, the sheet and the problem; the other files go on.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hotich.extract import (
    Extract,
    RecordSink,
    as_text,
    changed_only,
    content_hash,
    raw_json,
    to_canonical,
)
from hotich.model import RecordType

log = logging.getLogger(__name__)

COMMON = {"Số quyển": "book", "Số đăng ký": "entry_no", "Ngày đăng ký": "registration_date"}
SHEETS: dict[str, tuple[RecordType, dict[str, str]]] = {
    "KhaiSinh": (
        RecordType.BIRTH,
        COMMON
        | {
            "Họ và tên": "subject_name",
            "Giới tính": "subject_sex",
            "Ngày sinh": "subject_dob",
            "Số định danh": "subject_id",
            "Nơi sinh": "place",
            "Dân tộc": "ethnicity",
            "Họ tên mẹ": "mother_name",
            "Ngày sinh mẹ": "mother_dob",
            "Họ tên cha": "father_name",
        },
    ),
    "KhaiTu": (
        RecordType.DEATH,
        COMMON
        | {
            "Họ và tên": "subject_name",
            "Giới tính": "subject_sex",
            "Ngày sinh": "subject_dob",
            "Số định danh": "subject_id",
            "Ngày chết": "death_date",
            "Nơi chết": "place",
            "Nguyên nhân": "death_cause",
        },
    ),
    "KetHon": (
        RecordType.MARRIAGE,
        COMMON
        | {
            "Họ tên chồng": "husband_name",
            "Ngày sinh chồng": "husband_dob",
            "Số định danh chồng": "husband_id",
            "Họ tên vợ": "wife_name",
            "Ngày sinh vợ": "wife_dob",
            "Số định danh vợ": "wife_id",
        },
    ),
}
# Columns in template order (the mapping dicts keep it).
TEMPLATE: dict[str, list[str]] = {sheet: list(m) for sheet, (_, m) in SHEETS.items()}
ID_COLUMNS = {"Số định danh", "Số định danh chồng", "Số định danh vợ"}


class RejectedFile(ValueError):
    """A workbook file rejected whole; the message names the file, sheet and problem."""


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inbox_files(inbox: Path) -> list[Path]:
    """The workbook files of an inbox, in name order (``.xlsx`` and ``<sheet>_*.csv``)."""
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox folder {inbox} does not exist")
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_file()
        and not p.name.startswith((".", "~$"))
        and p.suffix.lower() in {".xlsx", ".csv"}
    )


def _header(cells: list) -> list[str]:
    names = [unicodedata.normalize("NFC", str(c)).strip() if c is not None else "" for c in cells]
    while names and names[-1] == "":
        names.pop()
    return names


def _check_header(file_name: str, sheet: str, header: list[str]) -> None:
    expected = TEMPLATE[sheet]
    if header != expected:
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        detail = []
        if missing:
            detail.append("missing " + ", ".join(repr(c) for c in missing))
        if extra:
            detail.append("unexpected " + ", ".join(repr(c) for c in extra))
        if not detail:
            detail.append("columns out of template order")
        raise RejectedFile(
            f"{file_name}: sheet {sheet}: headers differ from the template ({'; '.join(detail)})"
        )


def _rows_frame(sheet: str, rows: list[tuple]) -> pd.DataFrame:
    """Data rows (row 2 on) as a frame indexed by row number; trailing empty rows dropped."""
    width = len(TEMPLATE[sheet])
    body = [tuple(r[:width]) + (None,) * (width - len(r)) for r in rows]
    while body and all(c is None or (isinstance(c, str) and not c.strip()) for c in body[-1]):
        body.pop()
    frame = pd.DataFrame(body, columns=TEMPLATE[sheet], dtype=object)
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="row")
    return frame


def read_xlsx(path: Path) -> dict[str, pd.DataFrame]:
    """The template sheets of an ``.xlsx`` file, checked, as frames of cell values."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise RejectedFile(f"{path.name}: cannot be opened as an .xlsx workbook: {exc}") from exc
    try:
        sheets = {}
        for sheet in book.sheetnames:
            if sheet not in SHEETS:
                continue
            rows = book[sheet].iter_rows(values_only=True)
            header = _header(list(next(rows, ())))
            _check_header(path.name, sheet, header)
            sheets[sheet] = _rows_frame(sheet, list(rows))
        return sheets
    finally:
        book.close()


def read_csv(path: Path) -> dict[str, pd.DataFrame]:
    """A ``<sheet>_*.csv`` file (UTF-8, optional BOM, every cell text) as one sheet."""
    sheet = path.name.split("_", 1)[0]
    if sheet not in SHEETS or "_" not in path.name:
        raise RejectedFile(
            f"{path.name}: a .csv file must be named <sheet>_*.csv with sheet one of {', '.join(SHEETS)}"
        )
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", header=None
        )
    except Exception as exc:
        raise RejectedFile(f"{path.name}: cannot be read as UTF-8 CSV: {exc}") from exc
    if frame.empty:
        raise RejectedFile(f"{path.name}: sheet {sheet}: the file is empty (no header row)")
    _check_header(path.name, sheet, _header(frame.iloc[0].tolist()))
    rows = [
        tuple(None if v == "" else v for v in r) for r in frame.iloc[1:].itertuples(index=False)
    ]
    return {sheet: _rows_frame(sheet, rows)}


def sheet_records(
    district_code: str, file_name: str, sheet: str, cells: pd.DataFrame
) -> pd.DataFrame:
    """One sheet's rows as a raw canonical frame (IDs that lost their zeros padded)."""
    record_type, mapping = SHEETS[sheet]
    text_cells = as_text(cells)
    for col in ID_COLUMNS & set(cells.columns):
        # A numeric ID cell lost its leading zeros: pad it back to 12 digits.
        numeric = cells[col].map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        text_cells.loc[numeric, col] = text_cells.loc[numeric, col].str.zfill(12)
    rows = pd.Series(cells.index, index=cells.index).astype(str)
    local_key = file_name + "#" + rows
    lineage: dict[str, Any] = {"#file": file_name, "#row": cells.index.astype(str)}
    return to_canonical(
        text_cells,
        mapping,
        district_code=district_code,
        record_type=record_type.value,
        local_key=local_key,
        sort_key=file_name + "\x00" + rows.str.zfill(9),
        hashes=content_hash(text_cells, list(text_cells.columns)),
        raw=raw_json(text_cells.assign(**lineage)),
    )


def extract_workbook(
    district_code: str,
    inbox: Path,
    *,
    known_files: Mapping[str, str],
    known_hashes: Mapping[str, str],
    sink: RecordSink,
) -> Extract:
    """Rows of new or changed inbox files whose content changed since last read."""
    files, rejected = [], []
    for path in inbox_files(inbox):
        digest = file_hash(path)
        if known_files.get(path.name) == digest:
            continue
        try:
            sheets = read_xlsx(path) if path.suffix.lower() == ".xlsx" else read_csv(path)
        except RejectedFile as exc:
            log.error("district %s: rejected %s", district_code, exc)
            rejected.append({"file_name": path.name, "content_hash": digest, "problem": str(exc)})
            continue
        n = 0
        for sheet, cells in sheets.items():
            n += len(cells)
            sink.write(
                changed_only(sheet_records(district_code, path.name, sheet, cells), known_hashes),
                read=len(cells),
            )
        files.append({"file_name": path.name, "content_hash": digest, "rows_read": n})
        log.info("district %s: read %s (%d rows)", district_code, path.name, n)
    return Extract(
        district_code, sink.rows, read=sink.read, workbook_files=files, rejected_files=rejected
    )
