"""The synthetic sources are readable with the contract's exact column names, in every flavor.

SQLite and workbooks always; PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306)
when running (skipped with the reason otherwise, never under CI=true).
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
import uuid
from urllib.parse import urlsplit

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from hotich_dev.synth.province import generate
from hotich_dev.synth.render import LEGACY_COLUMNS, MODERN_TABLES, WORKBOOK_SHEETS

RUN_DATE = dt.date(2025, 9, 1)
MODERN_COLUMNS = {
    "so_ho_tich": ["ma_so", "loai", "nam", "quyen", "ma_xa"],
    **{table: list(mapping.values()) for table, mapping in MODERN_TABLES.values()},
}
SHEET_HEADERS = {sheet: [h for h, _c in spec] for sheet, spec in WORKBOOK_SHEETS.values()}


def _sqlite_columns(path, table):
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    finally:
        con.close()


@pytest.fixture(scope="module")
def local_province(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_local")
    res = generate(0.003, 3, out, run_date=RUN_DATE)
    return res


def test_config_files(local_province):
    res = local_province
    doc = yaml.safe_load(res.files["districts"].read_text(encoding="utf-8"))
    codes = [d["code"] for d in doc["districts"]]
    assert codes == ["256", "258", "259", "260", "261", "262", "263", "264"]
    env = dict(
        line.split("=", 1) for line in res.files["connections"].read_text().splitlines() if line
    )
    for d in doc["districts"]:
        assert d["flavor"] in ("modern", "legacy", "workbook")
        if d["flavor"] == "workbook":
            assert d["inbox"].startswith("/") and "conn_id" not in d
        else:
            assert d["conn_id"] == f"district_{d['code']}"
            assert env[f"AIRFLOW_CONN_DISTRICT_{d['code']}"].startswith("sqlite:////")


def test_sqlite_sources_have_contract_columns(local_province):
    res = local_province
    truth = pd.read_parquet(res.files["truth"])
    for d in res.districts:
        if d["flavor"] == "workbook":
            continue
        path = d["uri"].removeprefix("sqlite:///")
        if d["flavor"] == "modern":
            for table, cols in MODERN_COLUMNS.items():
                assert _sqlite_columns(path, table) == cols
            con = sqlite3.connect(path)
            n = sum(
                con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("khai_sinh", "khai_tu", "ket_hon")
            )
            stamp = con.execute("SELECT updated_at FROM khai_sinh LIMIT 1").fetchone()[0]
            con.close()
            dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
        else:
            assert _sqlite_columns(path, "hotich") == list(LEGACY_COLUMNS)
            con = sqlite3.connect(path)
            n = con.execute("SELECT count(*) FROM hotich").fetchone()[0]
            con.close()
        assert n == (truth["district_code"] == d["code"]).sum()


def test_workbook_inbox_headers(local_province):
    res = local_province
    inbox = next(d for d in res.districts if d["flavor"] == "workbook")["inbox"]
    from pathlib import Path

    files = sorted(Path(inbox).iterdir())
    assert any(f.suffix == ".xlsx" for f in files) and any(f.suffix == ".csv" for f in files)
    rows = 0
    for f in files:
        if f.suffix == ".xlsx":
            wb = load_workbook(f, read_only=True)
            assert set(wb.sheetnames) <= set(SHEET_HEADERS)
            for ws in wb.worksheets:
                it = ws.iter_rows(values_only=True)
                assert list(next(it)) == SHEET_HEADERS[ws.title]
                rows += sum(1 for _ in it)
            wb.close()
        else:
            sheet = f.name.split("_", 1)[0]
            with open(f, encoding="utf-8-sig", newline="") as fh:
                r = list(csv.reader(fh))
            assert r[0] == SHEET_HEADERS[sheet]
            rows += len(r) - 1
    truth = pd.read_parquet(res.files["truth"])
    assert rows == (truth["district_code"] == "263").sum()
    keys = truth[truth["district_code"] == "263"]["source_key"]
    assert keys.str.match(r"^263:(birth|death|marriage):[^#]+\.(xlsx|csv)#\d+$").all()


def test_server_sources(external_pg, external_mariadb, tmp_path):
    import psycopg2
    import pymysql

    prefix = f"hotich_synthtest_{uuid.uuid4().hex[:6]}_"
    res = generate(0.002, 4, tmp_path, pg_url=external_pg, mariadb_url=external_mariadb,
                   run_date=RUN_DATE, db_prefix=prefix)  # fmt: skip
    truth = pd.read_parquet(res.files["truth"])
    pg_dbs = [d for d in res.districts if d.get("uri", "").startswith("postgresql://")]
    my_dbs = [d for d in res.districts if d.get("uri", "").startswith("mysql://")]
    assert pg_dbs and my_dbs
    env = res.files["connections"].read_text()
    try:
        for d in pg_dbs:
            assert (
                f"AIRFLOW_CONN_DISTRICT_{d['code']}=postgresql://postgres@127.0.0.1:5432/{prefix}{d['code']}"
                in env
            )
            con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=f"{prefix}{d['code']}")
            with con.cursor() as cur:
                n = 0
                for table, cols in MODERN_COLUMNS.items():
                    cur.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name=%s ORDER BY ordinal_position",
                        (table,),
                    )
                    assert [r[0] for r in cur.fetchall()] == cols
                    if table != "so_ho_tich":
                        cur.execute(f"SELECT count(*) FROM {table}")
                        n += cur.fetchone()[0]
                assert n == (truth["district_code"] == d["code"]).sum()
            con.close()
        for d in my_dbs:
            p = urlsplit(d["uri"])
            con = pymysql.connect(
                host=p.hostname, port=p.port, user="root", password="", database=p.path[1:]
            )
            with con.cursor() as cur:
                cur.execute("SELECT * FROM hotich LIMIT 1")
                assert [c[0] for c in cur.description] == list(LEGACY_COLUMNS)
                cur.execute("SELECT count(*) FROM hotich")
                assert cur.fetchone()[0] == (truth["district_code"] == d["code"]).sum()
            con.close()
    finally:
        con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        con.autocommit = True
        with con.cursor() as cur:
            for d in pg_dbs:
                cur.execute(f'DROP DATABASE IF EXISTS "{prefix}{d["code"]}" WITH (FORCE)')
        con.close()
        con = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with con.cursor() as cur:
            for d in my_dbs:
                cur.execute(f"DROP DATABASE IF EXISTS `{prefix}{d['code']}`")
        con.close()
