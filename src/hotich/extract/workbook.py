"""``workbook`` districts: the digitization campaign's spreadsheets in an inbox folder.

A file is read when its content hash is new (a file replaced under the same name is read
again, and only its changed rows go on). A file that cannot be opened, or any of whose
template sheets has headers other than the template's, is rejected whole with a message
naming the file, the sheet and the problem; the other files go on. So is a file over a
:class:`WorkbookLimits` limit (file size, declared unpacked size or compression ratio,
rows, cell length): checked before reading (the zip's directory) or while streaming its
rows, so that memory stays bounded whatever the file declares (issue 15). So is a file
in a format that is not read (``.xls``, ``.xlsm``, ``.ods``, anything but ``.xlsx`` and
``.csv``) and a workbook without any template sheet: the district must act on each, so
each is listed until resolved (docs/decisions/0007). Lock, hidden and temporary files
(:func:`ignored`) are passed over without a word, on purpose.

A rejection's message is for operators (English) and never holds a cell's value: a
header cell that is not the template's is named by its column, not its text (row 1 may
be a record when the header row is missing), and a parser's error is quoted only when
its type's messages are structural (:func:`_error_detail`).
"""

from __future__ import annotations

import hashlib
import logging
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import pandas as pd

from hotich.config import Settings
from hotich.errors import first_line, loggable
from hotich.extract import (
    Extract,
    KnownHashes,
    RecordSink,
    as_text,
    changed_only,
    content_hash,
    raw_json,
    to_canonical,
)
from hotich.model import RecordType, mask_ids
from hotich.names import fold_keys

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


# Kinds of rejection (``recon.rejected_file.problem_kind``), each with what the district
# does about it, in Vietnamese: the dashboard shows it beside the operator's English text.
DISTRICT_ACTION_VI: dict[str, str] = {
    "format": "Mở tệp và lưu lại dưới dạng .xlsx (Excel Workbook), rồi đặt tệp .xlsx vào"
    " thư mục nhận và bỏ tệp cũ ra.",
    "not_a_workbook": "Tệp này không phải bảng tính theo mẫu (.xlsx hoặc .csv): hãy chuyển"
    " tệp ra khỏi thư mục nhận.",
    "no_template_sheet": "Tệp không có trang tính nào tên KhaiSinh, KhaiTu hoặc KetHon:"
    " đặt tên trang tính đúng như mẫu.",
    "headers": "Dòng 1 của trang tính phải là dòng tiêu đề của mẫu, đúng tên và thứ tự cột.",
    "csv_name": "Tệp .csv phải có tên dạng <trang tính>_*.csv, ví dụ KhaiSinh_2019.csv.",
    "empty": "Tệp trống: thiếu dòng tiêu đề của mẫu.",
    "limit": "Tệp vượt giới hạn cho phép (dung lượng, số dòng hoặc độ dài một ô): chia nhỏ"
    " tệp hoặc sửa ô quá dài.",
    "unreadable": "Không mở được tệp: mở lại bằng Excel, lưu dưới dạng .xlsx (Excel"
    " Workbook) rồi đặt lại vào thư mục nhận.",
}


class RejectedFile(ValueError):
    """A workbook file rejected whole; the message names the file, sheet and problem,
    ``kind`` the kind of problem (a key of :data:`DISTRICT_ACTION_VI`)."""

    def __init__(self, message: str, kind: str = "unreadable") -> None:
        super().__init__(message)
        assert kind in DISTRICT_ACTION_VI, kind
        self.kind = kind


