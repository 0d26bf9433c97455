"""The load's joins are planned on the staging tables' real size (decision 0030): a real
PostgreSQL, a national database holding 300,000 waiting persons, and a day-sized district
staged as the load stages it. Without ``staged_statistics.sql`` the planner knows nothing
of the temporary tables (autovacuum never analyzes them) and guesses their size from their
pages; with it, it knows their rows and their keys' statistics. (Which join it then picks
depends on the national tables' sizes and layout: on the day of benchmarks/RESULTS.md it
gave up a hash join over every waiting person; here the plan is only printed.)"""

from __future__ import annotations

import re

import psycopg2
import pytest
from sqlalchemy import text

from hotich import db
from hotich.config import Settings
from hotich.migrate import migrate

SQL_DIR = Settings().sql_dir
WAITING = 300_000
STAGED = 2_400


@pytest.fixture(scope="module")
def national(embedded_pg: str):
    from tests.integration.pipeline_kit import national_database

    with national_database(embedded_pg) as uri:
        engine = db.engine_for(uri)
        with engine.begin() as conn:
            conn.execute(text((SQL_DIR / "roles" / "roles.sql").read_text(encoding="utf-8")))
        migrate(engine, SQL_DIR)
        engine.dispose()
        with psycopg2.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO recon.waiting_record (source_key, district_code, record_type,"
                " content_hash, record, source_record, status, reasons, run_id)"
                " SELECT '256:birth:' || i, '256', 'birth', md5(i::text), '{}', '{}',"
                " 'review', '{LINK_NONE}', 'r0' FROM generate_series(1, %s) i", (WAITING,))  # fmt: skip
            cur.execute(
                "INSERT INTO recon.waiting_person (source_key, role, district_code,"
                " record_type, kind, reasons) SELECT source_key, 'subject', '256', 'birth',"
                " 'link_none', '{LINK_NONE}' FROM recon.waiting_record")  # fmt: skip
            cur.execute("ANALYZE recon.waiting_record, recon.waiting_person")  # as autovacuum
        yield uri


def _waiting_before_select() -> str:
    """The SELECT of apply.sql's ``CREATE TEMP TABLE waiting_before ... AS``."""
    sql = (SQL_DIR / "load" / "apply.sql").read_text(encoding="utf-8")
    m = re.search(r"CREATE TEMP TABLE waiting_before ON COMMIT DROP AS\s+(SELECT .*?);", sql, re.S)
    assert m, "apply.sql no longer builds waiting_before"
    return m.group(1)


def _plan_of_a_staged_day(uri: str, statistics: bool) -> tuple[str, float]:
    """(plan of waiting_before, the planner's row count of stage_verdict: -1 when never
    analyzed) for a day's district staged as the load stages it."""
    with psycopg2.connect(uri) as conn, conn.cursor() as cur:
        cur.execute((SQL_DIR / "load" / "stage.sql").read_text(encoding="utf-8"))
        cur.execute(
            "INSERT INTO stage_verdict (district_code, record_type, source_key, status,"
            " reasons, content_hash, source_record) SELECT '256', 'birth', '256:birth:' ||"
            " (i * 97), 'loaded', '{}', md5(i::text), jsonb_build_object('Họ và tên',"
            " repeat('Nguyễn Văn An ', 20), 'Số đăng ký', i) FROM generate_series(1, %s) i",
            (STAGED,),
        )  # fmt: skip
        if statistics:
            cur.execute((SQL_DIR / "load" / "staged_statistics.sql").read_text("utf-8"))
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'stage_verdict'::regclass")
        (rows,) = cur.fetchone()
        cur.execute("EXPLAIN " + _waiting_before_select())
        plan = "\n".join(r[0] for r in cur.fetchall())
        conn.rollback()
    return plan, rows


def test_the_staged_tables_are_analyzed_before_the_joins(national: str) -> None:
    load_py = (SQL_DIR.parents[1] / "src" / "hotich" / "load.py").read_text(encoding="utf-8")
    assert load_py.index('"staged_statistics.sql"') < load_py.index('"progress_delta.sql"')
    plan, rows = _plan_of_a_staged_day(national, statistics=True)
    assert rows == STAGED
    unplanned, unknown = _plan_of_a_staged_day(national, statistics=False)
    assert unknown < 0  # never analyzed: the planner guesses from the table's pages
    print(f"with statistics:\n{plan}\nwithout:\n{unplanned}")
