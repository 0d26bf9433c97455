"""What a person may decide about a record the rules could not settle, and the verdict each
decision gives (docs/ledger.md, Decisions).

The contract's table, as data: :data:`ALLOWED` says which decisions each kind of waiting
person may get, :data:`VERDICTS` what the record's new ledger row says. :func:`waiting`
tells what a person waits for, from the record's status, the person's reasons and
whether the record gave an ID; :func:`check` refuses a decision the contract does not
allow, before anything is stored. The desk offers only :func:`allowed` decisions, and the
next run applies them. Decisions are kept append-only in ``recon.decision``
(``include/sql/V004__decisions.sql``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from hotich import model
from hotich.model import (
    DECIDED,
    LINK_AMBIGUOUS,
    LINK_NONE,
    LINKED,
    RETURNED,
    REVIEW_CODES,
    Status,
)


class Decision(StrEnum):
    """The contract's decisions."""

    LINK = "link"  # to a register person X
    CONFIRM = "confirm"  # the given ID
    NO_LINK = "no_link"
    RETURN = "return"  # to the district, with a note


class Waiting(StrEnum):
    """What a person waits for a decision on."""

    GIVEN_ID_IN_REVIEW = "given_id_in_review"  # the record is in review for this person's ID
    LINK_AMBIGUOUS = "link_ambiguous"  # loaded without an ID: several register persons fit
    LINK_NONE = "link_none"  # loaded without an ID: none fits


# The contract's "allowed for" column.
ALLOWED: dict[Decision, frozenset[Waiting]] = {
    Decision.LINK: frozenset(Waiting),
    Decision.CONFIRM: frozenset({Waiting.GIVEN_ID_IN_REVIEW}),
    Decision.NO_LINK: frozenset({Waiting.LINK_AMBIGUOUS}),
    Decision.RETURN: frozenset(Waiting),
}

# The contract's "new verdict" column: the status and the codes the decision adds.
VERDICTS: dict[Decision, tuple[Status, frozenset[str]]] = {
    Decision.LINK: (Status.LOADED, frozenset({DECIDED, LINKED})),
    Decision.CONFIRM: (Status.LOADED, frozenset({DECIDED})),
    Decision.NO_LINK: (Status.LOADED, frozenset({DECIDED, LINK_NONE})),
    Decision.RETURN: (Status.QUARANTINED, frozenset({RETURNED})),
}

_PERSONAL_ID = re.compile(r"[0-9]{12}")


class DecisionRefused(ValueError):
    """A decision the contract does not allow for that person, or one missing what it
    needs (a reason; a return's note; a link's register person)."""


def waiting(status: str, reasons: list[str], gave_id: bool) -> Waiting | None:
    """What one person waits for: their record's ``status``, the person's own reason
    codes, and whether the record gave them an ID; None when nothing is waited for."""
    if status == Status.REVIEW.value and gave_id and REVIEW_CODES & set(reasons):
        return Waiting.GIVEN_ID_IN_REVIEW
    if status == Status.LOADED.value and not gave_id:
        if LINK_AMBIGUOUS in reasons:
            return Waiting.LINK_AMBIGUOUS
        if LINK_NONE in reasons:
            return Waiting.LINK_NONE
    return None


def allowed(kind: Waiting | None) -> list[Decision]:
    """The decisions the desk may offer for ``kind``, in the contract's order."""
    return [d for d in Decision if kind is not None and kind in ALLOWED[d]]


@dataclass(frozen=True)
class Proposed:
    """A decision as an officer gives it, before it is stored."""

    decision: Decision
    reason: str
    personal_id: str | None = None  # a link's register person
    note: str | None = None  # a return's note for the district


def check(kind: Waiting | None, proposed: Proposed) -> None:
    """Refuse (:class:`DecisionRefused`) what the contract does not allow; the message
    says what is wrong in the officer's terms, and quotes no ID."""
    if kind is None:
        raise DecisionRefused("this person waits for no decision")
    if kind not in ALLOWED[proposed.decision]:
        offered = ", ".join(allowed(kind))
        raise DecisionRefused(
            f"{proposed.decision} is not allowed for a person who waits as {kind}; "
            f"allowed: {offered}"
        )
    if not proposed.reason.strip():
        raise DecisionRefused("a decision needs a reason")
    if proposed.decision is Decision.LINK:
        if not proposed.personal_id or not _PERSONAL_ID.fullmatch(proposed.personal_id):
            raise DecisionRefused("a link needs the register person's 12-digit personal ID")
    elif proposed.personal_id is not None:
        raise DecisionRefused(f"{proposed.decision} takes no personal ID")
    if proposed.decision is Decision.RETURN and not (proposed.note or "").strip():
        raise DecisionRefused("a return needs a note for the district")


# --- who waits, and what a run does with the decisions (pure, over frames) ---------------

WAITING_PERSON_COLUMNS = ("source_key", "role", "kind", "reasons", "given_id", "decided")


