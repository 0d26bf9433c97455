"""Quality spikes: a district's run against its own past (docs/reliability.md).

A run spikes when its quarantine rate is above ``HOTICH_QUALITY_SPIKE_MULTIPLE`` times the
district's median over its last ``HOTICH_QUALITY_SPIKE_RUNS`` runs (and at least
``HOTICH_QUALITY_SPIKE_FLOOR``), or when a reason code reaches a share of the records a rule
of it evaluated that it never reached in those runs (and at least the floor). Runs with
fewer than ``HOTICH_QUALITY_SPIKE_MIN_RECORDS`` records are too small to say, and a district
with fewer than ``HOTICH_QUALITY_SPIKE_MIN_HISTORY`` such runs has no past to compare with.
The past is ``recon.run_summary`` and ``ops.quality_result`` (quality history, decision
0012); the SQL is in ``include/sql/ops/quality_baseline_*.sql``. Pure, but for
:func:`baseline`, which reads them on a psycopg2 cursor.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hotich.config import Settings


@dataclass(frozen=True)
class Baseline:
    """A district's past runs: their quarantine rates, newest first, and per reason code the
    highest share of records a rule of it failed in any of them."""

    rates: tuple[float, ...] = ()
    shares: Mapping[str, float] = field(default_factory=dict)


def reason_shares(rule_results: pd.DataFrame) -> dict[str, float]:
    """Per reason code, the highest share of its evaluated records a rule of it failed
    (``hotich.validate.rule_results``; rules that evaluated nothing are left out)."""
    rated = rule_results[rule_results["evaluated"] > 0]
    if rated.empty:
        return {}
    share = rated["failing"] / rated["evaluated"]
    return {str(k): float(v) for k, v in share.groupby(rated["reason"]).max().items()}


def judged(records: int, past: Baseline, s: Settings) -> bool:
    """Whether a run can be held against the district's past: enough records, and a past."""
    return records >= s.quality_spike_min_records and len(past.rates) >= s.quality_spike_min_history


def spike(
    quarantined: int, records: int, shares: Mapping[str, float], past: Baseline, s: Settings
) -> str | None:
    """The ``quality_spike`` line of a district's run, or None when it is like its past (or
    cannot be :func:`judged`)."""
    if not judged(records, past, s):
        return None
    found = []
    rate, median = quarantined / records, statistics.median(past.rates)
    if rate >= s.quality_spike_floor and rate > s.quality_spike_multiple * median:
        found.append(f"quarantine rate {rate:.1%} ({quarantined} of {records} records) is over"
                     f" {s.quality_spike_multiple:g} x its median {median:.1%} of the last"
                     f" {len(past.rates)} runs")  # fmt: skip
    for reason, share in sorted(shares.items()):
        before = past.shares.get(reason, 0.0)
        if share >= s.quality_spike_floor and share > before:
            found.append(f"{reason} failed {share:.1%} of the records a rule of it evaluated,"
                         f" never more than {before:.1%} before")  # fmt: skip
    return "; ".join(found) or None


def baseline(cur, sql_dir: Path, district_code: str, run_id: str, s: Settings) -> Baseline:
    """The district's last ``quality_spike_runs`` loaded runs with enough records (this run
    left out: a district read again in the same run)."""
    params = {"district_code": district_code, "run_id": run_id,
              "runs": s.quality_spike_runs, "min_records": s.quality_spike_min_records}  # fmt: skip
    cur.execute(
        (sql_dir / "ops" / "quality_baseline_rates.sql").read_text(encoding="utf-8"), params
    )
    rates = tuple(float(r) for (r,) in cur.fetchall())
    cur.execute(
        (sql_dir / "ops" / "quality_baseline_shares.sql").read_text(encoding="utf-8"), params
    )
    return Baseline(rates, {str(k): float(v) for k, v in cur.fetchall()})
