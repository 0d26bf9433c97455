"""The district sources' schemas (docs/district-sources.md), one copy for the dev kit and tests.

The SQL lives in ``hotich_dev/sql/``: a modern district's tables, and a legacy district's
wide table in its MySQL/MariaDB form, from which the SQLite form is derived.
"""

from __future__ import annotations

from pathlib import Path

_SQL = Path(__file__).resolve().parent / "sql"


def _read(name: str) -> str:
    lines = (_SQL / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("--")).strip() + "\n"


#: The modern flavor's tables (so_ho_tich, khai_sinh, khai_tu, ket_hon); ``;``-separated.
MODERN_DDL = _read("district_modern.sql")


def modern_statements() -> list[str]:
    """The modern tables' statements one by one (for drivers that run one at a time)."""
    return [s.strip() for s in MODERN_DDL.split(";") if s.strip()]


def legacy_ddl(dialect: str) -> str:
    """The legacy ``hotich`` table for ``mysql`` (MariaDB) or ``sqlite``: one statement."""
    mysql = _read("district_legacy.sql").rstrip().rstrip(";")
    if dialect == "mysql":
        return mysql
    if dialect == "sqlite":
        return mysql.replace("INT AUTO_INCREMENT PRIMARY KEY", "INTEGER PRIMARY KEY").replace(
            " DEFAULT CHARSET=utf8mb4", ""
        )
    raise ValueError(f"no legacy table for dialect {dialect!r}: mysql or sqlite")
