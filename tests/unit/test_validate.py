"""Quarantine rules (hotich.validate): every code, the "not evaluated" interplay, and the
agreement of the GX-derived verdicts with the direct pandas computation.

GX costs about a second per ``validate_records`` call whatever the size, so the cases are
validated together: one frame of all single-record cases (each with its own book, so
entries never collide), one call for the duplicate cases, one for the random frame.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotich import model
from hotich import validate as v
from hotich_dev import reference

REPO = Path(__file__).resolve().parents[2]
RUN = dt.date(2025, 6, 30)
PROVINCES = v.load_province_codes(REPO / "include" / "contracts" / "province_codes.csv")


# --- building normalized record frames (independent of normalize.py) ---------------------


def _date_cols(value: str | None) -> tuple[Any, Any, str]:
    """'YYYY-MM-DD' full, 'YYYY' year alone, 'bad' invalid, None missing."""
    if value is None:
        return pd.NaT, pd.NA, "missing"
    if value == "bad":
        return pd.NaT, pd.NA, "invalid"
    if len(value) == 4:
        return pd.NaT, int(value), "year"
    return pd.Timestamp(value), int(value[:4]), "full"


def make_records(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A normalized record frame (model.RECORD_COLUMNS plus X_year/X_state) from short dicts.

    Date fields take the notation of ``_date_cols``; keys not given are None. The
    ``source_key``, ``local_key`` and ``sort_key`` default from the row position.
    """
    out = []
    for i, row in enumerate(rows):
        rtype = row.get("record_type", "birth")
        district = row.get("district_code", "260")
        rec: dict[str, Any] = {c: None for c in model.RECORD_COLUMNS}
        rec.update(
            district_code=district,
            record_type=rtype,
            local_key=str(i),
            sort_key=i,
            source_key=f"{district}:{rtype}:{i}",
            legacy_encoding=False,
        )
        rec.update({k: val for k, val in row.items() if k not in model.DATE_FIELDS})
        for f in model.DATE_FIELDS:
            rec[f], rec[f"{f}_year"], rec[f"{f}_state"] = _date_cols(row.get(f))
        out.append(rec)
    df = pd.DataFrame(out)
    for f in model.DATE_FIELDS:
        df[f] = pd.to_datetime(df[f])
        df[f"{f}_year"] = df[f"{f}_year"].astype("Int64")
    return df


def birth(**over: Any) -> dict[str, Any]:
    """A clean birth: boy born 2008 in Bắc Ninh (027), ID 027 2 08 ..."""
    base = dict(
        record_type="birth",
        subject_name="Nguyễn Văn An",
        subject_sex="Nam",
        subject_dob="2008-03-15",
        subject_id="027208123456",
        registration_date="2008-04-01",
        book="260-KS-2008-01",
        entry_no="12",
        place="Xã Tân Chi, huyện Tiên Du",
        ethnicity="Kinh",
        nationality="Việt Nam",
        mother_name="Lê Thị Hoa",
        mother_dob="1985",
        father_name="Nguyễn Văn Bình",
        father_dob="1983-07-01",
    )
    return base | over


def death(**over: Any) -> dict[str, Any]:
    """A clean death: woman born 1930 (year only), ID 027 1 30 ..."""
    base = dict(
        record_type="death",
        subject_name="Trần Thị Bình",
        subject_sex="Nữ",
        subject_dob="1930",
        subject_id="027130654321",
        death_date="2020-05-01",
        registration_date="2020-05-03",
        book="260-KT-2020-01",
        entry_no="7",
        place="Thôn Đông",
        death_cause="Già yếu",
    )
    return base | over


def marriage(**over: Any) -> dict[str, Any]:
    """A clean marriage in 2020: husband born 1995, wife 1998."""
    base = dict(
        record_type="marriage",
        husband_name="Lê Văn Cường",
        husband_dob="1995-06-01",
        husband_id="027095123456",
        husband_ethnicity="Kinh",
        wife_name="Phạm Thị Dung",
        wife_dob="1998-02-28",
        wife_id="001198654321",
        wife_ethnicity="Kinh",
        registration_date="2020-01-10",
        book="260-KH-2020-01",
        entry_no="3",
    )
    return base | over


# --- the single-record cases: (id, record, expected codes) -------------------------------

