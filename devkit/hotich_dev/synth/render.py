"""Write the logical records as district sources in the three flavors.

- ``modern``: PostgreSQL (one database per district, COPY) or SQLite files;
- ``legacy``: the ``hotich`` table in MariaDB, or in a SQLite file;
- ``workbook``: ``.xlsx`` workbooks and ``<sheet>_*.csv`` files in the district's inbox.

Column names are exactly those of docs/district-sources.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

from hotich.db import with_database
from hotich_dev.source_schema import MODERN_DDL, legacy_ddl
from hotich_dev.synth.records import DISTRICTS, FLAVOR_OF, STORE_OF

log = logging.getLogger(__name__)

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


# Logical column -> source column, per modern table.
MODERN_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "birth": ("khai_sinh", {
        "local_key": "id", "book": "ma_so", "entry": "so_dang_ky", "reg": "ngay_dang_ky",
        "sid": "so_dinh_danh", "name": "ho_ten", "sex": "gioi_tinh", "dob": "ngay_sinh",
        "place": "noi_sinh", "ethnicity": "dan_toc", "nationality": "quoc_tich",
        "mother_name": "ho_ten_me", "mother_dob": "ngay_sinh_me", "father_name": "ho_ten_cha",
        "father_dob": "ngay_sinh_cha", "updated_at": "updated_at"}),
    "death": ("khai_tu", {
        "local_key": "id", "book": "ma_so", "entry": "so_dang_ky", "reg": "ngay_dang_ky",
        "sid": "so_dinh_danh", "name": "ho_ten", "sex": "gioi_tinh", "dob": "ngay_sinh",
        "death": "ngay_chet", "place": "noi_chet", "cause": "nguyen_nhan",
        "updated_at": "updated_at"}),
    "marriage": ("ket_hon", {
        "local_key": "id", "book": "ma_so", "entry": "so_dang_ky", "reg": "ngay_dang_ky",
        "h_name": "chong_ho_ten", "h_dob": "chong_ngay_sinh", "h_id": "chong_so_dinh_danh",
        "h_eth": "chong_dan_toc", "w_name": "vo_ho_ten", "w_dob": "vo_ngay_sinh",
        "w_id": "vo_so_dinh_danh", "w_eth": "vo_dan_toc", "updated_at": "updated_at"}),
}  # fmt: skip
MODERN_DATES = {"reg", "dob", "death", "mother_dob", "father_dob", "h_dob", "w_dob"}

LEGACY_COLUMNS = (
    "ID", "LoaiGiay", "SoQuyen", "SoDK", "NgayDK", "HoTen", "GioiTinh", "NgaySinh", "SoDinhDanh",
    "HoTen2", "NgaySinh2", "SoDinhDanh2", "HoTenCha", "NgayChet", "NoiSinhChet", "DanToc", "GhiChu",
)  # fmt: skip

WORKBOOK_SHEETS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "birth": ("KhaiSinh", (
        ("Số quyển", "book"), ("Số đăng ký", "entry"), ("Ngày đăng ký", "reg"),
        ("Họ và tên", "name"), ("Giới tính", "sex"), ("Ngày sinh", "dob"),
        ("Số định danh", "sid"), ("Nơi sinh", "place"), ("Dân tộc", "ethnicity"),
        ("Họ tên mẹ", "mother_name"), ("Ngày sinh mẹ", "mother_dob"), ("Họ tên cha", "father_name"))),
    "death": ("KhaiTu", (
        ("Số quyển", "book"), ("Số đăng ký", "entry"), ("Ngày đăng ký", "reg"),
        ("Họ và tên", "name"), ("Giới tính", "sex"), ("Ngày sinh", "dob"),
        ("Số định danh", "sid"), ("Ngày chết", "death"), ("Nơi chết", "place"),
        ("Nguyên nhân", "cause"))),
    "marriage": ("KetHon", (
        ("Số quyển", "book"), ("Số đăng ký", "entry"), ("Ngày đăng ký", "reg"),
        ("Họ tên chồng", "h_name"), ("Ngày sinh chồng", "h_dob"), ("Số định danh chồng", "h_id"),
        ("Họ tên vợ", "w_name"), ("Ngày sinh vợ", "w_dob"), ("Số định danh vợ", "w_id"))),
}  # fmt: skip
WORKBOOK_DATES = {"reg", "dob", "death", "mother_dob", "h_dob", "w_dob"}
WORKBOOK_IDS = {"sid", "h_id", "w_id"}
BATCH_YEARS = 5


# --- keys -----------------------------------------------------------------------------------
def assign_keys(rec: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Local keys and ordering: ids for SQL sources, ``<file>#<row>`` for workbooks.

    Adds ``local_key``, ``sort_a`` (file name or ''), ``sort_b`` (id or row number),
    ``file`` and ``row`` (workbook only). A duplicate copy lands right after its
    original, or (sometimes) right before it.
    """
    rec = rec.copy()
    n = len(rec)
    pos = np.arange(n, dtype=float)
    dup_of = rec["dup_of"].to_numpy().astype(np.int64)
    dups = np.flatnonzero(dup_of >= 0)
    before = rng.random(len(dups)) < 0.3
    pos[dups] = dup_of[dups] + np.where(before, -0.5, 0.5)
    rec["_pos"] = pos
    flavor = rec["district"].map(FLAVOR_OF)
    rec["local_key"] = ""
    rec["sort_a"] = ""
    rec["sort_b"] = 0
    rec["file"] = None
    rec["row"] = 0
    rec = rec.sort_values("_pos", kind="stable")
    modern = flavor.loc[rec.index] == "modern"
    legacy = flavor.loc[rec.index] == "legacy"
    wb = flavor.loc[rec.index] == "workbook"
    ids = rec[modern].groupby(["district", "rtype"]).cumcount() + 1
    rec.loc[ids.index, "sort_b"] = ids
    lids = rec[legacy].groupby("district").cumcount() + 1
    rec.loc[lids.index, "sort_b"] = lids
    rec.loc[modern | legacy, "local_key"] = rec.loc[modern | legacy, "sort_b"].astype(str)
    if wb.any():
        w = rec[wb]
        y0 = (w["book_year"] // BATCH_YEARS) * BATCH_YEARS
        batches = sorted(set(zip(w["district"], y0, strict=True)))
        as_csv = {b: rng.random() < 0.3 for b in batches}
        sheet = w["rtype"].map({k: v[0] for k, v in WORKBOOK_SHEETS.items()})
        files = [
            f"{sh}_{a}-{a + BATCH_YEARS - 1}.csv"
            if as_csv[(d, a)]
            else f"so_ho_tich_{a}-{a + BATCH_YEARS - 1}.xlsx"
            for d, a, sh in zip(w["district"], y0, sheet, strict=True)
        ]
        rec.loc[w.index, "file"] = files
        rows = rec.loc[w.index].groupby(["district", "file", "rtype"]).cumcount() + 2
        rec.loc[rows.index, "row"] = rows
        rec.loc[w.index, "sort_a"] = rec.loc[w.index, "file"]
        rec.loc[w.index, "sort_b"] = rec.loc[w.index, "row"]
        rec.loc[w.index, "local_key"] = (
            rec.loc[w.index, "file"] + "#" + rec.loc[w.index, "row"].astype(str)
        )
    return rec.drop(columns="_pos").sort_index()


# --- value rendering -----------------------------------------------------------------------------
def _encoded(rec: pd.DataFrame) -> dict[str, list]:
    """Text columns with the chosen values legacy-encoded."""
    from hotich.vnencoding import encode_tcvn3, encode_vni

    out: dict[str, list] = {}
    cols_of = rec["legacy_cols"].to_numpy(dtype=object, na_value=None)
    scheme = rec["legacy_enc"].to_numpy(dtype=object, na_value=None)
    for c in rec.columns:
        out[c] = rec[c].to_numpy(dtype=object, na_value=None).tolist()
    for i, cols in enumerate(cols_of.tolist()):
        if not cols:
            continue
        enc = encode_tcvn3 if scheme[i] == "tcvn3" else encode_vni
        for c in cols.split(","):
            out[c][i] = enc(out[c][i])
    return out


def _dmy(v, style: int = 0):
    """A logical date as legacy/workbook text: dd/mm/yyyy (style 1: d/m/yyyy)."""
    if v is None:
        return None
    m = _ISO.match(v)
    if not m:
        return v
    if style == 1:
        return f"{int(m[3])}/{int(m[2])}/{m[1]}"
    return f"{m[3]}/{m[2]}/{m[1]}"


# --- writers ---------------------------------------------------------------------------------------
def _modern_rows(
    vals: dict[str, list], idx: list[int], rtype: str
) -> tuple[str, list[str], list[list]]:
    table, mapping = MODERN_TABLES[rtype]
    cols = list(mapping.values())
    rows = []
    for i in idx:
        row = []
        for lc in mapping:
            v = vals[lc][i]
            if lc == "local_key":
                v = int(v)
            elif lc == "entry":
                v = int(v) if v not in (None, "") else None
            elif lc == "updated_at":
                v = pd.Timestamp(v).to_pydatetime().strftime("%Y-%m-%d %H:%M:%S")
            row.append(v)
        rows.append(row)
    return table, cols, rows


def _books(rec: pd.DataFrame) -> list[tuple]:
    b = rec.dropna(subset=["book"]).drop_duplicates("book")
    out = []
    for book, loai, year, commune in zip(
        b["book"], b["rtype"], b["book_year"], b["commune"], strict=True
    ):
        if not book:
            continue
        quyen = int(str(book).rsplit("-", 1)[1])
        out.append(
            (
                book,
                {"birth": "KS", "death": "KT", "marriage": "KH"}[loai],
                int(year),
                quyen,
                commune,
            )
        )
    return out


def write_modern_sqlite(rec: pd.DataFrame, vals: dict[str, list], path: Path) -> None:
    """A modern district as a SQLite file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        con.executescript(MODERN_DDL)
        con.executemany("INSERT INTO so_ho_tich VALUES (?,?,?,?,?)", _books(rec))
        pos = {k: i for i, k in enumerate(vals["_index"])}
        for rtype in ("birth", "death", "marriage"):
            idx = [pos[k] for k in rec.index[rec["rtype"] == rtype]]
            table, cols, rows = _modern_rows(vals, idx, rtype)
            con.executemany(
                f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows
            )
        con.commit()
    finally:
        con.close()


def _copy_text(v) -> str:
    if v is None:
        return "\\N"
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def airflow_uri(url: str, database: str, scheme: str) -> str:
    """An Airflow connection URI for ``database`` on the server of ``url``.

    The query is kept: the embedded PostgreSQL is reached through a socket directory
    (``?host=/path``), not a TCP host.
    """
    p = urlsplit(with_database(url, database))
    return urlunsplit((scheme, p.netloc, p.path, p.query, ""))


def write_modern_pg(rec: pd.DataFrame, vals: dict[str, list], pg_url: str, database: str) -> None:
    """A modern district as its own PostgreSQL database (dropped and recreated; COPY)."""
    import psycopg2

    # libpq takes the URI itself, socket directory (?host=) included.
    admin = airflow_uri(pg_url, urlsplit(pg_url).path.lstrip("/") or "postgres", "postgresql")
    con = psycopg2.connect(admin)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cur.execute(f"CREATE DATABASE \"{database}\" ENCODING 'UTF8' TEMPLATE template0")
    con.close()
    con = psycopg2.connect(airflow_uri(pg_url, database, "postgresql"))
    try:
        with con.cursor() as cur:
            cur.execute(MODERN_DDL)
            buf = io.StringIO()
            for row in _books(rec):
                buf.write("\t".join(_copy_text(v) for v in row) + "\n")
            buf.seek(0)
            cur.copy_expert("COPY so_ho_tich FROM STDIN", buf)
            pos = {k: i for i, k in enumerate(vals["_index"])}
            for rtype in ("birth", "death", "marriage"):
                idx = [pos[k] for k in rec.index[rec["rtype"] == rtype]]
                table, cols, rows = _modern_rows(vals, idx, rtype)
                buf = io.StringIO()
                for row in rows:
                    buf.write("\t".join(_copy_text(v) for v in row) + "\n")
                buf.seek(0)
                cur.copy_expert(f"COPY {table} ({','.join(cols)}) FROM STDIN", buf)
        con.commit()
    finally:
        con.close()


def _legacy_rows(rec: pd.DataFrame, vals: dict[str, list]) -> list[tuple]:
    pos = {k: i for i, k in enumerate(vals["_index"])}
    rows = []
    for k in rec.sort_values("sort_b").index:
        i = pos[k]
        g = {c: vals[c][i] for c in vals}
        m = g["rtype"] == "marriage"
        rows.append((
            int(g["local_key"]), g["loai"], g["book"], g["entry"], _dmy(g["reg"]),
            g["h_name"] if m else g["name"], None if m else g["sex"],
            _dmy(g["h_dob"] if m else g["dob"]), g["h_id"] if m else g["sid"],
            g["w_name"] if m else g["mother_name"], _dmy(g["w_dob"] if m else g["mother_dob"]),
            g["w_id"] if m else None, None if m else g["father_name"], _dmy(g["death"]),
            None if m else g["place"], g["h_eth"] if m else g["ethnicity"], g["note"],
        ))  # fmt: skip
    return rows


def write_legacy_sqlite(rec: pd.DataFrame, vals: dict[str, list], path: Path) -> None:
    """The legacy district's ``hotich`` table in a SQLite file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        con.execute(legacy_ddl("sqlite"))
        con.executemany(
            f"INSERT INTO hotich VALUES ({','.join('?' * len(LEGACY_COLUMNS))})",
            _legacy_rows(rec, vals),
        )
        con.commit()
    finally:
        con.close()


def write_legacy_mariadb(rec: pd.DataFrame, vals: dict[str, list], url: str, database: str) -> None:
    """The legacy district's ``hotich`` table in its own MariaDB database."""
    import pymysql

    p = urlsplit(url)
    con = pymysql.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306, user=p.username or "root",
                          password=p.password or "", charset="utf8mb4", autocommit=False)  # fmt: skip
    try:
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.execute(f"USE `{database}`")
            cur.execute(legacy_ddl("mysql"))
            rows = _legacy_rows(rec, vals)
            sql = f"INSERT INTO hotich ({','.join(LEGACY_COLUMNS)}) VALUES ({','.join(['%s'] * len(LEGACY_COLUMNS))})"
            for k in range(0, len(rows), 5000):
                cur.executemany(sql, rows[k : k + 5000])
        con.commit()
    finally:
        con.close()


