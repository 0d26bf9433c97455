"""Hand-made district sources and a national database, for pipeline tests.

Small and explicit: every record is written here so that each test can say exactly
what verdict it expects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """An ``.xlsx`` file with these sheets and rows, in order (openpyxl); its path."""
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


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
    # Pre-ping: the server may have been restarted meanwhile (the fault tests kill it).
    server = db.engine_for(server_uri, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield server_uri.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"
    finally:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


@contextmanager
def generated_province(
    out: Path, pg_url: str, *, scale: float, seed: int, prefix: str
) -> Iterator[Path]:
    """The dev kit's synthetic province in ``out`` (its server districts on ``pg_url``,
    its legacy one on the machine's MariaDB when it runs, databases named ``prefix…``);
    the MariaDB databases are dropped afterwards."""
    from hotich_dev.synth.province import generate
    from tests.conftest import EXTERNAL_MARIADB, reachable

    mariadb = EXTERNAL_MARIADB if reachable("127.0.0.1", 3306) else None
    generate(scale=scale, seed=seed, out=out, pg_url=pg_url, mariadb_url=mariadb, db_prefix=prefix)
    try:
        yield out
    finally:
        if mariadb:
            server = db.engine_for(mariadb, isolation_level="AUTOCOMMIT")
            with server.connect() as conn:
                names = conn.execute(text("SHOW DATABASES LIKE :p"), {"p": prefix + "%"})
                for name in names.scalars().all():
                    conn.execute(text(f"DROP DATABASE `{name}`"))
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


def validated_district(ctx: pipeline.RunContext, district: District, uris: dict[str, str]) -> dict:
    """The national database prepared, then extract → validate for one district (a test of
    a later stage runs it next); the stages' summaries merged."""
    pipeline.prepare_database(ctx)
    out = pipeline.extract_district(ctx, district, uris.__getitem__)
    return out | pipeline.validate_district(ctx, district.code)


def run_district(
    ctx: pipeline.RunContext, district: District, uris: dict[str, str], register
) -> dict:
    """extract → validate → reconcile → load for one district; the stages' summaries merged."""
    out = validated_district(ctx, district, uris)
    out |= pipeline.reconcile_district(ctx, district.code, register)
    out |= pipeline.load_district(ctx, district.code)
    return out


def run_districts(
    ctx: pipeline.RunContext, districts: list[District], uris: dict[str, str], register
) -> dict[str, dict | Exception]:
    """Every district through its stages, as the DAG's mapped tasks run them: one that
    fails (its value is then the exception) does not stop the others. Then, as the run's
    report task does first, the leases of the districts that failed are given back."""
    out: dict[str, dict | Exception] = {}
    for district in districts:
        try:
            out[district.code] = run_district(ctx, district, uris, register)
        except Exception as exc:  # noqa: BLE001 - a failed task; the test checks which
            out[district.code] = exc
    with contextlib.suppress(pipeline.NationalDatabaseUnavailable):  # the report fails too
        pipeline.release_leases(ctx)
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


# --- a MariaDB server of the test's own ------------------------------------------------------


def mariadb_programs() -> tuple[str, str] | None:
    """``(mariadb-install-db, mariadbd)`` when this machine has both, else None."""
    import shutil

    found = []
    for name, fallback in (
        ("mariadb-install-db", "/usr/bin/mariadb-install-db"),
        ("mariadbd", "/usr/sbin/mariadbd"),
    ):
        path = shutil.which(name) or (fallback if Path(fallback).is_file() else None)
        if path is None:
            return None
        found.append(path)
    return found[0], found[1]


