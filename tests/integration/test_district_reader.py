"""District databases are read with a read-only role (include/sql/roles/district_reader_*.sql):
the extract works through it, and every write through it is refused."""

from __future__ import annotations

import secrets
import uuid

import psycopg2
import pymysql
import pytest
from sqlalchemy import text

from hotich import db, pipeline
from hotich.config import District
from hotich.model import Flavor
from hotich_dev.source_schema import legacy_ddl
from tests.integration.pipeline_kit import (
    birth,
    death,
    mariadb_database,
    mariadb_reader,
    marriage,
    modern,
    postgresql_reader,
    run_context,
    write_modern_server,
)

ROWS = dict(births=[birth(1), birth(2)], deaths=[death(11)], marriages=[marriage(21)])
WRITES = {
    "modern": [
        "INSERT INTO khai_sinh (id, ma_so, updated_at) VALUES (99, '901-KS-2018-01', '2026-01-01')",
        "UPDATE khai_sinh SET ho_ten = 'x' WHERE id = 1",
        "DELETE FROM khai_tu WHERE id = 11",
        "CREATE TABLE intruder (x int)",
        "SELECT * FROM so_ho_tich",  # not read by the extract: not granted either
    ],
    "legacy": [
        "INSERT INTO hotich (LoaiGiay, SoQuyen, SoDK) VALUES ('KS', 'L9', '9')",
        "UPDATE hotich SET HoTen = 'x' WHERE ID = 1",
        "DELETE FROM hotich WHERE ID = 1",
        "CREATE TABLE intruder (x int)",
    ],
}


def extract_through(reader_uri: str, district: District, national: str, tmp_path) -> dict:
    ctx = run_context(national, tmp_path / "data", f"run-reader-{uuid.uuid4().hex[:6]}")
    pipeline.prepare_database(ctx)
    return pipeline.extract_district(ctx, district, {district.conn_id: reader_uri}.__getitem__)


# MariaDB's "command denied" (table), "access denied" (database) and "column denied".
MARIADB_DENIED = {1142, 1044, 1143}


def not_refused(execute, statements: list[str], denied) -> list[str]:
    """The statements NOT refused for want of privilege (each tried on its own); another
    error (a typo in a statement) fails the test instead of passing as a refusal."""
    allowed = []
    for statement in statements:
        try:
            execute(statement)
        except Exception as exc:
            if denied(exc):
                continue
            raise
        allowed.append(statement)
    return allowed


def pg_denied(exc: Exception) -> bool:
    return isinstance(exc, psycopg2.errors.InsufficientPrivilege)


def mariadb_denied(exc: Exception) -> bool:
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, pymysql.err.MySQLError) and orig.args[0] in MARIADB_DENIED


def test_postgresql_district_read_only(tmp_path, national, external_pg):
    name = f"hotich_dr_{uuid.uuid4().hex[:8]}"
    district_uri = db.ensure_database(external_pg, name)
    try:
        write_modern_server(district_uri, **ROWS)
        with postgresql_reader(district_uri, secrets.token_urlsafe(12)) as reader:
            out = extract_through(reader, modern("901"), national, tmp_path)
            assert (out["read"], out["extracted"]) == (4, 4)
            conn = db.pg_connect(reader)
            conn.autocommit = True
            with conn.cursor() as cur:
                allowed = not_refused(cur.execute, WRITES["modern"], pg_denied)
            conn.close()
            assert allowed == []
    finally:
        admin = db.engine_for(external_pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _legacy_rows(uri: str) -> None:
    engine = db.engine_for(uri)
    with engine.begin() as conn:
        conn.execute(text(legacy_ddl("mysql")))
        conn.execute(text(
            "INSERT INTO hotich (LoaiGiay, SoQuyen, SoDK, NgayDK, HoTen, GioiTinh, NgaySinh)"
            " VALUES ('KS', 'L1', '1', '01/03/2018', 'Nguyễn Văn Ba', 'Nam', '02/01/2018')"
        ))  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("flavor", ["modern", "legacy"])
def test_mariadb_district_read_only(tmp_path, national, external_mariadb, flavor):
    with mariadb_database(external_mariadb, "hotich_dr") as uri:
        if flavor == "modern":
            write_modern_server(uri, **ROWS)
            district, rows = modern("901"), 4
        else:
            _legacy_rows(uri)
            district = District(code="902", name="Test 902", flavor=Flavor.LEGACY,
                                conn_id="district_902")  # fmt: skip
            rows = 1
        with mariadb_reader(uri, secrets.token_urlsafe(12)) as reader:
            out = extract_through(reader, district, national, tmp_path)
            assert (out["read"], out["extracted"]) == (rows, rows)
            engine = db.engine_for(reader, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                allowed = not_refused(conn.exec_driver_sql, WRITES[flavor], mariadb_denied)
            engine.dispose()
            assert allowed == []