def write_workbooks(
    rec: pd.DataFrame, vals: dict[str, list], inbox: Path, rng: np.random.Generator
) -> None:
    """The workbook district's inbox: xlsx workbooks and per-sheet CSV files."""
    from openpyxl import Workbook

    inbox.mkdir(parents=True, exist_ok=True)
    for old in list(inbox.glob("*.xlsx")) + list(inbox.glob("*.csv")):
        old.unlink()
    pos = {k: i for i, k in enumerate(vals["_index"])}
    for file, part in rec.groupby("file", sort=True):
        is_csv = file.endswith(".csv")
        if is_csv:
            rtype = part["rtype"].iloc[0]
            sheet, spec = WORKBOOK_SHEETS[rtype]
            with open(
                inbox / file,
                "w",
                encoding="utf-8-sig" if rng.random() < 0.5 else "utf-8",
                newline="",
            ) as fh:
                w = csv.writer(fh)
                w.writerow([h for h, _c in spec])
                for k in part.sort_values("row").index:
                    i = pos[k]
                    w.writerow(
                        [
                            ""
                            if vals[c][i] is None
                            else _dmy(vals[c][i])
                            if c in WORKBOOK_DATES
                            else vals[c][i]
                            for _h, c in spec
                        ]
                    )
            continue
        wb = Workbook(write_only=True)
        for rtype in ("birth", "death", "marriage"):
            sub = part[part["rtype"] == rtype]
            if sub.empty:
                continue
            sheet, spec = WORKBOOK_SHEETS[rtype]
            ws = wb.create_sheet(sheet)
            ws.append([h for h, _c in spec])
            u = rng.random((len(sub), len(spec)))
            for r_i, k in enumerate(sub.sort_values("row").index):
                i = pos[k]
                row = []
                for c_i, (_h, c) in enumerate(spec):
                    v = vals[c][i]
                    if v is None:
                        row.append(None)
                    elif c in WORKBOOK_DATES:
                        m = _ISO.match(v)
                        x = u[r_i, c_i]
                        if m and x < 0.6:
                            try:
                                row.append(dt.datetime(int(m[1]), int(m[2]), int(m[3])))
                                continue
                            except ValueError:
                                pass
                        row.append(_dmy(v, 1 if x > 0.85 else 0))
                    elif c in WORKBOOK_IDS:
                        # An ID typed as a number loses its leading zeros (the reader pads it).
                        row.append(
                            int(v) if (len(v) == 12 and v.isdigit() and u[r_i, c_i] < 0.5) else v
                        )
                    elif c == "entry":
                        row.append(int(v) if v.isdigit() else v)
                    else:
                        row.append(v)
                ws.append(row)
        wb.save(inbox / file)


