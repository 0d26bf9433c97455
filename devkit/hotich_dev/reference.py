"""The quarantine rules computed with plain pandas: the oracle the GX suites are checked
against (tests/unit/test_validate.py, benchmarks/bench_validate.py).

Independent of the suites and of the frame GX validates: it shares with
``hotich.validate`` only the rule tables, the date validity and the duplicate holders.
The rules are those of docs/ledger.md ("Quarantine codes", "How the rules are
evaluated"); the readings it does not spell out are in ``hotich.validate``'s docstring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hotich import model
from hotich.validate import (
    CONTROL_CHAR_REGEX,
    KNOWN_TYPES,
    MIN_AGE,
    PEOPLE,
    RULES,
    SUITE_TYPES,
    TEXT_FIELDS,
    TEXT_LIMITS,
    _bool,
    _canonical_sex,
    _completed_years,
    _date_validity,
    _flags_to_reasons,
    _given,
    _text_col,
    _type_series,
    entry_holders,
)

Dates = Mapping[str, Mapping[str, Any]]


def _required_missing(
    rec: pd.DataFrame,
    rtype_is: Mapping[str, np.ndarray],
    dates: Dates,
    present_text: Mapping[str, np.ndarray],
    sex: np.ndarray,
) -> np.ndarray:
    """REQUIRED_MISSING: every unknown record, and known ones lacking a required field."""
    n = len(rec)
    miss = rtype_is["unknown"].copy()
    for t in KNOWN_TYPES:
        r = RULES[t]
        lacks = np.zeros(n, dtype=bool)
        for c in r.required_text:
            lacks |= pd.isna(sex) if c == "subject_sex" else ~present_text[c]
        for c in r.required_dates:
            lacks |= dates[c]["missing"]
        miss |= rtype_is[t] & lacks
    return miss


def _id_flags(
    rec: pd.DataFrame,
    rtype: pd.Series,
    dates: Dates,
    sex: np.ndarray,
    province_codes: frozenset[str],
    f: dict[str, np.ndarray],
) -> None:
    """ID_FORMAT, ID_PROVINCE, ID_CENTURY_SEX and ID_BIRTH_YEAR into ``f``."""
    n = len(rec)
    for c in model.ID_FIELDS:
        pid = _given(rec[c])
        ok = _bool(pid.str.fullmatch(r"[0-9]{12}"))
        f[model.ID_FORMAT] |= pid.notna().to_numpy() & ~ok
    for role, (id_col, dob_col, sex_src) in PEOPLE.items():
        types = [t for t, r in RULES.items() if role in r.people]
        applies = rtype.isin(types).to_numpy()
        pid = _given(rec[id_col])
        is12 = _bool(pid.str.fullmatch(r"[0-9]{12}")) & pid.notna().to_numpy()
        d = pid.where(is12, "000000000000")
        ppp_bad = ~d.str[:3].isin(province_codes).to_numpy()
        f[model.ID_PROVINCE] |= applies & is12 & ppp_bad
        dob = dates[dob_col]
        year = dob["year"]
        who_sex = sex if sex_src == "subject_sex" else np.full(n, sex_src, dtype=object)
        female = who_sex == model.SEX_FEMALE
        g = d.str[3].astype(int).to_numpy()
        century_ok = (year >= 1900) & (year < 2400)
        expected = 2 * ((year - 1900) // 100) + female
        bad_g = ~century_ok | (g != expected)
        f[model.ID_CENTURY_SEX] |= applies & is12 & dob["valid"] & pd.notna(who_sex) & bad_g
        yy = d.str[4:6].astype(int).to_numpy()
        f[model.ID_BIRTH_YEAR] |= applies & is12 & dob["valid"] & (yy != year % 100)


def _date_flags(rtype_is: Mapping[str, np.ndarray], dates: Dates, f: dict[str, np.ndarray]) -> None:
    """DATE_INVALID, DATE_ORDER and MARRIAGE_AGE into ``f``."""
    for c in model.DATE_FIELDS:
        f[model.DATE_INVALID] |= ~dates[c]["missing"] & ~dates[c]["valid"]
    for t, r in RULES.items():
        for later, earlier in r.order:
            a, b = dates[later], dates[earlier]
            ok = a["valid"] & b["valid"]
            by_year = a["year_only"] | b["year_only"]
            before = np.where(by_year, a["year"] < b["year"], a["ordinal"] < b["ordinal"])
            f[model.DATE_ORDER] |= rtype_is[t] & ok & before
    reg = dates["registration_date"]
    for role in ("husband", "wife"):
        dob = dates[PEOPLE[role][1]]
        ok = reg["valid"] & reg["full"] & dob["valid"] & dob["full"]
        age = _completed_years(reg["ymd"], dob["ymd"])
        f[model.MARRIAGE_AGE] |= rtype_is["marriage"] & ok & (age < MIN_AGE[role])


def reference_flags(
    records: pd.DataFrame,
    run_date: dt.date,
    province_codes: frozenset[str],
    claimed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The quarantine verdicts computed with plain pandas, one boolean column per code
    (columns in code-point order, index of ``records``)."""
    rec = records.reset_index(drop=True)
    n = len(rec)
    rtype = _type_series(rec)
    rtype_is = {t: (rtype == t).to_numpy() for t in SUITE_TYPES}
    f = {c: np.zeros(n, dtype=bool) for c in sorted(model.QUARANTINE_CODES)}
    dates = _date_validity(rec, rtype, run_date)
    present_text = {c: _given(rec[c]).notna().to_numpy() for c in TEXT_FIELDS}
    sex = _canonical_sex(rec["subject_sex"]).to_numpy()

    f[model.REQUIRED_MISSING] = _required_missing(rec, rtype_is, dates, present_text, sex)
    for c in TEXT_FIELDS:  # VALUE_INVALID
        txt = _text_col(rec[c])
        ctrl = _bool(txt.str.contains(CONTROL_CHAR_REGEX, regex=True))
        long = _bool(txt.str.len() > TEXT_LIMITS[c])
        f[model.VALUE_INVALID] |= txt.notna().to_numpy() & (ctrl | long)
    _date_flags(rtype_is, dates, f)
    _id_flags(rec, rtype, dates, sex, province_codes, f)
    f[model.DUPLICATE_ENTRY] = entry_holders(rec, claimed).notna().to_numpy()
    return pd.DataFrame(f, index=records.index)


def reference_reasons(
    records: pd.DataFrame,
    run_date: dt.date,
    province_codes: frozenset[str],
    claimed: pd.DataFrame | None = None,
) -> pd.Series:
    """``reference_flags`` as sorted code lists (same shape as ``ValidationOutcome.reasons``)."""
    return _flags_to_reasons(
        reference_flags(records, run_date, province_codes, claimed), records.index
    )
