"""Readers of the three district source flavors (docs/district-sources.md).

Each reader streams the new or changed records, chunk by chunk, into a
:class:`RecordSink` (a Parquet file of *raw canonical* rows: the record columns of
``hotich.model`` with every value as text or None, as read), so that memory stays bounded
by the chunk size whatever the district's size; it returns an :class:`Extract` with the
counts and the extract state to commit with the verdicts (watermarks, files read, files
rejected). Nothing is written to any database here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.exc import SQLAlchemyError

from hotich.db import masked
from hotich.errors import IncidentError, first_line, loggable
from hotich.model import DATE_FIELDS, ID_FIELDS, NAME_FIELDS, OTHER_TEXT_FIELDS

log = logging.getLogger(__name__)

RAW_COLUMNS: tuple[str, ...] = (
    "source_key",
    "district_code",
    "record_type",
    "local_key",
    "sort_key",
    "content_hash",
    "raw",
    *NAME_FIELDS,
    *ID_FIELDS,
    *OTHER_TEXT_FIELDS,
    *DATE_FIELDS,
)


class SourceError(IncidentError, RuntimeError):
    """A district source cannot be read; the message names the district and the source."""

    incident_kind = "district_source_down"


# What a district source failing to be read raises: the driver's errors (SQLAlchemy wraps
# them), pandas' wrapping of them, and the network's. Anything else raised while reading
# is a bug of hotich's, and stays what it is instead of "the district source is down".
SOURCE_ERRORS: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    pd.errors.DatabaseError,
    OSError,
)


def unreadable(district_code: str, flavor: str, uri: str, exc: BaseException) -> SourceError:
    """The error of a district source that failed while read: the district, the source
    (password hidden) and the first line of what the driver said.

    pandas wraps an error of ``read_sql`` in a ``DatabaseError`` whose text begins with the
    query itself (its first line a comment of ``include/sql/extract``): the error it wraps
    is the one named, so that the incident says "Lost connection", not the query.
    """
    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else None
    return SourceError(
        f"district {district_code}: cannot read the {flavor} source at {masked(uri)}: "
        f"{loggable(first_line(cause or exc))}"
    )


class RecordSink:
    """Appends raw canonical chunks to one Parquet file (every column text)."""

    SCHEMA = pa.schema([(c, pa.string()) for c in RAW_COLUMNS])

    def __init__(self, path: Path, label: str = "extract", progress_every_s: float = 30.0) -> None:
        self.path = path
        self.rows = 0  # new or changed rows written
        self.read = 0  # source rows read, changed or not
        self._writer = pq.ParquetWriter(path, self.SCHEMA)
        self._label, self._every = label, progress_every_s
        self._started = self._reported = time.monotonic()

    def write(self, chunk: pd.DataFrame, read: int = 0) -> None:
        """Append a chunk (rows already filtered to the new or changed ones) of the
        ``read`` source rows just read; every ``progress_every_s`` log how far it is
        (a large district over a slow link reads for minutes)."""
        self.read += read
        if not chunk.empty:
            table = pa.Table.from_pandas(
                chunk.loc[:, list(RAW_COLUMNS)], schema=self.SCHEMA, preserve_index=False
            )
            self._writer.write_table(table)
            self.rows += len(chunk)
        now = time.monotonic()
        if now - self._reported >= self._every:
            self._reported = now
            log.info("%s: %d rows read, %d new or changed so far, %.0f s",
                     self._label, self.read, self.rows, now - self._started)  # fmt: skip

    def close(self) -> None:
        """Finish the file (a valid, empty one when nothing was written)."""
        self._writer.close()

    def spool(self) -> RecordSink:
        """A sink beside this one for rows that are all kept or all dropped (one workbook
        file, rejected whole if a limit is found broken half-way): :meth:`absorb` it once
        complete, or :meth:`discard` it. It never logs progress (the file is small)."""
        return RecordSink(
            self.path.with_name(f".{self.path.name}.spool"),
            label=self._label,
            progress_every_s=float("inf"),
        )

    def absorb(self, spool: RecordSink) -> None:
        """Append a finished spool's rows and counts to this sink, then delete the spool
        (copied batch by batch: memory stays bounded)."""
        spool.close()
        try:
            for batch in pq.ParquetFile(spool.path).iter_batches():
                self._writer.write_batch(batch)
        finally:
            spool.path.unlink(missing_ok=True)
        self.rows += spool.rows
        self.write(pd.DataFrame(), read=spool.read)  # counts, and the progress line

    def discard(self) -> None:
        """Close and delete this sink's file (a spool whose rows are all dropped)."""
        self._writer.close()
        self.path.unlink(missing_ok=True)


