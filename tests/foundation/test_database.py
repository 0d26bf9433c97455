"""The embedded PostgreSQL starts, answers and stops; migrations run on both paths."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from hotich import db
from hotich.config import Settings
from hotich.migrate import migrate
from hotich_dev import embedded


def test_embedded_postgres_starts_accepts_a_connection_and_stops(tmp_path):
    datadir = tmp_path / "pg"
    uri = embedded.embedded_uri(datadir)
    engine = db.engine_for(uri)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar() == 42
        assert "PostgreSQL" in conn.execute(text("SELECT version()")).scalar()
    engine.dispose()
    assert embedded.embedded_uri(datadir) == uri  # reused, not started twice
    assert embedded.stop_embedded(datadir) is True
    assert not (datadir / "postmaster.pid").exists()
    assert embedded.stop_embedded(datadir) is False


def test_migrations_are_idempotent_on_embedded_and_external(fresh_database):
    engine = db.engine_for(fresh_database)
    sql_dir = Settings().sql_dir
    first = migrate(engine, sql_dir)
    assert first and first[0].startswith("V001__")
    assert migrate(engine, sql_dir) == []
    with engine.connect() as conn:
        cols = (
            conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = 'recon' AND table_name = 'ledger' ORDER BY ordinal_position"
                )
            )
            .scalars()
            .all()
        )
        # Re-running the migration files by hand is harmless too.
        for name in first:
            conn.exec_driver_sql((sql_dir / name).read_text())
    engine.dispose()
    assert cols == [
        "run_id",
        "district_code",
        "record_type",
        "source_key",
        "status",
        "reasons",
        "personal_id",
        "processed_at",
    ]


def test_civil_status_uri_prefers_hotich_database_url(monkeypatch):
    from hotich.connections import civil_status_uri

    monkeypatch.setenv(
        "AIRFLOW_CONN_CIVIL_STATUS_DB", '{"conn_type": "postgres", "host": "h", "schema": "y"}'
    )
    monkeypatch.delenv("HOTICH_DATABASE_URL", raising=False)
    assert civil_status_uri(Settings()) == "postgresql://h/y"
    monkeypatch.setenv("HOTICH_DATABASE_URL", "postgresql://x@h/db")
    assert civil_status_uri(Settings()) == "postgresql://x@h/db"


def test_uris_for_engines_and_logs():
    assert (
        db.sqlalchemy_url("mysql://root:@127.0.0.1:3306/t")
        == "mysql+pymysql://root:@127.0.0.1:3306/t"
    )
    assert "secret" not in db.masked("postgresql://u:secret@h:5432/d")


def test_localenv_names_the_national_database_of_the_embedded_server(embedded_pg, monkeypatch):
    from hotich_dev import localenv

    monkeypatch.setattr(localenv.embedded, "embedded_uri", lambda: embedded_pg)
    base = {"PATH": "/usr/bin"}
    assert localenv.airflow_env(base)["AIRFLOW_CONN_CIVIL_STATUS_DB"] == db.with_database(
        embedded_pg, "civil_status"
    )
    env = localenv.airflow_env({**base, "HOTICH_NATIONAL_DB": "civil_status_demo_t"})
    assert env["AIRFLOW_CONN_CIVIL_STATUS_DB"] == db.with_database(
        embedded_pg, "civil_status_demo_t"
    )
    engine = db.engine_for(env["AIRFLOW_CONN_CIVIL_STATUS_DB"])  # created, and reachable
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar() == "civil_status_demo_t"
    engine.dispose()
    # What the environment names wins.
    named = localenv.airflow_env(
        {**base, "HOTICH_NATIONAL_DB": "x", "AIRFLOW_CONN_CIVIL_STATUS_DB": "postgresql://h/n"}
    )
    assert named["AIRFLOW_CONN_CIVIL_STATUS_DB"] == "postgresql://h/n"


def test_the_embedded_server_is_tuned_for_bulk_loads(embedded_pg):
    """A province's first load writes gigabytes of WAL: the dev kit's server checkpoints
    every 4 GB instead of PostgreSQL's 1 GB, set in its data directory and applied at once;
    starting it again changes nothing."""
    engine = db.engine_for(embedded_pg)
    try:
        with engine.connect() as conn:
            for name, value in embedded.BULK_LOAD_SETTINGS.items():
                assert conn.execute(text(f"SHOW {name}")).scalar() == value
            before = conn.execute(text("SELECT pg_conf_load_time()")).scalar()
    finally:
        engine.dispose()
    assert embedded.embedded_uri(Path(embedded_pg.split("host=")[1])) == embedded_pg
    engine = db.engine_for(embedded_pg)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_conf_load_time()")).scalar() == before
    finally:
        engine.dispose()
