"""copy_frame into a real PostgreSQL: Arrow's CSV (arrow_csv) and pandas' fallback read back
the same, NULLs and empty texts as the load means them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from hotich import db
from hotich.load import arrow_csv, copy_frame

COLUMNS = ("txt", "num", "real", "flag", "day", "at")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "txt": pd.Series(["a", "", None, 'x"y,z\nnext', "Nguyễn Văn A"], dtype="str"),
        "num": pd.array([1, None, 3, 4, -5], dtype="Int64"),
        "real": [1.0, np.nan, 2.5, 3.0, -0.125],
        "flag": pd.array([True, False, None, True, False], dtype="boolean"),
        "day": [dt.date(2020, 1, 2), None, dt.date(1930, 3, 4), None, dt.date(2026, 12, 4)],
        "at": pd.to_datetime(["2026-01-01 10:00:00.123456", None, "2026-01-02 00:00:00",
                              "2026-01-03 23:59:59", "1999-12-31 00:00:00"],
                             format="ISO8601").tz_localize("UTC"),
    })  # fmt: skip


@pytest.mark.parametrize("null", ["", "\\N"])
@pytest.mark.parametrize("writer", ["arrow", "pandas"])
def test_copy_frame_reads_back_what_it_wrote(national: str, null: str, writer: str) -> None:
    frame = _frame()
    if writer == "pandas":  # a column of mixed Python objects sends the frame to pandas
        frame = frame.assign(txt=frame["txt"].astype(object))
        frame.loc[0, "txt"] = 1
    else:
        assert arrow_csv(frame, null) is not None
    conn = db.pg_connect(national)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE t (txt text, num bigint, real double precision,"
                " flag boolean, day date, at timestamptz)"
            )
            assert copy_frame(cur, "t", frame, COLUMNS, null=null) == 5
            cur.execute("SELECT txt, num, real, flag, day, at FROM t")
            rows = cur.fetchall()
    finally:
        conn.rollback()
        conn.close()
    first = "1" if writer == "pandas" else "a"
    empty = "" if null else None  # the default: an empty text is NULL, as an empty cell is
    utc = dt.UTC
    assert [r[0] for r in rows] == [first, empty, None, 'x"y,z\nnext', "Nguyễn Văn A"]
    assert [r[1] for r in rows] == [1, None, 3, 4, -5]
    assert [r[2] for r in rows] == [1.0, None, 2.5, 3.0, -0.125]
    assert [r[3] for r in rows] == [True, False, None, True, False]
    assert [r[4] for r in rows] == [dt.date(2020, 1, 2), None, dt.date(1930, 3, 4), None,
                                    dt.date(2026, 12, 4)]  # fmt: skip
    assert [r[5] and r[5].astimezone(utc) for r in rows] == [
        dt.datetime(2026, 1, 1, 10, 0, 0, 123456, utc), None, dt.datetime(2026, 1, 2, tzinfo=utc),
        dt.datetime(2026, 1, 3, 23, 59, 59, tzinfo=utc), dt.datetime(1999, 12, 31, tzinfo=utc),
    ]  # fmt: skip


def test_arrow_csv_leaves_lists_and_mixed_objects_to_pandas() -> None:
    assert arrow_csv(pd.DataFrame({"codes": [["A", "B"], []]})) is None
    assert arrow_csv(pd.DataFrame({"o": ["a", 1]})) is None
