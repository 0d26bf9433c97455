"""``recon.decision``, ``recon.decision_outcome`` and ``recon.access_log`` (migration V004):
append-only for every role, the writer may only insert and read, and the contract's
requirements of a decision are constraints of the table. A real PostgreSQL."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import text

from hotich import db
from hotich.config import Settings
from hotich.migrate import migrate

SQL_DIR = Settings().sql_dir
DECISION = (
    "INSERT INTO recon.decision (source_key, role, decision, personal_id, reason, note,"
    " decided_by, content_hash) VALUES (%s, %s, %s, %s, %s, %s, 'officer1', 'h1')"
)


@pytest.fixture
def migrated(fresh_database):
    engine = db.engine_for(fresh_database)
    with engine.begin() as conn:  # the roles, so that grants.sql gives the writer its share
        conn.execute(text((SQL_DIR / "roles" / "roles.sql").read_text(encoding="utf-8")))
    assert "V004__decisions.sql" in migrate(engine, SQL_DIR)
    assert migrate(engine, SQL_DIR) == []  # applied once
    engine.dispose()
    run(fresh_database, (SQL_DIR / "V004__decisions.sql").read_text(encoding="utf-8"))  # again
    return fresh_database


def run(uri: str, sql: str, params: tuple | None = None) -> None:
    conn = db.pg_connect(uri)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def test_decisions_and_the_access_log_are_append_only_for_everyone(migrated):
    run(
        migrated, DECISION, ("901:birth:4", "subject", "link", "027218000001", "mẹ trùng tên", None)
    )
    run(
        migrated,
        "INSERT INTO recon.access_log (who, action, source_key) VALUES ('o1', 'view', 'k')",
    )
    run(
        migrated,
        "INSERT INTO recon.decision_outcome (decision_id, run_id, outcome) VALUES (1, 'r', 'applied')",
    )
    for table in ("decision", "decision_outcome", "access_log"):
        for change in (f"UPDATE recon.{table} SET run_id = run_id" if table == "decision_outcome"
                       else f"UPDATE recon.{table} SET at = at" if table == "access_log"
                       else "UPDATE recon.decision SET reason = 'changed'",
                       f"DELETE FROM recon.{table}", f"TRUNCATE recon.{table} CASCADE"):  # fmt: skip
            # The test's login is the server's superuser: the trigger refuses it too.
            with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="append-only"):
                run(migrated, change)
    engine = db.engine_for(migrated)
    with engine.connect() as conn:
        privileges = {
            (t, p): conn.execute(
                text("SELECT has_table_privilege('hotich_writer', :t, :p)"),
                {"t": f"recon.{t}", "p": p},
            ).scalar()
            for t in ("decision", "decision_outcome", "access_log")
            for p in ("INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE")
        }
        assert conn.execute(text("SELECT count(*) FROM recon.decision")).scalar() == 1
    engine.dispose()
    assert {k for k, v in privileges.items() if v} == {
        (t, p) for t in ("decision", "decision_outcome", "access_log") for p in ("INSERT", "SELECT")
    }


@pytest.mark.parametrize(
    ("decision", "personal_id", "reason", "note"),
    [
        ("link", None, "x", None),  # a link names the register person
        ("link", "27218000001", "x", None),  # of 12 digits
        ("confirm", "027218000001", "x", None),  # only a link names one
        ("return", None, "x", None),  # a return carries a note for the district
        ("return", None, "x", "  "),
        ("no_link", None, " ", None),  # every decision has a reason
        ("merge", None, "x", None),  # only the contract's decisions
    ],
)
def test_a_decision_missing_what_the_contract_asks_is_refused(
    migrated, decision, personal_id, reason, note
):
    with pytest.raises(psycopg2.errors.CheckViolation):
        run(migrated, DECISION, ("901:birth:4", "subject", decision, personal_id, reason, note))
