"""Tests of the raw -> record frame normalization (hotich.normalize)."""

from __future__ import annotations

import datetime as dt
import unicodedata

import numpy as np
import pandas as pd
import pytest

from hotich.model import (
    DATE_FIELDS,
    ID_FIELDS,
    NAME_FIELDS,
    OTHER_TEXT_FIELDS,
    RECORD_KEY_COLUMNS,
    DateState,
)
from hotich.normalize import (
    NORMALIZED_COLUMNS,
    clean_name,
    clean_text,
    normalize_personal_id,
    normalize_records,
    normalize_sex,
    parse_dates,
)
from hotich.vnencoding import encode_tcvn3, encode_vni


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- clean_text -------------------------------------------------------------------------------
def test_clean_name_decodes_legacy_and_collapses() -> None:
    s = pd.Series(
        [
            "  NguyÔn   V¨n  An ",  # TCVN3
            "Nguyeãn Thò Hoa",  # VNI
            nfd("Trần Thị Bích"),  # Unicode NFD
            "Nguyen Van An",  # ASCII
            "",
            "   ",
            None,
            np.nan,
        ]
    )
    text, legacy = clean_name(s)
    assert text.tolist() == [
        "Nguyễn Văn An",
        "Nguyễn Thị Hoa",
        "Trần Thị Bích",
        "Nguyen Van An",
        None,
        None,
        None,
        None,
    ]
    assert legacy.tolist() == [True, True, False, False, False, False, False, False]
    assert all(unicodedata.is_normalized("NFC", t) for t in text.dropna())


def test_clean_text_trims_but_keeps_inner_whitespace_and_controls() -> None:
    text, legacy = clean_text(
        pd.Series([" Xã  Tiên Du\n", "Nguyễn\x07 An", "\x1fAn\x85", 12.0, 12.5])
    )
    assert text.tolist() == ["Xã  Tiên Du", "Nguyễn\x07 An", "\x1fAn\x85", "12", "12.5"]
    assert not legacy.any()


def test_clean_text_keeps_index() -> None:
    s = pd.Series(["a", "NguyÔn"], index=[10, 20])
    text, legacy = clean_text(s)
    assert text.index.tolist() == legacy.index.tolist() == [10, 20]


# --- dates ------------------------------------------------------------------------------------
def test_parse_dates_every_form() -> None:
    s = pd.Series(
        [
            "12/03/1990",
            "1/2/2001",
            " 05/06/2001 ",
            "1950",
            "2001-05-06",
            "2001-05-06 00:00:00",
            dt.date(2000, 1, 2),
            dt.datetime(2000, 1, 2, 13, 5),  # Excel datetime cell
            pd.Timestamp("1999-12-31"),
            1950.0,  # a numeric cell holding a year
            "29/02/2000",
        ],
        name="subject_dob",
    )
    out = parse_dates(s)
    assert out.columns.tolist() == ["subject_dob", "subject_dob_year", "subject_dob_state"]
    expected = [
        "1990-03-12",
        "2001-02-01",
        "2001-06-05",
        None,
        "2001-05-06",
        "2001-05-06",
        "2000-01-02",
        "2000-01-02",
        "1999-12-31",
        None,
        "2000-02-29",
    ]
    assert out["subject_dob"].tolist() == [pd.Timestamp(e) if e else pd.NaT for e in expected]
    assert out["subject_dob_year"].tolist() == [
        1990, 2001, 2001, 1950, 2001, 2001, 2000, 2000, 1999, 1950, 2000
    ]  # fmt: skip
    states = out["subject_dob_state"].tolist()
    assert states[3] == states[9] == DateState.YEAR
    assert all(st == DateState.FULL for i, st in enumerate(states) if i not in (3, 9))
    assert str(out["subject_dob"].dtype).startswith("datetime64")
    assert str(out["subject_dob_year"].dtype) == "Int64"


