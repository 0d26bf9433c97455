"""The quality gate's decision: a table of rule results to pass, warn or block."""

from __future__ import annotations

import pandas as pd

from hotich.gates import GateDecision, Thresholds, decide


def rules(*rows: tuple[str, str, int, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [("birth", rule, "expect_x", "c", reason, ev, fail) for rule, reason, ev, fail in rows],
        columns=["record_type", "rule", "expectation", "columns", "reason", "evaluated",
                 "failing"],
    )  # fmt: skip


T = Thresholds(rule_warn=0.05, rule_block=0.10, quarantine_warn=None, quarantine_block=None)


def test_a_rule_over_its_block_share_blocks_and_the_line_names_it():
    gate = decide(rules(("rule X", "DATE_INVALID", 2000, 412), ("rule Y", "ID_FORMAT", 2000, 3)),
                  2000, 412, None, T)  # fmt: skip
    assert gate.decision == "block"
    assert gate.summary == "rule X: 412 of 2,000 records failing (20.6%) > block at 10%"


def test_warn_pass_and_small_rules_not_judged():
    assert decide(rules(("r", "A", 100, 6)), 100, 6, None, T).decision == "warn"
    assert decide(rules(("r", "A", 100, 5)), 100, 5, None, T).decision == "pass"
    assert decide(rules(("r", "A", 10, 10)), 10, 10, None, T).decision == "pass"  # < 20 evaluated


def test_the_quarantine_rate_and_the_spike_are_rules_too():
    t = Thresholds(quarantine_block=0.3, spike="block")
    assert decide(rules(), 100, 31, None, t).decision == "block"
    spiked = decide(rules(), 100, 1, "quarantine rate 40%", t)
    assert spiked.decision == "block" and "quality spike (block)" in spiked.summary
    assert decide(rules(), 100, 1, "x", Thresholds(spike="pass")) == GateDecision("pass", [])


def test_a_rule_named_by_its_sentence_reads_without_its_full_stop():
    gate = decide(rules(("The date of birth exists.", "DATE_INVALID", 10, 3)), 10, 3, None,
                  Thresholds(rule_block=0.10, min_evaluated=5))  # fmt: skip
    assert (
        gate.summary == "The date of birth exists: 3 of 10 records failing (30.0%) > block at 10%"
    )


def test_the_gate_pages_rows_show_no_nan_and_local_times():
    """pandas 3 reads a text column with NULLs as ``str`` with NaN: a template would print
    ``nan`` for the block no one released."""
    import pandas as pd

    from hotich.ops.gate_page import page_records

    frame = pd.DataFrame(
        [("run-1", "block", None, None), ("run-2", "released", "op", "checked")],
        columns=["run_id", "decision", "released_by", "release_reason"],
    )
    frame["decided_at"] = pd.to_datetime(["2026-12-03 12:13:59.33+00:00"] * 2)
    assert page_records(frame) == [
        {"run_id": "run-1", "decision": "block", "released_by": None, "release_reason": None,
         "decided_at": "2026-12-03 19:13"},
        {"run_id": "run-2", "decision": "released", "released_by": "op",
         "release_reason": "checked", "decided_at": "2026-12-03 19:13"},
    ]  # fmt: skip
    assert page_records(frame.iloc[:0]) == []


def test_records_of_no_known_type_are_judged_over_the_districts_records():
    """Every record the ``unknown`` suite evaluates fails it (that is why it is there): 30
    of a legacy district's 1,000 records is 3 %, not 30 of 30."""
    unknown = rules(("The record type is birth, death or marriage.", "RECORD_TYPE", 30, 30))
    unknown["record_type"] = "unknown"
    assert decide(unknown, 1000, 30, None, T).decision == "pass"
    gate = decide(unknown, 200, 30, None, T)  # 15 %: still a block, over the district
    assert gate.decision == "block"
    assert gate.summary == (
        "The record type is birth, death or marriage: 30 of 200 records failing (15.0%)"
        " > block at 10%"
    )