# The setting and environment variable of each limit, named in the rejection message.
_LIMIT_ENV = {
    "max_file_bytes": "HOTICH_WORKBOOK_MAX_FILE_BYTES",
    "max_unpacked_bytes": "HOTICH_WORKBOOK_MAX_UNPACKED_BYTES",
    "max_compression_ratio": "HOTICH_WORKBOOK_MAX_COMPRESSION_RATIO",
    "max_rows": "HOTICH_WORKBOOK_MAX_ROWS",
    "max_cell_chars": "HOTICH_WORKBOOK_MAX_CELL_CHARS",
}
# Members smaller than this are not held to the compression ratio (tiny XML parts
# deflate at any ratio and cannot exhaust memory anyway).
RATIO_MIN_BYTES = 2**20
CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class WorkbookLimits:
    """What an inbox file may be before it is read (``Settings.workbook_*``).

    A file over any of them is rejected whole, the message naming the limit: they keep
    the reader's memory bounded whatever a file declares (issue 15: a 0.6 MB file
    declaring ``A1:XFD1048576``, or a 0.3 MB zip unpacking to a 283 MB cell).
    """

    max_file_bytes: int  # the file on disk
    max_unpacked_bytes: int  # sum of the .xlsx members' declared unpacked sizes
    max_compression_ratio: int  # any member's unpacked/packed size (a zip bomb)
    max_rows: int  # data rows of the file, all sheets (trailing empty rows not counted)
    max_cell_chars: int  # characters of any one text cell

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> WorkbookLimits:
        """The limits of ``settings`` (the environment's, ``Settings.from_env()``, if None)."""
        s = Settings.from_env() if settings is None else settings
        return cls(
            max_file_bytes=s.workbook_max_file_bytes,
            max_unpacked_bytes=s.workbook_max_unpacked_bytes,
            max_compression_ratio=s.workbook_max_compression_ratio,
            max_rows=s.workbook_max_rows,
            max_cell_chars=s.workbook_max_cell_chars,
        )

    def broken(self, where: str, limit: str, detail: str) -> RejectedFile:
        """The rejection of a file (``where``: file, and sheet if any) over ``limit``."""
        return RejectedFile(
            f"{where}: over the workbook limit {limit} = {getattr(self, limit):,}"
            f" ({_LIMIT_ENV[limit]}): {detail}",
            kind="limit",
        )


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes (read in blocks: memory does not grow with the file)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# The formats read, and the spreadsheet formats a district can save as .xlsx instead.
READ_SUFFIXES = frozenset({".xlsx", ".csv"})
SAVE_AS_XLSX = {
    ".xls": "Excel 97-2003",
    ".xlsm": "Excel macro-enabled",
    ".xlsb": "Excel binary",
    ".ods": "OpenDocument",
    ".numbers": "Apple Numbers",
}
# Folder files of the desktop systems, ignored like hidden and lock files.
_SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})


def ignored(name: str) -> bool:
    """True for the files an inbox may hold beside the workbooks that are no one's
    work: hidden files (``.DS_Store``, macOS ``._*``, LibreOffice's ``.~lock.*#``),
    Office lock and temporary files (``~$book.xlsx``, ``~WRL0001.tmp``, ``*.tmp``),
    editor backups (``*~``), and ``Thumbs.db`` / ``desktop.ini``. They are passed over
    without a word: they come and go as people open and save files."""
    lower = name.lower()
    return name.startswith((".", "~")) or lower.endswith(("~", ".tmp")) or lower in _SYSTEM_FILES


def lock_files(path: Path) -> list[Path]:
    """The lock files an office suite keeps beside ``path`` while it is open: Excel's
    ``~$name`` (its first two characters dropped for longer names) and LibreOffice's
    ``.~lock.name#``."""
    name = path.name
    names = {f"~${name}", f"~${name[1:]}", f"~${name[2:]}", f".~lock.{name}#"}
    return [path.with_name(n) for n in sorted(names)]


def still_written(path: Path, settle_s: float, now: float | None = None) -> bool:
    """True while a file may still be being written: modified less than ``settle_s``
    seconds ago (its size or content still changing), or open in an office suite (a lock
    file beside it). Such a file is not read: a later run reads it once it is complete."""
    stat = path.stat()
    if settle_s > 0 and (time.time() if now is None else now) - stat.st_mtime < settle_s:
        return True
    return any(lock.exists() for lock in lock_files(path))


