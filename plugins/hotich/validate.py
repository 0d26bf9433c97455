"""Quarantine rules (contracts/README.md, "Reason codes") run as Great Expectations suites.

How it works, in three steps:

1. ``prepare_checks`` turns the normalized record frame (``model.RECORD_COLUMNS``) into a
   *check frame*: the text columns as they are, plus vectorized helper columns that carry
   the contract's "not evaluated" logic as nulls (GX map expectations skip nulls). For
   example ``_subject_id_yy``/``_subject_dob_yy`` are null unless the record has a
   12-digit ID and a valid date of birth, so ``ID_BIRTH_YEAR`` is then not evaluated.
2. One GX suite per record type (``expectations/<type>.json``) is run over that type's
   rows with ``COMPLETE`` results and ``source_key`` as the unexpected index column. Each
   expectation names its reason code in ``meta.reason``.
3. The failing ``source_key`` lists become per-record reason lists.

``reference_flags`` computes the same verdicts straight from the record frame with
plain pandas; the tests assert that both agree. ``build_suite_dicts`` generates the JSON
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotich import model

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SUITE_TYPES: tuple[str, ...] = ("birth", "death", "marriage", "unknown")
KNOWN_TYPES: tuple[str, ...] = ("birth", "death", "marriage")

# Control characters the contract forbids: C0 except tab/LF/CR, DEL and C1. Written with
# \x escapes so both Python `re` and RE2 (pyarrow-backed pandas strings) read it alike.
CONTROL_CHAR_REGEX = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
# `$` also matches before a final newline in Python `re`; the length-12 expectation
# next to this regex closes that gap.
ID_REGEX = r"^[0-9]{12}$"
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
        (), (), _PARENT_DOBS | {"subject_dob"}, ("subject", "husband", "wife"), ORDER_PAIRS, (), False
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
    """Object series with blank (empty or whitespace-only) and missing values as None."""
    s = values.astype(object)
    blank = s.isna() | (s.astype(str).str.strip() == "")
    return s.where(~blank, None)


def _canonical_sex(values: pd.Series) -> pd.Series:
    """'Nam'/'Nữ', anything else None (the contract: any other value is missing)."""
    s = values.astype(object)
    return s.where(s.isin([model.SEX_MALE, model.SEX_FEMALE]), None)


def _ymd(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of a datetime series as int64 arrays (0 where NaT)."""
    d = pd.to_datetime(values)
    return tuple(  # type: ignore[return-value]
        getattr(d.dt, part).fillna(0).to_numpy(dtype=np.int64) for part in ("year", "month", "day")
    )


