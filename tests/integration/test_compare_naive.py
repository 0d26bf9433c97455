"""The comparison benchmark's naive pipeline and hotich give the same verdicts.

``benchmarks/bench_compare.py pipeline`` races hotich against the pipeline a team would
write first (``benchmarks/naive_pipeline.py``); its speed ratio means something only if
both compute the same ledger. Here both run on a tiny generated province (its modern
districts on the embedded PostgreSQL, one register simulator) and every record's status,
reasons and personal ID must agree, with each other and with the generator's truth.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pandas as pd

from hotich_dev.synth.province import generate

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import bench_compare  # noqa: E402

RUN_DATE = __import__("datetime").date(2026, 11, 25)


def test_agreement_sees_a_difference() -> None:
    """The comparison itself can fail: one status, one reason or one ID changed is seen."""
    ledger = pd.DataFrame(
        {
            "source_key": ["1:birth:1", "1:birth:2", "1:birth:3"],
            "status": ["loaded", "review", "loaded"],
            "reasons": [["LINKED"], ["ID_NOT_FOUND"], []],
            "personal_id": ["027200000001", None, "027200000002"],
        }
    )
    same = bench_compare.agreement(ledger, ledger.copy())
    assert (same["status"], same["reasons"], same["personal_id"]) == (1.0, 1.0, 1.0)
    other = ledger.copy()
    other.loc[0, "personal_id"] = "027200000009"
    other.loc[1, "status"] = "loaded"
    other.loc[2, "reasons"] = ["NAME_DIACRITICS"]
    differ = bench_compare.agreement(ledger, other.iloc[:3])
    assert len(differ["differ"]) == 3
    assert bench_compare.agreement(ledger, other.iloc[:2])["only_hotich"] == 1


def test_naive_pipeline_agrees_with_hotich(embedded_pg, tmp_path) -> None:
    """Same verdicts, record by record, on the modern districts of a tiny province."""
    prefix = f"cmp_{uuid.uuid4().hex[:6]}_"
    province = tmp_path / "province"
    generate(0.002, 5, province, pg_url=embedded_pg, run_date=RUN_DATE, db_prefix=prefix)
    race = bench_compare.race_pipeline(
        province,
        embedded_pg,
        tmp_path / "work",
        RUN_DATE,
        db_prefix=prefix + "nat",
        only=["256", "260"],  # two of the modern districts: PostgreSQL, seconds
        fresh_processes=False,
    )
    assert race["records"] > 300
    for name in ("agreement", "hotich_vs_truth", "naive_vs_truth"):
        a = race[name]
        assert (a["only_hotich"], a["only_naive"]) == (0, 0), name
        assert a["differ"].empty, f"{name}:\n{a['differ'].head(10).to_string()}"
    # The naive side asks the register once per person; hotich in batches.
    assert race["naive"]["register_requests"] > 10 * race["hotich"]["register_requests"]