class PrivateMariaDB:
    """A MariaDB server of the test's own: its data directory, a free loopback port, root
    without a password. A test may ``kill`` it (SIGKILL) and ``start`` it again without
    touching the machine's shared server."""

    def __init__(self, root: Path, install_db: str, mariadbd: str) -> None:
        import getpass
        import subprocess

        from hotich_dev.run import free_port

        self.root, self.datadir, self._mariadbd = root, root / "data", mariadbd
        self._user = getpass.getuser()
        self.port = free_port()
        self._proc: Any = None
        subprocess.run(
            [install_db, "--no-defaults", f"--datadir={self.datadir}", f"--user={self._user}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    @property
    def server_uri(self) -> str:
        """The server's URI (database ``mysql``), for :func:`mariadb_database`."""
        return f"mysql://root:@127.0.0.1:{self.port}/mysql"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and wait until it answers a login (crash recovery included)."""
        import subprocess
        import time

        import pymysql

        if self.running:
            return
        with (self.root / "server.log").open("ab") as log_file:
            self._proc = subprocess.Popen(
                [self._mariadbd, "--no-defaults", f"--datadir={self.datadir}",
                 f"--port={self.port}", f"--socket={self.root / 'mysqld.sock'}",
                 "--bind-address=127.0.0.1", f"--user={self._user}", "--skip-name-resolve",
                 "--innodb-buffer-pool-size=16M", "--max-connections=20"],
                stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # bounded: the server is up or the test fails
            if self._proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited ({self._proc.returncode}): {self.log_tail()}")
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="",
                                connect_timeout=1).close()  # fmt: skip
                return
            except pymysql.err.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"mariadbd did not answer within {timeout_s:.0f} s: {self.log_tail()}")

    def kill(self) -> None:
        """``kill -9`` the server (no shutdown: connections drop, InnoDB recovers on start)."""
        if self.running:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait(timeout=30)

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM), killing it if it does not exit."""
        import subprocess

        if not self.running:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's log."""
        path = self.root / "server.log"
        text_ = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text_.strip().splitlines()[-lines:])


# --- the state of a national database, and the four checks of a fault test --------------------


@dataclass(frozen=True)
class NationalState:
    """What a run leaves in the national database that must not depend on faults: the
    loaded registrations and people (without run ids and times), the latest verdict of
    every record, the open quarantine and review entries."""

    registrations: dict[str, tuple]
    persons: dict[tuple[str, str], tuple]
    latest: dict[str, tuple]  # source_key -> (status, reasons, personal_id, content_hash)
    open_quarantine: dict[str, tuple]  # source_key -> reasons
    open_review: dict[str, tuple]


def national_state(national_uri: str, districts: list[str]) -> NationalState:
    """The :class:`NationalState` of ``districts`` in a national database."""
    d = {"d": list(districts)}
    regs = query(
        national_uri,
        "SELECT source_key, district_code, record_type, book, entry_no, registration_date,"
        " place, ethnicity, nationality, death_cause, legacy_encoding, content_hash"
        " FROM civil.registration WHERE district_code = ANY(:d)",
        **d,
    )
    persons = query(
        national_uri,
        "SELECT p.* FROM civil.person p JOIN civil.registration r USING (source_key)"
        " WHERE r.district_code = ANY(:d)",
        **d,
    )
    latest = query(
        national_uri,
        "SELECT DISTINCT ON (source_key) source_key, status, reasons, personal_id, content_hash"
        " FROM recon.verdict WHERE district_code = ANY(:d)"
        " ORDER BY source_key, processed_at DESC, run_id DESC",
        **d,
    )

    def open_entries(table: str) -> dict[str, tuple]:
        rows = query(
            national_uri,
            f"SELECT source_key, reasons FROM recon.{table}"
            " WHERE closed_at IS NULL AND district_code = ANY(:d)",
            **d,
        )
        return {k: tuple(r) for k, r in rows}

    return NationalState(
        registrations={r[0]: r[1:] for r in regs},
        persons={(p[0], p[1]): p[2:] for p in persons},
        latest={k: (s, tuple(r), pid, h) for k, s, r, pid, h in latest},
        open_quarantine=open_entries("quarantine"),
        open_review=open_entries("review"),
    )


def check_verdicts(
    national_uri: str, runs: dict[tuple[str, str], int], source_keys: set[str]
) -> None:
    """Check 1: each finished (run, district) has one verdict per record it extracted and
    no other run wrote any (``runs``: extracted counts, failed runs left out or 0); every
    record of the sources has a latest verdict, and nothing else has one; the extract
    state agrees with the latest verdicts."""
    per_run = query(national_uri, "SELECT run_id, district_code, count(*) FROM recon.verdict"
                    " GROUP BY run_id, district_code")  # fmt: skip
    assert {(r, d): n for r, d, n in per_run} == {k: n for k, n in runs.items() if n}
    districts = sorted({d for _, d in runs})
    latest = national_state(national_uri, districts).latest
    missing, extra = sorted(source_keys - set(latest)), sorted(set(latest) - source_keys)
    assert (missing, extra) == ([], []), "records without a verdict, verdicts of no record"
    state = dict(query(national_uri, "SELECT source_key, last_status FROM recon.source_state"
                       " WHERE district_code = ANY(:d)", d=districts))  # fmt: skip
    assert state == {k: v[0] for k, v in latest.items()}


def check_no_duplicates(national_uri: str) -> None:
    """Check 2: no book entry loaded twice, every registration with exactly its people
    (one subject; or one husband and one wife), nobody's birth or death loaded twice
    under one personal ID, no record open twice or in both lists."""
    assert query(national_uri, "SELECT district_code, record_type, book, entry_no"
                 " FROM civil.registration GROUP BY 1, 2, 3, 4 HAVING count(*) > 1") == []  # fmt: skip
    roles = query(
        national_uri,
        "SELECT r.source_key, r.record_type, array_agg(p.role ORDER BY p.role)"
        " FROM civil.registration r LEFT JOIN civil.person p USING (source_key)"
        " GROUP BY r.source_key, r.record_type",
    )
    expected = {"birth": ["subject"], "death": ["subject"], "marriage": ["husband", "wife"]}
    assert [(k, t, r) for k, t, r in roles if list(r) != expected[t]] == []
    assert query(national_uri, "SELECT p.personal_id FROM civil.person p"
                 " JOIN civil.registration r USING (source_key)"
                 " WHERE p.personal_id IS NOT NULL AND r.record_type IN ('birth', 'death')"
                 " GROUP BY p.personal_id, r.record_type"
                 " HAVING count(*) > 1") == []  # fmt: skip
    assert query(national_uri, "SELECT source_key FROM (SELECT source_key FROM recon.quarantine"
                 " WHERE closed_at IS NULL UNION ALL SELECT source_key FROM recon.review"
                 " WHERE closed_at IS NULL) o GROUP BY 1 HAVING count(*) > 1") == []  # fmt: skip


def check_same_state(national_uri: str, reference_uri: str, districts: list[str]) -> None:
    """Check 3: the national database holds what a run without the fault left."""
    got, want = national_state(national_uri, districts), national_state(reference_uri, districts)
    assert got.latest == want.latest
    assert got.registrations == want.registrations
    assert got.persons == want.persons
    assert (got.open_quarantine, got.open_review) == (want.open_quarantine, want.open_review)
    assert got.registrations, "a comparison of empty states proves nothing"


def check_incident(
    exc: BaseException, kind: str, district_code: str, task_id: str, personal: list[str]
) -> str:
    """Check 4: the failure is an incident of ``kind`` for the district, as the failure
    callback builds it; its line names the fault and the district and holds no full
    personal ID and none of the ``personal`` texts (names, IDs). Returns the line."""
    import re

    from hotich.ops.incidents import KINDS, Occurrence, classify, error_line

    assert classify(exc) == kind, f"{type(exc).__name__}: {exc}"
    incident = Occurrence(kind=kind, dag_id="hotich_reconcile", run_id="r", task_id=task_id,
                        map_index=0, try_number=1, district=district_code,
                        error=error_line(exc))  # fmt: skip
    line = incident.summary
    assert f"district {district_code}:" in line and KINDS[kind].what in line
    assert re.search(r"(?<![0-9])[0-9]{12}(?![0-9])", line) is None, line
    leaked = [p for p in personal if p and p in line]
    assert leaked == [], line
    return line