R, DI, VI, DO, MA = (
    model.REQUIRED_MISSING,
    model.DATE_INVALID,
    model.VALUE_INVALID,
    model.DATE_ORDER,
    model.MARRIAGE_AGE,
)
IF, IP, IC, IY = model.ID_FORMAT, model.ID_PROVINCE, model.ID_CENTURY_SEX, model.ID_BIRTH_YEAR

CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    # clean records
    ("birth_clean", birth(), set()),
    ("death_clean_year_only_dob", death(), set()),
    ("marriage_clean", marriage(), set()),
    ("birth_clean_no_id", birth(subject_id=None), set()),
    ("birth_empty_id_is_absent", birth(subject_id=""), set()),
    # REQUIRED_MISSING
    ("birth_no_name", birth(subject_name=None), {R}),
    ("birth_blank_name", birth(subject_name="   "), {R}),
    ("birth_no_sex", birth(subject_sex=None), {R}),
    ("birth_other_sex_is_missing", birth(subject_sex="Male"), {R}),
    ("birth_no_dob", birth(subject_dob=None), {R}),
    ("birth_no_registration", birth(registration_date=None), {R}),
    ("birth_no_book", birth(book=None), {R}),
    ("birth_no_entry", birth(entry_no=" "), {R}),
    (
        "birth_parents_not_required",
        birth(mother_name=None, mother_dob=None, father_name=None),
        set(),
    ),
    ("death_no_death_date", death(death_date=None), {R}),
    ("death_no_dob", death(subject_dob=None), {R}),
    ("marriage_no_husband_name", marriage(husband_name=None), {R}),
    ("marriage_no_wife_dob", marriage(wife_dob=None), {R}),
    ("marriage_subject_sex_not_needed", marriage(subject_sex=None), set()),
    (
        "unknown_type",
        dict(record_type="unknown", subject_name="Nguyễn Văn An", subject_dob="1970"),
        {R},
    ),
    # DATE_INVALID and what it switches off
    ("birth_year_only_dob", birth(subject_dob="2008"), {DI}),
    (
        "birth_invalid_dob_no_id_digit_codes",
        birth(subject_dob="bad", subject_id="027315123456"),
        {DI},
    ),
    ("birth_invalid_dob_no_order", birth(subject_dob="bad", registration_date="2001-01-01"), {DI}),
    ("birth_invalid_registration", birth(registration_date="bad"), {DI}),
    ("birth_year_only_registration", birth(registration_date="2008"), {DI}),
    ("birth_year_only_parent_dob_ok", birth(father_dob="1980"), set()),
    ("birth_invalid_parent_dob", birth(mother_dob="bad"), {DI}),
    ("birth_future_registration", birth(registration_date="2025-07-01"), {DI}),
    (
        "birth_registration_on_run_date_ok",
        birth(registration_date="2025-06-30", subject_dob="2025-06-01", subject_id="027225123456"),
        set(),
    ),
    (
        "birth_future_dob_no_order_no_digits",
        birth(subject_dob="2026-01-01", registration_date="2025-01-01", subject_id="027399123456"),
        {DI},
    ),
    (
        "death_year_only_dob_in_run_year_ok",
        death(
            subject_dob="2025",
            subject_id="027325123456",
            death_date="2025-05-01",
            registration_date="2025-05-02",
        ),
        set(),
    ),
    ("death_future_year_only_dob", death(subject_dob="2026", subject_id=None), {DI}),
    ("death_year_only_death_date", death(death_date="2020"), {DI}),
    ("marriage_year_only_husband_dob_no_age", marriage(husband_dob="2005"), {DI}),
    ("unknown_year_only_dob_allowed", dict(record_type="unknown", subject_dob="1950"), {R}),
    (
        "unknown_year_only_registration",
        dict(record_type="unknown", registration_date="1990"),
        {R, DI},
    ),
    # VALUE_INVALID
    ("name_control_char", birth(subject_name="Nguyễn Văn\x01 An"), {VI}),
    ("place_c1_control_char", birth(place="Xã\x85 Tân Chi"), {VI}),
    ("note_del_char", birth(note="ghi\x7fchú"), {VI}),
    ("note_nul_char", birth(note="ghi\x00chú"), {VI}),
    ("note_vertical_tab", birth(note="a\x0bb"), {VI}),
    ("tab_lf_cr_allowed", birth(note="dòng 1\r\ndòng 2\tcột"), set()),
    ("name_100_ok", birth(subject_name="Nguyễn " + "A" * 93), set()),
    ("name_101_too_long", birth(subject_name="Nguyễn " + "A" * 94), {VI}),
    ("mother_name_101", birth(mother_name="B" * 101), {VI}),
    ("place_255_ok", birth(place="x" * 255), set()),
    ("place_256_too_long", birth(place="x" * 256), {VI}),
    ("wife_name_control", marriage(wife_name="Phạm\x1fThị"), {VI}),
    ("control_char_in_id_also_format", birth(subject_id="02720812345\x01"), {VI, IF}),
    # DATE_ORDER
    ("birth_registered_before_birth", birth(registration_date="2008-03-14"), {DO}),
    ("birth_registered_on_birth_day_ok", birth(registration_date="2008-03-15"), set()),
    (
        "death_before_birth",
        death(subject_dob="1930-06-01", death_date="1930-05-01", registration_date="1930-05-02"),
        {DO},
    ),
    ("death_registered_before_death", death(registration_date="2020-04-30"), {DO}),
    (
        "death_year_only_dob_same_year_ok",
        death(subject_dob="2020", subject_id="027320123456", death_date="2020-01-01"),
        set(),
    ),
    (
        "death_year_only_dob_next_year",
        death(
            subject_dob="2021",
            subject_id=None,
            death_date="2020-12-31",
            registration_date="2021-01-02",
        ),
        {DO},
    ),
    (
        "marriage_registered_before_wife_birth",
        marriage(wife_dob="2020-02-01", wife_id=None),
        {DO, MA},
    ),
    (
        "unknown_order_evaluated",
        dict(record_type="unknown", subject_dob="2000-01-02", registration_date="2000-01-01"),
        {R, DO},
    ),
    # MARRIAGE_AGE
    ("husband_19", marriage(husband_dob="2000-01-11", husband_id="027200123456"), {MA}),
    ("husband_20_today_ok", marriage(husband_dob="2000-01-10", husband_id="027200123456"), set()),
    ("wife_17", marriage(wife_dob="2002-01-11", wife_id="001302123456"), {MA}),
    ("wife_18_today_ok", marriage(wife_dob="2002-01-10", wife_id="001302123456"), set()),
    (
        "wife_29feb_turns_18_on_28feb",
        marriage(wife_dob="2004-02-29", wife_id="001304123456", registration_date="2022-02-28"),
        set(),
    ),
    (
        "wife_29feb_day_before",
        marriage(wife_dob="2004-02-29", wife_id="001304123456", registration_date="2022-02-27"),
        {MA},
    ),
    (
        "husband_29feb_leap_registration",
        marriage(
            husband_dob="2004-02-29", husband_id="027204123456", registration_date="2024-02-28"
        ),
        {MA},
    ),
    (
        "husband_29feb_leap_birthday_ok",
        marriage(
            husband_dob="2004-02-29", husband_id="027204123456", registration_date="2024-02-29"
        ),
        set(),
    ),
    (
        "age_needs_registration",
        marriage(registration_date=None, wife_dob="2015-01-01", wife_id=None),
        {R},
    ),
    ("age_not_for_births", birth(husband_dob="2015-01-01"), set()),
    # ID_FORMAT
    ("id_11_digits", birth(subject_id="02720812345"), {IF}),
    ("id_13_digits", birth(subject_id="0272081234567"), {IF}),
    ("id_letter", birth(subject_id="02720812345X"), {IF}),
    ("id_fullwidth_digits", birth(subject_id="０２７２０８１２３４５６"), {IF}),
    ("id_trailing_newline", birth(subject_id="027208123456\n"), {IF}),
    ("id_inner_space", birth(subject_id="027 208123456"), {IF}),
    ("id_format_on_unknown", dict(record_type="unknown", subject_id="12"), {R, IF}),
    # ID_PROVINCE
    ("id_province_003", birth(subject_id="003208123456"), {IP}),
    ("id_province_not_for_bad_format", birth(subject_id="00320812345"), {IF}),
    # ID_CENTURY_SEX
    ("id_g_female_digit_for_boy", birth(subject_id="027308123456"), {IC}),
    ("id_g_wrong_century", birth(subject_id="027008123456"), {IC}),
    ("id_g_needs_sex", birth(subject_sex=None, subject_id="027308123456"), {R}),
    ("id_g_needs_dob", birth(subject_dob=None, subject_id="027308123456"), {R}),
    ("id_g_year_only_death_dob", death(subject_id="027030654321"), {IC}),
    (
        "id_g_1895_no_digit_fits",
        death(
            subject_dob="1895",
            subject_id="027095654321",
            death_date="1960-01-01",
            registration_date="1960-01-05",
        ),
        {IC},
    ),
    (
        "id_g_2100s",
        birth(subject_dob="2024-01-01", registration_date="2024-01-02", subject_id="027424123456"),
        {IC},
    ),
    # ID_BIRTH_YEAR
    ("id_yy_wrong", birth(subject_id="027209123456"), {IY}),
    ("id_yy_year_only_death", death(subject_id="027131654321"), {IY}),
    ("id_all_digit_rules", birth(subject_id="003019123456"), {IP, IC, IY}),
    # marriages: ID rules per spouse, sex by role
    ("husband_id_female_digit", marriage(husband_id="027195123456"), {IC}),
    ("wife_id_male_digit", marriage(wife_id="001098654321"), {IC}),
    ("wife_id_province", marriage(wife_id="099198654321"), {IP}),
    ("husband_id_year", marriage(husband_id="027096123456"), {IY}),
    ("husband_id_format", marriage(husband_id="2709512345"), {IF}),
    ("both_spouses_bad", marriage(husband_id="027096123456", wife_id="099198654321"), {IY, IP}),
    ("marriage_ids_need_dob", marriage(wife_dob="bad", wife_id="001098654321"), {DI}),
    # everything at once, sorted
    (
        "many_codes",
        birth(
            subject_name=None,
            place="a\x02",
            subject_id="003019123456",
            registration_date="2030-01-01",
        ),
        {R, VI, DI, IP, IC, IY},
    ),
]


