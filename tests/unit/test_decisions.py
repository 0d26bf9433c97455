"""The contract's decisions table (docs/ledger.md, Decisions), as ``hotich.decisions``
holds it: who may get which decision, and the verdict each gives."""

from __future__ import annotations

import pytest

from hotich.decisions import (
    ALLOWED,
    VERDICTS,
    Decision,
    DecisionRefused,
    Proposed,
    Waiting,
    allowed,
    check,
    waiting,
)
from hotich.model import ALL_CODES, DECISION_CODES, QUARANTINE_CODES, Status

ID = "027218000001"


def test_the_table_is_the_contracts():
    # Written out from the contract's table, row by row.
    assert allowed(Waiting.GIVEN_ID_IN_REVIEW) == ["link", "confirm", "return"]
    assert allowed(Waiting.LINK_AMBIGUOUS) == ["link", "no_link", "return"]
    assert allowed(Waiting.LINK_NONE) == ["link", "return"]
    assert allowed(None) == []
    assert {d: (s.value, sorted(c)) for d, (s, c) in VERDICTS.items()} == {
        "link": ("loaded", ["DECIDED", "LINKED"]),
        "confirm": ("loaded", ["DECIDED"]),
        "no_link": ("loaded", ["DECIDED", "LINK_NONE"]),
        "return": ("quarantined", ["RETURNED"]),
    }
    assert set(ALLOWED) == set(Decision) == set(VERDICTS)


def test_decision_codes_are_codes_the_rules_never_give():
    assert DECISION_CODES == {"DECIDED", "RETURNED"} and DECISION_CODES <= ALL_CODES
    assert not DECISION_CODES & QUARANTINE_CODES  # validate's rules do not produce them


@pytest.mark.parametrize(
    ("status", "reasons", "gave_id", "expected"),
    [
        ("review", ["ID_NOT_FOUND"], True, Waiting.GIVEN_ID_IN_REVIEW),
        ("review", ["DOB_MISMATCH", "NAME_MISMATCH"], True, Waiting.GIVEN_ID_IN_REVIEW),
        # A marriage in review for the other spouse: this one waits for nothing.
        ("review", [], True, None),
        ("loaded", ["LINK_AMBIGUOUS"], False, Waiting.LINK_AMBIGUOUS),
        ("loaded", ["LINK_NONE", "LEGACY_ENCODING"], False, Waiting.LINK_NONE),
        ("loaded", ["LINKED"], False, None),
        ("loaded", [], True, None),  # loaded persons with an ID are settled
        ("quarantined", ["DATE_INVALID"], True, None),  # the district's to fix
    ],
)
def test_what_a_person_waits_for(status, reasons, gave_id, expected):
    assert waiting(status, reasons, gave_id) is expected


def test_allowed_decisions_pass():
    check(Waiting.GIVEN_ID_IN_REVIEW, Proposed(Decision.CONFIRM, "the register is behind"))
    check(Waiting.LINK_AMBIGUOUS, Proposed(Decision.LINK, "mother's name", personal_id=ID))
    check(Waiting.LINK_NONE, Proposed(Decision.RETURN, "unreadable", note="Ghi lại ngày sinh"))


@pytest.mark.parametrize(
    ("kind", "proposed", "message"),
    [
        (Waiting.LINK_NONE, Proposed(Decision.NO_LINK, "x"), "not allowed"),
        (Waiting.LINK_AMBIGUOUS, Proposed(Decision.CONFIRM, "x"), "not allowed"),
        (None, Proposed(Decision.LINK, "x", personal_id=ID), "waits for no decision"),
        (Waiting.LINK_NONE, Proposed(Decision.LINK, "  "), "needs a reason"),
        (Waiting.LINK_NONE, Proposed(Decision.LINK, "x"), "12-digit"),
        (Waiting.LINK_NONE, Proposed(Decision.LINK, "x", personal_id="27218000001"), "12-digit"),
        (Waiting.LINK_AMBIGUOUS, Proposed(Decision.NO_LINK, "x", personal_id=ID), "no personal ID"),
        (Waiting.LINK_NONE, Proposed(Decision.RETURN, "x", note=" "), "needs a note"),
    ],
)
def test_refused_decisions_say_why_and_quote_no_id(kind, proposed, message):
    with pytest.raises(DecisionRefused, match=message) as refused:
        check(kind, proposed)
    assert ID not in str(refused.value)


