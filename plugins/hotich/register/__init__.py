"""The national population register: a client for its HTTP API and a local simulator.

``hotich.register.client`` speaks ``contracts/population-api.yaml`` and knows nothing of
the simulator; ``hotich.register.simulator`` implements the same contract for tests,
benchmarks and local runs (``python -m hotich.population_api``).
"""

from __future__ import annotations

CITIZEN_COLUMNS: tuple[str, ...] = (
    "so_dinh_danh",
    "ho_ten",
    "gioi_tinh",
    "ngay_sinh",
    "noi_dang_ky_khai_sinh",
    "ho_ten_cha",
    "ho_ten_me",
    "trang_thai",
    "ngay_chet",
)
"""The properties of the contract's ``Citizen`` schema, in the contract's order."""

BATCH_GET_MAX_IDS = 500
MATCH_MAX_QUERIES = 100
MATCH_MAX_CANDIDATES = 50
"""A query answered with this many candidates may have been cut (LINK_AMBIGUOUS)."""

__all__ = [
    "BATCH_GET_MAX_IDS",
    "CITIZEN_COLUMNS",
    "MATCH_MAX_CANDIDATES",
    "MATCH_MAX_QUERIES",
]
