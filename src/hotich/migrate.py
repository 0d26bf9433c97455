"""Versioned, idempotent migrations of the national civil-status database.

Files ``include/sql/V<NNN>__<name>.sql`` are applied in order, each once, under an
advisory lock so that parallel district tasks never race; every file is also written to
be harmless when run twice (``IF NOT EXISTS``, ``CREATE OR REPLACE``). After them,
``include/sql/roles/grants.sql`` gives the group roles their privileges.

Migrating is a step of its own, under the owner role: ``python -m hotich.migrate`` (the
compose stack's ``airflow-init``). The pipeline only checks that the schema is at the
version it needs (:func:`check_schema`), so that its login needs no DDL rights; the dev
kit's local environment sets ``HOTICH_MIGRATE_ON_RUN`` so that ``make demo`` migrates.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from hotich.errors import IncidentError

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^V(\d{3})__[\w-]+\.sql$")
# An arbitrary constant: the advisory lock that serialises migrations.
_LOCK_KEY = 0x686F74696368  # "hotich"


def migration_files(sql_dir: Path) -> list[Path]:
    """The migration files of ``sql_dir``, in version order."""
    versions = {p: m for p in sql_dir.iterdir() if (m := _VERSION.match(p.name))}
    return sorted(versions, key=lambda p: int(versions[p].group(1)))


class SchemaOutdated(IncidentError, RuntimeError):
    """The national database is not at the schema version this code needs."""

    incident_kind = "schema_outdated"


def pending_migrations(engine: Engine, sql_dir: Path) -> list[str]:
    """The migration files not applied yet (all of them on an empty database)."""
    names = [p.name for p in migration_files(sql_dir)]
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('recon.schema_migration')")).scalar()
        if exists is None:
            return names
        done = set(conn.execute(text("SELECT version FROM recon.schema_migration")).scalars())
    return [n for n in names if n not in done]


def check_schema(engine: Engine, sql_dir: Path) -> None:
    """Raise :class:`SchemaOutdated`, naming what is missing, unless every migration is applied."""
    missing = pending_migrations(engine, sql_dir)
    if missing:
        raise SchemaOutdated(
            f"the national database lacks the migrations {', '.join(missing)}: run"
            " `python -m hotich.migrate` as the owner role (docs/reliability.md)"
        )


def migrate(engine: Engine, sql_dir: Path) -> list[str]:
    """Apply the migrations not yet applied; return the names of those applied."""
    applied: list[str] = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS recon"))
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS recon.schema_migration ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        done = set(conn.execute(text("SELECT version FROM recon.schema_migration")).scalars())
        for path in migration_files(sql_dir):
            if path.name in done:
                continue
            conn.exec_driver_sql(path.read_text(encoding="utf-8"))
            conn.execute(
                text("INSERT INTO recon.schema_migration (version) VALUES (:v)"), {"v": path.name}
            )
            applied.append(path.name)
            log.info("applied migration %s", path.name)
        conn.exec_driver_sql((sql_dir / "roles" / "grants.sql").read_text(encoding="utf-8"))
    return applied


def main(argv: list[str] | None = None) -> int:
    """``python -m hotich.migrate [URI]``: migrate the national database (default: the
    ``civil_status_db`` connection, or ``HOTICH_DATABASE_URL``)."""
    import sys

    from hotich.config import Settings
    from hotich.connections import civil_status_uri
    from hotich.db import engine_for, masked

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = sys.argv[1:] if argv is None else argv
    settings = Settings.from_env()
    uri = args[0] if args else civil_status_uri(settings)
    engine = engine_for(uri)
    try:
        applied = migrate(engine, settings.sql_dir)
    finally:
        engine.dispose()
    print(
        f"{masked(uri)}: {len(applied)} migrations applied ({', '.join(applied) or 'none pending'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
