"""Name forms: the platform's one implementation (hotich.names) and the oracle's own twin.

The synthetic province's oracle folds names with its own code on purpose (it must not
share the pipeline's mistakes); both must agree on the edge cases the contract names:
whitespace, NFD input, đ/Đ, case.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hotich.names import WHITESPACE, arrow_strings, exact_keys, fold_keys, keys_in
from hotich_dev.simulator import fold_name as simulator_fold
from hotich_dev.synth import oracle


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


EDGE_CASES = [
    "Nguyễn Văn An",
    "  Nguyễn  Thị\tĐào ",  # runs and ends of whitespace, a tab
    "Lê\u00a0Thị\u3000Huệ",  # no-break and ideographic spaces
    "Trần\u2009Văn\u202fBình",  # thin and narrow no-break spaces
    "Phạm\u2028Ngọc\u2029Ánh",  # line and paragraph separators
    nfd("ĐẶNG Văn Hùng"),  # decomposed input, capital Đ
    "Nguye\u0302\u0303n Thị Hoà",  # combining marks typed one by one
    "ĐỖ ĐỨC ĐẠT",  # đ does not decompose under NFD
    "lê thị hòa",
    "LÊ THỊ HOÀ",
]


def test_fold_and_exact_forms():
    s = pd.Series(["  Nguyễn  Thị\tĐào ", nfd("ĐẶNG Văn Hùng"), "Lê Thị Huệ", None])
    assert fold_keys(s).to_pylist() == ["nguyen thi dao", "dang van hung", "le thi hue", None]
    assert exact_keys(s).to_pylist() == ["nguyễn thị đào", "đặng văn hùng", "lê thị huệ", None]


def test_exact_differs_from_fold_in_diacritics_only():
    a, b = ["Nguyễn Văn Hòa"], ["Nguyen Van Hoa"]
    assert fold_keys(a).to_pylist() == fold_keys(b).to_pylist()
    assert exact_keys(a).to_pylist() != exact_keys(b).to_pylist()


@pytest.mark.parametrize("name", EDGE_CASES)
def test_the_oracle_folds_as_the_platform_does(name: str):
    assert fold_keys([name]).to_pylist() == [oracle.fold(name)]
    assert exact_keys([name]).to_pylist() == [oracle.exact_form(name)]


@pytest.mark.parametrize("name", EDGE_CASES)
def test_the_register_simulator_folds_as_the_client_does(name: str):
    assert simulator_fold(name) == fold_keys([name])[0].as_py()


def test_whitespace_excludes_the_controls_validation_must_see():
    assert {" ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u2028"} <= set(WHITESPACE)
    for control in "\x0b\x0c\x1c\x1d\x1e\x1f\x85":
        assert control.isspace() and control not in WHITESPACE


def test_a_concatenated_arrow_backed_series_is_one_array():
    # pd.concat keeps each part's Arrow chunk (pipeline.persons_of concatenates births,
    # deaths and spouses); Arrow then answers with a ChunkedArray, which broke reconcile.
    parts = [pd.Series(["Lê Văn A"], dtype="str"), pd.Series([None, "Đỗ Thị B"], dtype="str")]
    names = pd.concat(parts, ignore_index=True)
    out = arrow_strings(names)
    assert isinstance(out, pa.Array) and out.type == pa.large_string()
    assert out.to_pylist() == ["Lê Văn A", None, "Đỗ Thị B"]
    assert fold_keys(names).to_pylist() == ["le van a", None, "do thi b"]


@pytest.mark.parametrize("among", [{"b", "c"}, ["b", "c"], np.array(["b", "c"], dtype=object),
                                   pd.Series(["c", "b", "b"])])  # fmt: skip
def test_keys_in_agrees_with_isin_whatever_the_collection(among: object) -> None:
    values = pd.Series(["a", "b", None, "c", "b", ""], dtype="str")
    assert keys_in(values, among).tolist() == [False, True, False, True, True, False]
    assert keys_in(values, among).tolist() == values.isin(list(among)).tolist()


def test_keys_in_a_null_is_in_nothing_and_nothing_is_in_an_empty_set() -> None:
    values = pd.Series(["a", None], dtype=object)
    assert keys_in(values, {"a", None}).tolist() == [True, False]
    assert keys_in(values, set()).tolist() == [False, False]
    assert keys_in(pd.Series([], dtype="str"), {"a"}).tolist() == []