@pytest.fixture(scope="module")
def case_frame() -> pd.DataFrame:
    rows = [rec for _, rec, _ in CASES]
    df = make_records(rows)
    # every case gets its own book so that no entry collides by accident
    df["book"] = df["book"].where(df["book"].isna(), df["book"] + "#" + df.index.astype(str))
    df.index = pd.Index([f"case-{i}" for i in range(len(df))])  # any index is kept
    return df


@pytest.fixture(scope="module")
def case_outcome(case_frame: pd.DataFrame) -> v.ValidationOutcome:
    return v.validate_records(case_frame, RUN, PROVINCES)


@pytest.mark.parametrize(
    ("name", "expected"), [(n, e) for n, _, e in CASES], ids=[c[0] for c in CASES]
)
def test_case(
    case_frame: pd.DataFrame, case_outcome: v.ValidationOutcome, name: str, expected: set[str]
) -> None:
    pos = [c[0] for c in CASES].index(name)
    got = case_outcome.reasons.iloc[pos]
    assert got == sorted(expected), f"{name}: {got}"


def test_cases_reasons_are_sorted_lists_aligned_with_input(
    case_frame: pd.DataFrame, case_outcome: v.ValidationOutcome
) -> None:
    reasons = case_outcome.reasons
    assert reasons.index.equals(case_frame.index)
    assert all(isinstance(r, list) and r == sorted(set(r)) for r in reasons)
    assert all(set(r) <= model.QUARANTINE_CODES for r in reasons)
    # a fresh list per record: appending to one record's list leaves the others alone
    assert len({id(r) for r in reasons}) == len(reasons)


