"""Turn a raw canonical frame into the normalized record frame (pure, vectorized).

A *raw* frame has the record model's columns (``hotich.model``) holding values as the
sources give them: ``str`` / ``None`` / ``NaN``, numbers from spreadsheet cells (an ID
``27091000123.0`` that lost its leading zero, an entry number ``12.0``), date objects
(``datetime.date``, ``datetime.datetime``, ``pandas.Timestamp``) or date text
(``dd/mm/yyyy``, ``d/m/yyyy``, ``yyyy``, ``yyyy-mm-dd``). :func:`normalize_records` gives
the record frame: text converted from TCVN3/VNI where needed and stored NFC, and every
date field ``X`` expanded to ``X`` / ``X_year`` / ``X_state``.

Nothing here judges a record (no quarantine): a control character, a too-long value,
a future date or a malformed ID all pass through for validation to see. Text is
converted once per *unique* value (``pd.factorize``), so a million rows cost what
their distinct values cost.
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from hotich.model import (
    DATE_FIELDS,
    ID_FIELDS,
    NAME_FIELDS,
    OTHER_TEXT_FIELDS,
    RECORD_KEY_COLUMNS,
    SEX_FEMALE,
    SEX_MALE,
    DateState,
)
from hotich.names import WHITESPACE
from hotich.vnencoding import decode_legacy, decode_legacy_rows

# Whitespace that trimming and collapsing may touch (not the controls validation must see).
_WS_CHARS = WHITESPACE
_WS_RUN = re.compile(f"[{re.escape(WHITESPACE)}]+")

# Output columns: the key columns, text, then each date as X / X_year / X_state.
NORMALIZED_COLUMNS: tuple[str, ...] = (
    RECORD_KEY_COLUMNS
    + NAME_FIELDS
    + ID_FIELDS
    + OTHER_TEXT_FIELDS
    + tuple(c for f in DATE_FIELDS for c in (f, f"{f}_year", f"{f}_state"))
)

DATE_DTYPE = "datetime64[s]"  # second resolution: no 1677-2262 limit on odd years
PERSONAL_ID_DIGITS = 12


_NUMBER_TYPES = (int, float, np.int64, np.float64, np.int32, np.float32)
_DATE_TYPES = (dt.date, dt.datetime, pd.Timestamp)


# --- per-unique machinery ---------------------------------------------------------------------
def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)  # a list or dict cell: kept as text, so it never raises
    return value


def _factorize(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (-1 for missing) and the distinct values as an object Series."""
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:
        codes, uniques = pd.factorize(s.map(_hashable), use_na_sentinel=True)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _take(
    codes: np.ndarray, results: np.ndarray, flags: np.ndarray, s: pd.Series, na: Any = None
) -> tuple[pd.Series, pd.Series]:
    """Spread per-unique results back over the rows; code -1 (missing) gives ``na``."""
    results = np.append(np.asarray(results, dtype=object), np.array([na], dtype=object))
    flags = np.append(np.asarray(flags, dtype=bool), False)
    return (
        pd.Series(results[codes], index=s.index, dtype=object, name=s.name),
        pd.Series(flags[codes], index=s.index, dtype=bool, name=s.name),
    )


def _map_unique(
    s: pd.Series, func: Callable[[Any], tuple[Any, bool]], na: Any = None
) -> tuple[pd.Series, pd.Series]:
    """Apply ``func(value) -> (result, flag)`` once per distinct non-missing value of ``s``.

    Returns the results as an object Series (missing values give ``na``) and the flags
    as a bool Series, both aligned on ``s.index``.
    """
    codes, uniques = _factorize(s)
    pairs = [func(v) for v in uniques]
    results = np.empty(len(pairs), dtype=object)
    results[:] = [p[0] for p in pairs]
    flags = np.fromiter((p[1] for p in pairs), dtype=bool, count=len(pairs))
    return _take(codes, results, flags, s, na)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _number_text(value: Any) -> str:
    """``12.0`` -> ``'12'``: spreadsheet cells give integers as floats."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    as_float = float(value)
    if as_float.is_integer():
        return str(int(as_float))
    return repr(as_float)


def _to_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if _is_number(value):
        return _number_text(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _clean_value(value: Any, collapse: bool, decode: bool = True) -> tuple[str | None, bool]:
    """One value: text, legacy decode (unless the row decided already) + NFC, optional
    whitespace collapse, trim."""
    text = _to_text(value)
    if text is None:
        return None, False
    if decode:
        text, converted = decode_legacy(text)  # NFC; ASCII and plain Unicode return fast
    else:
        text, converted = unicodedata.normalize("NFC", text), False
    text = _WS_RUN.sub(" ", text) if collapse else text
    text = text.strip(_WS_CHARS)
    return (text or None), converted


def _clean_uniques(
    uniques: pd.Series, collapse: bool, decode: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_clean_value` over distinct values, with the ASCII majority vectorized."""
    is_str = uniques.map(type).isin([str]).to_numpy()
    text = uniques.copy()
    if not is_str.all():
        text[~is_str] = [_to_text(v) for v in uniques[~is_str]]
    flags = np.zeros(len(text), dtype=bool)
    non_ascii = ~text.str.isascii().to_numpy(dtype=bool, na_value=True)
    if non_ascii.any():  # only these can be legacy or need NFC
        decoded = [
            decode_legacy(v) if decode else (unicodedata.normalize("NFC", v), False)
            for v in text[non_ascii]
        ]
        text[non_ascii] = [d[0] for d in decoded]
        flags[non_ascii] = [d[1] for d in decoded]
    if collapse:
        text = text.str.replace(_WS_RUN, " ", regex=True)
    text = text.str.strip(_WS_CHARS)
    results = np.array(text.to_numpy(dtype=object), dtype=object, copy=True)
    results[(text.str.len() == 0).to_numpy()] = None
    return results, flags


