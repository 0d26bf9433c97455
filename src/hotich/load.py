"""Load one district's verdicts into the national civil-status database, exactly once.

Everything a run learned about a district — loaded registrations and their people,
ledger verdicts, quarantine and review entries, link candidates, and the extract state
(watermarks, content hashes, workbook files) — is written in ONE transaction: COPY into
staging tables, chunk by chunk (docs/decisions/0016: memory grows with the chunk, not the
district), then one set-based upsert (``include/sql/load/apply.sql``). A crash
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
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

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
class LoadChunk:
    """A part of a district's load: records and what goes with them (their people,
    candidates and waiting rows). Each is COPY-ed into the staging tables on its own."""

    verdicts: pd.DataFrame
    registrations: pd.DataFrame
    persons: pd.DataFrame
    candidates: pd.DataFrame
    waiting_records: pd.DataFrame = field(default_factory=pd.DataFrame)
    waiting_persons: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class LoadBatch:
    """What one run learned about one district, ready to be written.

    Either its frames (``verdicts`` … ``waiting_persons``: a small batch held whole), or
    ``chunks``, a function giving the district's :class:`LoadChunk` one after another from
    its work files (the frames then stay empty): the load holds one chunk at a time.
    """

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
    # The district's chunks, read from its work files (None: the frames above are the load).
    chunks: Callable[[], Iterator[LoadChunk]] | None = None
    # The extract state's JSON, when the load is to be recognised if tried again after its
    # commit: the digest of the verdicts and this state goes into ``stats["batch"]``.
    digest_state: str | None = None
    # Records the national database refused (source key: SQL state), quarantined
    # VALUE_INVALID in every chunk (:func:`quarantine_refused`).
    refused: dict[str, str] = field(default_factory=dict)
    # A legacy district's server digests of the rows read (local_key, digest): kept in
    # recon.source_digest with the commit, so that the next run reads only rows that
    # changed since (decision 0020); empty for the other flavors.
    source_digests: pd.DataFrame = field(default_factory=pd.DataFrame)

    def iter_chunks(self) -> Iterator[LoadChunk]:
        """The batch's chunks as read (before the refused records are quarantined)."""
        if self.chunks is not None:
            yield from self.chunks()
            return
        yield LoadChunk(self.verdicts, self.registrations, self.persons, self.candidates,
                        self.waiting_records, self.waiting_persons)  # fmt: skip


class BatchDigest:
    """A digest of a district's verdicts (source key, content hash, status) and extract
    state, fed chunk by chunk in any order: stored in the run's summary, so that a retry
    of the load that finds it there knows it was committed already.

    Order-independent: the sum, modulo 2**64, of each row's 64-bit hash under two keys,
    with the row count (each record has one verdict: conservation)."""

    _KEYS = ("hotich-digest-01", "hotich-digest-02")

    def __init__(self, state: str = "") -> None:
        self.state = state
        self.rows = 0
        self.sums = [np.uint64(0), np.uint64(0)]

    def add(self, verdicts: pd.DataFrame) -> None:
        """Count in a chunk's verdicts."""
        if verdicts.empty:
            return
        rows = verdicts[["source_key", "content_hash", "status"]].astype(str)
        for i, key in enumerate(self._KEYS):
            hashed = pd.util.hash_pandas_object(rows, index=False, hash_key=key).to_numpy()
            with np.errstate(over="ignore"):
                self.sums[i] = np.uint64(self.sums[i] + hashed.sum(dtype=np.uint64))
        self.rows += len(rows)

    def hexdigest(self) -> str:
        """The digest of what was added and the state."""
        text = f"{self.state}\x1d{self.rows}:{int(self.sums[0]):016x}{int(self.sums[1]):016x}"
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def batch_digest(verdicts: pd.DataFrame, state: str = "") -> str:
    """The :class:`BatchDigest` of a whole frame of verdicts and an extract ``state``."""
    digest = BatchDigest(state)
    digest.add(verdicts)
    return digest.hexdigest()


def pg_array(values: pd.Series) -> pd.Series:
    """Lists of reason codes as PostgreSQL array literals (codes are plain identifiers)."""
    return values.map(lambda codes: "{" + ",".join(codes) + "}")


def jsonb_safe(values: pd.Series) -> pd.Series:
    """JSON texts for a jsonb column: jsonb refuses the NUL escape, so it is kept visible
    as text instead of losing the record."""
    return values.str.replace("\\u0000", "\\\\u0000", regex=False)