@pytest.mark.parametrize(
    "value",
    ["30/02/2001", "31/04/2000", "29/02/1900", "13/13/2001", "00/01/2001", "abc", "12/03-1990",
     "0000", "1990/03/12", 36526.0, "12/3/90"],
)  # fmt: skip
def test_parse_dates_invalid(value: object) -> None:
    out = parse_dates(pd.Series([value], name="d"))
    assert out["d_state"].tolist() == [DateState.INVALID]
    assert out["d"].isna().all() and out["d_year"].isna().all()


@pytest.mark.parametrize("value", [None, np.nan, "", "   ", pd.NaT])
def test_parse_dates_missing(value: object) -> None:
    out = parse_dates(pd.Series([value], dtype=object, name="d"))
    assert out["d_state"].tolist() == [DateState.MISSING]
    assert out["d"].isna().all() and out["d_year"].isna().all()


def test_parse_dates_future_is_not_judged() -> None:
    out = parse_dates(pd.Series(["01/01/2999", dt.date(2999, 1, 1)], name="d"))
    assert out["d_state"].tolist() == [DateState.FULL, DateState.FULL]
    assert out["d_year"].tolist() == [2999, 2999]


def test_parse_dates_never_raises_on_odd_objects() -> None:
    out = parse_dates(pd.Series([object(), [1], True, -5, 1e300], name="d"))
    assert set(out["d_state"]) == {DateState.INVALID}


def test_parse_dates_keeps_index_and_default_name() -> None:
    out = parse_dates(pd.Series(["1990"], index=[7]))
    assert out.index.tolist() == [7]
    assert out.columns.tolist() == ["date", "date_year", "date_state"]


# --- sex --------------------------------------------------------------------------------------
def test_normalize_sex_variants() -> None:
    s = pd.Series(
        [
            "Nam",
            "nam",
            " NAM ",
            "Nữ",
            "NỮ",
            "nữ",
            nfd("Nữ"),
            encode_tcvn3("Nữ"),  # 'N÷'
            encode_vni("Nữ"),  # 'Nöõ'
            encode_vni("NỮ"),
            "Nu",  # no diacritic: not a sex of the contract
            "nu",
            "Male",
            "",
            None,
        ]
    )
    assert encode_tcvn3("Nữ") == "N÷"
    assert normalize_sex(s).tolist() == ["Nam"] * 3 + ["Nữ"] * 7 + [None] * 5


# --- IDs and entry numbers ---------------------------------------------------------------------
def test_normalize_personal_id() -> None:
    s = pd.Series(
        [
            27091000123.0,  # numeric cell: leading zero lost
            27091000123,
            np.int64(1000123),
            np.float64(201000123456.0),
            "027091000123",
            " 027091000123 ",  # text is taken as it is, trimmed
            "27091000123",  # text is NOT padded
            "27091000123.0",
            "",
            None,
            np.nan,
        ]
    )
    assert normalize_personal_id(s).tolist() == [
        "027091000123",
        "027091000123",
        "000001000123",
        "201000123456",
        "027091000123",
        "027091000123",
        "27091000123",
        "27091000123.0",
        None,
        None,
        None,
    ]


def test_entry_numbers_as_text() -> None:
    s = pd.Series([12.0, 12, np.int64(7), " 12 ", "12a", "", None])
    assert clean_text(s)[0].tolist() == ["12", "12", "7", "12", "12a", None, None]


# --- the whole frame --------------------------------------------------------------------------
def raw_frame() -> pd.DataFrame:
    rows = [
        {  # a workbook birth: numeric cells, Excel dates
            "source_key": "263:birth:a.xlsx#2",
            "district_code": "263",
            "record_type": "birth",
            "local_key": "a.xlsx#2",
            "subject_name": " Nguyễn  Văn An ",
            "subject_id": 27091000123.0,
            "subject_sex": "nam",
            "entry_no": 12.0,
            "book": "263-KS-2008-01",
            "registration_date": dt.datetime(2008, 3, 4),
            "subject_dob": dt.datetime(2008, 2, 1),
            "mother_name": nfd("Trần Thị Bình"),
            "mother_dob": "1980",
        },
        {  # a legacy death in TCVN3
            "source_key": "262:death:5",
            "district_code": "262",
            "record_type": "death",
            "local_key": "5",
            "subject_name": encode_tcvn3("Lê Thị Hồng"),
            "subject_sex": "N÷",
            "entry_no": "3",
            "registration_date": "02/01/2001",
            "subject_dob": "1930",
            "death_date": "30/02/2000",
            "place": encode_vni("Xã Phật Tích"),
        },
        {  # a legacy marriage, nothing legacy in it
            "source_key": "262:marriage:6",
            "district_code": "262",
            "record_type": "marriage",
            "local_key": "6",
            "husband_name": "Phạm Văn Bình",
            "wife_name": "Đỗ Thị Lan",
            "husband_id": "027090000001",
            "wife_id": "",
            "registration_date": "2001-05-06",
            "husband_dob": "1/1/1970",
            "wife_dob": None,
        },
    ]
    frame = pd.DataFrame(rows)
    for col in RECORD_KEY_COLUMNS:
        if col not in frame and col != "legacy_encoding":
            frame[col] = "x"
    return frame


