"""The canonical model's helpers: reason bit masks, ID masking."""

from __future__ import annotations

import numpy as np
import pytest

from hotich.model import mask_id, reason_lists

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


def test_mask_id():
    assert mask_id("027218000123") == "027******123"