def inbox_files(inbox: Path) -> list[Path]:
    """The files of an inbox in name order, less the :func:`ignored` ones (folders are
    not looked into). Files in a format that is not read are listed: the reader rejects
    them with the reason (:func:`check_format`)."""
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox folder {inbox} does not exist")
    return sorted(p for p in inbox.iterdir() if p.is_file() and not ignored(p.name))


def check_format(path: Path) -> None:
    """Reject a file whose format is not read, saying what to do with it."""
    suffix = path.suffix.lower()
    if suffix in READ_SUFFIXES:
        return
    if suffix in SAVE_AS_XLSX:
        raise RejectedFile(
            f"{path.name}: format {suffix} ({SAVE_AS_XLSX[suffix]}) is not read;"
            " save it as .xlsx (Excel Workbook)",
            kind="format",
        )
    what = f"format {suffix}" if suffix else "a file without an extension"
    raise RejectedFile(
        f"{path.name}: {what} is not read (an inbox holds .xlsx workbooks and"
        " <sheet>_*.csv files); take it out of the inbox",
        kind="not_a_workbook",
    )


# Parser errors whose messages say where the structure broke, never what a cell holds
# (zip, XML and UTF-8 decoding errors, pandas' tokenizer): quoted in a rejection. Other
# errors (a ValueError casting a cell, say) may quote a value: only their type is named.
_STRUCTURAL_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ParseError,
    SyntaxError,  # lxml's XMLSyntaxError
    UnicodeDecodeError,
    pd.errors.ParserError,
    OSError,
)


def _error_detail(exc: BaseException) -> str:
    """What a rejection says of a parser's error: its first line (IDs masked, at most
    200 characters) when :data:`_STRUCTURAL_ERRORS` holds its type, else its type's name."""
    if isinstance(exc, _STRUCTURAL_ERRORS):
        text = mask_ids(first_line(exc))
        return text if len(text) <= 200 else text[:199] + "…"
    return f"{type(exc).__name__} (its text is not shown: it may quote a cell)"


def _header(cells: Iterable[Any]) -> list[str]:
    names = [unicodedata.normalize("NFC", str(c)).strip() if c is not None else "" for c in cells]
    while names and names[-1] == "":
        names.pop()
    return names


# An unexpected header cell is said to look like the closest missing template header
# at this similarity (rapidfuzz ratio of the folded texts) or more.
NEAR_HEADER_SCORE = 70


def _check_header(file_name: str, sheet: str, header: list[str]) -> None:
    """Reject a sheet whose row 1 is not the template's header row.

    Only template headers and column letters are named: a cell that is not a template
    header is never quoted, since row 1 is a record's row when the header row is missing.
    """
    expected = TEMPLATE[sheet]
    if header == expected:
        return
    where = f"{file_name}: sheet {sheet}"
    if not set(header) & set(expected):
        raise RejectedFile(
            f"{where}: row 1 holds none of the template's headers (is the header row"
            f" missing?); the sheet must start with the header row {', '.join(expected)}",
            kind="headers",
        )
    missing = [c for c in expected if c not in header]
    extra = [(i, c) for i, c in enumerate(header) if c not in expected]
    detail = []
    if missing:
        detail.append("missing " + ", ".join(repr(c) for c in missing))
    if extra:
        detail.append("unexpected " + ", ".join(_unexpected(i, c, missing) for i, c in extra))
    if not detail:
        detail.append("columns out of template order: " + ", ".join(expected))
    raise RejectedFile(
        f"{where}: headers differ from the template ({'; '.join(detail)})", kind="headers"
    )


