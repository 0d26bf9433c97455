"""The quality history page: what it says of a district whose latest run its gate blocked."""

from __future__ import annotations

import pandas as pd

from hotich.config import Settings
from hotich.ops.quality_page import render

HISTORY = pd.DataFrame(
    {"run_id": ["seed"], "recorded_at": pd.to_datetime(["2026-12-03 12:00+00:00"]),
     "reason": ["DATE_INVALID"], "share": [0.1], "failing": [1]}
)  # fmt: skip
LATEST = pd.DataFrame(
    [("seed", "birth", "The date of birth exists.", "DATE_INVALID", 10, 1)],
    columns=["run_id", "record_type", "rule", "reason", "evaluated", "failing"],
)


def gate(decision: str) -> pd.DataFrame:
    return pd.DataFrame(
        [("run-2", decision, "The date of birth exists: 3 of 10 records failing (30.0%)")],
        columns=["run_id", "decision", "summary"],
    )


def page(found: dict) -> str:
    return render("902", found, Settings().templates_dir, "/hotich/")


def test_a_blocked_latest_run_is_named_with_its_line_and_a_link_to_the_gate() -> None:
    # The blocked run wrote no history: without this the page shows only the run before.
    html = page({"history": HISTORY, "latest": LATEST, "gate": gate("block")})
    assert 'id="blocked"' in html and "run-2" in html and "3 of 10 records failing" in html
    assert 'href="/hotich/quality/902/gate"' in html


def test_no_banner_after_a_pass_or_a_release_or_without_any_decision() -> None:
    for found in ({"gate": gate("pass")}, {"gate": gate("released")}, {"gate": gate("x")[:0]}, {}):
        html = page({"history": HISTORY, "latest": LATEST, **found})
        assert 'id="blocked"' not in html
