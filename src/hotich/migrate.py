"""Versioned, idempotent migrations of the national civil-status database.

Files ``include/sql/V<NNN>__<name>.sql`` are applied in order, each once, under an
advisory lock so that parallel district tasks never race; every file is also written to
be harmless when run twice (``IF NOT EXISTS``, ``CREATE OR REPLACE``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^V(\d{3})__[\w-]+\.sql$")
# An arbitrary constant: the advisory lock that serialises migrations.
_LOCK_KEY = 0x686F74696368  # "hotich"


def migration_files(sql_dir: Path) -> list[Path]:
    """The migration files of ``sql_dir``, in version order."""
    versions = {p: m for p in sql_dir.iterdir() if (m := _VERSION.match(p.name))}
    return sorted(versions, key=lambda p: int(versions[p].group(1)))


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
    return applied