def test_cases_gx_agrees_with_direct(
    case_frame: pd.DataFrame, case_outcome: v.ValidationOutcome
) -> None:
    direct = reference.reference_reasons(case_frame, RUN, PROVINCES)
    assert direct.tolist() == case_outcome.reasons.tolist()


def test_suite_results_are_json_and_hold_no_personal_data(
    case_frame: pd.DataFrame, case_outcome: v.ValidationOutcome
) -> None:
    results = case_outcome.suite_results
    assert set(results) == {"birth", "death", "marriage", "unknown"}
    text = json.dumps(results, ensure_ascii=False)
    for value in ("Nguyễn Văn An", "Lê Thị Hoa", "027208123456", "003019123456"):
        assert value not in text
    birth_results = results["birth"]["results"]
    assert {r["reason"] for r in birth_results} <= model.QUARANTINE_CODES
    failing = [r for r in birth_results if not r["success"]]
    assert failing and all(r["sample_source_keys"] for r in failing)


def test_every_gx_expectation_returns_the_index_list(case_outcome: v.ValidationOutcome) -> None:
    """Each expectation type we rely on fails at least once above and names the rows."""
    seen = {}
    for summary in case_outcome.suite_results.values():
        for r in summary["results"]:
            if r["unexpected_count"]:
                seen[r["expectation_type"]] = len(r["sample_source_keys"]) > 0
    kinds = {e["type"] for s in v.build_suite_dicts().values() for e in s["expectations"]}
    assert seen.keys() == kinds
    assert all(seen.values())


