"""The canonical record model, statuses and reason codes, with the contract's names.

Every stage speaks these names. A *record* frame has one row per source record (the
columns of ``RECORD_COLUMNS``); a *person* frame has one row per person to reconcile
(``PERSON_COLUMNS``): the subject of a birth or death, or each spouse of a marriage.

Dates in a record frame are kept as three columns per date field ``X``:
``X`` (``datetime64``, NaT unless a full date), ``X_year`` (``Int64``, the year of a
full or year-only date) and ``X_state`` (one of ``DateState``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd


class Status(StrEnum):
    """Where a record ends: the ledger's ``status``."""

    LOADED = "loaded"
    REVIEW = "review"
    QUARANTINED = "quarantined"


class RecordType(StrEnum):
    """The ledger's ``record_type``."""

    BIRTH = "birth"
    DEATH = "death"
    MARRIAGE = "marriage"
    UNKNOWN = "unknown"


class Flavor(StrEnum):
    """The three kinds of district source (docs/district-sources.md)."""

    MODERN = "modern"
    LEGACY = "legacy"
    WORKBOOK = "workbook"


class DateState(StrEnum):
    """What a date field held once parsed."""

    MISSING = "missing"
    FULL = "full"
    YEAR = "year"  # a year alone
    INVALID = "invalid"  # present but unparseable or non-existent (30/02)


# --- reason codes (docs/ledger.md) -------------------------------------------------------
# Quarantine
REQUIRED_MISSING = "REQUIRED_MISSING"
DATE_INVALID = "DATE_INVALID"
VALUE_INVALID = "VALUE_INVALID"
DATE_ORDER = "DATE_ORDER"
MARRIAGE_AGE = "MARRIAGE_AGE"
ID_FORMAT = "ID_FORMAT"
ID_PROVINCE = "ID_PROVINCE"
ID_CENTURY_SEX = "ID_CENTURY_SEX"
ID_BIRTH_YEAR = "ID_BIRTH_YEAR"
DUPLICATE_ENTRY = "DUPLICATE_ENTRY"
# Review
ID_NOT_FOUND = "ID_NOT_FOUND"
NAME_MISMATCH = "NAME_MISMATCH"
DOB_MISMATCH = "DOB_MISMATCH"
SEX_MISMATCH = "SEX_MISMATCH"
# Information
NAME_DIACRITICS = "NAME_DIACRITICS"
LINKED = "LINKED"
LINK_AMBIGUOUS = "LINK_AMBIGUOUS"
LINK_NONE = "LINK_NONE"
LEGACY_ENCODING = "LEGACY_ENCODING"
# Never from the rules alone: a person's decision on the record (docs/ledger.md, Decisions).
# RETURNED quarantines (the district fixes the record), DECIDED is information.
RETURNED = "RETURNED"
DECIDED = "DECIDED"
DECISION_CODES: frozenset[str] = frozenset({RETURNED, DECIDED})

QUARANTINE_CODES: frozenset[str] = frozenset(
    {
        REQUIRED_MISSING,
        DATE_INVALID,
        VALUE_INVALID,
        DATE_ORDER,
        MARRIAGE_AGE,
        ID_FORMAT,
        ID_PROVINCE,
        ID_CENTURY_SEX,
        ID_BIRTH_YEAR,
        DUPLICATE_ENTRY,
    }
)
REVIEW_CODES: frozenset[str] = frozenset({ID_NOT_FOUND, NAME_MISMATCH, DOB_MISMATCH, SEX_MISMATCH})
INFO_CODES: frozenset[str] = frozenset(
    {NAME_DIACRITICS, LINKED, LINK_AMBIGUOUS, LINK_NONE, LEGACY_ENCODING}
)
ALL_CODES: frozenset[str] = QUARANTINE_CODES | REVIEW_CODES | INFO_CODES | DECISION_CODES

SEX_MALE = "Nam"
SEX_FEMALE = "Nữ"

# Column limits of the contract (VALUE_INVALID): names 100 characters, other text 255.
NAME_MAX_LEN = 100
TEXT_MAX_LEN = 255

# --- the canonical record frame ---------------------------------------------------------
DATE_FIELDS: tuple[str, ...] = (
    "registration_date",
    "subject_dob",
    "death_date",
    "mother_dob",
    "father_dob",
    "husband_dob",
    "wife_dob",
)
NAME_FIELDS: tuple[str, ...] = (
    "subject_name",
    "mother_name",
    "father_name",
    "husband_name",
    "wife_name",
)
ID_FIELDS: tuple[str, ...] = ("subject_id", "husband_id", "wife_id")
OTHER_TEXT_FIELDS: tuple[str, ...] = (
    "book",
    "entry_no",
    "subject_sex",
    "place",
    "ethnicity",
    "nationality",
    "death_cause",
    "husband_ethnicity",
    "wife_ethnicity",
    "note",
)

# One row per source record. Text is Unicode NFC after normalization; date fields
# expand to X / X_year / X_state (see module docstring).
RECORD_KEY_COLUMNS: tuple[str, ...] = (
    "source_key",  # <district>:<record_type>:<local key>
    "district_code",
    "record_type",  # RecordType value
    "local_key",  # source primary key as text, or '<file>#<row>'
    "sort_key",  # orders records for DUPLICATE_ENTRY: numeric key, or file then row
    "content_hash",  # hex digest of the record's contract content
    "legacy_encoding",  # bool: some text was TCVN3/VNI and was converted
    "raw",  # the full source record as JSON text (kept in quarantine/review)
)
RECORD_COLUMNS: tuple[str, ...] = (
    RECORD_KEY_COLUMNS + NAME_FIELDS + ID_FIELDS + OTHER_TEXT_FIELDS + DATE_FIELDS
)

