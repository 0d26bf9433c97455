"""Quarantine rules (contracts/README.md, "Reason codes") run as Great Expectations suites.

How it works:

1. ``prepare_checks`` turns the normalized record frame (``model.RECORD_COLUMNS`` plus
   the ``X_year``/``X_state`` date columns) into a *check frame* of vectorized helper
   columns. Field-level rules become a column of failing field names that must be null
   (``_required_missing``, ``_date_invalid``, ``_value_invalid``, ``_id_format``,
   ``_entry_held_by``); rules with real parameters keep value columns (ages, ID digits,
   date ordinals). A value column is null where the contract says the rule is not
   evaluated (GX map expectations skip nulls): ``_subject_id_yy``/``_subject_dob_yy``
   are null unless there is a 12-digit ID and a valid date of birth.
2. One GX suite per record type (``expectations/<type>.json``) runs over that type's
   rows with ``COMPLETE`` results and ``source_key`` as the unexpected index column. Each
   expectation names its reason code in ``meta.reason``.
3. The failing ``source_key`` lists become per-record reason lists.

Why dense helper columns rather than one expectation per field: GX 1.24 filters the
whole batch frame row-wise for every metric and hashes it per batch, so its cost grows
with columns x expectations; per-field expectations (about 70 per suite) took minutes on
1.1 M records, these (9-22 per suite) take seconds.

``reference_flags`` computes the same verdicts straight from the record frame with plain
pandas; the tests assert that both agree. ``build_suite_dicts`` generates the JSON
suites (``python -m hotich.validate --write-suites`` rewrites them), and a test asserts
the files are current.

Readings of the contract that are not spelled out there (also in the report):

- Year-only dates: allowed for a death's ``subject_dob`` and for parents' dates of
  birth. For an ``unknown`` record, a year alone is flagged only where no record type
  allows it (registration, death, spouses' dates); a subject's year-only date of birth
  is allowed there, since the rule that would decide needs the missing record type.
- A year-only date is "after the run's date" when its year is after the run's year.
- ``DATE_ORDER`` "registration before birth" covers the subject (birth, death) and both
  spouses (marriage); parents' dates of birth are not ordered against anything.
- ``MARRIAGE_AGE``: completed years; someone born on 29 February has the birthday on
  28 February in common years (Civil Code 2015 art. 148: a period whose last month lacks
  the day ends on that month's last day; same as ``pandas.DateOffset``/``dateutil``).
- ``ID_CENTURY_SEX`` for a birth year outside 1900-2399: no digit can encode it, so the
  ID disagrees (flagged).
- ``VALUE_INVALID`` checks every text column of the frame, personal IDs included
  (limit 255), for every record type. Allowed control characters: tab, LF, CR.
- ``DUPLICATE_ENTRY`` is not evaluated for ``unknown`` records (the record type, part of
  the key, is missing) and needs a non-blank book and entry number. An earlier claim
  counts for the same district (``claimed.district_code``, or the ``source_key`` prefix).
- ``unknown`` records: ``REQUIRED_MISSING`` (once), plus the rules that do not depend on
  the type: ``DATE_INVALID``, ``VALUE_INVALID``, ``ID_FORMAT``, the ID-digit rules of the
  subject and of spouses' fields if present, and every ``DATE_ORDER`` pair whose dates
  are present. ``MARRIAGE_AGE`` and ``DUPLICATE_ENTRY`` are not evaluated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotich import model
from hotich.config import PROJECT_DIR
from hotich.normalize import date_parts

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
SUITE_TYPES: tuple[str, ...] = ("birth", "death", "marriage", "unknown")
KNOWN_TYPES: tuple[str, ...] = ("birth", "death", "marriage")

# Control characters the contract forbids: C0 except tab/LF/CR, DEL and C1. Written with
# \x escapes so both Python `re` and RE2 (pyarrow-backed pandas strings) read it alike.
CONTROL_CHAR_REGEX = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
MIN_AGE = {"husband": 20, "wife": 18}

TEXT_FIELDS: tuple[str, ...] = model.NAME_FIELDS + model.ID_FIELDS + model.OTHER_TEXT_FIELDS
TEXT_LIMITS: dict[str, int] = {
    f: (model.NAME_MAX_LEN if f in model.NAME_FIELDS else model.TEXT_MAX_LEN) for f in TEXT_FIELDS
}

# Who carries an ID: (ID column, date-of-birth column, sex column or the role's fixed sex).
PEOPLE: dict[str, tuple[str, str, str]] = {
    "subject": ("subject_id", "subject_dob", "subject_sex"),
    "husband": ("husband_id", "husband_dob", model.SEX_MALE),
    "wife": ("wife_id", "wife_dob", model.SEX_FEMALE),
}
# DATE_ORDER pairs: (later, earlier); the later must not be before the earlier.
ORDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("registration_date", "subject_dob"),
    ("death_date", "subject_dob"),
    ("registration_date", "death_date"),
    ("registration_date", "husband_dob"),
    ("registration_date", "wife_dob"),
)


@dataclass(frozen=True)
class TypeRules:
    """What the contract asks of one record type."""

    required_text: tuple[str, ...]
    required_dates: tuple[str, ...]
    year_only: frozenset[str]  # date fields where a year alone is valid
    people: tuple[str, ...]
    order: tuple[tuple[str, str], ...]
    ages: tuple[str, ...]
    duplicate: bool


_PARENT_DOBS = frozenset({"mother_dob", "father_dob"})
RULES: dict[str, TypeRules] = {
    "birth": TypeRules(
        ("subject_name", "subject_sex", "book", "entry_no"),
        ("subject_dob", "registration_date"),
        _PARENT_DOBS,
        ("subject",),
        (ORDER_PAIRS[0],),
        (),
        True,
    ),
    "death": TypeRules(
        ("subject_name", "subject_sex", "book", "entry_no"),
        ("subject_dob", "death_date", "registration_date"),
        _PARENT_DOBS | {"subject_dob"},
        ("subject",),
        ORDER_PAIRS[:3],
        (),
        True,
    ),
    "marriage": TypeRules(
        ("husband_name", "wife_name", "book", "entry_no"),
        ("husband_dob", "wife_dob", "registration_date"),
        _PARENT_DOBS,
        ("husband", "wife"),
        ORDER_PAIRS[3:],
        ("husband", "wife"),
        True,
    ),
    # The type is what is missing: year-only is allowed wherever some type allows it.
    "unknown": TypeRules(
        (),
        (),
        _PARENT_DOBS | {"subject_dob"},
        ("subject", "husband", "wife"),
        ORDER_PAIRS,
        (),
        False,
    ),
}


@dataclass(frozen=True)
class ValidationOutcome:
    """Verdicts of ``validate_records``.

    ``reasons``: per record (index aligned with the input), the sorted list of quarantine
    codes, empty when clean. ``suite_results``: per suite, a JSON-able summary of the GX
    validation (counts and sample source keys; values are left out since they hold names
    and IDs).
    """

    reasons: pd.Series
    suite_results: dict[str, dict]
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per step

    @property
    def quarantined(self) -> pd.Series:
        """True where the record has at least one quarantine code."""
        return self.reasons.str.len() > 0


# --- small vectorized helpers ------------------------------------------------------------


def load_province_codes(path: str | os.PathLike[str]) -> frozenset[str]:
    """The three-digit province codes of ``province_codes.csv`` (column ``code``)."""
    codes = pd.read_csv(path, dtype=str, keep_default_na=False)["code"].str.strip()
    bad = codes[~codes.str.fullmatch(r"[0-9]{3}")]
    if len(bad):
        raise ValueError(f"{path}: province codes must be three digits: {sorted(bad)[:5]}")
    return frozenset(codes)


def _given(values: pd.Series) -> pd.Series:
    """Text as ``str`` dtype with blank (empty or whitespace-only) values as missing."""
    s = _text_col(values)
    return s.where(~_bool(s.str.strip() == ""))


def _bool(values: pd.Series) -> np.ndarray:
    """A (possibly nullable) boolean series as a numpy bool array, missing as False."""
    return values.to_numpy(dtype=bool, na_value=False)


def _canonical_sex(values: pd.Series) -> pd.Series:
    """'Nam'/'Nữ', anything else None (the contract: any other value is missing)."""
    s = _text_col(values)
    return s.where(s.isin([model.SEX_MALE, model.SEX_FEMALE]))


def _num_col(values: np.ndarray, valid: np.ndarray) -> pd.Series:
    """Float column, NaN where not ``valid`` (null = not evaluated for GX).

    float64 rather than nullable Int64: GX's between metric runs vectorized only on
    native numpy dtypes (it falls back to a per-value Python function otherwise). All
    values here (yyyymmdd ordinals, ages, digits) are exact in float64.
    """
    return pd.Series(np.where(valid, values, np.nan).astype(np.float64))


def _text_col(values: pd.Series) -> pd.Series:
    """Pandas ``str`` dtype (Arrow-backed, fast string kernels; missing stays missing)."""
    if values.dtype == "str":
        return values
    return values.astype("str")


def _completed_years(
    ref: tuple[np.ndarray, np.ndarray, np.ndarray], dob: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Age in completed years at ``ref``; a 29 Feb birthday falls on 28 Feb in common years."""
    ry, rm, rd = ref
    by, bm, bd = dob
    leap = (ry % 4 == 0) & ((ry % 100 != 0) | (ry % 400 == 0))
    bday = np.where((bm == 2) & (bd == 29) & ~leap, 28, bd)
    before = (rm < bm) | ((rm == bm) & (rd < bday))
    return ry - by - before.astype(np.int64)


