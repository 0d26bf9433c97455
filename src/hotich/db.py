"""Database connections by URI: SQLAlchemy engines, psycopg2 connections, masking.

Any PostgreSQL (national database) or PostgreSQL, MySQL/MariaDB and SQLite (district
sources) is named by an Airflow-style URI. The embedded PostgreSQL that ``make demo``
starts belongs to the dev kit (``hotich_dev.embedded``).
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

log = logging.getLogger(__name__)


def with_database(uri: str, database: str) -> str:
    """The same server URI, naming another database."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def sqlalchemy_url(uri: str) -> str:
    """An Airflow-style connection URI as a SQLAlchemy URL with an explicit driver."""
    scheme, sep, rest = uri.partition("://")
    driver = {
        "postgres": "postgresql+psycopg2",
        "postgresql": "postgresql+psycopg2",
        "mysql": "mysql+pymysql",
        "mariadb": "mysql+pymysql",
        "sqlite": "sqlite",
    }.get(scheme, scheme)
    return f"{driver}{sep}{rest}"


def pg_connect(uri: str):
    """A psycopg2 connection from an Airflow-style or SQLAlchemy PostgreSQL URI."""
    import psycopg2

    return psycopg2.connect(
        sqlalchemy_url(uri).replace("postgresql+psycopg2://", "postgresql://", 1)
    )


def ensure_database(server_uri: str, database: str) -> str:
    """Create ``database`` on a PostgreSQL server if missing; return its URI."""
    engine = create_engine(sqlalchemy_url(server_uri), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
                log.info("created database %s", database)
    finally:
        engine.dispose()
    return with_database(server_uri, database)


def engine_for(uri: str, **kwargs) -> Engine:
    """A SQLAlchemy engine for an Airflow-style or SQLAlchemy URI."""
    return create_engine(sqlalchemy_url(uri), **kwargs)


def masked(uri: str) -> str:
    """The URI with its password hidden, for logs."""
    try:
        return make_url(sqlalchemy_url(uri)).render_as_string(hide_password=True)
    except Exception:  # an unparseable URI is still worth naming, minus credentials
        parts = urlsplit(uri)
        host = unquote(parts.hostname or "")
        return f"{parts.scheme}://{host}{parts.path}"