@dataclass
class Extract:
    """Counts of one district's extract, and the state to commit with its verdicts."""

    district_code: str
    extracted: int  # new or changed records written to the sink
    read: int = 0  # rows read from the source, changed or not
    watermarks: list[dict[str, Any]] = field(default_factory=list)
    workbook_files: list[dict[str, Any]] = field(default_factory=list)
    rejected_files: list[dict[str, Any]] = field(default_factory=list)
    # Workbook districts: every inbox file seen (name, hash); None for the other flavors.
    inbox_files: list[dict[str, Any]] | None = None


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text (dates ISO, integral numbers without '.0'); blanks stay None.

    Column by column, by what the column holds (:func:`column_text`): the text a row gets
    is the same whatever the other rows of its chunk hold, since its content hash is taken
    of it (:func:`content_hash`)."""
    return pd.DataFrame(
        {col: column_text(frame[col]) for col in frame.columns}, index=frame.index, dtype=object
    )


def column_text(s: pd.Series) -> pd.Series:
    """One column as :func:`as_text` gives it, vectorized for what drivers return (text,
    integers, floats, dates); values of any other kind (datetimes, bytes, decimals, a mix)
    cell by cell (:func:`_cell_text`)."""
    present = s.notna()
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").astype(object).where(present, None)
    if pd.api.types.is_string_dtype(s) and s.dtype != object:  # text already
        return s.astype(object).where(present, None)
    if pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.astype(str).astype(object).where(present, None)
    if pd.api.types.is_float_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        # Integral and exact as an int64: its digits; any other float: str() as before.
        integral = np.isfinite(values) & (np.trunc(values) == values) & (np.abs(values) < 2**53)
        out = np.full(len(s), None, dtype=object)
        out[integral] = values[integral].astype(np.int64).astype(str)
        rest = present.to_numpy() & ~integral
        if rest.any():
            out[rest] = [_cell_text(v) for v in values[rest]]
        return pd.Series(out, index=s.index, dtype=object)
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind == "string":  # str objects
        return s.astype(object).where(present, None)
    if kind == "date":  # dates, or dates with datetimes among them (their own text)
        mask = present.to_numpy()
        cells = s[mask].tolist()
        if set(map(type, cells)) == {dt.date}:  # ISO dates, years 1-9999 zero-padded
            out = np.full(len(s), None, dtype=object)
            out[mask] = np.datetime_as_string(np.array(cells, dtype="datetime64[D]"), unit="D")
            return pd.Series(out, index=s.index, dtype=object)
    return s.map(_cell_text, na_action="ignore").astype(object).where(present, None)


def _cell_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M:%S")
            if value.time() != dt.time()
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def content_hash(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A stable digest of each row's contract content (``columns``, all text or None)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    # \x1e marks None so that None and '' hash differently; \x1f separates cells.
    parts = [frame[c].fillna("\x1e").astype(str) for c in columns]
    joined = parts[0].str.cat(parts[1:], sep="\x1f")  # type: ignore[arg-type]  # stubs: a list of Series is allowed if len(parts) > 1 else parts[0]
    digests = [hashlib.blake2b(s.encode("utf-8"), digest_size=16).hexdigest() for s in joined]
    return pd.Series(digests, index=frame.index, dtype=object)


# A source value longer than this is kept cut, with a note of how much was not kept, in
# the record's columns and in its source record; its hash is of the whole value. Any value
# this long breaks VALUE_INVALID's limit (255) anyway, and a whole one could exceed what
# the national database stores in a jsonb string (2**28 - 1 bytes), or the memory of the
# stages after extract (issue 15, defect 2).
KEPT_CELL_CHARS = 4_096


def cap_cells(frame: pd.DataFrame, limit: int = KEPT_CELL_CHARS) -> pd.DataFrame:
    """``frame`` (text or None) with every value over ``limit`` characters cut to
    ``limit`` and a note ``…[+N characters not kept]``; the frame itself when none is."""
    long = {}
    for col in frame.columns:
        s = frame[col]
        if s.dtype != object and not pd.api.types.is_string_dtype(s):
            continue
        lengths = s.str.len()
        over = lengths > limit
        if over.any():
            cut = (
                s[over].str.slice(0, limit)
                + "…[+"
                + (lengths[over] - limit).astype(int).astype(str)
                + " characters not kept]"
            )
            long[col] = s.where(~over, cut)
    return frame.assign(**long) if long else frame


def raw_json(frame: pd.DataFrame) -> pd.Series:
    """Each source row as a JSON object with its source column names (for quarantine);
    values over :data:`KEPT_CELL_CHARS` are kept cut (:func:`cap_cells`)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    frame = cap_cells(frame)
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    return pd.Series(lines, index=frame.index, dtype=object)