def _unexpected(index: int, cell: str, missing: list[str]) -> str:
    """An unexpected header cell by its column letter (its text not shown), with the
    missing template header it looks like, if any."""
    from openpyxl.utils import get_column_letter
    from rapidfuzz import fuzz, process

    column = f"column {get_column_letter(index + 1)}"
    if not cell:
        return f"{column} (empty)"
    folded = fold_keys([cell, *missing]).to_pylist()
    near = process.extractOne(
        folded[0], folded[1:], scorer=fuzz.ratio, score_cutoff=NEAR_HEADER_SCORE
    )
    return f"{column} (looks like {missing[near[2]]!r})" if near else column


def _no_template_sheet(file_name: str, sheets: list[str]) -> RejectedFile:
    """The rejection of a workbook none of whose sheets is a template sheet, naming its
    sheets (at most 5, each cut to Excel's 31 characters) and any that is named almost
    like one (other case, spaces or diacritics)."""
    folded_template = dict(zip(fold_keys(list(SHEETS)).to_pylist(), SHEETS, strict=True))
    folded = [f.replace(" ", "") if f else "" for f in fold_keys(sheets).to_pylist()]
    near = [
        f"{name[:31]!r} looks like {folded_template[f]}"
        for name, f in zip(sheets, folded, strict=True)
        if f in folded_template
    ]
    shown = ", ".join(repr(n[:31]) for n in sheets[:5]) + (" …" if len(sheets) > 5 else "")
    return RejectedFile(
        f"{file_name}: no template sheet ({', '.join(SHEETS)}); its sheets: {shown or 'none'}"
        + (f" ({'; '.join(near)}: sheet names must be exactly the template's)" if near else ""),
        kind="no_template_sheet",
    )