def write_sources(
    rec: pd.DataFrame,
    out: Path,
    rng: np.random.Generator,
    pg_url: str | None,
    mariadb_url: str | None,
    db_prefix: str = "hotich_src_",
) -> list[dict]:
    """All districts' sources; returns the districts.yaml entries (with connection URIs)."""
    vals = _encoded(rec)
    vals["_index"] = rec.index.tolist()
    return _write_districts(((code, rec[rec["district"] == code], vals) for code, *_ in DISTRICTS),
                            out, rng, pg_url, mariadb_url, db_prefix)  # fmt: skip


# Columns the writers read (``write_sources_from``), besides the row number ``_index``.
SOURCE_COLUMNS = (
    "district", "rtype", "book_year", "commune", "file", "row", "sort_b", "local_key",
    "legacy_cols", "legacy_enc", "updated_at", "loai", "book", "entry", "reg", "name", "sex",
    "dob", "sid", "place", "ethnicity", "nationality", "mother_name", "mother_dob",
    "father_name", "father_dob", "death", "cause", "note", "h_name", "h_dob", "h_id", "h_eth",
    "w_name", "w_dob", "w_id", "w_eth",
)  # fmt: skip


def write_sources_from(
    records: Path,
    out: Path,
    rng: np.random.Generator,
    pg_url: str | None,
    mariadb_url: str | None,
    db_prefix: str = "hotich_src_",
) -> list[dict]:
    """``write_sources`` from a parquet file of the records (``SOURCE_COLUMNS`` and
    ``_index``), one district at a time in memory."""
    import pyarrow.parquet as pq

    def parts():
        for code, *_ in DISTRICTS:
            part = pq.read_table(
                records, columns=["_index", *SOURCE_COLUMNS], filters=[("district", "==", code)]
            )
            part = part.to_pandas().set_index("_index")
            part.index.name = None
            vals = _encoded(part)
            vals["_index"] = part.index.tolist()
            yield code, part, vals

    return _write_districts(parts(), out, rng, pg_url, mariadb_url, db_prefix)