def _expected_century_sex_digit(year: np.ndarray, female: np.ndarray) -> np.ndarray:
    """The ID's fourth digit for a birth year and sex; -1 where no digit encodes the year."""
    century = (year - 1900) // 100
    digit = 2 * century + female.astype(np.int64)
    return np.where((year >= 1900) & (year <= 2399), digit, -1)


def _type_series(records: pd.DataFrame) -> pd.Series:
    """``record_type`` as object; anything outside the four types counts as unknown."""
    t = records["record_type"].astype(object)
    return t.where(t.isin(SUITE_TYPES), "unknown")


def _year_only_allowed(rtype: pd.Series, field: str) -> np.ndarray:
    """Per row: may ``field`` be a year alone for this row's record type?"""
    types = [t for t, r in RULES.items() if field in r.year_only]
    return rtype.isin(types).to_numpy()


def _date_validity(
    records: pd.DataFrame, rtype: pd.Series, run_date: dt.date
) -> dict[str, dict[str, Any]]:
    """Per date field: state, y/m/d, an ordinal (yyyymmdd, year-only yyyy0000) and whether
    the date is valid (full or allowed year-only, not after the run date)."""
    run_ord = run_date.year * 10000 + run_date.month * 100 + run_date.day
    out: dict[str, dict[str, Any]] = {}
    for f in model.DATE_FIELDS:
        state = records[f"{f}_state"].to_numpy(dtype=object)
        full = state == model.DateState.FULL.value
        year_only = state == model.DateState.YEAR.value
        # date_parts gives -1 where NaT; only "full" rows read y/m/d, and those have a date.
        y, m, d = date_parts(pd.to_datetime(records[f]).to_numpy(dtype="datetime64[D]"))
        year = pd.to_numeric(records[f"{f}_year"]).fillna(0).to_numpy(dtype=np.int64)
        ordinal = np.where(full, y * 10000 + m * 100 + d, year * 10000)
        present = full | year_only
        valid = (full | (year_only & _year_only_allowed(rtype, f))) & (ordinal <= run_ord)
        out[f] = {
            "state": state,
            "full": full,
            "year_only": year_only,
            "ymd": (y, m, d),
            "year": np.where(full, y, year),
            "ordinal": ordinal,
            "present": present,
            "valid": valid,
        }
    return out


