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
