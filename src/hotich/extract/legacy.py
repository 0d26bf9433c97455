"""``legacy`` districts: the 2000s software's one wide text table ``hotich``.

There is no change timestamp: changes are found by content. On MariaDB the server digests
every row (``include/sql/extract/legacy_digests.sql``: an ID and an MD5 per row) and only
the rows whose digest differs from the one kept when they were last read
(``recon.source_digest``) are read whole (decision 0020); elsewhere (SQLite in the dev kit)
every row is read. Either way a row read is kept only when its content hash differs from
the one recorded when it was last read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from sqlalchemy import bindparam, text

from hotich.db import engine_for
from hotich.extract import (
    RAW_COLUMNS,
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


# Changed rows are fetched by ID in batches of this many; when more than this share of the
# table changed (the first run, or a district that retyped much), the table is read whole.
ID_BATCH = 1_000
WHOLE_READ_SHARE = 0.3


def extract_legacy(
    district_code: str,
    uri: str,
    *,
    sql_dir: Path,
    known_hashes: Mapping[str, str] | KnownHashes,
    chunk_rows: int,
    sink: RecordSink,
    known_digests: Mapping[str, str] | None = None,
    digests_path: Path | None = None,
) -> Extract:
    """The rows of ``hotich`` whose content changed since they were last read.

    With ``digests_path`` and a MariaDB source, the server's digest of every row is read
    first and compared with ``known_digests`` (local key -> digest, as kept by the last
    load): only the rows whose digest differs are read whole, and their digests go to
    ``digests_path`` (``local_key``, ``digest``) for the load to keep with the verdicts.
    """
    engine = engine_for(uri)
    whole = text((sql_dir / "extract" / "legacy_hotich.sql").read_text(encoding="utf-8"))
    if digests_path is not None:
        digests_path.unlink(missing_ok=True)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(stream_results=True)
            changed = None
            if digests_path is not None and engine.dialect.name == "mysql":
                changed = _changed_digests(conn, sql_dir, known_digests or {})
                changed.to_parquet(digests_path, index=False)
                log.info("district %s: %d legacy rows of %d changed by the server's digest",
                         district_code, len(changed), changed.attrs["rows"])  # fmt: skip
            if changed is None or len(changed) > WHOLE_READ_SHARE * changed.attrs["rows"]:
                chunks = pd.read_sql(whole, conn, chunksize=chunk_rows)
            else:
                chunks = _rows_by_id(conn, sql_dir, changed["local_key"].tolist())
            for chunk in chunks:
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


def _changed_digests(conn, sql_dir: Path, known: Mapping[str, str]) -> pd.DataFrame:
    """The rows (``local_key``, ``digest``) whose server digest is not the one known;
    ``attrs["rows"]``: how many rows the table has."""
    query = text((sql_dir / "extract" / "legacy_digests.sql").read_text(encoding="utf-8"))
    parts, rows = [], 0
    for chunk in pd.read_sql(query, conn, chunksize=100_000):
        rows += len(chunk)
        keys = chunk["ID"].astype("int64").astype(str)
        digest = chunk["digest"].astype(str)
        fresh = keys.map(known) != digest if known else pd.Series(True, index=chunk.index)
        parts.append(pd.DataFrame({"local_key": keys[fresh], "digest": digest[fresh]}))
    changed = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"local_key": pd.Series(dtype=str), "digest": pd.Series(dtype=str)})
    )
    changed.attrs["rows"] = rows
    return changed


def _rows_by_id(conn, sql_dir: Path, ids: list[str]):
    """The rows of ``ids`` (legacy_rows.sql), as frames of at most :data:`ID_BATCH` rows."""
    query = text((sql_dir / "extract" / "legacy_rows.sql").read_text(encoding="utf-8"))
    query = query.bindparams(bindparam("ids", expanding=True))
    for lo in range(0, len(ids), ID_BATCH):
        yield pd.read_sql(query, conn, params={"ids": [int(i) for i in ids[lo : lo + ID_BATCH]]})


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