def copy_frame(
    cur, table: str, frame: pd.DataFrame, columns: tuple[str, ...], *, null: str = ""
) -> int:
    """COPY ``frame[columns]`` into ``table``; missing values are NULL. Returns rows copied.

    By default empty cells are NULL too; with ``null`` (e.g. ``"\\N"``) missing values are
    written as that marker, so an empty text stays an empty text.
    """
    if frame.empty:
        return 0
    part = frame.loc[:, list(columns)]
    text = arrow_csv(part, null)
    if text is not None:
        buf: io.IOBase = io.BytesIO(text)
    else:  # a column Arrow cannot write as CSV (mixed Python objects, lists)
        buf = io.StringIO()
        part.to_csv(buf, index=False, header=False, na_rep=null)
        buf.seek(0)
    options = "FORMAT csv" + (f", NULL '{null}'" if null else "")
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH ({options})", buf)
    return len(frame)


def arrow_csv(frame: pd.DataFrame, null: str = "") -> bytes | None:
    """``frame`` as COPY's CSV, written by Arrow (in C++, several times pandas' ``to_csv``:
    the load's and the shared register's top self line, benchmarks/RESULTS.md); None when
    a column is not one Arrow writes (mixed Python objects, lists): pandas writes those.

    The same text COPY reads from pandas' ``to_csv(na_rep=null)``: a missing value is
    ``null`` unquoted; text is quoted, so that with ``null`` given, an empty text stays
    an empty text; with the default, an empty text is NULL, as an empty cell is.
    """
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if any(pa.types.is_nested(t) or pa.types.is_binary(t) for t in table.schema.types):
        return None
    if not null:
        table = pa.table(
            [_empty_as_null(c) if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)
             else c for c in table.columns],
            names=table.column_names,
        )  # fmt: skip
    out = pa.BufferOutputStream()
    pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False, null_string=null))
    return out.getvalue().to_pybytes()


def _empty_as_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)


class Conservation:
    """extracted = loaded + review + quarantined, each record once: counted chunk by chunk
    while the staging tables fill (:meth:`add`), settled before anything is applied
    (:meth:`check`, with the staged verdicts' duplicates)."""

    def __init__(self, batch: LoadBatch) -> None:
        self.batch = batch
        self.counts = {s.value: 0 for s in Status}
        self.verdicts = 0
        self.problems: list[str] = []

    def add(self, chunk: LoadChunk) -> None:
        """Count a chunk's verdicts; its loaded verdicts must be its loaded registrations."""
        v = chunk.verdicts
        for s in Status:
            self.counts[s.value] += int((v["status"] == s.value).sum())
        self.verdicts += len(v)
        # Sets of lists: iterating an Arrow-backed column itself is several times slower.
        loaded = set(v.loc[v["status"] == Status.LOADED.value, "source_key"].tolist())
        registered = (
            set(chunk.registrations["source_key"].tolist()) if len(chunk.registrations) else set()
        )
        if registered != loaded and "loaded verdicts and loaded registrations differ" not in (
            self.problems
        ):
            self.problems.append("loaded verdicts and loaded registrations differ")

    def check(self, duplicated: int = 0) -> dict[str, int]:
        """The counts; :class:`ConservationError` when they do not add up. ``duplicated``:
        source keys with more than one verdict (counted in the staging table)."""
        problems = []
        if duplicated:
            problems.append(f"{duplicated} records have two verdicts")
        if sum(self.counts.values()) != self.verdicts:
            problems.append(f"{self.verdicts - sum(self.counts.values())} verdicts have an"
                            " unknown status")  # fmt: skip
        if self.verdicts != self.batch.extracted:
            problems.append(f"{self.batch.extracted} records extracted but {self.verdicts}"
                            " verdicts")  # fmt: skip
        problems += self.problems
        if problems:
            raise ConservationError(
                f"district {self.batch.district_code}, run {self.batch.run_id}: "
                + "; ".join(problems)
            )
        return {"extracted": self.batch.extracted, **self.counts}