# --- DUPLICATE_ENTRY ---------------------------------------------------------------------


def _dup_frame() -> pd.DataFrame:
    rows = [
        birth(entry_no="1", sort_key=10),  # 0: larger key, listed first -> duplicate
        birth(entry_no="1", sort_key=9, subject_name=None),  # 1: smallest key keeps it
        birth(entry_no="1", sort_key=11),  # 2: duplicate
        birth(entry_no="1", district_code="261", sort_key=12),  # 3: other district
        death(entry_no="1", book="260-KS-2008-01"),  # 4: other record type
        birth(entry_no="2", book=None),  # 5: no book: not evaluated
        birth(entry_no="2", book=None),  # 6: idem
        birth(entry_no="5"),  # 7: claimed earlier by another record -> duplicate
        birth(entry_no="6"),  # 8: claimed earlier by itself -> keeps it
        birth(entry_no="6"),  # 9: same entry, this run -> duplicate (8 holds it)
        birth(entry_no="7"),  # 10: claimed in district 261 only -> not a duplicate
        dict(record_type="unknown", book="260-KS-2008-01", entry_no="1"),  # 11
        dict(record_type="unknown", book="260-KS-2008-01", entry_no="1"),  # 12
    ]
    df = make_records(rows)
    # workbook-style string keys in district 262: file name then zero-padded row
    wb = make_records(
        [
            birth(district_code="262", entry_no="9", sort_key="b.xlsx#000002"),
            birth(district_code="262", entry_no="9", sort_key="a.xlsx#000010"),
            birth(district_code="262", entry_no="9", sort_key="a.xlsx#000003"),
        ]
    )
    wb["source_key"] = ["262:birth:b.xlsx#2", "262:birth:a.xlsx#10", "262:birth:a.xlsx#3"]
    return pd.concat([df, wb], ignore_index=True)


def _claimed(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_type": ["birth", "birth", "birth"],
            "book": ["260-KS-2008-01"] * 3,
            "entry_no": ["5", "6", "7"],
            "source_key": ["260:birth:999", df.loc[8, "source_key"], "261:birth:5"],
        }
    )


def test_duplicate_entry() -> None:
    df = _dup_frame()
    out = v.validate_records(df, RUN, PROVINCES, claimed=_claimed(df))
    dup = out.reasons.map(lambda r: model.DUPLICATE_ENTRY in r).tolist()
    assert dup == [
        True, False, True, False, False, False, False,
        True, False, True, False, False, False,
        True, True, False,
    ]  # fmt: skip
    assert out.reasons[1] == [model.REQUIRED_MISSING]  # the kept record fails on its own
    assert out.reasons[5] == [model.REQUIRED_MISSING]
    assert out.reasons[11] == [model.REQUIRED_MISSING]
    holders = v.entry_holders(df, _claimed(df))
    assert holders[0] == df.loc[1, "source_key"]
    assert holders[7] == "260:birth:999"
    assert holders[9] == df.loc[8, "source_key"]
    assert holders[13] == holders[14] == "262:birth:a.xlsx#3"
    direct = reference.reference_reasons(df, RUN, PROVINCES, claimed=_claimed(df))
    assert direct.tolist() == out.reasons.tolist()


def test_duplicate_entry_within_run_only() -> None:
    df = _dup_frame()
    held = v.entry_holders(df, None).notna().tolist()
    assert held[7] is False and held[9] is True and held[8] is False


