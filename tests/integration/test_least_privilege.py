"""Least privilege on the national database: migrations are the owner's step, and the
pipeline's login (a member of hotich_writer) reads and writes rows but cannot create,
alter or drop anything; the pipeline then only checks the schema version."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from sqlalchemy import text

from hotich import db, pipeline
from hotich.config import Settings
from hotich.migrate import SchemaOutdated, migrate, migration_files
from hotich.ops.incidents import classify
from register_fixtures import register_client
from tests.integration.pipeline_kit import query, run_context
from tests.integration.test_pipeline import EXPECTED_901, REGISTER, district_901, ledger

ROLES_SQL = Settings().sql_dir / "roles" / "roles.sql"


def _as_user(uri: str, user: str, password: str) -> str:
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


@pytest.fixture(scope="module")
def register():
    with register_client(REGISTER) as client:
        yield client


@pytest.fixture
def writer_login(external_pg):
    """A fresh national database migrated by the owner, and a login that is only a writer."""
    name = f"hotich_lp_{uuid.uuid4().hex[:8]}"
    user, password = f"hotich_pipeline_{uuid.uuid4().hex[:6]}", secrets.token_hex(8)
    owner_uri = db.ensure_database(external_pg, name)
    admin = db.engine_for(external_pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(ROLES_SQL.read_text(encoding="utf-8"))
        conn.execute(text(f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE hotich_writer"))
    owner = db.engine_for(owner_uri, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:  # PostgreSQL before 15 lets everyone create in public
        conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    owner.dispose()
    try:
        yield owner_uri, _as_user(owner_uri, user, password)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {user}"))
        admin.dispose()


def test_the_pipeline_runs_as_a_writer_that_cannot_change_the_schema(
    tmp_path, writer_login, register
):
    owner_uri, writer_uri = writer_login
    district, uris = district_901(tmp_path)
    # As a deployment runs it: migrate_on_run off.
    base = run_context(writer_uri, tmp_path / "data", "run-lp")
    ctx = pipeline.RunContext("run-lp", base.run_date, Settings(data_dir=tmp_path / "data"),
                              writer_uri)  # fmt: skip

    # Not migrated yet: the pipeline says what to do instead of trying DDL.
    with pytest.raises(SchemaOutdated, match="python -m hotich.migrate") as err:
        pipeline.prepare_database(ctx)
    assert classify(err.value) == "schema_outdated"

    engine = db.engine_for(owner_uri)
    every = [p.name for p in migration_files(ctx.settings.sql_dir)]
    assert every[0] == "V001__schema.sql" and migrate(engine, ctx.settings.sql_dir) == every
    engine.dispose()
    assert pipeline.prepare_database(ctx) == []  # checked, nothing applied

    # The writer takes and gives back the district's lease (recon.district_lease) too.
    out = pipeline.extract_district(ctx, district, uris.__getitem__)
    assert query(owner_uri, "SELECT run_id FROM recon.district_lease") == [("run-lp",)]
    out |= pipeline.validate_district(ctx, district.code)
    out |= pipeline.reconcile_district(ctx, district.code, register)
    out |= pipeline.load_district(ctx, district.code)
    assert ledger(owner_uri, "run-lp") == EXPECTED_901
    assert query(owner_uri, "SELECT count(*) FROM recon.district_lease") == [(0,)]
    assert pipeline.release_leases(ctx) == []

    conn = psycopg2.connect(writer_uri)
    conn.autocommit = True
    for ddl in ("CREATE TABLE recon.intruder (x int)", "DROP TABLE civil.person",
                "ALTER TABLE recon.verdict ADD COLUMN x int", "CREATE SCHEMA intruder",
                "CREATE TABLE public.intruder (x int)"):  # fmt: skip
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(ddl)
    conn.close()
    assert query(owner_uri, "SELECT count(*) FROM civil.person") != [(0,)]