def waiting_persons(verdicts: pd.DataFrame, person_verdicts: pd.DataFrame) -> pd.DataFrame:
    """The persons a run's verdicts leave waiting for a decision (:func:`waiting`, over
    frames): ``verdicts`` one row per record (``source_key``, ``status``),
    ``person_verdicts`` one per person (``source_key``, ``role``, ``reasons``,
    ``personal_id`` as the record gave it). ``WAITING_PERSON_COLUMNS``."""
    if person_verdicts.empty:
        return pd.DataFrame(columns=list(WAITING_PERSON_COLUMNS))
    pv = person_verdicts.reset_index(drop=True)
    status = pv["source_key"].map(verdicts.set_index("source_key")["status"]).to_numpy()
    given = pv["personal_id"].astype(object)
    gave_id = (given.notna() & (given.fillna("").astype(str).str.strip() != "")).to_numpy()
    # Each person's codes as one bit mask (decision 0003): the tests below are whole-column
    # bit tests, and the lists are copied only for the few persons who wait.
    masks = model.code_masks(pv["reasons"])

    def has(codes: frozenset[str] | set[str]) -> np.ndarray:
        return (masks & model.code_bits(codes)) != 0

    kind = np.full(len(pv), None, dtype=object)
    loaded_without = (status == Status.LOADED.value) & ~gave_id
    kind[loaded_without & has({LINK_NONE})] = Waiting.LINK_NONE.value
    kind[loaded_without & has({LINK_AMBIGUOUS})] = Waiting.LINK_AMBIGUOUS.value
    kind[(status == Status.REVIEW.value) & gave_id & has(REVIEW_CODES)] = (
        Waiting.GIVEN_ID_IN_REVIEW.value
    )
    waits = np.flatnonzero(pd.notna(kind))
    return pd.DataFrame(
        {
            "source_key": pv["source_key"].to_numpy(dtype=object)[waits],
            "role": pv["role"].to_numpy(dtype=object)[waits],
            "kind": kind[waits],
            "reasons": pd.Series(pv["reasons"].to_numpy(dtype=object)[waits]).map(list),
            "given_id": given.where(gave_id, None).to_numpy(dtype=object)[waits],
            "decided": has({DECIDED})[waits],
        },
        columns=list(WAITING_PERSON_COLUMNS),
    )


class Outcome(StrEnum):
    """What a run did with a decision (``recon.decision_outcome``)."""

    APPLIED = "applied"
    STALE = "stale"  # the record changed content, or nobody of it waits any more


def triage(pending: pd.DataFrame, changed_keys: pd.Index | set[str]) -> pd.DataFrame:
    """Each pending decision (``include/sql/desk/pending_decisions.sql``) with its
    :class:`Outcome`: stale when this run read the record with new content (the rules
    process it afresh), when its content is not the one decided on, or when the person
    waits no longer; applied otherwise."""
    out = pending.copy()
    stale = (
        out["source_key"].isin(changed_keys)
        | (out["content_hash"] != out["current_hash"])
        | ~out["waiting"].astype(bool)
    )
    out["outcome"] = Outcome.APPLIED.value
    out.loc[stale, "outcome"] = Outcome.STALE.value
    return out


def apply_to_persons(person_verdicts: pd.DataFrame, applied: pd.DataFrame) -> pd.DataFrame:
    """``person_verdicts`` (the rules' verdicts) with each applied decision's person given
    the contract's verdict (:data:`VERDICTS`): ``link`` loads the chosen ID, ``confirm``
    the given one, ``no_link`` none. A ``return`` leaves the persons as they are: it
    quarantines the whole record (:func:`returned_keys`)."""
    pv = person_verdicts.reset_index(drop=True).copy()
    if applied.empty or pv.empty:
        return pv
    by_person = applied.set_index(["source_key", "role"])
    key = pd.MultiIndex.from_frame(pv[["source_key", "role"]])
    decision = pd.Series(by_person["decision"].reindex(key).to_numpy(), index=pv.index)
    chosen = pd.Series(by_person["personal_id"].reindex(key).to_numpy(), index=pv.index)
    for made in (Decision.LINK, Decision.CONFIRM, Decision.NO_LINK):
        hit = decision == made.value
        if not hit.any():
            continue
        codes = sorted(VERDICTS[made][1])
        pv.loc[hit, "reasons"] = pd.Series([codes] * int(hit.sum()), index=pv.index[hit])
        loaded = {Decision.LINK: chosen, Decision.CONFIRM: pv["personal_id"]}.get(made)
        pv.loc[hit, "loaded_personal_id"] = None if loaded is None else loaded[hit]
        pv.loc[hit, "loaded_name"] = pv.loc[hit, "source_name"]
        for col in ("link_name_level", "link_date_level"):
            pv.loc[hit, col] = None
        pv.loc[hit, "link_corroborated"] = pd.NA
    return pv


def returned_keys(applied: pd.DataFrame) -> set[str]:
    """The records an applied ``return`` sends back to the district."""
    return set(applied.loc[applied["decision"] == Decision.RETURN.value, "source_key"])