def test_duplicate_numeric_keys_sort_as_numbers() -> None:
    df = make_records([birth(sort_key=10), birth(sort_key=9), birth(sort_key=100)])
    assert v.entry_holders(df, None).notna().tolist() == [True, False, True]


# --- GX == direct on a random frame ------------------------------------------------------


def random_records(n: int, seed: int) -> pd.DataFrame:
    """Records with every field drawn at random, valid and broken alike."""
    rng = np.random.default_rng(seed)

    def pick(options: list[Any], size: int = n) -> list[Any]:
        return [options[i] for i in rng.integers(0, len(options), size)]

    dates = [None, "bad", "1899", "1930", "1999", "2008", "2025", "2026", "1895-02-03",
             "1930-12-31", "1995-06-01", "2000-02-29", "2004-02-29", "2004-03-01",
             "2008-03-15", "2020-01-10", "2022-02-28", "2024-02-29", "2025-06-30",
             "2025-07-01"]  # fmt: skip
    ids = [None, "", "027208123456", "027308123456", "003019123456", "027130654321",
           "001198654321", "027095123456", "02720812345", "027208123456\n", "02720812345X",
           "027424123456", "099100000000", "001095000000", "027204000000"]  # fmt: skip
    texts = [None, "", "  ", "Nguyễn Văn An", "Lê Thị\x01Hoa", "a\tb\nc", "x" * 101,
             "y" * 256, "Z\x9f"]  # fmt: skip
    rows = []
    types = pick(["birth", "death", "marriage", "unknown"])
    for i in range(n):
        row: dict[str, Any] = {"record_type": types[i], "sort_key": int(rng.integers(0, 50))}
        for f in model.DATE_FIELDS:
            row[f] = pick(dates, 1)[0]
        for f in model.ID_FIELDS:
            row[f] = pick(ids, 1)[0]
        for f in model.NAME_FIELDS + ("place", "note", "ethnicity", "death_cause"):
            row[f] = pick(texts, 1)[0]
        row["subject_sex"] = pick(["Nam", "Nữ", None, "nam"], 1)[0]
        row["book"] = pick(["B1", "B2", None, ""], 1)[0]
        row["entry_no"] = pick(["1", "2", "3", None], 1)[0]
        row["district_code"] = pick(["260", "261"], 1)[0]
        rows.append(row)
    df = make_records(rows)
    df["sort_key"] = rng.permutation(n)  # unique keys: a deterministic holder
    return df


def test_gx_verdicts_equal_direct_on_random_frame() -> None:
    df = random_records(3000, seed=11)
    claimed = pd.DataFrame(
        {
            "record_type": ["birth", "death"],
            "book": ["B1", "B2"],
            "entry_no": ["1", "2"],
            "source_key": ["260:birth:99999", df["source_key"].iloc[0]],
        }
    )
    out = v.validate_records(df, RUN, PROVINCES, claimed=claimed)
    direct = reference.reference_flags(df, RUN, PROVINCES, claimed=claimed)
    gx = pd.DataFrame(
        {c: out.reasons.map(lambda r, c=c: c in r) for c in direct.columns}, index=df.index
    )
    mismatch = (gx != direct).any(axis=1)
    assert not mismatch.any(), df[mismatch].head().T
    # the random frame exercises every code, not only the clean path
    assert direct.any(axis=0).all(), direct.sum()


# --- files and helpers -------------------------------------------------------------------


def test_suite_files_are_current() -> None:
    """expectations/*.json are what build_suite_dicts() generates (rewrite with
    ``python -m hotich.validate --write-suites``)."""
    assert v.read_suite_dicts() == json.loads(json.dumps(v.build_suite_dicts()))


def test_suites_load_in_gx() -> None:
    suites = v._load_suites(str(v.EXPECTATIONS_DIR))
    assert set(suites) == {"birth", "death", "marriage", "unknown"}
    for loaded in suites.values():
        assert sum(len(g.suite.expectations) for g in loaded.groups) > 5


def test_load_province_codes(tmp_path: Path) -> None:
    assert len(PROVINCES) == 63
    assert {"001", "027", "096"} <= PROVINCES and "003" not in PROVINCES
    bad = tmp_path / "codes.csv"
    bad.write_text("code,name\n27,Bắc Ninh\n", encoding="utf-8")
    with pytest.raises(ValueError, match="three digits"):
        v.load_province_codes(bad)


