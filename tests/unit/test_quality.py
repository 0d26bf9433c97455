"""Quality spikes: a district's run against its past (hotich.quality)."""

from __future__ import annotations

import pandas as pd

from hotich.config import Settings
from hotich.quality import Baseline, reason_shares, spike
from hotich.validate import RULE_RESULT_COLUMNS

S = Settings()  # x3 the median, floor 5 %, at least 20 records and 3 past runs
PAST = Baseline(rates=(0.02, 0.04, 0.03, 0.5), shares={"REQUIRED_MISSING": 0.04})


def test_the_rate_against_the_median_and_the_floor():
    assert spike(10, 100, {}, PAST, S) is None  # 10 % <= 3 x 3.5 %
    assert spike(11, 100, {}, PAST, S) == (
        "quarantine rate 11.0% (11 of 100 records) is over 3 x its median 3.5% of the last 4 runs"
    )
    calm = Baseline(rates=(0.0, 0.0, 0.0))
    assert spike(4, 100, {}, calm, S) is None  # over 3 x 0, but under the floor
    assert spike(5, 100, {}, calm, S) is not None


def test_a_reason_share_never_reached_before():
    assert spike(0, 100, {"REQUIRED_MISSING": 0.04}, PAST, S) is None  # reached before
    assert spike(0, 100, {"REQUIRED_MISSING": 0.041}, PAST, S) is None  # under the floor
    assert spike(0, 100, {"REQUIRED_MISSING": 0.06, "ID_FORMAT": 0.05}, PAST, S) == (
        "ID_FORMAT failed 5.0% of the records a rule of it evaluated, never more than 0.0%"
        " before; REQUIRED_MISSING failed 6.0% of the records a rule of it evaluated, never"
        " more than 4.0% before")  # fmt: skip


def test_small_runs_and_short_pasts_are_not_judged():
    assert spike(19, 19, {"ID_FORMAT": 1.0}, PAST, S) is None
    assert spike(50, 100, {}, Baseline(rates=(0.0, 0.0)), S) is None


def test_reason_shares_take_each_reasons_worst_rule():
    rows = pd.DataFrame([
        ("birth", "a", "x", "c", "DATE_INVALID", 10, 2),
        ("birth", "b", "x", "c", "DATE_INVALID", 4, 2),
        ("death", "c", "x", "c", "DATE_INVALID", 0, 0),
        ("death", "d", "x", "c", "ID_FORMAT", 0, 0),
    ], columns=list(RULE_RESULT_COLUMNS))  # fmt: skip
    assert reason_shares(rows) == {"DATE_INVALID": 0.5}
    assert reason_shares(rows.iloc[0:0]) == {}


def test_run_labels_are_unique_local_times():
    from hotich.ops.quality_page import run_labels

    t = pd.Timestamp("2026-12-02T18:00:05Z")
    assert run_labels([t, t, t + pd.Timedelta(days=1)]) == [
        "12-03 01:00:05", "12-03 01:00:05 (2)", "12-04 01:00:05"]  # fmt: skip
