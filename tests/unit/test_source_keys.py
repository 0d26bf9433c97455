"""Local keys and their ``DUPLICATE_ENTRY`` order (issue 15): a modern SQLite district
whose ``BIGINT`` ``id`` holds text is read like any other, integer keys first in numeric
order, then the others in code-point order (docs/district-sources.md, Keys).

The district is a real SQLite file made with the contract's DDL; it is read by the real
reader and its records ordered by the real ``validate.entry_holders``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd

from hotich.config import Settings
from hotich.extract import RecordSink, numeric_sort_key
from hotich.extract.modern import extract_modern
from hotich.validate import entry_holders
from hotich_dev.source_schema import MODERN_DDL

BOOK = "901-KS-2008-01"


def modern_sqlite(path: Path, births: list[tuple[object, int, str]]) -> str:
    """A modern district with births ``(id, so_dang_ky, ho_ten)``, ids stored as given."""
    con = sqlite3.connect(path)
    con.executescript(MODERN_DDL)
    con.execute("INSERT INTO so_ho_tich VALUES (?, 'KS', 2008, 1, '00001')", (BOOK,))
    for key, entry, name in births:
        con.execute(
            "INSERT INTO khai_sinh (id, ma_so, so_dang_ky, ngay_dang_ky, ho_ten, gioi_tinh,"
            " ngay_sinh, updated_at) VALUES (?, ?, ?, '2008-03-01', ?, 'Nam', '2008-02-01',"
            " '2024-05-01 10:00:00')",
            (key, BOOK, entry, name),
        )
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def read_district(tmp_path: Path, uri: str) -> pd.DataFrame:
    sink = RecordSink(tmp_path / "extract.parquet")
    try:
        extract_modern("901", uri, sql_dir=Settings().sql_dir, watermarks={}, known_hashes={},
                       lookback=dt.timedelta(minutes=60), chunk_rows=2, sink=sink)  # fmt: skip
    finally:
        sink.close()
    return pd.read_parquet(tmp_path / "extract.parquet")


def test_text_ids_are_read_and_ordered_after_integer_ids(tmp_path: Path) -> None:
    uri = modern_sqlite(
        tmp_path / "901.sqlite",
        [("A7", 3, "Trần Văn Ba"), (10, 2, "Lê Văn Hai"), (2, 1, "Ngô Văn Một")],
    )
    con = sqlite3.connect(tmp_path / "901.sqlite")
    stored = con.execute("SELECT id, typeof(id) FROM khai_sinh ORDER BY id").fetchall()
    con.close()
    assert stored == [(2, "integer"), (10, "integer"), ("A7", "text")]  # SQLite kept the text
    records = read_district(tmp_path, uri)
    assert records["local_key"].tolist() == ["2", "10", "A7"]
    assert records["source_key"].tolist() == ["901:birth:2", "901:birth:10", "901:birth:A7"]
    in_order = records.sort_values("sort_key")["local_key"].tolist()
    assert in_order == ["2", "10", "A7"]  # numeric (not "10" < "2"), then the text key


def test_duplicate_entry_first_read_is_the_smallest_key(tmp_path: Path) -> None:
    """Three records of one book entry: 10 holds it (smallest integer key), 'A7' and
    'A10' come after every integer key, between them in code-point order."""
    uri = modern_sqlite(
        tmp_path / "901.sqlite",
        [("A7", 5, "Trần Văn Ba"), (10, 5, "Lê Văn Hai"), ("A10", 5, "Hồ Văn Tư"), (99, 6, "X")],
    )
    records = read_district(tmp_path, uri)
    holders = entry_holders(records, claimed=None)
    by_key = dict(zip(records["local_key"], holders, strict=True))
    assert by_key == {"10": None, "99": None, "A10": "901:birth:10", "A7": "901:birth:10"}
    # Without the integer record, the text keys order by code point: 'A10' < 'A7'.
    rest = records[records["local_key"] != "10"]
    by_key = dict(zip(rest["local_key"], entry_holders(rest, claimed=None), strict=True))
    assert by_key == {"99": None, "A10": None, "A7": "901:birth:A10"}


def test_sort_key_orders_integers_of_any_sign_then_text_by_code_point() -> None:
    keys = pd.Series(
        ["A7", "10", "-3", "2", "9223372036854775807", "-9223372036854775808", "a", "Ä", "007x",
         "99999999999999999999", "1.5"]
    )  # fmt: skip
    ordered = keys[numeric_sort_key(keys).sort_values().index].tolist()
    assert ordered == [
        "-9223372036854775808", "-3", "2", "10", "9223372036854775807",
        # not integer keys (one is beyond BIGINT): code-point order
        "007x", "1.5", "99999999999999999999", "A7", "a", "Ä",
    ]  # fmt: skip
    # Integer keys are the same whether read as numbers or as text.
    assert (
        numeric_sort_key(pd.Series([2, 10])).tolist()
        == numeric_sort_key(pd.Series(["2", "10"])).tolist()
    )


def test_a_bug_while_reading_is_not_reported_as_the_source_down(
    tmp_path: Path, monkeypatch
) -> None:
    """Only the driver's and the network's errors say "the district source is down"; a
    bug of hotich's (here: canonicalizing a chunk) stays what it is, for the task log."""
    import pytest

    from hotich.extract import SourceError, modern

    uri = modern_sqlite(tmp_path / "901.sqlite", [(1, 1, "Nguyễn Văn An")])

    def bug(*args, **kwargs):
        raise KeyError("ho_ten")

    monkeypatch.setattr(modern, "_canonical", bug)
    sink = RecordSink(tmp_path / "extract.parquet")
    with pytest.raises(KeyError):
        extract_modern("901", uri, sql_dir=Settings().sql_dir, watermarks={}, known_hashes={},
                       lookback=dt.timedelta(0), chunk_rows=10, sink=sink)  # fmt: skip
    sink.close()
    missing = f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite'}"
    sink = RecordSink(tmp_path / "extract2.parquet")
    with pytest.raises(SourceError, match="cannot read the modern source"):
        extract_modern("901", missing, sql_dir=Settings().sql_dir, watermarks={}, known_hashes={},
                       lookback=dt.timedelta(0), chunk_rows=10, sink=sink)  # fmt: skip
    sink.close()
