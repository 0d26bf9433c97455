"""as_text, column by column and vectorized, gives each cell the text the cell-by-cell rule
(``_cell_text``) gives it: a record's content hash is taken of that text, so that a change
here would make every record of a loaded province look changed the next day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from hotich.extract import _cell_text, as_text, column_text


def cell_by_cell(s: pd.Series) -> list:
    return [None if pd.isna(v) else _cell_text(v) for v in s.astype(object)]


COLUMNS = {
    "int64": pd.Series([1, 0, -7, 2**62], dtype="int64"),
    "nullable ints": pd.Series([1, None, 30], dtype="Int64"),
    "floats": pd.Series([1.0, 2.5, np.nan, -0.0, 1e20, 2.0**53, 0.1, np.inf, -3.0, 1e-7]),
    "bools": pd.Series([True, False]),
    "str dtype": pd.Series(["Nguyễn Văn An", None, "", "027218000001"], dtype="str"),
    "object strings": pd.Series(["a", None, "b"], dtype=object),
    "dates": pd.Series([dt.date(2018, 1, 2), None, dt.date(955, 3, 4), dt.date(1, 1, 1)]),
    "dates and datetimes": pd.Series(
        [dt.date(2018, 1, 2), dt.datetime(2018, 1, 2, 5, 6, 7), dt.datetime(2019, 1, 1)]
    ),
    "datetimes": pd.Series([dt.datetime(2018, 1, 2, 5, 6, 7), None], dtype=object),
    "bytes": pd.Series([b"Tr\xe1\xba\xa7n", b"\xff"], dtype=object),
    "decimals": pd.Series([Decimal("12"), Decimal("1.50"), None], dtype=object),
    "a mix": pd.Series([1, "x", 2.0, dt.date(2020, 5, 6), None], dtype=object),
    "all missing": pd.Series([None, None], dtype=object),
    "empty": pd.Series([], dtype="float64"),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_a_column_gets_the_text_of_the_cell_by_cell_rule(name):
    s = COLUMNS[name]
    out = column_text(s)
    assert out.dtype == object and out.index.equals(s.index)
    assert out.tolist() == cell_by_cell(s), name


def test_a_datetime_column_gives_its_dates():
    s = pd.Series(pd.to_datetime(["2023-03-25 12:00:45", None]))
    assert column_text(s).tolist() == ["2023-03-25", None]


def test_as_text_keeps_the_frame_and_its_index():
    frame = pd.DataFrame({k: v for k, v in COLUMNS.items() if len(v) == 2}).set_axis([5, 9])
    out = as_text(frame)
    assert list(out.columns) == list(frame.columns) and list(out.index) == [5, 9]
    assert out["bools"].tolist() == ["True", "False"]