# One row per person to reconcile.
PERSON_COLUMNS: tuple[str, ...] = (
    "source_key",
    "record_type",
    "role",  # 'subject', 'husband' or 'wife'
    "full_name",
    "sex",  # 'Nam' / 'Nữ'
    "dob",  # datetime64, NaT when year-only
    "dob_year",
    "dob_year_only",  # bool
    "personal_id",  # None when the record gives none
    "mother_name",
    "father_name",
    "death_date",  # deaths only
    "registration_date",
)

# --- the population register's API (docs/register-api.md) -------------------------------
CITIZEN_COLUMNS: tuple[str, ...] = (
    "so_dinh_danh",
    "ho_ten",
    "gioi_tinh",
    "ngay_sinh",
    "noi_dang_ky_khai_sinh",
    "ho_ten_cha",
    "ho_ten_me",
    "trang_thai",
    "ngay_chet",
)
"""The properties of the contract's ``Citizen`` schema, in the contract's order."""
BATCH_GET_MAX_IDS = 500
MATCH_MAX_QUERIES = 100
MATCH_MAX_CANDIDATES = 50
"""A query answered with this many candidates may have been cut (LINK_AMBIGUOUS)."""

ROLE_SUBJECT = "subject"
ROLE_HUSBAND = "husband"
ROLE_WIFE = "wife"


def code_list(value: Any) -> list[str]:
    """Reason codes as a plain list, whatever container Parquet or a driver gave (None: [])."""
    if value is None or isinstance(value, float | str):
        return [value] if isinstance(value, str) else []
    return [str(v) for v in value]


def reason_lists(masks: np.ndarray, codes: Sequence[str]) -> list[list[str]]:
    """Sorted reason lists from int64 bit masks, bit ``i`` standing for ``codes[i]``.

    ``codes`` must be in code-point order (the ledger's C collation), so that each list
    comes out sorted (docs/decisions/0003-reason-codes-as-bitmasks.md). Each distinct mask
    is decoded once; every row gets a list of its own (callers may append to it).
    """
    if list(codes) != sorted(codes):
        raise ValueError("reason codes must be in code-point order")
    if len(codes) > 62:
        raise ValueError(f"{len(codes)} reason codes: more than an int64 bit mask holds")
    masks = np.asarray(masks, dtype=np.int64)
    uniq, inverse = np.unique(masks, return_inverse=True)
    decoded = np.empty(len(uniq), dtype=object)
    for i, mask in enumerate(uniq.tolist()):  # one per distinct set of codes (a handful)
        decoded[i] = tuple(code for bit, code in enumerate(codes) if mask >> bit & 1)
    return list(map(list, decoded[inverse.reshape(-1)]))


#: Every code of the contract in code-point order: bit ``i`` of a reason mask is
#: ``CODE_ORDER[i]`` (:func:`code_masks`, :func:`reason_lists`).
CODE_ORDER: tuple[str, ...] = tuple(sorted(ALL_CODES))


def code_masks(lists: pd.Series, codes: Sequence[str] = CODE_ORDER) -> np.ndarray:
    """Each row's reason codes (a list, array, single code or None, as :func:`code_list`
    reads them) as an int64 bit mask, bit ``i`` standing for ``codes[i]``; the inverse of
    :func:`reason_lists`. A code outside ``codes`` raises ValueError, naming it."""
    flat = lists.reset_index(drop=True).explode().dropna()
    masks = np.zeros(len(lists), dtype=np.int64)
    if flat.empty:
        return masks
    cat = pd.Categorical(flat.astype(str), categories=list(codes))
    if (cat.codes < 0).any():
        unknown = sorted(set(flat.astype(str)[cat.codes < 0]))
        raise ValueError(f"reason codes outside the contract: {', '.join(unknown)}")
    bits = np.left_shift(np.int64(1), cat.codes.astype(np.int64))
    np.bitwise_or.at(masks, flat.index.to_numpy(), bits)
    return masks


def code_bits(codes: Iterable[str], order: Sequence[str] = CODE_ORDER) -> np.int64:
    """The bit mask of a set of codes (bit ``i`` standing for ``order[i]``), to test whole
    columns of :func:`code_masks` at once: ``masks & code_bits({LINKED}) != 0``."""
    position = {code: i for i, code in enumerate(order)}
    mask = np.int64(0)
    for code in set(codes):
        if code not in position:
            raise ValueError(f"reason code outside the contract: {code}")
        mask |= np.int64(1) << np.int64(position[code])
    return mask


_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{9,13}(?![0-9])")


def mask_id(personal_id: str) -> str:
    """A personal ID as operators may see it: ``027*******123``."""
    s = str(personal_id)
    return s[:3] + "*" * max(len(s) - 6, 0) + s[-3:] if len(s) > 6 else "*" * len(s)


def mask_ids(text: str) -> str:
    """``text`` with every run of 9 to 13 digits (a personal ID, or one mistyped) masked."""
    return _DIGIT_RUN.sub(lambda m: mask_id(m.group(0)), text)
