"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.pipeline_kit import national_database


@pytest.fixture
def national(embedded_pg) -> Iterator[str]:
    """A fresh, migrated-on-first-run national database on the embedded PostgreSQL."""
    with national_database(embedded_pg) as uri:
        yield uri