def check_conservation(batch: LoadBatch) -> dict[str, int]:
    """extracted = loaded + review + quarantined, each record once, over all of ``batch``'s
    chunks; raise :class:`ConservationError` otherwise."""
    tally = Conservation(batch)
    keys: list[pd.Series] = []
    for chunk in batch.iter_chunks():
        chunk = quarantine_chunk(chunk, batch.refused)
        tally.add(chunk)
        keys.append(chunk.verdicts["source_key"])
    all_keys = pd.concat(keys) if keys else pd.Series(dtype=object)
    return tally.check(int(all_keys.duplicated().sum()))


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


def refusal(
    exc: psycopg2.Error, batch: LoadBatch, chunk: LoadChunk | None = None
) -> LoadRefused | None:
    """The :class:`LoadRefused` that ``exc`` is, or None when it is not a refusal of a
    value (a lost connection, a server in trouble). ``chunk``: the chunk being COPY-ed
    when it happened (a COPY's line numbers count within it)."""
    code = exc.pgcode or ""
    if not code.startswith(_REFUSAL_CLASSES):
        return None
    primary = _QUOTED.sub('"…"', exc.diag.message_primary or type(exc).__name__)
    where, key = "in include/sql/load/apply.sql", None
    if m := _COPY_LINE.search(exc.diag.context or ""):
        table, line = m.group(1), int(m.group(2))
        frame = getattr(chunk, _STAGED.get(table, ""), None) if chunk is not None else None
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
    ``VALUE_INVALID`` in the chunk that holds it (:func:`quarantine_chunk`)."""
    return dataclasses.replace(batch, refused={**batch.refused, source_key: sql_state})


def quarantine_chunk(chunk: LoadChunk, refused: Mapping[str, str]) -> LoadChunk:
    """``chunk`` with the records of ``refused`` (source key: SQL state) quarantined
    ``VALUE_INVALID``: not loaded, their people, candidates and waiting rows dropped, their
    source record replaced by a note (the district's source still holds it)."""
    v = chunk.verdicts
    hit = v["source_key"].isin(list(refused)) if refused and len(v) else None
    if hit is None or not hit.any():
        return chunk
    verdicts = v.copy()
    verdicts.loc[hit, "status"] = Status.QUARANTINED.value
    verdicts.loc[hit, "reasons"] = pd.Series(
        [sorted({VALUE_INVALID} | ({LEGACY_ENCODING} & set(r))) for r in v.loc[hit, "reasons"]],
        index=v.index[hit],
        dtype=object,
    )
    verdicts.loc[hit, "personal_id"] = None
    verdicts.loc[hit, "source_record"] = v.loc[hit, "source_key"].map(
        lambda k: json.dumps(
            {"_not_kept": f"the national database refused this record (SQL state {refused[k]})"}
        )
    )
    keys = list(v.loc[hit, "source_key"])

    def without(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[~frame["source_key"].isin(keys)] if not frame.empty else frame

    return LoadChunk(
        verdicts=verdicts,
        registrations=without(chunk.registrations),
        persons=without(chunk.persons),
        candidates=without(chunk.candidates),
        waiting_records=without(chunk.waiting_records),
        waiting_persons=without(chunk.waiting_persons),
    )


def load_batch(conn, batch: LoadBatch, sql_dir: Path) -> dict[str, int]:
    """Write ``batch`` in one transaction on a psycopg2 connection; return the counts.

    The caller owns the connection; this commits on success and rolls back on error. The
    batch's chunks are COPY-ed into the staging tables one after another (one chunk in
    memory at a time), conservation counted as they go and checked before the upsert.
    A value the database refuses raises :class:`LoadRefused` (naming the record when it
    can), whose text quotes nothing of the record. ``recon.run_summary`` holds the
    verdicts in ``recon.verdict`` for the run and district after the write, so that a
    retry of a committed load counts nothing twice. The run's lease of the district
    (:mod:`hotich.lease`) is given back in the same transaction; when another run took it
    over, :class:`hotich.lease.DistrictHeld` is raised and nothing is written.
    """
    params = {"run_id": batch.run_id, "district_code": batch.district_code}
    tally = Conservation(batch)
    digest = BatchDigest(batch.digest_state or "")
    chunk: LoadChunk | None = None
    started = time.monotonic()
    try:
        with conn.cursor() as cur:
            cur.execute((sql_dir / "load" / "stage.sql").read_text(encoding="utf-8"))
            for read in batch.iter_chunks():
                digest.add(read.verdicts)  # as read: a retry after a refusal finds it too
                chunk = quarantine_chunk(read, batch.refused)
                tally.add(chunk)
                _stage_chunk(cur, chunk, batch.run_id)
            chunk = None
            staged = time.monotonic()
            stats = dict(batch.stats)
            if batch.digest_state is not None:
                stats["batch"] = digest.hexdigest()
            if done := _committed_before(cur, batch, stats.get("batch")):
                conn.rollback()
                log.info(
                    "district %s: this run's load was committed before (a retry after the"
                    " commit): nothing written again",
                    batch.district_code,
                )
                return done
            cur.execute("SELECT count(*) - count(DISTINCT source_key) FROM stage_verdict")
            counts = tally.check(int(cur.fetchone()[0]))
            # The run's district lease goes with this commit (raises, writing nothing, if
            # another run took it over).
            lease.release(cur, sql_dir, batch.district_code, batch.run_id)
            if not batch.decision_outcomes.empty:
                copy_frame(cur, "stage_decision_outcome", batch.decision_outcomes,
                           ("decision_id", "outcome"))  # fmt: skip
            cur.execute((sql_dir / "load" / "staged_statistics.sql").read_text(encoding="utf-8"))
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
                {**params, "stats": json.dumps(stats, default=str)},
            )
            applied = time.monotonic()
        conn.commit()
    except Exception as exc:
        # A connection the server dropped cannot roll back (the server already did): the
        # error that happened is the one to raise, not "connection already closed".
        try:
            conn.rollback()
        except psycopg2.Error as rollback_error:
            log.warning("district %s: rollback failed too (%s)", batch.district_code,
                        type(rollback_error).__name__)  # fmt: skip
        refused = refusal(exc, batch, chunk) if isinstance(exc, psycopg2.Error) else None
        if refused is not None:
            # Not "from exc": the driver's text quotes the record (DETAIL, CONTEXT).
            raise refused from None
        raise
    # Where a load's time goes, for the person on call: the work files read and COPY-ed
    # chunk by chunk (the task's CPU), the set-based statements (the database's), the commit.
    log.info(
        "district %s: loaded %d, review %d, quarantined %d of %d extracted"
        " (staged in %.1f s, applied in %.1f s, committed in %.1f s)",
        batch.district_code,
        counts["loaded"],
        counts["review"],
        counts["quarantined"],
        counts["extracted"],
        staged - started,
        applied - staged,
        time.monotonic() - applied,
    )
    return counts


def _stage_chunk(cur, chunk: LoadChunk, run_id: str) -> None:
    """COPY one chunk into the staging tables (``include/sql/load/stage.sql``)."""
    v = chunk.verdicts
    if not v.empty:
        verdicts = v.assign(reasons=pg_array(v["reasons"]),
                            source_record=jsonb_safe(v["source_record"]))  # fmt: skip
        copy_frame(cur, "stage_verdict", verdicts, STAGE_VERDICT_COLUMNS)
    if not chunk.registrations.empty:
        copy_frame(cur, "stage_registration", chunk.registrations.assign(run_id=run_id),
                   REGISTRATION_COLUMNS)  # fmt: skip
    copy_frame(cur, "stage_person", chunk.persons, STAGE_PERSON_COLUMNS)
    if not chunk.candidates.empty:
        copy_frame(cur, "stage_candidate", chunk.candidates.assign(run_id=run_id),
                   STAGE_CANDIDATE_COLUMNS)  # fmt: skip
    if not chunk.waiting_records.empty:
        w = chunk.waiting_records
        records = w.assign(
            reasons=pg_array(w["reasons"]),
            record=jsonb_safe(w["record"]),
            source_record=jsonb_safe(w["source_record"]),
        )
        copy_frame(cur, "stage_waiting_record", records, STAGE_WAITING_RECORD_COLUMNS)
    if not chunk.waiting_persons.empty:
        persons = chunk.waiting_persons.assign(reasons=pg_array(chunk.waiting_persons["reasons"]))
        copy_frame(cur, "stage_waiting_person", persons, STAGE_WAITING_PERSON_COLUMNS)


def _committed_before(cur, batch: LoadBatch, digest: str | None) -> dict[str, int] | None:
    """The counts of this run's committed load of the same verdicts, if there is one."""
    if not digest:
        return None
    cur.execute(
        "SELECT extracted, loaded, review, quarantined FROM recon.run_summary"
        " WHERE run_id = %s AND district_code = %s AND stats->>'batch' = %s",
        (batch.run_id, batch.district_code, digest),
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