def _int_col(values: np.ndarray, valid: np.ndarray) -> pd.Series:
    """Nullable Int64 column, null where not ``valid`` (null = not evaluated for GX)."""
    return pd.Series(pd.arrays.IntegerArray(values.astype(np.int64), ~valid))


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
        state = records[f"{f}_state"].astype(object).to_numpy()
        full = state == model.DateState.FULL.value
        year_only = state == model.DateState.YEAR.value
        y, m, d = _ymd(records[f])
        year = records[f"{f}_year"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
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


def prepare_checks(
    records: pd.DataFrame,
    run_date: dt.date,
    province_codes: frozenset[str],
    claimed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The frame the suites run on (RangeIndex, one row per record, same order).

    Helper columns are null where the contract says the rule is not evaluated.
    ``province_codes`` is not used here: the suites receive it as a suite parameter.
    """
    del province_codes  # the ID_PROVINCE expectation gets it as a parameter
    n = len(records)
    rtype = _type_series(records).reset_index(drop=True)
    rec = records.reset_index(drop=True)
    cols: dict[str, Any] = {
        "source_key": rec["source_key"].astype(object),
        "record_type": rec["record_type"].astype(object),
    }
    for f in TEXT_FIELDS:
        cols[f] = rec[f].astype(object)
    for f in ("subject_name", "husband_name", "wife_name", "book", "entry_no") + model.ID_FIELDS:
        cols[f"{f}__given"] = _given(rec[f])
    cols["subject_sex__given"] = _canonical_sex(rec["subject_sex"])

    dates = _date_validity(rec, rtype, run_date)
    for f in model.DATE_FIELDS:
        cols[f"{f}_state"] = pd.Series(dates[f]["state"], dtype=object)
        cols[f"{f}__ord"] = _int_col(dates[f]["ordinal"], dates[f]["present"])

    for later, earlier in ORDER_PAIRS:
        a, b = dates[later], dates[earlier]
        ok = a["valid"] & b["valid"]
        by_year = a["year_only"] | b["year_only"]  # a year-only date compares by year
        name = f"_order__{later}__{earlier}"
        cols[f"{name}__a"] = _int_col(np.where(by_year, a["year"], a["ordinal"]), ok)
        cols[f"{name}__b"] = _int_col(np.where(by_year, b["year"], b["ordinal"]), ok)

    reg = dates["registration_date"]
    for role in ("husband", "wife"):
        dob = dates[PEOPLE[role][1]]
        ok = reg["valid"] & reg["full"] & dob["valid"] & dob["full"]
        cols[f"_{role}_age"] = _int_col(_completed_years(reg["ymd"], dob["ymd"]), ok)

    for role, (id_col, dob_col, sex_src) in PEOPLE.items():
        pid = cols[f"{id_col}__given"].astype(str)
        is12 = pid.str.fullmatch(r"[0-9]{12}").fillna(False).to_numpy(dtype=bool)
        is12 = is12 & cols[f"{id_col}__given"].notna().to_numpy()
        digits = pid.where(is12, "000000000000")
        dob = dates[dob_col]
        if sex_src == "subject_sex":
            sex = cols["subject_sex__given"].to_numpy()
        else:
            sex = np.full(n, sex_src, dtype=object)
        has_sex = pd.notna(sex)
        female = sex == model.SEX_FEMALE
        cols[f"_{role}_id_ppp"] = pd.Series(digits.str[:3].where(is12, None), dtype=object)
        g_ok = is12 & dob["valid"] & has_sex
        cols[f"_{role}_id_g"] = _int_col(digits.str[3].astype(np.int64).to_numpy(), g_ok)
        cols[f"_{role}_g_expected"] = _int_col(
            _expected_century_sex_digit(dob["year"], female), g_ok
        )
        yy_ok = is12 & dob["valid"]
        cols[f"_{role}_id_yy"] = _int_col(digits.str[4:6].astype(np.int64).to_numpy(), yy_ok)
        cols[f"_{role}_dob_yy"] = _int_col(dob["year"] % 100, yy_ok)

    cols["_entry_held_by"] = entry_holders(rec, claimed).reset_index(drop=True)
    return pd.DataFrame(cols)


# --- the suites --------------------------------------------------------------------------


def _exp(kind: str, reason: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"reason": reason}}


def build_suite_dicts() -> dict[str, dict[str, Any]]:
    """The four suites as GX 1.x suite dicts (what ``expectations/*.json`` holds)."""
    suites: dict[str, dict[str, Any]] = {}
    for rtype, rules in RULES.items():
        exps: list[dict[str, Any]] = []
        # REQUIRED_MISSING
        if rtype == "unknown":
            exps.append(
                _exp(
                    "expect_column_values_to_be_in_set",
                    model.REQUIRED_MISSING,
                    column="record_type",
                    value_set=list(KNOWN_TYPES),
                )
            )
        for f in rules.required_text:
            exps.append(
                _exp(
                    "expect_column_values_to_not_be_null",
                    model.REQUIRED_MISSING,
                    column=f"{f}__given",
                )
            )
        for f in rules.required_dates:
            exps.append(
                _exp(
                    "expect_column_values_to_not_be_in_set",
                    model.REQUIRED_MISSING,
                    column=f"{f}_state",
                    value_set=[model.DateState.MISSING.value],
                )
            )
        # DATE_INVALID: unparseable / non-existent / year-only where not allowed; future.
        for f in model.DATE_FIELDS:
            allowed = [model.DateState.MISSING.value, model.DateState.FULL.value]
            if f in rules.year_only:
                allowed.append(model.DateState.YEAR.value)
            exps.append(
                _exp(
                    "expect_column_values_to_be_in_set",
                    model.DATE_INVALID,
                    column=f"{f}_state",
                    value_set=allowed,
                )
            )
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    model.DATE_INVALID,
                    column=f"{f}__ord",
                    max_value={"$PARAMETER": "run_date_ord"},
                )
            )
        # VALUE_INVALID
        for f in TEXT_FIELDS:
            exps.append(
                _exp(
                    "expect_column_values_to_not_match_regex",
                    model.VALUE_INVALID,
                    column=f,
                    regex=CONTROL_CHAR_REGEX,
                )
            )
            exps.append(
                _exp(
                    "expect_column_value_lengths_to_be_between",
                    model.VALUE_INVALID,
                    column=f,
                    max_value=TEXT_LIMITS[f],
                )
            )
        # DATE_ORDER
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
        # MARRIAGE_AGE
        for role in rules.ages:
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    model.MARRIAGE_AGE,
                    column=f"_{role}_age",
                    min_value=MIN_AGE[role],
                )
            )
        # ID_FORMAT: every ID column, whatever the type
        for f in model.ID_FIELDS:
            exps.append(
                _exp(
                    "expect_column_values_to_match_regex",
                    model.ID_FORMAT,
                    column=f"{f}__given",
                    regex=ID_REGEX,
                )
            )
            exps.append(
                _exp(
                    "expect_column_value_lengths_to_equal",
                    model.ID_FORMAT,
                    column=f"{f}__given",
                    value=12,
                )
            )
        # ID digits, per person of the type
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
            exps.append(
                _exp(
                    "expect_column_values_to_be_null",
                    model.DUPLICATE_ENTRY,
                    column="_entry_held_by",
                )
            )
        suites[rtype] = {
            "name": f"hotich_{rtype}",
            "expectations": exps,
            "meta": {
                "record_type": rtype,
                "generated_by": "hotich.validate.build_suite_dicts",
                "parameters": ["run_date_ord", "province_codes"],
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
    """Silence GX's import chatter (structlog-rendered info lines) and analytics."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # Hundreds of "Skipping registering function" lines at info level on import.
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.ERROR)


@cache
def _gx_runtime() -> tuple[Any, Any]:
    """An ephemeral GX context (no files) and a whole-dataframe batch definition."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("hotich_records")
    asset = source.add_dataframe_asset("records")
    return context, asset.add_batch_definition_whole_dataframe("all")


@cache
def _load_suites(directory: str) -> dict[str, Any]:
    """GX ``ExpectationSuite`` objects from the JSON files (checked to be complete)."""
    _gx_runtime()
    from great_expectations.core import ExpectationSuite

    suites = {}
    for rtype, data in read_suite_dicts(Path(directory)).items():
        suite = ExpectationSuite(**data)
        # GX logs and drops an invalid expectation instead of raising: refuse that.
        if len(suite.expectations) != len(data["expectations"]):
            raise ValueError(f"{directory}/{rtype}.json: some expectations failed to load")
        suites[rtype] = suite
    return suites


def _summarize(result: Any, key_sample: int = 20) -> dict[str, Any]:
    """A JSON-able summary of a suite result, without values (names, IDs)."""
    out = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        keys = [row["source_key"] for row in (res.get("unexpected_index_list") or [])[:key_sample]]
        kwargs = {
            k: v
            for k, v in cfg.kwargs.items()
            if k != "batch_id" and not (k == "value_set" and not isinstance(v, list))
        }
        out.append(
            {
                "expectation_type": cfg.type,
                "kwargs": kwargs,
                "reason": (cfg.meta or {}).get("reason"),
                "success": bool(r.success),
                "element_count": res.get("element_count"),
                "unexpected_count": res.get("unexpected_count"),
                "unexpected_percent": res.get("unexpected_percent"),
                "sample_source_keys": keys,
            }
        )
    stats = dict(result.statistics)
    return json.loads(
        json.dumps(
            {"suite": result.suite_name, "success": bool(result.success), "statistics": stats,
             "results": out},
            default=str,
        )
    )


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
    flags = pd.DataFrame(False, index=checks.index, columns=sorted(model.QUARANTINE_CODES))
    params = {
        "run_date_ord": run_date.year * 10000 + run_date.month * 100 + run_date.day,
        "province_codes": sorted(province_codes),
    }
    result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": ["source_key"]}
    rtype = checks["record_type"].where(checks["record_type"].isin(SUITE_TYPES), "unknown")
    summaries: dict[str, dict] = {}
    for t in SUITE_TYPES:
        part = checks[rtype == t]
        if part.empty:
            summaries[t] = {"suite": f"hotich_{t}", "success": True, "skipped": "no records"}
            continue
        batch = batch_def.get_batch(batch_parameters={"dataframe": part})
        result = batch.validate(
            suites[t], result_format=result_format, expectation_parameters=params
        )
        for r in result.results:
            cfg = r.expectation_config
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(f"GX {cfg.type} {cfg.kwargs}: {r.exception_info}")
            res = r.result or {}
            rows = res.get("unexpected_index_list")
            if res.get("unexpected_count") and rows is None:
                raise RuntimeError(f"GX {cfg.type} returned no unexpected_index_list")
            if not rows:
                continue
            pos = key_index.get_indexer([row["source_key"] for row in rows])
            if (pos < 0).any():
                raise RuntimeError(f"GX {cfg.type} returned unknown source keys")
            code = cfg.meta["reason"]
            col = flags[code].to_numpy(copy=True)
            col[pos] = True
            flags[code] = col
        summaries[t] = _summarize(result)
    return flags, summaries


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
    checks = prepare_checks(records, run_date, province_codes, claimed)
    flags, summaries = _gx_flags(checks, run_date, province_codes, suite_dir)
    reasons = _flags_to_reasons(flags, records.index)
    counts = {c: int(flags[c].sum()) for c in flags.columns if flags[c].any()}
    log.info(
        "validated %d records: %d quarantined; by code %s",
        len(records),
        int((flags.any(axis=1)).sum()),
        counts,
    )
    return ValidationOutcome(reasons, summaries)


# --- the direct computation (cross-check of the GX path) -------------------------------


def reference_flags(
    records: pd.DataFrame,
    run_date: dt.date,
    province_codes: frozenset[str],
    claimed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The quarantine verdicts computed with plain pandas, one boolean column per code.

    Independent of the suites and of the check frame (it shares only the date and
    duplicate helpers), so the tests can assert that the GX path says the same.
    """
    rec = records.reset_index(drop=True)
    n = len(rec)
    rtype = _type_series(rec)
    is_t = {t: (rtype == t).to_numpy() for t in SUITE_TYPES}
    f = {c: np.zeros(n, dtype=bool) for c in sorted(model.QUARANTINE_CODES)}
    dates = _date_validity(rec, rtype, run_date)
    present_text = {c: _given(rec[c]).notna().to_numpy() for c in TEXT_FIELDS}
    sex = _canonical_sex(rec["subject_sex"]).to_numpy()

    # REQUIRED_MISSING
    miss = is_t["unknown"].copy()
    for t in KNOWN_TYPES:
        r = RULES[t]
        lacks = np.zeros(n, dtype=bool)
        for c in r.required_text:
            lacks |= pd.isna(sex) if c == "subject_sex" else ~present_text[c]
        for c in r.required_dates:
            lacks |= dates[c]["state"] == model.DateState.MISSING.value
        miss |= is_t[t] & lacks
    f[model.REQUIRED_MISSING] = miss

    # DATE_INVALID: present (full/year/invalid) but not valid
    for c in model.DATE_FIELDS:
        state = dates[c]["state"]
        f[model.DATE_INVALID] |= (state != model.DateState.MISSING.value) & ~dates[c]["valid"]

    # VALUE_INVALID
    for c in TEXT_FIELDS:
        s = rec[c].astype(object)
        txt = s.astype(str)
        ctrl = txt.str.contains(CONTROL_CHAR_REGEX, regex=True).to_numpy(dtype=bool)
        long = (txt.str.len() > TEXT_LIMITS[c]).to_numpy(dtype=bool)
        f[model.VALUE_INVALID] |= s.notna().to_numpy() & (ctrl | long)

    # DATE_ORDER
    for t, r in RULES.items():
        for later, earlier in r.order:
            a, b = dates[later], dates[earlier]
            ok = a["valid"] & b["valid"]
            by_year = a["year_only"] | b["year_only"]
            before = np.where(by_year, a["year"] < b["year"], a["ordinal"] < b["ordinal"])
            f[model.DATE_ORDER] |= is_t[t] & ok & before

    # MARRIAGE_AGE
    reg = dates["registration_date"]
    for role in ("husband", "wife"):
        dob = dates[PEOPLE[role][1]]
        ok = reg["valid"] & reg["full"] & dob["valid"] & dob["full"]
        age = _completed_years(reg["ymd"], dob["ymd"])
        f[model.MARRIAGE_AGE] |= is_t["marriage"] & ok & (age < MIN_AGE[role])

    # ID rules
    for c in model.ID_FIELDS:
        pid = _given(rec[c])
        ok = pid.astype(str).str.fullmatch(r"[0-9]{12}").fillna(False).to_numpy(dtype=bool)
        f[model.ID_FORMAT] |= pid.notna().to_numpy() & ~ok
    for role, (id_col, dob_col, sex_src) in PEOPLE.items():
        types = [t for t, r in RULES.items() if role in r.people]
        applies = rtype.isin(types).to_numpy()
        pid = _given(rec[id_col]).astype(str)
        is12 = pid.str.fullmatch(r"[0-9]{12}").fillna(False).to_numpy(dtype=bool)
        is12 = is12 & _given(rec[id_col]).notna().to_numpy()
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

    # DUPLICATE_ENTRY
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
