"""The canonical model's helpers: reason bit masks, ID masking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotich.model import CODE_ORDER, code_bits, code_masks, mask_id, reason_lists

CODES = ["DATE_INVALID", "ID_FORMAT", "REQUIRED_MISSING"]  # code-point order


def test_reason_lists_decode_each_bit_in_code_point_order():
    masks = np.array([0, 1, 0b101, 0b111, 0b101], dtype=np.int64)
    assert reason_lists(masks, CODES) == [
        [],
        ["DATE_INVALID"],
        ["DATE_INVALID", "REQUIRED_MISSING"],
        CODES,
        ["DATE_INVALID", "REQUIRED_MISSING"],
    ]


def test_reason_lists_are_fresh_lists_per_row():
    lists = reason_lists(np.array([1, 1]), CODES)
    lists[0].append("X")
    assert lists[1] == ["DATE_INVALID"]


def test_reason_lists_refuse_unsorted_or_too_many_codes():
    with pytest.raises(ValueError, match="code-point order"):
        reason_lists(np.array([1]), ["b", "a"])
    with pytest.raises(ValueError, match="more than an int64"):
        reason_lists(np.array([1]), [f"C{i:02d}" for i in range(63)])
    assert reason_lists(np.array([], dtype=np.int64), CODES) == []


def test_code_bits_are_the_masks_of_sets_of_codes():
    masks = code_masks(pd.Series([["ID_FORMAT"], [], ["DATE_INVALID", "ID_FORMAT"]]))
    assert ((masks & code_bits({"ID_FORMAT"})) != 0).tolist() == [True, False, True]
    assert code_bits({"DATE_INVALID", "ID_FORMAT"}) == masks[2]
    assert code_bits(set()) == 0
    with pytest.raises(ValueError, match="outside the contract: NOT_A_CODE"):
        code_bits({"NOT_A_CODE"})


def test_code_masks_read_what_parquet_and_drivers_give_and_reason_lists_undo_them():
    rows = pd.Series(
        [["REQUIRED_MISSING", "DATE_INVALID"], None, np.array(["ID_FORMAT"]), [], "ID_FORMAT",
         ["DATE_INVALID", "DATE_INVALID"]],
        index=[10, 11, 12, 13, 14, 15],
    )  # fmt: skip
    masks = code_masks(rows, CODES)
    assert masks.tolist() == [0b101, 0, 0b010, 0, 0b010, 0b001]
    assert reason_lists(masks, CODES) == [
        ["DATE_INVALID", "REQUIRED_MISSING"], [], ["ID_FORMAT"], [], ["ID_FORMAT"],
        ["DATE_INVALID"]]  # fmt: skip
    # Over the contract's codes by default: every code has its own bit, in code-point order.
    assert list(CODE_ORDER) == sorted(CODE_ORDER) and len(CODE_ORDER) <= 62
    every = code_masks(pd.Series([list(CODE_ORDER)]))
    assert reason_lists(every, CODE_ORDER) == [list(CODE_ORDER)]
    assert code_masks(pd.Series([], dtype=object)).tolist() == []


def test_code_masks_refuse_a_code_outside_the_contract():
    with pytest.raises(ValueError, match="outside the contract: NOT_A_CODE"):
        code_masks(pd.Series([["ID_FORMAT"], ["NOT_A_CODE"]]))


def test_mask_id():
    assert mask_id("027218000123") == "027******123"