def test_normalize_records() -> None:
    out = normalize_records(raw_frame())
    assert tuple(out.columns) == NORMALIZED_COLUMNS
    assert set(NAME_FIELDS + ID_FIELDS + OTHER_TEXT_FIELDS) <= set(out.columns)
    for field in DATE_FIELDS:
        assert {field, f"{field}_year", f"{field}_state"} <= set(out.columns)
    first, second, third = (out.iloc[i] for i in range(3))

    assert first["subject_name"] == "Nguyễn Văn An"
    assert first["subject_id"] == "027091000123"
    assert first["subject_sex"] == "Nam"
    assert first["entry_no"] == "12"
    assert first["mother_name"] == "Trần Thị Bình"
    assert first["registration_date"] == pd.Timestamp("2008-03-04")
    assert first["mother_dob_state"] == DateState.YEAR and first["mother_dob_year"] == 1980
    assert first["death_date_state"] == DateState.MISSING
    assert not first["legacy_encoding"]

    assert second["subject_name"] == "Lê Thị Hồng"
    assert second["subject_sex"] == "Nữ"
    assert second["place"] == "Xã Phật Tích"
    assert second["subject_dob_state"] == DateState.YEAR
    assert second["death_date_state"] == DateState.INVALID
    assert second["registration_date"] == pd.Timestamp("2001-01-02")
    assert second["legacy_encoding"]

    assert third["husband_name"] == "Phạm Văn Bình"
    assert third["wife_id"] is None
    assert third["wife_dob_state"] == DateState.MISSING
    assert third["husband_dob"] == pd.Timestamp("1970-01-01")
    assert not third["legacy_encoding"]
    assert out["legacy_encoding"].dtype == bool


def test_normalize_records_keeps_keys_and_index() -> None:
    raw = raw_frame()
    raw.index = [5, 6, 7]
    out = normalize_records(raw)
    assert out.index.tolist() == [5, 6, 7]
    assert out["source_key"].tolist() == raw["source_key"].tolist()


def test_normalize_records_legacy_only_in_sex() -> None:
    raw = raw_frame().iloc[[0]].copy()
    raw["subject_sex"] = "N÷"
    out = normalize_records(raw)
    assert out["subject_sex"].tolist() == ["Nữ"] and out["legacy_encoding"].tolist() == [True]


def test_normalize_records_empty() -> None:
    out = normalize_records(raw_frame().iloc[0:0])
    assert tuple(out.columns) == NORMALIZED_COLUMNS and len(out) == 0


def test_parse_dates_numpy_and_datetime_columns() -> None:
    mixed = pd.Series(
        [np.datetime64("2001-02-03"), np.datetime64("NaT"), "1990"], dtype=object, name="d"
    )
    out = parse_dates(mixed)
    assert out["d_state"].tolist() == [DateState.FULL, DateState.MISSING, DateState.YEAR]
    assert out["d"].iloc[0] == pd.Timestamp("2001-02-03")
    typed = parse_dates(pd.Series(pd.to_datetime(["2001-02-03 10:00", None]), name="d"))
    assert typed["d"].tolist()[0] == pd.Timestamp("2001-02-03")
    assert typed["d_state"].tolist() == [DateState.FULL, DateState.MISSING]