def entry_holders(records: pd.DataFrame, claimed: pd.DataFrame | None) -> pd.Series:
    """Per record, the ``source_key`` that holds its (district, type, book, entry) when that
    is another record, else None.

    An entry claimed in an earlier run is held by its claimant; a record of this run that
    is one of the claimants keeps it. Unclaimed entries go to the record with the smallest
    ``sort_key`` within this run.
    """
    keys = ["district_code", "record_type", "book", "entry_no"]
    holder = pd.Series(None, index=records.index, dtype=object)
    rtype = _type_series(records)
    frame = pd.DataFrame(
        {
            "district_code": records["district_code"].astype(object),
            "record_type": rtype,
            "book": _given(records["book"]),
            "entry_no": _given(records["entry_no"]),
            "source_key": records["source_key"].astype(object),
            "sort_key": records["sort_key"],
            "_pos": np.arange(len(records)),
        }
    )
    frame = frame[frame["record_type"].isin(KNOWN_TYPES) & frame[keys].notna().all(axis=1)]
    result = np.full(len(records), None, dtype=object)

    claimed_rows = np.zeros(len(records), dtype=bool)
    if claimed is not None and len(claimed):
        cl = claimed.copy()
        if "district_code" not in cl.columns:
            cl["district_code"] = cl["source_key"].astype(str).str.split(":", n=1).str[0]
        cl = cl[keys + ["source_key"]].astype(object).rename(columns={"source_key": "_claimant"})
        cl["book"] = _given(cl["book"])
        cl["entry_no"] = _given(cl["entry_no"])
        cl = cl.dropna()
        m = frame.merge(cl, on=keys, how="inner")
        if len(m):
            m["_self"] = m["_claimant"] == m["source_key"]
            g = m.groupby("_pos")
            own = g["_self"].any()
            first_claimant = g["_claimant"].min()  # deterministic if several claimants
            pos = own.index.to_numpy()
            claimed_rows[pos] = True
            result[pos] = np.where(own.to_numpy(), None, first_claimant.to_numpy())

    rest = frame[~claimed_rows[frame["_pos"].to_numpy()]]
    rest = rest[rest.duplicated(keys, keep=False)]
    # One district is one source flavor, so its sort keys compare with each other.
    for _, part in rest.groupby("district_code", sort=False):
        try:
            part = part.sort_values(keys[1:] + ["sort_key"], kind="stable")
        except TypeError:  # mixed key kinds in one district: fall back to text order
            part = part.assign(sort_key=part["sort_key"].astype(str))
            part = part.sort_values(keys[1:] + ["sort_key"], kind="stable")
        first = part.groupby(keys[1:], sort=False)["source_key"].transform("first")
        others = first != part["source_key"]
        result[part["_pos"].to_numpy()[others.to_numpy()]] = first[others].to_numpy()
    holder[:] = result
    return holder


