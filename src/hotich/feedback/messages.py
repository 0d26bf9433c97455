"""The message catalogue, and a district's open entries as problems to fix.

An entry of ``recon.quarantine`` keeps the district's row as read (its source column
names) and the record's reason codes, not which field failed: :func:`problems` finds the
field again from the row itself, with the rules of ``hotich.validate`` (the same required
fields, date states, order pairs and limits), so that the staff read "Ngày sinh 30/02/1990
không tồn tại" and not ``DATE_INVALID``. A code whose field cannot be told (a rule the row
no longer shows) still gets its row, with the code's general message.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hotich import model, normalize, validate
from hotich.extract import RAW_COLUMNS
from hotich.extract.legacy import MAPPINGS as LEGACY_MAPPINGS
from hotich.extract.modern import TABLES as MODERN_TABLES
from hotich.extract.workbook import SHEETS as WORKBOOK_SHEETS
from hotich.model import Flavor, RecordType

# The columns of a problem frame, one row per field to correct (the fix list's rows).
PROBLEM_COLUMNS: tuple[str, ...] = (
    "source_key",
    "record_type",
    "book",
    "entry_no",
    "registration_date",
    "file_name",
    "row_number",
    "local_key",
    "field",
    "field_label",
    "value",
    "code",
    "message",
    "waiting_since",
)


class CatalogueError(ValueError):
    """The message catalogue lacks a reason code or a field, or is not valid."""


@dataclass(frozen=True)
class Catalogue:
    """The Vietnamese texts: a message per reason code (and variant), field labels."""

    reasons: Mapping[str, Mapping[str, str]]
    fields: Mapping[str, str]
    record_types: Mapping[str, str]
    statuses: Mapping[str, str]

    def message(self, code: str, variant: str = "message", **values: Any) -> str:
        """The text of ``code`` (its ``variant``, else its general message), filled in."""
        texts = self.reasons[code]
        template = texts.get(variant, texts["message"])
        return template.format_map(_Blank({k: "" if v is None else v for k, v in values.items()}))

    def title(self, code: str) -> str:
        """A code's short Vietnamese name (the reports' tables and charts)."""
        return self.reasons[code]["title"]

    def label(self, field: str) -> str:
        """A field's Vietnamese label (the field's own name when the catalogue has none)."""
        return self.fields.get(field, field)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def load_catalogue(path: Path) -> Catalogue:
    """Read the catalogue; refuse one without a message for every reason code of the
    contract, or without a label for every record field."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise CatalogueError(f"{path}: expected a mapping")
    reasons = doc.get("reasons") or {}
    missing = sorted(
        c
        for c in model.ALL_CODES
        if not isinstance(reasons.get(c), dict) or "message" not in reasons[c]
    )
    unknown = sorted(set(reasons) - model.ALL_CODES)
    if missing or unknown:
        raise CatalogueError(f"{path}: codes without a message {missing}, unknown codes {unknown}")
    fields = doc.get("fields") or {}
    lacking = sorted(set(model.NAME_FIELDS + model.ID_FIELDS + model.OTHER_TEXT_FIELDS
                         + model.DATE_FIELDS) - set(fields))  # fmt: skip
    if lacking:
        raise CatalogueError(f"{path}: fields without a label {lacking}")
    return Catalogue(
        reasons={c: {k: str(v) for k, v in t.items()} for c, t in reasons.items()},
        fields={k: str(v) for k, v in fields.items()},
        record_types={k: str(v) for k, v in (doc.get("record_types") or {}).items()},
        statuses={k: str(v) for k, v in (doc.get("statuses") or {}).items()},
    )


# --- the district's row, back to the record's fields ---------------------------------------


def source_mapping(flavor: Flavor, record_type: str) -> dict[str, str]:
    """Source column -> record field, for a record of ``record_type`` of a ``flavor``
    district (the readers' own mappings)."""
    if flavor is Flavor.WORKBOOK:
        for rtype, mapping in WORKBOOK_SHEETS.values():
            if rtype.value == record_type:
                return dict(mapping)
        return {}
    if flavor is Flavor.MODERN:
        for rtype, mapping in MODERN_TABLES.values():
            if rtype.value == record_type:
                return dict(mapping)
        return {}
    mappings = {k.value: v for k, v in LEGACY_MAPPINGS.items()}
    return dict(mappings.get(record_type, mappings.get(RecordType.UNKNOWN.value, {})))


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return {}


