"""``modern`` districts: the current civil-status software (PostgreSQL, MySQL/MariaDB, SQLite).

Read incrementally by an ``updated_at`` watermark per table, re-reading a look-back
window before it (rows committed late by long transactions), in chunks of bounded size;
rows whose content is unchanged since they were last read are dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from hotich.db import engine_for
from hotich.extract import (
    SOURCE_ERRORS,
    Extract,
    KnownHashes,
    RecordSink,
    as_text,
    changed_only,
    content_hash,
    numeric_sort_key,
    raw_json,
    to_canonical,
    unreadable,
)
from hotich.model import RecordType

log = logging.getLogger(__name__)

COMMON = {
    "ma_so": "book",
    "so_dang_ky": "entry_no",
    "ngay_dang_ky": "registration_date",
}
TABLES: dict[str, tuple[RecordType, dict[str, str]]] = {
    "khai_sinh": (
        RecordType.BIRTH,
        COMMON
        | {
            "so_dinh_danh": "subject_id",
            "ho_ten": "subject_name",
            "gioi_tinh": "subject_sex",
            "ngay_sinh": "subject_dob",
            "noi_sinh": "place",
            "dan_toc": "ethnicity",
            "quoc_tich": "nationality",
            "ho_ten_me": "mother_name",
            "ngay_sinh_me": "mother_dob",
            "ho_ten_cha": "father_name",
            "ngay_sinh_cha": "father_dob",
        },
    ),
    "khai_tu": (
        RecordType.DEATH,
        COMMON
        | {
            "so_dinh_danh": "subject_id",
            "ho_ten": "subject_name",
            "gioi_tinh": "subject_sex",
            "ngay_sinh": "subject_dob",
            "ngay_chet": "death_date",
            "noi_chet": "place",
            "nguyen_nhan": "death_cause",
        },
    ),
    "ket_hon": (
        RecordType.MARRIAGE,
        COMMON
        | {
            "chong_ho_ten": "husband_name",
            "chong_ngay_sinh": "husband_dob",
            "chong_so_dinh_danh": "husband_id",
            "chong_dan_toc": "husband_ethnicity",
            "vo_ho_ten": "wife_name",
            "vo_ngay_sinh": "wife_dob",
            "vo_so_dinh_danh": "wife_id",
            "vo_dan_toc": "wife_ethnicity",
        },
    ),
}
EPOCH = dt.datetime(1900, 1, 1)


def extract_modern(
    district_code: str,
    uri: str,
    *,
    sql_dir: Path,
    watermarks: Mapping[str, dt.datetime],
    known_hashes: Mapping[str, str] | KnownHashes,
    lookback: dt.timedelta,
    chunk_rows: int,
    sink: RecordSink,
) -> Extract:
    """New or changed rows of the three registration tables since their watermarks."""
    marks = []
    engine = engine_for(uri)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(stream_results=True)
            for table, (record_type, mapping) in TABLES.items():
                since = watermarks.get(table)
                since = (since - lookback) if since else EPOCH
                query = text(
                    (sql_dir / "extract" / f"modern_{table}.sql").read_text(encoding="utf-8")
                )
                newest = None
                for chunk in pd.read_sql(
                    query,
                    conn,
                    params={"since": since.strftime("%Y-%m-%d %H:%M:%S")},
                    chunksize=chunk_rows,
                ):
                    stamps = pd.to_datetime(chunk["updated_at"], errors="coerce")
                    top = stamps.max()
                    if pd.notna(top) and (newest is None or top > newest):
                        newest = top
                    sink.write(
                        changed_only(
                            _canonical(district_code, record_type, mapping, chunk), known_hashes
                        ),
                        read=len(chunk),
                    )
                if newest is not None:
                    marks.append({"table_name": table, "updated_at": newest.to_pydatetime()})
                log.info("district %s: read %s since %s", district_code, table, since)
    except SOURCE_ERRORS as exc:
        raise unreadable(district_code, "modern", uri, exc) from exc
    finally:
        engine.dispose()
    return Extract(district_code, sink.rows, read=sink.read, watermarks=marks)


def _canonical(
    district_code: str, record_type: RecordType, mapping: dict[str, str], chunk: pd.DataFrame
) -> pd.DataFrame:
    every = as_text(chunk)  # the source row as text, updated_at too (its raw JSON)
    rows = every.drop(columns=["updated_at"])
    content_cols = [c for c in rows.columns]
    return to_canonical(
        rows,
        mapping,
        district_code=district_code,
        record_type=record_type.value,
        local_key=rows["id"],
        sort_key=numeric_sort_key(rows["id"]),
        hashes=content_hash(rows, content_cols),
        raw=raw_json(every),
    )