def to_canonical(
    text_rows: pd.DataFrame,
    mapping: Mapping[str, str],
    *,
    district_code: str,
    record_type: pd.Series | str,
    local_key: pd.Series,
    sort_key: pd.Series,
    hashes: pd.Series,
    raw: pd.Series,
) -> pd.DataFrame:
    """Rename source columns to canonical ones and add the key columns; values over
    :data:`KEPT_CELL_CHARS` are kept cut (``hashes`` are of the whole values)."""
    out = pd.DataFrame(index=text_rows.index, columns=list(RAW_COLUMNS), dtype=object)
    capped = cap_cells(text_rows[list(mapping)])
    for source_col, canonical in mapping.items():
        out[canonical] = capped[source_col]
    rtype = (
        record_type
        if isinstance(record_type, pd.Series)
        else pd.Series(record_type, index=text_rows.index)
    )
    out["district_code"] = district_code
    out["record_type"] = rtype
    out["local_key"] = local_key
    out["source_key"] = district_code + ":" + rtype + ":" + local_key
    out["sort_key"] = sort_key
    out["content_hash"] = hashes
    out["raw"] = raw
    return out.astype(object).where(out.notna(), None)


_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _key_order(key: str) -> str:
    if _INTEGER.fullmatch(key) and _INT64_MIN <= (n := int(key)) <= _INT64_MAX:
        return "0" + format(n - _INT64_MIN, "020d")  # 0 .. 2**64-1: 20 digits, in order
    return "1" + key


def numeric_sort_key(keys: pd.Series) -> pd.Series:
    """Primary keys as text whose code-point order is the ``DUPLICATE_ENTRY`` order.

    Integer keys (a BIGINT, any sign) come first in numeric order, as ``'0'`` and the key
    shifted to 0 .. 2**64-1, zero-padded to 20 digits; any other key (SQLite keeps text
    in a ``BIGINT`` column, e.g. ``'A7'``) comes after them in code-point order, as
    ``'1'`` and the key as written (docs/district-sources.md, Keys). ``keys`` are text
    (:func:`as_text`) or integers.
    """
    return keys.map(lambda k: _key_order(str(k)), na_action="ignore").astype(object)


class KnownHashes:
    """The content hashes of a district's records read before, looked up chunk by chunk
    (``lookup``: source keys -> their known hashes, those never read left out), so that a
    day's few records do not fetch the hashes of every record the district ever sent
    (decision 0020)."""

    def __init__(self, lookup: Callable[[list[str]], Mapping[str, str]]) -> None:
        self._lookup = lookup

    def of(self, keys: pd.Series) -> pd.Series:
        """The known hash of each key (None for a key never read), aligned to ``keys``."""
        found = self._lookup(keys.dropna().astype(str).unique().tolist()) if len(keys) else {}
        return keys.map(dict(found)) if found else pd.Series(None, index=keys.index, dtype=object)


def changed_only(records: pd.DataFrame, known: Mapping[str, str] | KnownHashes) -> pd.DataFrame:
    """Drop records whose content hash equals the one recorded when last read."""
    if records.empty:
        return records
    if isinstance(known, KnownHashes):
        previous = known.of(records["source_key"])
    elif not known:
        return records
    else:
        previous = records["source_key"].map(known)
    return records[previous.isna() | (previous != records["content_hash"])]


def dumps(value: Any) -> str:
    """Compact JSON for logs and state."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
