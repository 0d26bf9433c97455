"""Load one district's verdicts into the national civil-status database, exactly once.

Everything a run learned about a district — loaded registrations and their people,
ledger verdicts, quarantine and review entries, link candidates, and the extract state
(watermarks, content hashes, workbook files) — is written in ONE transaction: COPY into
staging tables, then one set-based upsert (``include/sql/load/apply.sql``). A crash
before the commit leaves nothing behind and the next try reads the same records again;
a retry after the commit finds them unchanged and reads nothing twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2

from hotich import lease
from hotich.errors import IncidentError, loggable
from hotich.model import LEGACY_ENCODING, VALUE_INVALID, Status, mask_ids

log = logging.getLogger(__name__)

# Columns of the staging tables the load COPYs into (include/sql/load/stage.sql); not the
# stage frames of reconcile/model, whose columns these are built from.
STAGE_VERDICT_COLUMNS = (
    "district_code",
    "record_type",
    "source_key",
    "status",
    "reasons",
    "personal_id",
    "content_hash",
    "source_record",
    "book",
    "entry_no",
    "claims_entry",
)
REGISTRATION_COLUMNS = (
    "source_key",
    "district_code",
    "record_type",
    "book",
    "entry_no",
    "registration_date",
    "place",
    "ethnicity",
    "nationality",
    "death_cause",
    "legacy_encoding",
    "content_hash",
    "run_id",
)
STAGE_PERSON_COLUMNS = (
    "source_key",
    "role",
    "full_name",
    "source_name",
    "sex",
    "date_of_birth",
    "year_of_birth",
    "personal_id",
    "id_origin",
    "mother_name",
    "mother_dob",
    "father_name",
    "father_dob",
    "death_date",
    "link_verdict",
    "link_name_level",
    "link_date_level",
    "link_corroborated",
)
STAGE_CANDIDATE_COLUMNS = ("run_id", "source_key", "role", "candidate_id", "score", "rank")
STAGE_WAITING_RECORD_COLUMNS = (
    "source_key",
    "district_code",
    "record_type",
    "content_hash",
    "record",
    "source_record",
    "status",
    "reasons",
    "personal_id",
)
STAGE_WAITING_PERSON_COLUMNS = ("source_key", "role", "kind", "reasons", "given_id", "decided")


class ConservationError(IncidentError, RuntimeError):
    """Records read and verdicts written do not add up: nothing is committed."""

    incident_kind = "conservation"


class LoadRefused(IncidentError, RuntimeError):
    """The national database refused a value of the load (a data exception or a program
    limit, not a lost connection); the transaction was rolled back.

    The message holds the SQL state, PostgreSQL's primary message with quoted values
    elided, and where (staging table and line, and the record's source key when a line
    names one): never the DETAIL or CONTEXT lines, which quote the record itself.
    """

    incident_kind = "load_refused"

    def __init__(
        self, message: str, source_key: str | None = None, sql_state: str | None = None
    ) -> None:
        super().__init__(message)
        self.source_key = source_key
        self.sql_state = sql_state


@dataclass
class LoadBatch:
    """What one run learned about one district, ready to be written."""

    run_id: str
    district_code: str
    extracted: int
    verdicts: pd.DataFrame
    registrations: pd.DataFrame
    persons: pd.DataFrame
    candidates: pd.DataFrame
    watermarks: list[dict[str, Any]] = field(default_factory=list)
    workbook_files: list[dict[str, Any]] = field(default_factory=list)
    rejected_files: list[dict[str, Any]] = field(default_factory=list)
    # Workbook districts: every inbox file the extract saw (name, hash), which resolves
    # earlier rejections; None for the other flavors (nothing to resolve).
    inbox_files: list[dict[str, Any]] | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    # Who the verdicts leave waiting for a person (V005: STAGE_WAITING_*_COLUMNS), and what
    # the run did with the decisions it found (decision_id, outcome).
    waiting_records: pd.DataFrame = field(default_factory=pd.DataFrame)
    waiting_persons: pd.DataFrame = field(default_factory=pd.DataFrame)
    decision_outcomes: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The run's per-rule quality results (hotich.validate.rule_results), kept in
    # ops.quality_result with the commit.
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    # A legacy district's server digests of the rows read (local_key, digest): kept in
    # recon.source_digest with the commit, so that the next run reads only rows that
    # changed since (decision 0020); empty for the other flavors.
    source_digests: pd.DataFrame = field(default_factory=pd.DataFrame)


def batch_digest(verdicts: pd.DataFrame, state: str = "") -> str:
    """A digest of a district's verdicts (source key, content hash, status) and extract
    ``state`` (its JSON), stored in the run's summary: a retry of the load that finds it
    there was committed already."""
    rows = verdicts.sort_values("source_key")
    joined = (rows["source_key"] + "\x1f" + rows["content_hash"] + "\x1f" + rows["status"]).str.cat(
        sep="\x1e"
    )
    return hashlib.blake2b((state + "\x1d" + joined).encode("utf-8"), digest_size=16).hexdigest()


def pg_array(values: pd.Series) -> pd.Series:
    """Lists of reason codes as PostgreSQL array literals (codes are plain identifiers)."""
    return values.map(lambda codes: "{" + ",".join(codes) + "}")


def jsonb_safe(values: pd.Series) -> pd.Series:
    """JSON texts for a jsonb column: jsonb refuses the NUL escape, so it is kept visible
    as text instead of losing the record."""
    return values.str.replace("\\u0000", "\\\\u0000", regex=False)


def copy_frame(cur, table: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> int:
    """COPY ``frame[columns]`` into ``table``; empty cells are NULL. Returns rows copied."""
    if frame.empty:
        return 0
    buf = io.StringIO()
    frame.loc[:, list(columns)].to_csv(buf, index=False, header=False, na_rep="")
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buf)
    return len(frame)


def check_conservation(batch: LoadBatch) -> dict[str, int]:
    """extracted = loaded + review + quarantined, each record once; raise otherwise."""
    v = batch.verdicts
    counts = {s.value: int((v["status"] == s.value).sum()) for s in Status}
    problems = []
    if v["source_key"].duplicated().any():
        problems.append(f"{int(v['source_key'].duplicated().sum())} records have two verdicts")
    if sum(counts.values()) != len(v):
        problems.append(f"{len(v) - sum(counts.values())} verdicts have an unknown status")
    if len(v) != batch.extracted:
        problems.append(f"{batch.extracted} records extracted but {len(v)} verdicts")
    loaded = set(v.loc[v["status"] == Status.LOADED.value, "source_key"])
    if set(batch.registrations["source_key"]) != loaded:
        problems.append("loaded verdicts and loaded registrations differ")
    if problems:
        raise ConservationError(
            f"district {batch.district_code}, run {batch.run_id}: " + "; ".join(problems)
        )
    return {"extracted": batch.extracted, **counts}


# SQL state classes of errors about a value of the load, not about the server or the
# connection: 22 data exception, 23 integrity constraint (a NOT NULL of a staging table),
# 54 program limit exceeded (a jsonb string over 2**28 - 1 bytes). Their DETAIL and
# CONTEXT quote the row. The others (08 connection, 53 resources, 57 operator
# intervention, ...) go on as what they are.
_REFUSAL_CLASSES = ("22", "23", "54")
_COPY_LINE = re.compile(r"COPY (\w+), line (\d+)")
_QUOTED = re.compile(r'"[^"]*"')
_STAGED = {
    "stage_verdict": "verdicts",
    "stage_registration": "registrations",
    "stage_person": "persons",
    "stage_candidate": "candidates",
    "stage_waiting_record": "waiting_records",
    "stage_waiting_person": "waiting_persons",
}


def refusal(exc: psycopg2.Error, batch: LoadBatch) -> LoadRefused | None:
    """The :class:`LoadRefused` that ``exc`` is, or None when it is not a refusal of a
    value (a lost connection, a server in trouble)."""
    code = exc.pgcode or ""
    if not code.startswith(_REFUSAL_CLASSES):
        return None
    primary = _QUOTED.sub('"…"', exc.diag.message_primary or type(exc).__name__)
    where, key = "in include/sql/load/apply.sql", None
    if m := _COPY_LINE.search(exc.diag.context or ""):
        table, line = m.group(1), int(m.group(2))
        frame = getattr(batch, _STAGED.get(table, ""), None)
        if isinstance(frame, pd.DataFrame) and 0 < line <= len(frame):
            key = str(frame["source_key"].iloc[line - 1])
            where = f"in {table}, line {line}: record {key}"
        else:
            where = f"in {table}, line {line}"
    return LoadRefused(
        f"district {batch.district_code}: the national database refused a value {where}"
        f" (SQL state {code}: {loggable(mask_ids(primary))})",
        key,
        code,
    )


def quarantine_refused(batch: LoadBatch, source_key: str, sql_state: str) -> LoadBatch:
    """``batch`` with the record the national database refused quarantined
    ``VALUE_INVALID``: not loaded, its people, candidates and waiting rows dropped, its source record
    replaced by a note (the district's source still holds it)."""
    v = batch.verdicts
    hit = v["source_key"] == source_key
    verdicts = v.copy()
    verdicts.loc[hit, "status"] = Status.QUARANTINED.value
    verdicts.loc[hit, "reasons"] = pd.Series(
        [sorted({VALUE_INVALID} | ({LEGACY_ENCODING} & set(r))) for r in v.loc[hit, "reasons"]],
        index=v.index[hit],
        dtype=object,
    )
    verdicts.loc[hit, "personal_id"] = None
    verdicts.loc[hit, "source_record"] = json.dumps(
        {"_not_kept": f"the national database refused this record (SQL state {sql_state})"}
    )

    def without(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["source_key"] != source_key] if not frame.empty else frame

    return dataclasses.replace(
        batch,
        verdicts=verdicts,
        registrations=without(batch.registrations),
        persons=without(batch.persons),
        candidates=without(batch.candidates),
        waiting_records=without(batch.waiting_records),
        waiting_persons=without(batch.waiting_persons),
    )


def load_batch(conn, batch: LoadBatch, sql_dir: Path) -> dict[str, int]:
    """Write ``batch`` in one transaction on a psycopg2 connection; return the counts.

    The caller owns the connection; this commits on success and rolls back on error. A
    value the database refuses raises :class:`LoadRefused` (naming the record when it
    can), whose text quotes nothing of the record. ``recon.run_summary`` holds the
    verdicts in ``recon.verdict`` for the run and district after the write, so that a
    retry of a committed load counts nothing twice. The run's lease of the district
    (:mod:`hotich.lease`) is given back in the same transaction; when another run took it
    over, :class:`hotich.lease.DistrictHeld` is raised and nothing is written.
    """
    counts = check_conservation(batch)
    verdicts = batch.verdicts.assign(
        reasons=pg_array(batch.verdicts["reasons"]),
        source_record=jsonb_safe(batch.verdicts["source_record"]),
    )
    candidates = batch.candidates.assign(run_id=batch.run_id)
    registrations = batch.registrations.assign(run_id=batch.run_id)
    params = {"run_id": batch.run_id, "district_code": batch.district_code}
    try:
        with conn.cursor() as cur:
            if done := _committed_before(cur, batch):
                conn.rollback()
                log.info(
                    "district %s: this run's load was committed before (a retry after the"
                    " commit): nothing written again",
                    batch.district_code,
                )
                return done
            # The run's district lease goes with this commit (raises, writing nothing, if
            # another run took it over).
            lease.release(cur, sql_dir, batch.district_code, batch.run_id)
            cur.execute((sql_dir / "load" / "stage.sql").read_text(encoding="utf-8"))
            copy_frame(cur, "stage_verdict", verdicts, STAGE_VERDICT_COLUMNS)
            copy_frame(cur, "stage_registration", registrations, REGISTRATION_COLUMNS)
            copy_frame(cur, "stage_person", batch.persons, STAGE_PERSON_COLUMNS)
            copy_frame(cur, "stage_candidate", candidates, STAGE_CANDIDATE_COLUMNS)
            _stage_waiting(cur, batch)
            # The dashboard's aggregates (V009): moved before apply.sql replaces the state
            # they are computed from, the backlog taken after it.
            cur.execute(
                (sql_dir / "load" / "progress_delta.sql").read_text(encoding="utf-8"), params
            )
            cur.execute((sql_dir / "load" / "apply.sql").read_text(encoding="utf-8"), params)
            cur.execute(
                (sql_dir / "load" / "progress_backlog.sql").read_text(encoding="utf-8"), params
            )
            _save_extract_state(cur, batch, sql_dir)
            _save_rejected_files(cur, batch, sql_dir)
            _save_quality(cur, batch, sql_dir)
            cur.execute(
                "SELECT status, count(*) FROM recon.verdict WHERE run_id = %(run_id)s"
                " AND district_code = %(district_code)s GROUP BY status",
                params,
            )
            in_db = dict(cur.fetchall())
            if sum(in_db.values()) < batch.extracted:
                raise ConservationError(
                    f"district {batch.district_code}: {batch.extracted} extracted but only "
                    f"{sum(in_db.values())} verdicts in recon.verdict for run {batch.run_id}"
                )
            cur.execute(
                (sql_dir / "load" / "run_summary.sql").read_text(encoding="utf-8"),
                {**params, "stats": json.dumps(batch.stats, default=str)},
            )
        conn.commit()
    except Exception as exc:
        # A connection the server dropped cannot roll back (the server already did): the
        # error that happened is the one to raise, not "connection already closed".
        try:
            conn.rollback()
        except psycopg2.Error as rollback_error:
            log.warning("district %s: rollback failed too (%s)", batch.district_code,
                        type(rollback_error).__name__)  # fmt: skip
        refused = refusal(exc, batch) if isinstance(exc, psycopg2.Error) else None
        if refused is not None:
            # Not "from exc": the driver's text quotes the record (DETAIL, CONTEXT).
            raise refused from None
        raise
    log.info(
        "district %s: loaded %d, review %d, quarantined %d of %d extracted",
        batch.district_code,
        counts["loaded"],
        counts["review"],
        counts["quarantined"],
        counts["extracted"],
    )
    return counts


def _stage_waiting(cur, batch: LoadBatch) -> None:
    """COPY who waits for a person, and the decisions' outcomes, into their staging tables."""
    if not batch.waiting_records.empty:
        w = batch.waiting_records
        records = w.assign(
            reasons=pg_array(w["reasons"]),
            record=jsonb_safe(w["record"]),
            source_record=jsonb_safe(w["source_record"]),
        )
        copy_frame(cur, "stage_waiting_record", records, STAGE_WAITING_RECORD_COLUMNS)
    if not batch.waiting_persons.empty:
        persons = batch.waiting_persons.assign(reasons=pg_array(batch.waiting_persons["reasons"]))
        copy_frame(cur, "stage_waiting_person", persons, STAGE_WAITING_PERSON_COLUMNS)
    if not batch.decision_outcomes.empty:
        copy_frame(cur, "stage_decision_outcome", batch.decision_outcomes,
                   ("decision_id", "outcome"))  # fmt: skip


def _committed_before(cur, batch: LoadBatch) -> dict[str, int] | None:
    """The counts of this run's committed load of the same verdicts, if there is one."""
    if not batch.stats.get("batch"):
        return None
    cur.execute(
        "SELECT extracted, loaded, review, quarantined FROM recon.run_summary"
        " WHERE run_id = %s AND district_code = %s AND stats->>'batch' = %s",
        (batch.run_id, batch.district_code, batch.stats["batch"]),
    )
    row = cur.fetchone()
    return (
        dict(zip(("extracted", "loaded", "review", "quarantined"), row, strict=True))
        if row
        else None
    )


def _save_extract_state(cur, batch: LoadBatch, sql_dir: Path) -> None:
    """Advance watermarks and remember files, in the same transaction as the verdicts."""
    for mark in batch.watermarks:
        cur.execute(
            "INSERT INTO recon.watermark (district_code, table_name, updated_at, run_id)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (district_code, table_name) DO UPDATE SET"
            " updated_at = GREATEST(recon.watermark.updated_at, EXCLUDED.updated_at),"
            " run_id = EXCLUDED.run_id",
            (batch.district_code, mark["table_name"], mark["updated_at"], batch.run_id),
        )
    for f in batch.workbook_files:
        cur.execute(
            "INSERT INTO recon.workbook_file (district_code, file_name, content_hash, rows_read, run_id)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (district_code, file_name) DO UPDATE SET"
            " content_hash = EXCLUDED.content_hash, rows_read = EXCLUDED.rows_read,"
            " run_id = EXCLUDED.run_id, read_at = now()",
            (batch.district_code, f["file_name"], f["content_hash"], f["rows_read"], batch.run_id),
        )
    if not batch.source_digests.empty:
        cur.execute(
            "CREATE TEMP TABLE stage_source_digest (local_key text, digest text) ON COMMIT DROP"
        )
        copy_frame(cur, "stage_source_digest", batch.source_digests, ("local_key", "digest"))
        cur.execute(
            (sql_dir / "load" / "source_digests.sql").read_text(encoding="utf-8"),
            {"district_code": batch.district_code, "run_id": batch.run_id},
        )


def _save_rejected_files(cur, batch: LoadBatch, sql_dir: Path) -> None:
    """Save the files rejected and resolve the earlier rejections of files corrected or
    taken out of the inbox (workbook districts), in the same transaction as the verdicts."""
    params = {"district_code": batch.district_code, "run_id": batch.run_id}
    if batch.rejected_files:
        cur.execute((sql_dir / "load" / "rejected_files.sql").read_text(encoding="utf-8"),
                    {**params, "rejected": json.dumps(batch.rejected_files)})  # fmt: skip
    if batch.inbox_files is not None:
        cur.execute((sql_dir / "load" / "resolve_rejected.sql").read_text(encoding="utf-8"),
                    {**params, "inbox": json.dumps(batch.inbox_files)})  # fmt: skip
        for file_name, resolution in cur.fetchall():
            log.info("district %s: rejected file %s resolved (%s)",
                     batch.district_code, loggable(file_name), resolution)  # fmt: skip


def _save_quality(cur, batch: LoadBatch, sql_dir: Path) -> None:
    """Keep the run's per-rule results of the district (quality history), with the commit."""
    if batch.quality.empty:
        return
    cur.execute((sql_dir / "load" / "quality_results.sql").read_text(encoding="utf-8"),
                {"run_id": batch.run_id, "district_code": batch.district_code,
                 "results": batch.quality.to_json(orient="records", force_ascii=False)})  # fmt: skip


def read_sql(cur, sql_file: Path, params: dict[str, Any]) -> pd.DataFrame:
    """Run a SELECT kept in ``include/sql`` and return its rows as a frame."""
    cur.execute(sql_file.read_text(encoding="utf-8"), params)
    cols = [d[0] for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=cols)