# --- public text functions --------------------------------------------------------------------
def clean_text(
    s: pd.Series, *, collapse_whitespace: bool = False, decode: bool = True
) -> tuple[pd.Series, pd.Series]:
    """Legacy-decode, NFC, and trim each text value; ``(text, converted_from_legacy)``.

    Numbers become their text (``12.0`` -> ``'12'``), empty or blank values ``None``.
    With ``collapse_whitespace`` (names) runs of spaces, tabs and line breaks inside the
    value become one space. Control characters are kept for validation to report.
    ``decode=False``: the values were decoded row by row already (:func:`normalize_records`).
    """
    codes, uniques = _factorize(s)
    results, flags = _clean_uniques(uniques, collapse_whitespace, decode)
    return _take(codes, results, flags, s)


def clean_name(s: pd.Series, *, decode: bool = True) -> tuple[pd.Series, pd.Series]:
    """:func:`clean_text` for names: whitespace runs collapsed to one space, trimmed."""
    return clean_text(s, collapse_whitespace=True, decode=decode)


def _sex_value(value: Any, decode: bool = True) -> tuple[str | None, bool]:
    text, converted = _clean_value(value, collapse=True, decode=decode)
    if text is None:
        return None, converted
    key = text.casefold()
    if key == "nam":
        return SEX_MALE, converted
    if key == "nữ":  # casefold keeps the NFC letter ữ
        return SEX_FEMALE, converted
    return None, converted


def normalize_sex_flagged(s: pd.Series, *, decode: bool = True) -> tuple[pd.Series, pd.Series]:
    """:func:`normalize_sex` plus whether each value was converted from a legacy encoding."""
    return _map_unique(s, _sex_value if decode else _sex_value_decoded)


def _sex_value_decoded(value: Any) -> tuple[str | None, bool]:
    return _sex_value(value, decode=False)


def normalize_sex(s: pd.Series) -> pd.Series:
    """``'Nam'`` / ``'Nữ'`` from any case, NFC or NFD, TCVN3 or VNI; anything else ``None``.

    ``'nam'`` -> ``'Nam'``, ``'NỮ'`` -> ``'Nữ'``, TCVN3 ``'N÷'`` -> ``'Nữ'``; ``'Nu'``
    (no diacritic) is not a sex of the contract and gives ``None`` (missing).
    """
    return normalize_sex_flagged(s)[0]


def normalize_personal_id_flagged(
    s: pd.Series, *, decode: bool = True
) -> tuple[pd.Series, pd.Series]:
    """:func:`normalize_personal_id` plus the legacy-conversion flag."""
    codes, uniques = _factorize(s)
    # IDs are nearly all distinct: numbers are padded vectorized, not one by one.
    types = uniques.map(type)
    is_num = np.array(types.isin(_NUMBER_TYPES).to_numpy(dtype=bool), copy=True)
    if not is_num.all():  # rare number subclasses (e.g. numpy.int32, Decimal)
        odd = ~is_num & ~types.isin([str]).to_numpy(dtype=bool)
        is_num[odd] = [_is_number(v) for v in uniques[odd]]
    nums = pd.to_numeric(uniques[is_num], errors="coerce").astype("float64").to_numpy()
    padded = is_num.copy()
    padded[is_num] = np.isfinite(nums) & (np.mod(nums, 1) == 0) & (nums >= 0) & (nums < 1e15)
    results, flags = _clean_uniques(uniques[~padded], collapse=False, decode=decode)
    out = np.empty(len(uniques), dtype=object)
    out[~padded] = results
    # A numeric spreadsheet cell lost the ID's leading zeros. Integers come exactly from
    # the original objects (a float64 holds every 12-digit integer exactly anyway).
    ints = pd.Series(uniques[padded].map(int).to_numpy(dtype=np.int64), dtype=np.int64)
    out[padded] = ints.astype(str).str.zfill(PERSONAL_ID_DIGITS).to_numpy(dtype=object)
    all_flags = np.zeros(len(uniques), dtype=bool)
    all_flags[~padded] = flags
    return _take(codes, out, all_flags, s)


