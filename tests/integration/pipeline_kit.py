"""Hand-made district sources and a national database, for pipeline tests.

Small and explicit: every record is written here so that each test can say exactly
what verdict it expects.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from hotich import db, pipeline
from hotich.config import District, Settings
from hotich.model import Flavor
from hotich_dev.source_schema import MODERN_DDL, modern_statements

STAMP = "2026-11-20 10:00:00"


def birth(
    id_: int,
    *,
    book: str = "901-KS-2018-01",
    entry: int | None = None,
    reg: str | None = "2018-03-01",
    pid: str | None = None,
    name: str | None = "Nguyễn Văn An",
    sex: str | None = "Nam",
    dob: str | None = "2018-01-02",
    mother: str | None = "Lê Thị Hoa",
    father: str | None = None,
    updated_at: str = STAMP,
) -> dict[str, Any]:
    """One ``khai_sinh`` row."""
    return {
        "id": id_,
        "ma_so": book,
        "so_dang_ky": entry if entry is not None else id_,
        "ngay_dang_ky": reg,
        "so_dinh_danh": pid,
        "ho_ten": name,
        "gioi_tinh": sex,
        "ngay_sinh": dob,
        "noi_sinh": "Bắc Ninh",
        "dan_toc": "Kinh",
        "quoc_tich": "Việt Nam",
        "ho_ten_me": mother,
        "ngay_sinh_me": None,
        "ho_ten_cha": father,
        "ngay_sinh_cha": None,
        "updated_at": updated_at,
    }


def death(
    id_: int,
    *,
    book: str = "901-KT-2019-01",
    entry: int | None = None,
    reg: str | None = "2019-05-01",
    pid: str | None = None,
    name: str | None = "Đỗ Đức Độ",
    sex: str | None = "Nam",
    dob: str | None = "1950-03-03",
    died: str | None = "2019-04-30",
    updated_at: str = STAMP,
) -> dict[str, Any]:
    """One ``khai_tu`` row."""
    return {
        "id": id_,
        "ma_so": book,
        "so_dang_ky": entry if entry is not None else id_,
        "ngay_dang_ky": reg,
        "so_dinh_danh": pid,
        "ho_ten": name,
        "gioi_tinh": sex,
        "ngay_sinh": dob,
        "ngay_chet": died,
        "noi_chet": "Bắc Ninh",
        "nguyen_nhan": "Già yếu",
        "updated_at": updated_at,
    }


def marriage(
    id_: int,
    *,
    book: str = "901-KH-2018-01",
    reg: str | None = "2018-06-01",
    husband: str = "Nguyễn Văn Bình",
    husband_dob: str = "1990-01-02",
    husband_id: str | None = None,
    wife: str = "Lê Thị Lan",
    wife_dob: str = "1992-02-03",
    wife_id: str | None = None,
    updated_at: str = STAMP,
) -> dict[str, Any]:
    """One ``ket_hon`` row."""
    return {
        "id": id_,
        "ma_so": book,
        "so_dang_ky": id_,
        "ngay_dang_ky": reg,
        "chong_ho_ten": husband,
        "chong_ngay_sinh": husband_dob,
        "chong_so_dinh_danh": husband_id,
        "chong_dan_toc": "Kinh",
        "vo_ho_ten": wife,
        "vo_ngay_sinh": wife_dob,
        "vo_so_dinh_danh": wife_id,
        "vo_dan_toc": "Kinh",
        "updated_at": updated_at,
    }


def write_modern_sqlite(path: Path, births=(), deaths=(), marriages=()) -> str:
    """A modern district in a SQLite file; returns its Airflow-style URI."""
    new = not path.exists()
    con = sqlite3.connect(path)
    if new:
        con.executescript(MODERN_DDL)
    for table, rows in (("khai_sinh", births), ("khai_tu", deaths), ("ket_hon", marriages)):
        for row in rows:
            book = row["ma_so"]
            con.execute(
                "INSERT OR IGNORE INTO so_ho_tich VALUES (?, ?, ?, ?, ?)",
                (book, book.split("-")[1], int(book.split("-")[2]), 1, "00001"),
            )
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            con.execute(
                f"INSERT OR REPLACE INTO {table} ({cols}) VALUES ({marks})", tuple(row.values())
            )
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def write_modern_server(uri: str, births=(), deaths=(), marriages=()) -> None:
    """A modern district in an empty PostgreSQL or MariaDB database (SQLAlchemy URI)."""
    engine = db.engine_for(uri)
    try:
        with engine.begin() as conn:
            for statement in modern_statements():
                conn.execute(text(statement))
            books = {row["ma_so"] for rows in (births, deaths, marriages) for row in rows}
            for book in sorted(books):
                conn.execute(
                    text("INSERT INTO so_ho_tich VALUES (:b, :l, :y, 1, '00001')"),
                    {"b": book, "l": book.split("-")[1], "y": int(book.split("-")[2])},
                )
            for table, rows in (("khai_sinh", births), ("khai_tu", deaths), ("ket_hon", marriages)):
                for row in rows:
                    marks = ", ".join(":" + c for c in row)
                    conn.execute(
                        text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})"), row
                    )
    finally:
        engine.dispose()


@contextmanager
def mariadb_database(server_uri: str, prefix: str) -> Iterator[str]:
    """A new utf8mb4 database on a MariaDB server: its URI; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = db.engine_for(server_uri, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield server_uri.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"
    finally:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


@contextmanager
def national_database(server_uri: str) -> Iterator[str]:
    """A new national database on a PostgreSQL server, migrated; dropped afterwards."""
    name = f"hotich_nat_{uuid.uuid4().hex[:10]}"
    uri = db.ensure_database(server_uri, name)
    try:
        yield uri
    finally:
        engine = db.engine_for(server_uri, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def run_context(
    national_uri: str,
    data_dir: Path,
    run_id: str,
    run_date: dt.date = dt.date(2026, 11, 25),
    **fields: Any,
) -> pipeline.RunContext:
    """A pipeline run context over the given national database (``fields``: other
    :class:`Settings` fields, e.g. ``work_retention_hours``)."""
    settings = Settings(data_dir=data_dir, migrate_on_run=True, **fields)
    return pipeline.RunContext(
        run_id=run_id, run_date=run_date, settings=settings, civil_status_uri=national_uri
    )


def run_district(
    ctx: pipeline.RunContext, district: District, uris: dict[str, str], register
) -> dict:
    """extract → validate → reconcile → load for one district; the stages' summaries merged."""
    pipeline.prepare_database(ctx)
    out = pipeline.extract_district(ctx, district, uris.__getitem__)
    out |= pipeline.validate_district(ctx, district.code)
    out |= pipeline.reconcile_district(ctx, district.code, register)
    out |= pipeline.load_district(ctx, district.code)
    return out


def modern(code: str = "901") -> District:
    """A modern district entry."""
    return District(
        code=code, name=f"Test {code}", flavor=Flavor.MODERN, conn_id=f"district_{code}"
    )


def query(national_uri: str, sql: str, **params: Any) -> list[tuple]:
    """Rows of a query on the national database."""
    engine = db.engine_for(national_uri)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


# --- district readers (include/sql/roles/district_reader_*.sql) --------------------------

ROLES_DIR = Settings().sql_dir / "roles"
READER_ROLE = "hotich_district_reader"


def sql_statements(path: Path) -> list[str]:
    """The statements of a MariaDB script as the ``mysql`` client runs them: comment lines
    dropped, split at the ``;`` that ends a line."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";")]


def _with_login(uri: str, user: str, password: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password, safe='')}@{host}"))


@contextmanager
def postgresql_reader(district_uri: str, password: str) -> Iterator[str]:
    """Run the shipped district_reader_postgresql.sql in the district's database (as its
    admin) and create a login in the role; yield the login's URI; drop the login after
    (and the role, unless another database still grants it something)."""
    import psycopg2

    user = f"hotich_rd_{uuid.uuid4().hex[:8]}"
    engine = db.engine_for(district_uri, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql((ROLES_DIR / "district_reader_postgresql.sql").read_text("utf-8"))
            conn.exec_driver_sql(
                f"CREATE ROLE {user} LOGIN PASSWORD %(pw)s IN ROLE {READER_ROLE}", {"pw": password}
            )
        yield _with_login(district_uri, user, password)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {user}")
            conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {READER_ROLE}")
            conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA public FROM {READER_ROLE}")
            conn.exec_driver_sql(
                f'REVOKE ALL ON DATABASE "{conn.engine.url.database}" FROM {READER_ROLE}'
            )
            try:
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {READER_ROLE}")
            except Exception as exc:  # still granted in another database: leave it
                if not isinstance(
                    getattr(exc, "orig", None), psycopg2.errors.DependentObjectsStillExist
                ):
                    raise
        engine.dispose()


@contextmanager
def mariadb_reader(district_uri: str, password: str) -> Iterator[str]:
    """Run the shipped district_reader_mariadb.sql in the district's database (as root)
    and create a user in the role; yield the user's URI; afterwards revoke what the
    script granted in that database, drop the user, and the role once it holds nothing."""
    user = f"hotich_rd_{uuid.uuid4().hex[:8]}"
    engine = db.engine_for(district_uri, isolation_level="AUTOCOMMIT")
    database = engine.url.database
    try:
        with engine.connect() as conn:
            for statement in sql_statements(ROLES_DIR / "district_reader_mariadb.sql"):
                conn.exec_driver_sql(statement)
            conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY :pw"), {"pw": password})
            conn.execute(text(f"GRANT {READER_ROLE} TO '{user}'@'%'"))
            conn.execute(text(f"SET DEFAULT ROLE {READER_ROLE} FOR '{user}'@'%'"))
        yield _with_login(district_uri, user, password)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
            tables = conn.execute(
                text("SELECT Table_name FROM mysql.tables_priv WHERE User = :r AND Db = :d"),
                {"r": READER_ROLE, "d": database},
            ).scalars()
            for table in list(tables):
                conn.exec_driver_sql(
                    f"REVOKE ALL PRIVILEGES ON `{database}`.`{table}` FROM {READER_ROLE}"
                )
            left = conn.execute(
                text("SELECT count(*) FROM mysql.tables_priv WHERE User = :r"), {"r": READER_ROLE}
            ).scalar()
            if not left:
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {READER_ROLE}")
        engine.dispose()