def test_status_values_match_the_ledgers():
    assert {s.value for s in Status} == {"loaded", "review", "quarantined"}


def test_waiting_persons_over_frames_agree_with_waiting_row_by_row():
    import pandas as pd

    from hotich.decisions import waiting, waiting_persons

    verdicts = pd.DataFrame({"source_key": ["b1", "b2", "m1", "d1"],
                             "status": ["review", "loaded", "review", "loaded"]})  # fmt: skip
    pv = pd.DataFrame({
        "source_key": ["b1", "b2", "m1", "m1", "d1"],
        "role": ["subject", "subject", "husband", "wife", "subject"],
        "reasons": [["ID_NOT_FOUND"], ["LINK_AMBIGUOUS"], ["NAME_MISMATCH"], ["LINK_NONE"],
                    ["DECIDED", "LINK_NONE"]],
        "personal_id": [ID, None, ID, None, None],
    })  # fmt: skip
    out = waiting_persons(verdicts, pv)
    expected = []
    for row in pv.itertuples():
        status = verdicts.set_index("source_key").loc[row.source_key, "status"]
        kind = waiting(status, row.reasons, bool(pd.notna(row.personal_id)))
        if kind is not None:
            expected.append((row.source_key, row.role, kind.value, "DECIDED" in row.reasons))
    assert (
        list(out[["source_key", "role", "kind", "decided"]].itertuples(index=False, name=None))
        == expected
    )
    assert ("m1", "wife") not in {(k, r) for k, r, *_ in expected}  # a spouse of a review record


def test_triage_and_apply_give_the_contracts_verdicts():
    import pandas as pd

    from hotich.decisions import apply_to_persons, returned_keys, triage

    pending = pd.DataFrame({
        "decision_id": [1, 2, 3, 4],
        "source_key": ["a", "b", "c", "d"], "role": ["subject"] * 4,
        "decision": ["link", "confirm", "return", "no_link"],
        "personal_id": [ID, None, None, None],
        "content_hash": ["h", "h", "h", "old"], "current_hash": ["h", "h", "h", "new"],
        "waiting": [True, True, True, True],
    })  # fmt: skip
    out = triage(pending, changed_keys={"b"})
    assert list(out["outcome"]) == ["applied", "stale", "applied", "stale"]
    applied = out[out["outcome"] == "applied"]
    assert returned_keys(applied) == {"c"}
    pv = pd.DataFrame({
        "source_key": ["a", "c", "x"], "role": ["subject"] * 3,
        "reasons": [["LINK_AMBIGUOUS"], ["ID_NOT_FOUND"], ["LINKED"]],
        "loaded_personal_id": [None, None, "027218000002"], "loaded_name": ["A", "C", "X"],
        "source_name": ["A", "C", "X"], "personal_id": [None, ID, None],
        "link_name_level": [None, None, "exact"], "link_date_level": [None, None, "agrees"],
        "link_corroborated": pd.array([pd.NA, pd.NA, True], dtype="boolean"),
    })  # fmt: skip
    decided = apply_to_persons(pv, applied)
    assert (
        decided.loc[0, "reasons"] == ["DECIDED", "LINKED"]
        and decided.loc[0, "loaded_personal_id"] == ID
    )
    assert decided.loc[1, "reasons"] == ["ID_NOT_FOUND"]  # a return quarantines the record instead
    assert decided.loc[2].equals(pv.loc[2])  # a person without a decision is left as it was