def check_file(path: Path, limits: WorkbookLimits) -> None:
    """Refuse a file by its size, and an ``.xlsx`` by its members' declared unpacked sizes
    (the zip's central directory), before any of it is parsed.

    Reading cannot exceed the declared sizes: :mod:`zipfile` stops a member at its
    declared size (and fails its CRC), so a member that lies about its size gets no further.
    """
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise limits.broken(path.name, "max_file_bytes", f"the file is {size:,} bytes")
    if path.suffix.lower() != ".xlsx":
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RejectedFile(
            f"{path.name}: cannot be opened as an .xlsx workbook: {_error_detail(exc)}"
        ) from exc
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise limits.broken(
            path.name, "max_unpacked_bytes", f"its parts declare {unpacked:,} bytes unpacked"
        )
    for m in members:
        if m.file_size >= RATIO_MIN_BYTES:
            ratio = m.file_size / max(m.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise limits.broken(
                    path.name,
                    "max_compression_ratio",
                    f"part {m.filename!r} unpacks {m.file_size:,} bytes from"
                    f" {m.compress_size:,} ({ratio:,.0f}x)",
                )


def _blank(row: tuple[Any, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in row)


class _RowBudget:
    """The file's data-row count against ``max_rows`` (every sheet counts)."""

    def __init__(self, limits: WorkbookLimits, file_name: str) -> None:
        self.limits, self.file_name, self.rows = limits, file_name, 0

    def take(self, sheet: str, n: int) -> None:
        self.rows += n
        if self.rows > self.limits.max_rows:
            raise self.limits.broken(
                f"{self.file_name}: sheet {sheet}",
                "max_rows",
                f"more than {self.limits.max_rows:,} data rows",
            )


def _sheet_chunks(
    file_name: str,
    sheet: str,
    rows: Iterable[tuple[Any, ...]],
    limits: WorkbookLimits,
    budget: _RowBudget,
    chunk_rows: int,
) -> Iterator[pd.DataFrame]:
    """Data rows (row 2 on, each exactly the template's width) as frames of at most
    ``chunk_rows`` rows indexed by row number; empty rows are held back until a non-empty
    row follows (so trailing ones are dropped and never counted), and the row and cell
    limits are checked before a row is kept."""
    columns = TEMPLATE[sheet]
    max_chars = limits.max_cell_chars
    buffer: list[tuple[Any, ...]] = []
    first, row_no, held = 2, 1, 0
    empty = (None,) * len(columns)
    source = iter(rows)
    while True:
        try:
            row = next(source)
        except StopIteration:
            break
        except RejectedFile:
            raise
        except Exception as exc:  # a cell the parser cannot read: where, not what it holds
            raise RejectedFile(
                f"{file_name}: sheet {sheet}: cannot be read after row {row_no}:"
                f" {_error_detail(exc)}"
            ) from exc
        row_no += 1
        if _blank(row):
            held += 1
            continue
        budget.take(sheet, held + 1)
        for col, value in zip(columns, row, strict=True):
            if isinstance(value, str) and len(value) > max_chars:
                raise limits.broken(
                    f"{file_name}: sheet {sheet}",
                    "max_cell_chars",
                    f"row {row_no}, column {col!r} holds {len(value):,} characters",
                )
        if held:
            buffer.extend([empty] * held)
            held = 0
        buffer.append(row)
        if len(buffer) >= chunk_rows:
            yield _frame(columns, first, buffer)
            first += len(buffer)
            buffer = []
    if buffer:
        yield _frame(columns, first, buffer)


def _frame(columns: list[str], first: int, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame.index = pd.RangeIndex(first, first + len(frame), name="row")
    return frame


def read_xlsx(
    path: Path, limits: WorkbookLimits, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[str, pd.DataFrame]]:
    """The template sheets of an ``.xlsx`` file as ``(sheet, frame of cell values)``
    chunks, indexed by row number.

    Every template sheet's header is checked before any row is read. Rows are streamed
    (openpyxl read-only, values only) with the sheet's declared dimension ignored and
    only the template's columns kept, so memory is bounded by ``chunk_rows`` whatever
    the file declares. Raises :class:`RejectedFile`, possibly after some chunks (a row or
    cell limit broken half-way): keep the chunks only when the iteration completes.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise RejectedFile(
            f"{path.name}: cannot be opened as an .xlsx workbook: {_error_detail(exc)}"
        ) from exc
    try:
        budget = _RowBudget(limits, path.name)
        sheets = [name for name in book.sheetnames if name in SHEETS]
        if not sheets:
            raise _no_template_sheet(path.name, list(book.sheetnames))
        try:
            worksheets = {}
            for sheet in sheets:
                ws = book[sheet]
                ws.reset_dimensions()  # read-only sheets have it
                header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
                _check_header(path.name, sheet, _header(header))
                worksheets[sheet] = ws
            for sheet, ws in worksheets.items():
                rows = ws.iter_rows(min_row=2, max_col=len(TEMPLATE[sheet]), values_only=True)
                for chunk in _sheet_chunks(path.name, sheet, rows, limits, budget, chunk_rows):
                    yield sheet, chunk
        except RejectedFile:
            raise
        except Exception as exc:  # a malformed part found while parsing it
            raise RejectedFile(
                f"{path.name}: cannot be read as an .xlsx workbook: {_error_detail(exc)}"
            ) from exc
    finally:
        book.close()


def read_csv(
    path: Path, limits: WorkbookLimits, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[str, pd.DataFrame]]:
    """A ``<sheet>_*.csv`` file (UTF-8, optional BOM, every cell text) as one sheet's
    chunks, like :func:`read_xlsx` (same row and cell limits; the file size limit bounds
    what pandas parses, and only the template's columns of each row are kept)."""
    sheet = path.name.split("_", 1)[0]
    if sheet not in SHEETS or "_" not in path.name:
        raise RejectedFile(
            f"{path.name}: a .csv file must be named <sheet>_*.csv with sheet one of {', '.join(SHEETS)}",
            kind="csv_name",
        )
    width = len(TEMPLATE[sheet])
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            header=None,
            chunksize=chunk_rows,
        )
        with reader:
            rows = _csv_rows(path.name, sheet, reader, width)
            budget = _RowBudget(limits, path.name)
            yield from (
                (sheet, c)
                for c in _sheet_chunks(path.name, sheet, rows, limits, budget, chunk_rows)
            )
    except RejectedFile:
        raise
    except Exception as exc:
        raise RejectedFile(
            f"{path.name}: cannot be read as UTF-8 CSV: {_error_detail(exc)}"
        ) from exc


def _csv_rows(
    file_name: str, sheet: str, chunks: Iterable[pd.DataFrame], width: int
) -> Iterator[tuple[Any, ...]]:
    """The data rows of a CSV read in chunks, each cut or padded to ``width`` ('' -> None);
    the header row (the first) is checked first."""
    header_seen = False
    for chunk in chunks:
        for values in chunk.itertuples(index=False, name=None):
            if not header_seen:
                _check_header(file_name, sheet, _header(values))
                header_seen = True
                continue
            cells = tuple(v if isinstance(v, str) and v != "" else None for v in values[:width])
            yield cells + (None,) * (width - len(cells))
    if not header_seen:
        raise RejectedFile(
            f"{file_name}: sheet {sheet}: the file is empty (no header row)", kind="empty"
        )


def read_file(
    path: Path, limits: WorkbookLimits, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[str, pd.DataFrame]]:
    """:func:`check_format` and :func:`check_file`, then the chunks of :func:`read_xlsx`
    or :func:`read_csv`."""
    check_format(path)
    check_file(path, limits)
    if path.suffix.lower() == ".xlsx":
        yield from read_xlsx(path, limits, chunk_rows)
    else:
        yield from read_csv(path, limits, chunk_rows)


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
    known_hashes: Mapping[str, str] | KnownHashes,
    sink: RecordSink,
    limits: WorkbookLimits | None = None,
    chunk_rows: int = CHUNK_ROWS,
    settle_s: float = 0.0,
) -> Extract:
    """Rows of new or changed inbox files whose content changed since last read.

    A file still being written (:func:`still_written`: modified in the last ``settle_s``
    seconds, or open with a lock file beside it) is passed over until it is complete.

    ``limits`` default to the environment's (``WorkbookLimits.from_settings()``). Each
    file's rows go to a spool first, appended to ``sink`` only once the whole file is
    read, so that a file rejected half-way (a row or cell limit) leaves none of its rows.
    The result's ``inbox_files`` lists every file seen (name and hash, read or not): the
    load resolves the earlier rejections of files corrected or taken out of the inbox.
    """
    limits = WorkbookLimits.from_settings() if limits is None else limits
    files, rejected, seen = [], [], []
    for path in inbox_files(inbox):
        if still_written(path, settle_s):
            log.info("district %s: %s is still being written; read once complete",
                     district_code, loggable(path.name))  # fmt: skip
            continue
        digest = file_hash(path)
        seen.append({"file_name": path.name, "content_hash": digest})
        if known_files.get(path.name) == digest:
            continue
        started = time.monotonic()
        spool = sink.spool()
        n = 0
        try:
            for sheet, cells in read_file(path, limits, chunk_rows):
                n += len(cells)
                spool.write(
                    changed_only(
                        sheet_records(district_code, path.name, sheet, cells), known_hashes
                    ),
                    read=len(cells),
                )
        except RejectedFile as exc:
            spool.discard()
            log.error("district %s: rejected %s (after %.1f s)",
                      district_code, loggable(exc), time.monotonic() - started)  # fmt: skip
            rejected.append({"file_name": path.name, "content_hash": digest,
                             "problem": str(exc), "problem_kind": exc.kind})  # fmt: skip
            continue
        except BaseException:
            spool.discard()
            raise
        sink.absorb(spool)
        files.append({"file_name": path.name, "content_hash": digest, "rows_read": n})
        log.info("district %s: read %s (%d rows)", district_code, loggable(path.name), n)
    return Extract(
        district_code,
        sink.rows,
        read=sink.read,
        workbook_files=files,
        rejected_files=rejected,
        inbox_files=seen,
    )