def canonical_rows(entries: pd.DataFrame, flavor: Flavor) -> pd.DataFrame:
    """A raw canonical frame (``hotich.extract.RAW_COLUMNS``, text) of ``entries``
    (columns ``source_key``, ``record_type``, ``source_record``): each district row's
    values under the record's field names."""
    rows = []
    for key, rtype, source in zip(
        entries["source_key"], entries["record_type"], entries["source_record"], strict=True
    ):
        src = _as_dict(source)
        row: dict[str, Any] = {"source_key": key, "record_type": rtype}
        for column, field in source_mapping(flavor, rtype).items():
            if column in src:
                v = src[column]
                row[field] = None if v is None else str(v)
        row["local_key"] = str(key).split(":", 2)[-1]
        rows.append(row)
    return pd.DataFrame.from_records(rows, columns=[c for c in RAW_COLUMNS if c != "raw"]).astype(
        object
    )


# --- which field each code is about ----------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TEXT_FIELDS = model.NAME_FIELDS + model.ID_FIELDS + model.OTHER_TEXT_FIELDS
_ID_PERSON = {"subject_id": "subject", "husband_id": "husband", "wife_id": "wife"}
_PERSON_DOB = {"subject": "subject_dob", "husband": "husband_dob", "wife": "wife_dob"}


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype(str).str.strip().eq("")


def _code_test(reasons: pd.Series) -> Callable[[str], pd.Series]:
    """``has(code)``: which entries' reasons hold ``code`` (the lists read once, not once
    per rule)."""
    exploded = reasons.map(model.code_list).explode()
    codes, at = exploded.to_numpy(), exploded.index

    def has(code: str) -> pd.Series:
        return pd.Series(reasons.index.isin(at[codes == code]), index=reasons.index)

    return has


def _of_type(rtype: pd.Series, types: list[str]) -> pd.Series:
    return rtype.isin(types)


def _types_where(what: str, item: object) -> list[str]:
    """The record types whose rules hold ``item`` among ``what`` (``required``: the
    required text and date fields; or a :class:`hotich.validate.TypeRules` attribute)."""
    out = []
    for t, rules in validate.RULES.items():
        pool = (
            rules.required_text + rules.required_dates
            if what == "required"
            else getattr(rules, what)
        )
        if item in pool:
            out.append(t)
    return out


def _date_value(norm: pd.DataFrame, field: str) -> pd.Series:
    """A comparable value of a date field: the full date, else the year's first day."""
    full = norm[field]
    year = pd.to_datetime(norm[f"{field}_year"].astype("Float64").astype(float), format="%Y",
                          errors="coerce")  # fmt: skip
    return full.where(full.notna(), year)