def normalize_personal_id(s: pd.Series) -> pd.Series:
    """Personal IDs as text: a number is left-padded with zeros to 12 digits
    (``27091000123.0`` -> ``'027091000123'``); text is taken as it is, trimmed; empty
    gives ``None``. The format is not checked here (``ID_FORMAT`` is validation's).
    """
    return normalize_personal_id_flagged(s)[0]


# --- dates ------------------------------------------------------------------------------------
def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of ``datetime64[D]`` values as int64 arrays; -1 where NaT.

    The one way the platform splits dates (validation and linkage both use it).
    """
    nat = np.isnat(days)
    safe = np.where(nat, np.datetime64("1970-01-01", "D"), days)
    month_start = safe.astype("datetime64[M]")
    y = safe.astype("datetime64[Y]").astype(np.int64) + 1970
    m = month_start.astype(np.int64) % 12 + 1
    d = (safe - month_start).astype(np.int64) + 1
    for arr in (y, m, d):
        arr[nat] = -1
    return y, m, d


_DATE_TEXT = re.compile(
    r"^(?:"
    r"(?P<d>\d{1,2})(?P<sep>[/.\-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})"  # d/m/yyyy
    r"|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"|(?P<yo>\d{4})"  # a year alone
    r")$"
)
_STATE_NAMES = np.array(
    [DateState.MISSING.value, DateState.FULL.value, DateState.YEAR.value, DateState.INVALID.value],
    dtype=object,
)
_MISSING, _FULL, _YEAR, _INVALID = range(4)


def _date_parts(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day (0 when absent) and a kind code per distinct date value."""
    n = len(uniques)
    year = np.zeros(n, dtype=np.int64)
    month = np.zeros(n, dtype=np.int64)
    day = np.zeros(n, dtype=np.int64)
    kind = np.full(n, _INVALID, dtype=np.int8)

    # Classify by exact type (fast), then look closer at the rare other types.
    types = pd.Series(uniques, dtype=object).map(type)
    is_text = types.isin([str]).to_numpy(dtype=bool).copy()
    is_date = types.isin(_DATE_TYPES).to_numpy(dtype=bool).copy()
    is_num = types.isin(_NUMBER_TYPES).to_numpy(dtype=bool).copy()
    for i in np.flatnonzero(~(is_text | is_date | is_num)):
        value = uniques[i]
        if isinstance(value, np.datetime64) and not np.isnat(value):
            # numpy dates in an object column; years beyond 1677-2262 stay invalid
            try:
                value = pd.Timestamp(value)
            except (ValueError, OverflowError):
                continue
            uniques[i] = value
        is_text[i] = isinstance(value, str)
        is_date[i] = isinstance(value, dt.date) and not pd.isna(value)
        is_num[i] = _is_number(value)

    if is_text.any():
        text = pd.Series(uniques[is_text], dtype=object).str.strip(_WS_CHARS)
        parts = text.str.extract(_DATE_TEXT)
        dmy = parts["d"].notna().to_numpy()
        iso = parts["iy"].notna().to_numpy()
        yonly = parts["yo"].notna().to_numpy()
        y = parts["y"].fillna(parts["iy"]).fillna(parts["yo"]).fillna("0").astype(np.int64)
        m = parts["m"].fillna(parts["im"]).fillna("0").astype(np.int64)
        d = parts["d"].fillna(parts["id"]).fillna("0").astype(np.int64)
        idx = np.flatnonzero(is_text)
        year[idx], month[idx], day[idx] = y.to_numpy(), m.to_numpy(), d.to_numpy()
        sub = np.where(dmy | iso, _FULL, np.where(yonly, _YEAR, _INVALID))
        sub = np.where(text.eq("").to_numpy(), _MISSING, sub)
        kind[idx] = sub

    if is_date.any():
        idx = np.flatnonzero(is_date)
        year[idx] = [uniques[i].year for i in idx]
        month[idx] = [uniques[i].month for i in idx]
        day[idx] = [uniques[i].day for i in idx]
        kind[idx] = _FULL

    if is_num.any():
        # A numeric cell holding a year (1950 or 1950.0); other numbers are not dates.
        idx = np.flatnonzero(is_num)
        vals = np.array([float(uniques[i]) for i in idx])
        ok = np.isfinite(vals) & (np.mod(vals, 1) == 0) & (vals >= 1000) & (vals <= 9999)
        year[idx] = np.where(ok, vals, 0).astype(np.int64)
        kind[idx] = np.where(ok, _YEAR, _INVALID)
    return year, month, day, kind


