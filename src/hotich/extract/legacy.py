"""``legacy`` districts: the 2000s software's one wide text table ``hotich``.

There is no change timestamp: every row is read (in chunks) and kept only when its
content hash differs from the one recorded when it was last read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from hotich.db import engine_for
from hotich.extract import (
    RAW_COLUMNS,
    SOURCE_ERRORS,
    Extract,
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

KINDS = {"KS": RecordType.BIRTH, "KT": RecordType.DEATH, "KH": RecordType.MARRIAGE}
COMMON = {"SoQuyen": "book", "SoDK": "entry_no", "NgayDK": "registration_date", "GhiChu": "note"}
# Which wide-table column means what, by kind of record (docs/district-sources.md).
MAPPINGS: dict[RecordType, dict[str, str]] = {
    RecordType.BIRTH: COMMON
    | {
        "HoTen": "subject_name",
        "GioiTinh": "subject_sex",
        "NgaySinh": "subject_dob",
        "SoDinhDanh": "subject_id",
        "HoTen2": "mother_name",
        "NgaySinh2": "mother_dob",
        "HoTenCha": "father_name",
        "NoiSinhChet": "place",
        "DanToc": "ethnicity",
    },
    RecordType.DEATH: COMMON
    | {
        "HoTen": "subject_name",
        "GioiTinh": "subject_sex",
        "NgaySinh": "subject_dob",
        "SoDinhDanh": "subject_id",
        "NgayChet": "death_date",
        "NoiSinhChet": "place",
        "DanToc": "ethnicity",
    },
    RecordType.MARRIAGE: COMMON
    | {
        "HoTen": "husband_name",
        "NgaySinh": "husband_dob",
        "SoDinhDanh": "husband_id",
        "HoTen2": "wife_name",
        "NgaySinh2": "wife_dob",
        "SoDinhDanh2": "wife_id",
        "DanToc": "husband_ethnicity",
    },
    # A record of no known kind keeps its subject fields, so that its other rules can
    # still be evaluated; it is quarantined for its kind anyway.
    RecordType.UNKNOWN: COMMON
    | {
        "HoTen": "subject_name",
        "GioiTinh": "subject_sex",
        "NgaySinh": "subject_dob",
        "SoDinhDanh": "subject_id",
        "NoiSinhChet": "place",
        "DanToc": "ethnicity",
    },
}
CONTENT_COLUMNS = [
    "ID",
    "LoaiGiay",
    "SoQuyen",
    "SoDK",
    "NgayDK",
    "HoTen",
    "GioiTinh",
    "NgaySinh",
    "SoDinhDanh",
    "HoTen2",
    "NgaySinh2",
    "SoDinhDanh2",
    "HoTenCha",
    "NgayChet",
    "NoiSinhChet",
    "DanToc",
    "GhiChu",
]


def record_types(kind: pd.Series) -> pd.Series:
    """``LoaiGiay`` → record type: KS/KT/KH after trimming and upper case, else unknown."""
    cleaned = kind.fillna("").astype(str).str.strip().str.upper()
    return cleaned.map({k: v.value for k, v in KINDS.items()}).fillna(RecordType.UNKNOWN.value)


def extract_legacy(
    district_code: str,
    uri: str,
    *,
    sql_dir: Path,
    known_hashes: Mapping[str, str],
    chunk_rows: int,
    sink: RecordSink,
) -> Extract:
    """Every row of ``hotich`` whose content changed since it was last read."""
    engine = engine_for(uri)
    query = text((sql_dir / "extract" / "legacy_hotich.sql").read_text(encoding="utf-8"))
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(stream_results=True)
            for chunk in pd.read_sql(query, conn, chunksize=chunk_rows):
                sink.write(
                    changed_only(canonical_legacy(district_code, chunk), known_hashes),
                    read=len(chunk),
                )
    except SOURCE_ERRORS as exc:
        raise unreadable(district_code, "legacy", uri, exc) from exc
    finally:
        engine.dispose()
    log.info("district %s: read %d legacy rows", district_code, sink.read)
    return Extract(district_code, sink.rows, read=sink.read)


def canonical_legacy(district_code: str, chunk: pd.DataFrame) -> pd.DataFrame:
    """One chunk of ``hotich`` rows as a raw canonical frame."""
    rows = as_text(chunk)
    types = record_types(rows["LoaiGiay"])
    hashes = content_hash(rows, CONTENT_COLUMNS)
    raw = raw_json(rows)
    parts = []
    for rtype, mapping in MAPPINGS.items():
        mask = types == rtype.value
        if not mask.any():
            continue
        sub = rows[mask]
        parts.append(
            to_canonical(
                sub,
                mapping,
                district_code=district_code,
                record_type=rtype.value,
                local_key=sub["ID"],
                sort_key=numeric_sort_key(sub["ID"]),
                hashes=hashes[mask],
                raw=raw[mask],
            )
        )
    return (
        pd.concat(parts).sort_index()
        if parts
        else pd.DataFrame(columns=list(RAW_COLUMNS), dtype=object)
    )