# --- the check frame ------------------------------------------------------------------


def _field_list(flags: Mapping[str, np.ndarray], n: int) -> pd.Series:
    """Per row, the comma-joined names of the fields whose flag is set; None when none.

    These are the values the null-expectations report as unexpected: field names, never
    the personal data in them.
    """
    acc = np.full(n, "", dtype=object)
    for name, flag in flags.items():
        if flag.any():
            acc[flag] = acc[flag] + (name + ",")  # touches failing rows only
    out = np.full(n, None, dtype=object)
    hit = acc != ""
    out[hit] = pd.Series(acc[hit], dtype=object).str[:-1].to_numpy(dtype=object)
    return pd.Series(out, dtype=object)


def _text_flags(rec: pd.DataFrame) -> dict[str, np.ndarray]:
    """VALUE_INVALID per text field: a control character or longer than its column."""
    out = {}
    for f in TEXT_FIELDS:
        s = _text_col(rec[f])
        out[f] = _bool(s.str.contains(CONTROL_CHAR_REGEX, regex=True)) | _bool(
            s.str.len() > TEXT_LIMITS[f]
        )
    return out


def _id_is_12_digits(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(present, exactly 12 ASCII digits) per row; blank counts as absent."""
    pid = _given(values)
    present = pid.notna().to_numpy()
    # fullmatch: no trailing-newline leniency (unlike `$`); [0-9] is ASCII only.
    return present, _bool(pid.str.fullmatch(r"[0-9]{12}")) & present


def prepare_checks(
    records: pd.DataFrame,
    run_date: dt.date,
    claimed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The frame the suites run on (RangeIndex, one row per record, same order).

    Each rule gets cheap, dense helper columns (GX's cost grows with columns times
    expectations, see ``_gx_flags``): field-name lists that are null when the rule holds
    (``_required_missing``, ``_date_invalid``, ``_value_invalid``, ``_id_format``,
    ``_entry_held_by``), and value columns for the expectations with real parameters
    (ages, ID digits, date ordinals). Value columns are null where the contract says the
    rule is not evaluated. ``province_codes`` reaches the suites as a parameter instead.
    """
    n = len(records)
    rec = records.reset_index(drop=True)
    rtype = _type_series(rec)
    is_t = {t: (rtype == t).to_numpy() for t in SUITE_TYPES}
    dates = _date_validity(rec, rtype, run_date)
    sex = _canonical_sex(rec["subject_sex"]).to_numpy()
    cols: dict[str, Any] = {"source_key": rec["source_key"], "record_type": _text_col(rtype)}

    # REQUIRED_MISSING: the missing required fields of the row's type ("record_type"
    # for unknown rows).
    present_text = {
        f: _given(rec[f]).notna().to_numpy() for t in KNOWN_TYPES for f in RULES[t].required_text
    }
    present_text["subject_sex"] = pd.notna(sex)
    missing: dict[str, np.ndarray] = {"record_type": is_t["unknown"]}
    for t in KNOWN_TYPES:
        for f in RULES[t].required_text:
            missing[f] = missing.get(f, np.zeros(n, bool)) | (is_t[t] & ~present_text[f])
        for f in RULES[t].required_dates:
            gone = dates[f]["state"] == model.DateState.MISSING.value
            missing[f] = missing.get(f, np.zeros(n, bool)) | (is_t[t] & gone)
    cols["_required_missing"] = _field_list(missing, n)

    # DATE_INVALID: present but not valid (unparseable, non-existent, a year alone where
    # the type does not allow it, after the run date).
    cols["_date_invalid"] = _field_list(
        {
            f: (dates[f]["state"] != model.DateState.MISSING.value) & ~dates[f]["valid"]
            for f in model.DATE_FIELDS
        },
        n,
    )
    cols["_value_invalid"] = _field_list(_text_flags(rec), n)

    ids = {f: _id_is_12_digits(rec[f]) for f in model.ID_FIELDS}
    cols["_id_format"] = _field_list({f: p & ~ok for f, (p, ok) in ids.items()}, n)

    # DATE_ORDER: both dates valid; a year-only date compares by year.
    for later, earlier in ORDER_PAIRS:
        a, b = dates[later], dates[earlier]
        ok = a["valid"] & b["valid"]
        by_year = a["year_only"] | b["year_only"]
        name = f"_order__{later}__{earlier}"
        cols[f"{name}__a"] = _num_col(np.where(by_year, a["year"], a["ordinal"]), ok)
        cols[f"{name}__b"] = _num_col(np.where(by_year, b["year"], b["ordinal"]), ok)

    # MARRIAGE_AGE: a valid registration date and a full, valid date of birth.
    reg = dates["registration_date"]
    for role in ("husband", "wife"):
        dob = dates[PEOPLE[role][1]]
        ok = reg["valid"] & reg["full"] & dob["valid"] & dob["full"]
        cols[f"_{role}_age"] = _num_col(_completed_years(reg["ymd"], dob["ymd"]), ok)

    # ID digits: a 12-digit ID; century/sex also needs a valid dob and the sex.
    for role, (id_col, dob_col, sex_src) in PEOPLE.items():
        _, is12 = ids[id_col]
        digits = _text_col(rec[id_col]).where(is12, "000000000000")
        number = digits.astype(np.int64).to_numpy()  # 12 digits fit in int64
        dob = dates[dob_col]
        who = sex if sex_src == "subject_sex" else np.full(n, sex_src, dtype=object)
        female = who == model.SEX_FEMALE
        cols[f"_{role}_id_ppp"] = _text_col(digits.str[:3].where(is12, None))
        g_ok = is12 & dob["valid"] & pd.notna(who)
        cols[f"_{role}_id_g"] = _num_col(number // 10**8 % 10, g_ok)
        cols[f"_{role}_g_expected"] = _num_col(
            _expected_century_sex_digit(dob["year"], female), g_ok
        )
        yy_ok = is12 & dob["valid"]
        cols[f"_{role}_id_yy"] = _num_col(number // 10**6 % 100, yy_ok)
        cols[f"_{role}_dob_yy"] = _num_col(dob["year"] % 100, yy_ok)

    cols["_entry_held_by"] = entry_holders(rec, claimed).reset_index(drop=True)
    return pd.DataFrame(cols)


# --- the suites --------------------------------------------------------------------------


def _exp(kind: str, reason: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"reason": reason}}


def _null(reason: str, column: str) -> dict[str, Any]:
    return _exp("expect_column_values_to_be_null", reason, column=column)


def build_suite_dicts() -> dict[str, dict[str, Any]]:
    """The four suites as GX 1.x suite dicts (what ``expectations/*.json`` holds).

    ``meta.rules`` records the rule parameters the check frame was built with, so the
    suite file says what its null-expectations stand for.
    """
    suites: dict[str, dict[str, Any]] = {}
    for rtype, rules in RULES.items():
        exps: list[dict[str, Any]] = [
            _null(model.REQUIRED_MISSING, "_required_missing"),
            _null(model.DATE_INVALID, "_date_invalid"),
            _null(model.VALUE_INVALID, "_value_invalid"),
        ]
        for later, earlier in rules.order:
            name = f"_order__{later}__{earlier}"
            exps.append(
                _exp(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    model.DATE_ORDER,
                    column_A=f"{name}__a",
                    column_B=f"{name}__b",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
        for role in rules.ages:
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    model.MARRIAGE_AGE,
                    column=f"_{role}_age",
                    min_value=MIN_AGE[role],
                )
            )
        exps.append(_null(model.ID_FORMAT, "_id_format"))
        for role in rules.people:
            exps.append(
                _exp(
                    "expect_column_values_to_be_in_set",
                    model.ID_PROVINCE,
                    column=f"_{role}_id_ppp",
                    value_set={"$PARAMETER": "province_codes"},
                )
            )
            exps.append(
                _exp(
                    "expect_column_pair_values_to_be_equal",
                    model.ID_CENTURY_SEX,
                    column_A=f"_{role}_id_g",
                    column_B=f"_{role}_g_expected",
                    ignore_row_if="either_value_is_missing",
                )
            )
            exps.append(
                _exp(
                    "expect_column_pair_values_to_be_equal",
                    model.ID_BIRTH_YEAR,
                    column_A=f"_{role}_id_yy",
                    column_B=f"_{role}_dob_yy",
                    ignore_row_if="either_value_is_missing",
                )
            )
        if rules.duplicate:
            exps.append(_null(model.DUPLICATE_ENTRY, "_entry_held_by"))
        suites[rtype] = {
            "name": f"hotich_{rtype}",
            "expectations": exps,
            "meta": {
                "record_type": rtype,
                "generated_by": "hotich.validate.build_suite_dicts",
                "parameters": {
                    "run_date_ord": "run date as yyyymmdd (Asia/Ho_Chi_Minh)",
                    "province_codes": "contracts/province_codes.csv",
                },
                "rules": {
                    "required_text": list(rules.required_text),
                    "required_dates": list(rules.required_dates),
                    "year_only_allowed": sorted(rules.year_only),
                    "text_limits": TEXT_LIMITS,
                    "control_chars": CONTROL_CHAR_REGEX,
                    "personal_id": "[0-9]{12}",
                    "people": {r: list(PEOPLE[r]) for r in rules.people},
                    "date_order": [list(p) for p in rules.order],
                    "min_age": {r: MIN_AGE[r] for r in rules.ages},
                    "duplicate_entry": rules.duplicate,
                },
            },
        }
    return suites


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write ``build_suite_dicts()`` to ``<directory>/<type>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for rtype, suite in build_suite_dicts().items():
        path = directory / f"{rtype}.json"
        path.write_text(json.dumps(suite, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def read_suite_dicts(directory: Path = EXPECTATIONS_DIR) -> dict[str, dict[str, Any]]:
    """The suite dicts of ``<directory>/<type>.json``."""
    return {
        t: json.loads((directory / f"{t}.json").read_text(encoding="utf-8")) for t in SUITE_TYPES
    }


# --- Great Expectations ------------------------------------------------------------------


def _quiet_gx() -> None:
    """Silence GX's chatter: analytics off, and its loggers above info.

    Beside Airflow, GX's info records (hundreds of "Skipping registering function" lines
    on import) are rendered by structlog; ``types.base`` even sets its own level to INFO
    at import, so the levels are set again after importing.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in (
        "great_expectations",
        "great_expectations._docs_decorators",
        "great_expectations.data_context.types.base",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


@cache
def _gx_runtime() -> tuple[Any, Any]:
    """An ephemeral GX context and a whole-dataframe batch definition (once per process).

    In-memory stores, no Data Docs site, no analytics, no progress bars: GX writes nothing.
    """
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _quiet_gx()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("hotich_records")
    asset = source.add_dataframe_asset("records")
    return context, asset.add_batch_definition_whole_dataframe("all")


_COLUMN_KWARGS = ("column", "column_A", "column_B")


@dataclass(frozen=True)
class _LoadedSuite:
    """A suite as GX loaded it, and the check-frame columns it reads.

    GX filters the whole batch frame row-wise for each metric and hashes it for each
    batch, so its cost grows with columns x expectations: each suite's batch holds only
    ``source_key`` and the columns its expectations read.
    """

    name: str
    suite: Any  # great_expectations.core.ExpectationSuite
    columns: tuple[str, ...]


@cache
def _load_suites(directory: str) -> dict[str, _LoadedSuite]:
    """GX ``ExpectationSuite`` objects from the JSON files (checked to be complete)."""
    _gx_runtime()
    from great_expectations.core import ExpectationSuite

    loaded = {}
    for rtype, data in read_suite_dicts(Path(directory)).items():
        suite = ExpectationSuite(**data)
        # GX logs and drops an invalid expectation instead of raising: refuse that.
        if len(suite.expectations) != len(data["expectations"]):
            raise ValueError(f"{directory}/{rtype}.json: some expectations failed to load")
        columns: list[str] = []
        for e in data["expectations"]:
            if e.get("meta", {}).get("reason") not in model.QUARANTINE_CODES:
                raise ValueError(f"{directory}/{rtype}.json: {e['type']} lacks a meta.reason code")
            columns += [e["kwargs"][k] for k in _COLUMN_KWARGS if k in e["kwargs"]]
        loaded[rtype] = _LoadedSuite(data["name"], suite, tuple(dict.fromkeys(columns)))
    return loaded


def _result_rows(r: Any, key_sample: int) -> dict[str, Any]:
    """One expectation's result as a JSON-able dict, without values (names, IDs)."""
    cfg = r.expectation_config
    res = r.result or {}
    keys = [row["source_key"] for row in (res.get("unexpected_index_list") or [])[:key_sample]]
    kwargs = {
        k: v
        for k, v in cfg.kwargs.items()
        if k != "batch_id" and not (k == "value_set" and not isinstance(v, list))
    }
    return {
        "expectation_type": cfg.type,
        "kwargs": kwargs,
        "reason": (cfg.meta or {}).get("reason"),
        "success": bool(r.success),
        "element_count": res.get("element_count"),
        "unexpected_count": res.get("unexpected_count"),
        "unexpected_percent": res.get("unexpected_percent"),
        "sample_source_keys": keys,
    }


def _summarize(name: str, results: list[Any], rows: int, key_sample: int = 20) -> dict[str, Any]:
    """A JSON-able summary of a suite's results (counts and sample source keys)."""
    out = [_result_rows(r, key_sample) for r in results]
    ok = sum(1 for r in out if r["success"])
    summary = {
        "suite": name,
        "success": ok == len(out),
        "records": rows,
        "statistics": {
            "evaluated_expectations": len(out),
            "successful_expectations": ok,
            "unsuccessful_expectations": len(out) - ok,
        },
        "results": out,
    }
    return json.loads(json.dumps(summary, default=str))


def _gx_flags(
    checks: pd.DataFrame,
    run_date: dt.date,
    province_codes: frozenset[str],
    suite_dir: Path,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Run each type's suite over its rows; per-row flags from the unexpected index lists."""
    _, batch_def = _gx_runtime()
    suites = _load_suites(str(suite_dir))
    key_index = pd.Index(checks["source_key"])
    if not key_index.is_unique:
        raise ValueError("source_key must be unique within a validation call")
    codes = sorted(model.QUARANTINE_CODES)
    flags = np.zeros((len(checks), len(codes)), dtype=bool)
    params = {
        "run_date_ord": run_date.year * 10000 + run_date.month * 100 + run_date.day,
        "province_codes": sorted(province_codes),
    }
    result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": ["source_key"]}
    rtype = checks["record_type"].where(checks["record_type"].isin(SUITE_TYPES), "unknown")
    summaries: dict[str, dict] = {}
    for t in SUITE_TYPES:
        loaded = suites[t]
        part = checks[(rtype == t).to_numpy()]
        if part.empty:
            summaries[t] = {"suite": loaded.name, "success": True, "records": 0, "results": []}
            continue
        narrow = part[["source_key", *loaded.columns]]
        batch = batch_def.get_batch(batch_parameters={"dataframe": narrow})
        results = batch.validate(
            loaded.suite, result_format=result_format, expectation_parameters=params
        ).results
        for r in results:
            cfg = r.expectation_config
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(f"GX {cfg.type} {cfg.kwargs}: {r.exception_info}")
            res = r.result or {}
            rows = res.get("unexpected_index_list")
            if res.get("unexpected_count") and not rows:
                raise RuntimeError(f"GX {cfg.type} {cfg.kwargs} returned no unexpected_index_list")
            if not rows:
                continue
            pos = key_index.get_indexer([row["source_key"] for row in rows])
            if (pos < 0).any():
                raise RuntimeError(f"GX {cfg.type} returned unknown source keys")
            flags[pos, codes.index(cfg.meta["reason"])] = True
        summaries[t] = _summarize(loaded.name, results, len(part))
    return pd.DataFrame(flags, index=checks.index, columns=codes), summaries


def _flags_to_reasons(flags: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Sorted code lists from a boolean frame (columns in code-point order)."""
    codes = list(flags.columns)
    assert codes == sorted(codes)
    weights = 1 << np.arange(len(codes), dtype=np.int64)
    masks = flags.to_numpy(dtype=np.int64) @ weights
    uniq = np.unique(masks)
    table = {int(m): tuple(c for i, c in enumerate(codes) if m >> i & 1) for m in uniq}
    # A fresh list per row (callers may append to it); building them is the only
    # per-row Python step, and it holds no rule logic.
    return pd.Series([list(table[m]) for m in masks.tolist()], index=index, dtype=object)


def validate_records(
    records: pd.DataFrame,
    run_date: dt.date,
    province_codes: frozenset[str],
    claimed: pd.DataFrame | None = None,
    *,
    suite_dir: Path = EXPECTATIONS_DIR,
) -> ValidationOutcome:
    """Apply every quarantine rule to every record through the GX suites.

    ``records``: a normalized record frame (``model.RECORD_COLUMNS``), ``source_key``
    unique. ``run_date``: the run's date in Asia/Ho_Chi_Minh. ``claimed``: columns
    ``record_type, book, entry_no, source_key`` (and optionally ``district_code``) of
    entries read in earlier runs.
    """
    if records.empty:
        return ValidationOutcome(pd.Series([], index=records.index, dtype=object), {})
    t0 = time.perf_counter()
    checks = prepare_checks(records, run_date, claimed)
    t1 = time.perf_counter()
    flags, summaries = _gx_flags(checks, run_date, province_codes, suite_dir)
    t2 = time.perf_counter()
    reasons = _flags_to_reasons(flags, records.index)
    t3 = time.perf_counter()
    timings = {"prepare": t1 - t0, "gx": t2 - t1, "verdicts": t3 - t2}
    counts = {c: int(flags[c].sum()) for c in flags.columns if flags[c].any()}
    log.info(
        "validated %d records in %.1f s (prepare %.1f, GX %.1f): %d quarantined; by code %s",
        len(records),
        t3 - t0,
        timings["prepare"],
        timings["gx"],
        int(flags.any(axis=1).sum()),
        counts,
    )
    return ValidationOutcome(reasons, summaries, timings)


def summarize_reasons(reasons: pd.Series) -> Mapping[str, int]:
    """How many records carry each code (for logs and reports)."""
    exploded = reasons.explode().dropna()
    return {str(k): int(v) for k, v in exploded.value_counts().sort_index().items()}


def _main(argv: Iterable[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-suites", action="store_true", help="rewrite expectations/*.json")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.write_suites:
        for p in write_suites():
            print(p)


if __name__ == "__main__":
    _main()
