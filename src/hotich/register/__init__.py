"""The national population register: a client for its HTTP API and a local simulator.

``hotich.register.client`` speaks ``include/contracts/population-api.yaml`` (docs/register-api.md) and knows nothing of
the simulator; ``hotich_dev.simulator`` implements the same contract for tests,
benchmarks and local runs (``python -m hotich_dev.population_api``).
"""

from __future__ import annotations

from hotich.model import (
    BATCH_GET_MAX_IDS,
    CITIZEN_COLUMNS,
    MATCH_MAX_CANDIDATES,
    MATCH_MAX_QUERIES,
)

__all__ = [
    "BATCH_GET_MAX_IDS",
    "CITIZEN_COLUMNS",
    "MATCH_MAX_CANDIDATES",
    "MATCH_MAX_QUERIES",
]