def _flag_rows(
    raw: pd.DataFrame, norm: pd.DataFrame, reasons: pd.Series, run_dates: pd.Series,
    province_codes: frozenset[str],
) -> list[pd.DataFrame]:  # fmt: skip
    """(position, code, field, variant, other_field) frames, one per rule and field."""
    rtype = raw["record_type"].astype(str)
    pos = np.arange(len(raw))
    out: list[pd.DataFrame] = []
    holds = _code_test(reasons)

    def add(
        mask: pd.Series, code: str, field: str, variant: str = "message", other: str = ""
    ) -> None:
        m = np.asarray(mask.fillna(False), dtype=bool)
        if m.any():
            out.append(pd.DataFrame({"pos": pos[m], "code": code, "field": field,
                                     "variant": variant, "other_field": other}))  # fmt: skip

    code = model.REQUIRED_MISSING
    has = holds(code)
    add(has & rtype.eq(RecordType.UNKNOWN.value), code, "record_type", "record_type")
    for field in {f for r in validate.RULES.values() for f in r.required_text + r.required_dates}:
        types = _types_where("required", field)
        add(has & _of_type(rtype, types) & _blank(raw[field]), code, field)

    code = model.DATE_INVALID
    has = holds(code)
    run_ts = pd.to_datetime(run_dates)
    for field in model.DATE_FIELDS:
        state = norm[f"{field}_state"]
        year_ok = _of_type(rtype, _types_where("year_only", field))
        add(has & state.eq(model.DateState.INVALID.value), code, field)
        add(has & state.eq(model.DateState.YEAR.value) & ~year_ok, code, field, "year_only")
        future = (state.eq(model.DateState.FULL.value) & (norm[field] > run_ts)) | (
            state.eq(model.DateState.YEAR.value) & (norm[f"{field}_year"] > run_ts.dt.year)
        )
        add(has & future, code, field, "future")

    code = model.VALUE_INVALID
    has = holds(code)
    for field in _TEXT_FIELDS:
        text = raw[field].fillna("").astype(str)
        limit = model.NAME_MAX_LEN if field in model.NAME_FIELDS else model.TEXT_MAX_LEN
        add(has & text.str.contains(_CONTROL), code, field, "control")
        add(has & text.str.len().gt(limit), code, field, "too_long")

    code = model.DATE_ORDER
    has = holds(code)
    for later, earlier in validate.ORDER_PAIRS:
        types = _types_where("order", (later, earlier))
        add(has & _of_type(rtype, types) & (_date_value(norm, later) < _date_value(norm, earlier)),
            code, later, other=earlier)  # fmt: skip

    code = model.MARRIAGE_AGE
    has = holds(code) & rtype.eq(RecordType.MARRIAGE.value)
    reg = norm["registration_date"]
    for role, minimum in (("husband", 20), ("wife", 18)):
        dob = norm[f"{role}_dob"]
        years = reg.dt.year - dob.dt.year - (
            (reg.dt.month < dob.dt.month) | ((reg.dt.month == dob.dt.month) & (reg.dt.day < dob.dt.day))
        ).astype(int)  # fmt: skip
        add(has & years.lt(minimum), code, f"{role}_dob")

    given = {f: norm[f].fillna("").astype(str) for f in model.ID_FIELDS}
    twelve = {f: given[f].str.fullmatch(r"[0-9]{12}") for f in model.ID_FIELDS}
    for field in model.ID_FIELDS:
        role = _ID_PERSON[field]
        add(holds(model.ID_FORMAT) & given[field].ne("") & ~twelve[field],
            model.ID_FORMAT, field)  # fmt: skip
        add(holds(model.ID_PROVINCE) & twelve[field]
            & ~given[field].str[:3].isin(province_codes), model.ID_PROVINCE, field)  # fmt: skip
        year = norm[f"{_PERSON_DOB[role]}_year"].astype("Float64")
        sex = {"husband": pd.Series(model.SEX_MALE, index=raw.index),
               "wife": pd.Series(model.SEX_FEMALE, index=raw.index)}.get(role, norm["subject_sex"])  # fmt: skip
        female = sex.eq(model.SEX_FEMALE).astype("Float64")
        expected = ((year // 100 - 19) * 2 + female).astype("Int64").astype(str)
        add(holds(model.ID_CENTURY_SEX) & twelve[field] & year.notna()
            & sex.isin([model.SEX_MALE, model.SEX_FEMALE])
            & given[field].str[3].ne(expected), model.ID_CENTURY_SEX, field)  # fmt: skip
        yy = (year % 100).astype("Int64").astype(str).str.zfill(2)
        add(holds(model.ID_BIRTH_YEAR) & twelve[field] & year.notna()
            & given[field].str[4:6].ne(yy), model.ID_BIRTH_YEAR, field)  # fmt: skip

    add(holds(model.DUPLICATE_ENTRY), model.DUPLICATE_ENTRY, "entry_no")
    add(holds(model.RETURNED), model.RETURNED, "")
    return out


def _display(value: Any) -> str:
    """A value as the fix list shows it: as typed, control characters made visible."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(value))


def problems(
    entries: pd.DataFrame,
    flavor: Flavor,
    catalogue: Catalogue,
    province_codes: frozenset[str],
) -> pd.DataFrame:
    """One row per field to correct (``PROBLEM_COLUMNS``) of a district's open entries.

    ``entries``: ``source_key``, ``record_type``, ``reasons``, ``source_record`` (the
    district's row, dict or JSON), ``opened_at`` (when the entry opened: its dates in the
    future are judged against it), ``note`` (a reviewer's note on a returned record).
    Every quarantine code of an entry gives at least one row.
    """
    if entries.empty:
        return pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    entries = entries.reset_index(drop=True)
    raw = canonical_rows(entries, flavor)
    norm = normalize.normalize_records(raw.assign(raw=None))
    opened = pd.to_datetime(entries["opened_at"], utc=True)
    run_dates = opened.dt.tz_convert("Asia/Ho_Chi_Minh").dt.tz_localize(None).dt.normalize()
    flagged = _flag_rows(raw, norm, entries["reasons"], run_dates, province_codes)
    found = pd.concat(flagged, ignore_index=True) if flagged else pd.DataFrame(
        columns=["pos", "code", "field", "variant", "other_field"])  # fmt: skip
    # A quarantine code no field shows any more still gets a row of its own.
    codes = entries["reasons"].map(
        lambda r: [c for c in model.code_list(r) if c in model.QUARANTINE_CODES | {model.RETURNED}]
    ).explode().dropna()  # fmt: skip
    wanted = pd.DataFrame({"pos": codes.index.astype(int), "code": codes.to_numpy()})
    seen = pd.MultiIndex.from_frame(found[["pos", "code"]].astype({"pos": int}))
    rest = wanted[~pd.MultiIndex.from_frame(wanted).isin(seen)].assign(
        field="", variant="message", other_field="")  # fmt: skip
    found = pd.concat([found, rest], ignore_index=True).astype({"pos": int})
    found = found.sort_values(["pos", "code", "field"], kind="stable").reset_index(drop=True)
    return _rows(found, entries, raw, catalogue, flavor)


def _rows(
    found: pd.DataFrame, entries: pd.DataFrame, raw: pd.DataFrame, catalogue: Catalogue,
    flavor: Flavor,
) -> pd.DataFrame:  # fmt: skip
    """The problem frame: each flag with its entry's keys and its message."""
    p = found["pos"].to_numpy()
    rec = raw.iloc[p].reset_index(drop=True)
    local = rec["local_key"].astype(str)
    workbook = flavor is Flavor.WORKBOOK
    parts = local.str.rpartition("#")
    file_name = parts[0].to_numpy() if workbook else None
    row_number = pd.to_numeric(parts[2], errors="coerce").to_numpy() if workbook else None
    notes = entries["note"] if "note" in entries else pd.Series(None, index=entries.index)
    messages, values, labels = [], [], []
    # Each flagged row as a dict, once: ``rec.iloc[i]`` per flag built a Series each time,
    # the list's cost growing with the district's backlog (decision 0020).
    rows = rec.to_dict("records")
    for i, (code, field, variant, other) in enumerate(
        found[["code", "field", "variant", "other_field"]].itertuples(index=False)
    ):
        r = rows[i]
        value = _display(r.get(field)) if field and field != "record_type" else ""
        if field == "record_type":
            value = _display(_as_dict(entries.at[p[i], "source_record"]).get("LoaiGiay"))
        label = catalogue.label(field) if field else ""
        values.append(value)
        labels.append(label)
        messages.append(catalogue.message(
            code, variant, field=label or "Bản ghi", value=value,
            other_field=catalogue.label(other) if other else "", other_value=_display(r.get(other)) if other else "",
            book=_display(r.get("book")), entry_no=_display(r.get("entry_no")),
            note=_display(notes.iat[p[i]]),
            limit=model.NAME_MAX_LEN if field in model.NAME_FIELDS else model.TEXT_MAX_LEN,
        ))  # fmt: skip
    return pd.DataFrame(
        {
            "source_key": rec["source_key"],
            "record_type": rec["record_type"],
            "book": rec["book"].map(_display),
            "entry_no": rec["entry_no"].map(_display),
            "registration_date": rec["registration_date"].map(_display),
            "file_name": file_name,
            "row_number": row_number,
            "local_key": local,
            "field": found["field"],
            "field_label": labels,
            "value": values,
            "code": found["code"],
            "message": messages,
            "waiting_since": entries["opened_at"].to_numpy()[p],
        },
        columns=list(PROBLEM_COLUMNS),
    )


def today_local(now: dt.datetime | None = None) -> dt.date:
    """Today in Asia/Ho_Chi_Minh."""
    from zoneinfo import ZoneInfo

    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
