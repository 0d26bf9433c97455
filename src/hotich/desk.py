"""The review desk's data: who waits for a decision, one record beside the register, and
storing a decision (docs/ledger.md, Decisions; docs/access.md).

Airflow-free and web-free: the desk's pages (``hotich.ops.desk_page``) call these with
a psycopg2 connection and the signed-in user's name. Every read of a record's personal
data and every decision is written to ``recon.access_log`` in the same transaction as the
read or the decision (Decree 13/2023). A decision is checked against the contract
(:func:`hotich.decisions.check`) and stored append-only with the record's content hash and
what the register showed; the next daily run applies it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hotich import normalize, reconcile
from hotich.decisions import Decision, DecisionRefused, Proposed, Waiting, allowed, check
from hotich.load import read_sql
from hotich.model import mask_ids

PAGE_SIZE = 50


@dataclass(frozen=True)
class PageFilter:
    """What the officer filters the waiting list by."""

    district_code: str
    reason: str | None = None
    record_type: str | None = None
    waiting_days: int | None = None  # waiting at least this many days
    after_key: str = ""  # the last (source_key, role) of the previous page
    after_role: str = ""


def districts(cur, sql_dir: Path) -> pd.DataFrame:
    """Per district: persons waiting and since when the oldest waits."""
    return read_sql(cur, sql_dir / "desk" / "districts.sql", {})


def waiting_page(cur, sql_dir: Path, flt: PageFilter, who: str, page_size: int = PAGE_SIZE):
    """One page of waiting persons, by key after ``flt.after_*``; the listing is logged
    (who looked at which district's list)."""
    params = {
        "district_code": flt.district_code,
        "after_key": flt.after_key,
        "after_role": flt.after_role,
        "reason": flt.reason,
        "record_type": flt.record_type,
        "waiting_days": flt.waiting_days,
        "page_size": page_size,
    }
    page = read_sql(cur, sql_dir / "desk" / "waiting_page.sql", params)
    log_access(cur, who, "list", None, {k: v for k, v in params.items() if v not in (None, "")})
    return page


def log_access(cur, who: str, action: str, source_key: str | None, detail: dict[str, Any]) -> None:
    """One row of ``recon.access_log``."""
    cur.execute(
        "INSERT INTO recon.access_log (who, action, source_key, detail) VALUES (%s, %s, %s, %s)",
        (who, action, source_key, json.dumps(detail, default=str, ensure_ascii=False)),
    )


@dataclass
class RecordView:
    """One waiting record as the desk shows it."""

    source_key: str
    district_code: str
    record_type: str
    status: str
    reasons: list[str]
    content_hash: str
    record: dict[str, Any]  # the canonical columns as read
    persons: pd.DataFrame  # PERSON_COLUMNS + kind, reasons, decided, allowed
    decisions: pd.DataFrame  # include/sql/desk/decisions_of.sql


def record_view(cur, sql_dir: Path, source_key: str, who: str) -> RecordView | None:
    """The waiting record ``source_key`` with its persons and the decisions made on it;
    None when it waits for nobody. The view is logged."""
    cur.execute(
        "SELECT district_code, record_type, status, reasons, content_hash, record"
        " FROM recon.waiting_record WHERE source_key = %s",
        (source_key,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    district_code, record_type, status, reasons, content_hash, record = row
    cur.execute(
        "SELECT role, kind, reasons, decided FROM recon.waiting_person WHERE source_key = %s",
        (source_key,),
    )
    waiting = pd.DataFrame(cur.fetchall(), columns=["role", "kind", "w_reasons", "decided"])
    from hotich.pipeline import persons_of  # the same persons the run reconciles

    records = normalize.normalize_records(pd.DataFrame([record]))
    persons = persons_of(records).merge(waiting, on="role", how="left")
    persons["allowed"] = [
        [d.value for d in allowed(Waiting(k))] if isinstance(k, str) else []
        for k in persons["kind"]
    ]
    history = read_sql(cur, sql_dir / "desk" / "decisions_of.sql", {"source_key": source_key})
    log_access(cur, who, "view", source_key, {"status": status})
    return RecordView(
        source_key=source_key,
        district_code=district_code,
        record_type=record_type,
        status=status,
        reasons=list(reasons),
        content_hash=content_hash,
        record=record,
        persons=persons,
        decisions=history,
    )


def register_side(person: pd.Series, register: reconcile.RegisterLookup) -> dict[str, Any]:
    """What the register holds for one person of a record: the citizen of the ID it gives,
    or, for a person without one, every candidate of its ``match`` query with how it
    compares (:func:`hotich.reconcile.explain_candidates`)."""
    frame = person.to_frame().T.reset_index(drop=True)
    given = person.get("personal_id")
    if isinstance(given, str) and given.strip():
        found, not_found = register.batch_get([given])
        return {
            "citizen": found.iloc[0].to_dict() if len(found) else None,
            "not_found": given in not_found,
            "candidates": pd.DataFrame(),
        }
    queries, refs = reconcile.build_match_queries(frame)
    candidates = register.match(queries) if len(queries) else pd.DataFrame()
    explained = reconcile.explain_candidates(frame.assign(ref=refs), candidates)
    return {"citizen": None, "not_found": False, "candidates": explained}


def decide(
    cur,
    *,
    source_key: str,
    role: str,
    proposed: Proposed,
    who: str,
    content_hash: str,
    register_snapshot: dict[str, Any],
) -> int:
    """Store one decision (refused with :class:`DecisionRefused` when the contract does not
    allow it, or when the record changed since the officer's page was drawn:
    ``content_hash``); the decision and its access log row in the caller's transaction.
    Returns the decision's id."""
    cur.execute(
        "SELECT p.kind, w.content_hash FROM recon.waiting_person p"
        " JOIN recon.waiting_record w USING (source_key)"
        " WHERE p.source_key = %s AND p.role = %s FOR SHARE OF w",
        (source_key, role),
    )
    row = cur.fetchone()
    kind = Waiting(row[0]) if row else None
    check(kind, proposed)
    if row[1] != content_hash:
        raise DecisionRefused(
            "the record changed since this page was drawn: reload it and decide again"
        )
    cur.execute(
        "INSERT INTO recon.decision (source_key, role, decision, personal_id, reason, note,"
        " decided_by, content_hash, register_snapshot)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING decision_id",
        (
            source_key,
            role,
            proposed.decision.value,
            proposed.personal_id if proposed.decision is Decision.LINK else None,
            proposed.reason.strip(),
            (proposed.note or "").strip() or None,
            who,
            content_hash,
            json.dumps(register_snapshot, default=str, ensure_ascii=False),
        ),
    )
    decision_id = int(cur.fetchone()[0])
    log_access(
        cur,
        who,
        "decide",
        source_key,
        {"role": role, "decision": proposed.decision.value, "decision_id": decision_id,
         "personal_id": mask_ids(proposed.personal_id or "") or None},
    )  # fmt: skip
    return decision_id