def test_empty_frame() -> None:
    out = v.validate_records(make_records([birth()]).iloc[:0], RUN, PROVINCES)
    assert out.reasons.empty


def test_duplicate_source_keys_are_refused() -> None:
    df = make_records([birth(), birth(entry_no="99")])
    df["source_key"] = "260:birth:1"
    with pytest.raises(ValueError, match="source_key"):
        v.validate_records(df, RUN, PROVINCES)


def test_completed_years_29_february() -> None:
    def ymd(s: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = pd.Timestamp(s)
        return np.array([d.year]), np.array([d.month]), np.array([d.day])

    assert v._completed_years(ymd("2022-02-28"), ymd("2004-02-29"))[0] == 18
    assert v._completed_years(ymd("2022-02-27"), ymd("2004-02-29"))[0] == 17
    assert v._completed_years(ymd("2024-02-28"), ymd("2004-02-29"))[0] == 19
    assert v._completed_years(ymd("2024-02-29"), ymd("2004-02-29"))[0] == 20
    assert v._completed_years(ymd("2020-01-10"), ymd("2000-01-10"))[0] == 20
    assert v._completed_years(ymd("2020-01-09"), ymd("2000-01-10"))[0] == 19


# --- the suites say the rules --------------------------------------------------------------

OWN_COLUMNS = {"record_type", *v.TEXT_FIELDS} | {
    f"{f}{s}" for f in model.DATE_FIELDS for s in ("", "_year", "_state")
}


def test_suites_read_the_records_own_columns() -> None:
    """Every expectation names its code and says its rule; helper columns only for the
    rules GX cannot state on the record's columns, each named for its rule."""
    suites = v.build_suite_dicts()
    helper_reasons = set()
    for suite in suites.values():
        for e in suite["expectations"]:
            assert e["meta"]["reason"] in model.QUARANTINE_CODES
            assert len(e["meta"]["description"]) > 20
            for c in v._columns_read(e):
                assert c in OWN_COLUMNS | {v.RUN_DATE_COLUMN} | set(v.HELPER_COLUMNS), c
                assert not c.startswith("_")
                if c in v.HELPER_COLUMNS:
                    helper_reasons.add(e["meta"]["reason"])
                    assert c in suite["meta"]["columns"]
    assert helper_reasons == {IC, IY, MA, model.DUPLICATE_ENTRY}


def _has(exps: list[dict[str, Any]], kind: str, reason: str, **kwargs: Any) -> bool:
    return any(
        e["type"] == kind
        and e["meta"]["reason"] == reason
        and all(e["kwargs"].get(k) == val for k, val in kwargs.items())
        for e in exps
    )


def test_suites_state_the_rules_per_record_type() -> None:
    suites = {t: s["expectations"] for t, s in v.build_suite_dicts().items()}
    birth_, death_ = suites["birth"], suites["death"]
    assert _has(birth_, "expect_column_values_to_not_be_null", R, column="subject_name")
    assert _has(
        birth_,
        "expect_column_values_to_be_in_set",
        R,
        column="subject_sex",
        value_set=["Nam", "Nữ"],
    )
    assert _has(birth_, "expect_column_values_to_match_regex", IF, column="subject_id")
    assert _has(
        birth_,
        "expect_column_values_to_be_between",
        DI,
        column="registration_date",
        max_value={"$PARAMETER": "run_date"},
    )
    # a year alone: only a death's subject and the parents
    full_only, with_year = ["missing", "full"], ["missing", "full", "year"]
    assert _has(
        birth_,
        "expect_column_values_to_be_in_set",
        DI,
        column="subject_dob_state",
        value_set=full_only,
    )
    assert _has(
        death_,
        "expect_column_values_to_be_in_set",
        DI,
        column="subject_dob_state",
        value_set=with_year,
    )
    assert _has(
        birth_,
        "expect_column_values_to_be_in_set",
        DI,
        column="mother_dob_state",
        value_set=with_year,
    )
    # required fields differ per type
    assert not _has(
        suites["marriage"], "expect_column_values_to_not_be_null", R, column="subject_name"
    )
    assert _has(suites["marriage"], "expect_column_values_to_not_be_null", R, column="wife_name")
    assert _has(suites["unknown"], "expect_column_values_to_be_in_set", R, column="record_type")
    # the province list is in the regex, on the ID itself
    (prov,) = [e for e in birth_ if e["meta"]["reason"] == IP]
    assert prov["kwargs"]["column"] == "subject_id"
    assert all(code in prov["kwargs"]["regex"] for code in PROVINCES)
    assert "docs/ledger.md" in prov["meta"]["description"]
    text = json.dumps(v.build_suite_dicts())
    assert "contracts/README" not in text and "_required_missing" not in text


def test_regexes_read_alike_in_python_and_pyarrow() -> None:
    """The suites' regexes give pandas' pyarrow path (no Python fallback) the answers of
    Python's `re`, and blank means what `str.strip()` says."""
    values = ["027208123456", "027208123456\n", "", "  ", "\u3000", "\xa0x", "\x1c",
              "02720812345", "Nguyễn", "a\x07", "é" * 101, "x\n" * 60]  # fmt: skip
    s = pd.Series(values, dtype="str")
    regexes = [v.ID_REGEX, v.NOT_BLANK_REGEX] + [
        e["kwargs"]["regex"]
        for e in v.build_suite_dicts()["birth"]["expectations"]
        if e["meta"]["reason"] == VI and e["kwargs"]["column"] in ("subject_name", "place")
    ]
    for regex in regexes:
        assert not s.array._needs_python_regex(regex), regex
        assert s.str.contains(regex).tolist() == [bool(re.search(regex, x)) for x in values]
    assert s.str.contains(v.NOT_BLANK_REGEX).tolist() == [x.strip() != "" for x in values]
    every_space = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    assert re.fullmatch(f"[{v.WHITESPACE_CLASS}]*", every_space)


def test_row_conditioned_expectations_name_their_rows(case_outcome: v.ValidationOutcome) -> None:
    """GX returns per-row index lists for the row-conditioned expectations too."""
    seen = set()
    for summary in case_outcome.suite_results.values():
        for r in summary["results"]:
            if r["kwargs"].get("row_condition") and r["unexpected_count"]:
                assert len(r["sample_source_keys"]) == min(r["unexpected_count"], 20)
                seen.add((r["reason"], r["kwargs"].get("column") or r["kwargs"]["column_A"]))
    assert (IP, "subject_id") in seen
    assert (DO, "registration_date") in seen and (DO, "death_date_year") in seen


def test_dates_beyond_the_nanosecond_range() -> None:
    rows = [
        death(subject_dob="1650-02-03", subject_id=None, death_date="1600-01-01"),
        birth(registration_date="2500-01-01"),
        birth(
            subject_dob="1677-01-01", registration_date="1677-01-02", subject_id=None, entry_no="9"
        ),
    ]
    out = v.validate_records(make_records(rows), RUN, PROVINCES)
    assert out.reasons.tolist() == [[DO], [DI], []]
    direct = reference.reference_reasons(make_records(rows), RUN, PROVINCES)
    assert direct.tolist() == out.reasons.tolist()


def test_frames_that_are_not_normalized_are_refused() -> None:
    df = make_records([birth()])
    df.loc[0, "subject_dob_state"] = "missing"  # a date without the state saying so
    with pytest.raises(ValueError, match="normalized"):
        v.validate_records(df, RUN, PROVINCES)
    df = make_records([birth()])
    df["subject_dob_year"] = pd.array([2009], dtype="Int64")  # not the date's year
    with pytest.raises(ValueError, match="normalized"):
        v.validate_records(df, RUN, PROVINCES)


def test_other_province_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="province codes"):
        v.validate_records(make_records([birth()]), RUN, PROVINCES - {"027"})


def test_helper_columns_are_null_where_not_evaluated() -> None:
    frame = v.gx_frame(
        make_records(
            [birth(), birth(subject_dob="bad", entry_no="2"), dict(record_type="unknown")]
        ),
        RUN,
    )
    assert frame["subject_id_century_sex_agrees"].tolist() == [True, pd.NA, pd.NA]
    assert frame["subject_id_birth_year_agrees"].tolist() == [True, pd.NA, pd.NA]
    assert frame["entry_first_read"].tolist() == [True, True, pd.NA]
    assert frame["husband_age_at_registration"].isna().all()