def _check_dates(
    year: np.ndarray, month: np.ndarray, day: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Datetime64 values and the final kind: a full date that does not exist is invalid."""
    full = kind == _FULL
    ok = full & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    # First of the month + (day - 1) days must stay in the month (rejects 30/02, 31/04).
    safe_y = np.where(ok, year, 1970)
    safe_m = np.where(ok, month, 1)
    safe_d = np.where(ok, day, 1)
    months = (safe_y - 1970) * 12 + (safe_m - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    dates = first + (safe_d - 1).astype("timedelta64[D]")
    ok &= dates.astype("datetime64[M]") == first.astype("datetime64[M]")
    kind = np.where(full & ~ok, _INVALID, kind)
    kind = np.where((kind == _YEAR) & (year < 1), _INVALID, kind)
    values = np.where(ok, dates, np.datetime64("NaT")).astype(DATE_DTYPE)
    return values, kind


def parse_dates(s: pd.Series, name: str | None = None) -> pd.DataFrame:
    """Parse a date column into ``X`` (datetime64, NaT unless full), ``X_year`` (Int64)
    and ``X_state`` (a ``DateState`` value); ``X`` is ``name`` or ``s.name``.

    Accepts date objects (``date``, ``datetime``, ``Timestamp``: the time of day is
    dropped), text ``dd/mm/yyyy`` / ``d/m/yyyy`` (also with ``-`` or ``.``),
    ``yyyy-mm-dd`` (optionally with a time), ``yyyy``, and a number holding a year.
    Missing or blank is ``missing``; a date that does not exist (30/02/2001) or any
    other value is ``invalid``. Never raises; dates in the future are not judged here.
    """
    col = name or (str(s.name) if s.name is not None else "date")
    codes, unique_values = _factorize(s)
    year, month, day, kind = _date_parts(np.array(unique_values, dtype=object, copy=True))
    values, kind = _check_dates(year, month, day, kind)
    year_out = np.where((kind == _FULL) | (kind == _YEAR), year, 0)
    has_year = (kind == _FULL) | (kind == _YEAR)

    # Append one slot for missing (code -1) and take by code.
    values = np.append(values, np.datetime64("NaT")).astype(DATE_DTYPE)
    year_out = np.append(year_out, 0)
    has_year = np.append(has_year, False)
    kind = np.append(kind, _MISSING)
    return pd.DataFrame(
        {
            col: values[codes],
            f"{col}_year": pd.arrays.IntegerArray(year_out[codes], ~has_year[codes]),
            f"{col}_state": _STATE_NAMES[kind[codes]],
        },
        index=s.index,
    )


# --- the whole frame --------------------------------------------------------------------------
def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    if name in raw.columns:
        return raw[name]
    return pd.Series(np.full(len(raw), None, dtype=object), index=raw.index, name=name)


def normalize_records(raw: pd.DataFrame) -> pd.DataFrame:
    """Normalize a raw canonical frame into the record frame (``NORMALIZED_COLUMNS``).

    Key columns are carried over; names are cleaned (:func:`clean_name`), IDs padded
    (:func:`normalize_personal_id`), the entry number and other text cleaned, sex
    normalized (:func:`normalize_sex`), dates parsed (:func:`parse_dates`).
    ``legacy_encoding`` is True when any text value of the record was converted from
    TCVN3 or VNI. Columns absent from ``raw`` are taken as empty.
    """
    out: dict[str, Any] = {}
    # The row's legacy values decide how an ambiguous one reads (docs/district-sources.md):
    # decode row by row first, then clean without decoding again.
    raw, row_legacy = decode_legacy_rows(raw, [*NAME_FIELDS, *ID_FIELDS, *OTHER_TEXT_FIELDS])
    legacy = row_legacy.to_numpy(dtype=bool).copy()
    for key in RECORD_KEY_COLUMNS:
        if key != "legacy_encoding":
            out[key] = _column(raw, key)
    for field in NAME_FIELDS:
        out[field], _ = clean_name(_column(raw, field), decode=False)
    for field in ID_FIELDS:
        out[field], _ = normalize_personal_id_flagged(_column(raw, field), decode=False)
    for field in OTHER_TEXT_FIELDS:
        if field == "subject_sex":
            out[field], _ = normalize_sex_flagged(_column(raw, field), decode=False)
        else:
            # entry_no, book, place, ...: numbers as text (12.0 -> '12'), trimmed.
            out[field], _ = clean_text(_column(raw, field), decode=False)
    out["legacy_encoding"] = pd.Series(legacy, index=raw.index)
    frame = pd.DataFrame(out, index=raw.index)
    dates = [parse_dates(_column(raw, field), field) for field in DATE_FIELDS]
    frame = pd.concat([frame, *dates], axis=1)
    return frame.loc[:, list(NORMALIZED_COLUMNS)]