def _write_districts(parts, out, rng, pg_url, mariadb_url, db_prefix) -> list[dict]:
    info = {c: (n, f, s) for c, n, f, s, _w in DISTRICTS}
    entries = []
    for code, part, vals in parts:
        name, flavor, store = info[code]
        entry: dict = {"code": code, "name": name, "flavor": flavor}
        if flavor == "workbook":
            inbox = (out / "inbox" / code).resolve()
            write_workbooks(part, vals, inbox, rng)
            entry["inbox"] = str(inbox)
        elif flavor == "legacy":
            db = f"{db_prefix}{code}"
            if mariadb_url:
                write_legacy_mariadb(part, vals, mariadb_url, db)
                entry["uri"] = airflow_uri(mariadb_url, db, "mysql")
            else:
                path = (out / "sources" / f"{code}.sqlite").resolve()
                write_legacy_sqlite(part, vals, path)
                entry["uri"] = f"sqlite:///{path}"
            entry["conn_id"] = f"district_{code}"
        else:
            db = f"{db_prefix}{code}"
            if store == "pg" and pg_url:
                write_modern_pg(part, vals, pg_url, db)
                entry["uri"] = airflow_uri(pg_url, db, "postgresql")
            else:
                path = (out / "sources" / f"{code}.sqlite").resolve()
                write_modern_sqlite(part, vals, path)
                entry["uri"] = f"sqlite:///{path}"
            entry["conn_id"] = f"district_{code}"
        log.info("district %s (%s): %d records written", code, flavor, len(part))
        entries.append(entry)
    _ = STORE_OF
    return entries
