"""The daily pipeline for one district: extract → validate → reconcile → load.

Each stage reads what the previous one wrote into the district's work folder
(``<data_dir>/runs/<run_id>/<district>/``) and writes its own result there, so that the
DAG passes only the district and counts through XCom (docs/decisions/0002) and a retried
task starts from its stage's input.
The DAG (``dags/hotich_reconcile.py``) and the benchmarks share these functions; none
of them knows Airflow.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hotich import decisions, gates, lease, normalize, quality, reconcile, validate, workfiles
from hotich.config import District, Settings
from hotich.db import engine_for, masked, pg_connect
from hotich.errors import IncidentError, first_line, loggable
from hotich.extract import RAW_COLUMNS, Extract, KnownHashes, RecordSink, SourceError
from hotich.extract.legacy import extract_legacy
from hotich.extract.modern import extract_modern
from hotich.extract.workbook import WorkbookLimits, extract_workbook
from hotich.load import (
    LoadBatch,
    LoadChunk,
    LoadRefused,
    load_batch,
    quarantine_refused,
    read_sql,
)
from hotich.migrate import check_schema, migrate
from hotich.model import (
    CODE_ORDER,
    DUPLICATE_ENTRY,
    LEGACY_ENCODING,
    LINK_AMBIGUOUS,
    LINK_NONE,
    LINKED,
    QUARANTINE_CODES,
    RETURNED,
    REVIEW_CODES,
    ROLE_HUSBAND,
    ROLE_SUBJECT,
    ROLE_WIFE,
    SEX_FEMALE,
    SEX_MALE,
    Flavor,
    RecordType,
    Status,
    code_bits,
    code_list,
    code_masks,
    reason_lists,
)
from hotich.names import keys_in
from hotich.register.shared import SharedRegister, forget_run, purge

log = logging.getLogger(__name__)

UriResolver = Callable[[str], str]


@dataclass(frozen=True)
class RunContext:
    """What every stage of one run needs to know."""

    run_id: str
    run_date: dt.date  # the run's date in Asia/Ho_Chi_Minh (DATE_INVALID: after it)
    settings: Settings
    civil_status_uri: str
    # The local folder holding the run folders: None, ``<data_dir>/runs``; a task working
    # on a copy of the work storage's files gives its scratch folder
    # (hotich.airflow.workstore, decision 0018).
    runs_root: Path | None = None

    @property
    def run_folder(self) -> Path:
        """This run's local folder of work files (one folder per district, ``_report``)."""
        if self.runs_root is None:
            return workfiles.run_dir(self.settings.data_dir, self.run_id)
        return self.runs_root / workfiles.run_folder_name(self.run_id)

    def workdir(self, district_code: str) -> Path:
        """The district's work folder for this run."""
        path = self.run_folder / district_code
        path.mkdir(parents=True, exist_ok=True)
        return path


class NationalDatabaseUnavailable(IncidentError, RuntimeError):
    """The national civil-status database cannot be reached, or dropped the connection."""

    incident_kind = "national_database_down"


def _unreachable(ctx: RunContext, exc: BaseException) -> NationalDatabaseUnavailable:
    return NationalDatabaseUnavailable(
        f"national database {masked(ctx.civil_status_uri)} cannot be reached: "
        f"{loggable(first_line(exc))}"
    )


def connect(ctx: RunContext):
    """A psycopg2 connection to the national civil-status database."""
    import psycopg2

    try:
        return pg_connect(ctx.civil_status_uri)
    except psycopg2.OperationalError as exc:
        raise _unreachable(ctx, exc) from exc


def prepare_database(ctx: RunContext) -> list[str]:
    """Check that the national database is at the schema this code needs (raise
    ``SchemaOutdated`` otherwise); with ``HOTICH_MIGRATE_ON_RUN`` (the dev kit's local
    runs), apply what is pending first. Returns the migrations applied."""
    from sqlalchemy.exc import OperationalError

    engine = engine_for(ctx.civil_status_uri)
    try:
        if ctx.settings.migrate_on_run:
            return migrate(engine, ctx.settings.sql_dir)
        check_schema(engine, ctx.settings.sql_dir)
        return []
    except OperationalError as exc:
        raise _unreachable(ctx, exc.orig or exc) from exc
    finally:
        engine.dispose()


def held_leases(ctx: RunContext) -> frozenset[tuple[str, str]]:
    """The ``(run_id, district_code)`` some run is working on now (:func:`hotich.lease.held`):
    the purge leaves their work files alone."""
    conn = connect(ctx)
    try:
        with conn, conn.cursor() as cur:
            return lease.held(cur, ctx.settings.sql_dir)
    finally:
        conn.close()


def purge_work_files(
    ctx: RunContext, held: frozenset[tuple[str, str]] | None = None
) -> dict[str, int]:
    """The plan step's clean-up: delete what earlier runs left in their work folders once
    the retention has passed, but for the districts a run still holds the lease of (one
    going on beside this one: a daily run beside a re-reconciliation; ``held`` unless
    given: :func:`held_leases`), per ``hotich.workfiles.purge``; returns the counts."""
    held = held_leases(ctx) if held is None else held
    return workfiles.purge(ctx.settings, ctx.run_id, held=held).as_dict()


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


# --- district leases (hotich.lease) -----------------------------------------------------

# In a district's work folder: why this run skipped it (another run held its lease).
HELD_FILE = "held.json"
# A legacy district's server digests of the rows this extract read (hotich.extract.legacy),
# kept by the load with the verdicts (recon.source_digest, decision 0020).
SOURCE_DIGESTS = "source_digests.parquet"


def _note_held(ctx: RunContext, held: lease.DistrictHeld) -> None:
    """Leave the skip's reason in the district's work folder, for the run report."""
    _write_json(ctx.workdir(held.district_code) / HELD_FILE, held.as_dict())


def held_districts(ctx: RunContext, district_codes: list[str]) -> dict[str, dict[str, Any]]:
    """The districts of ``district_codes`` this run skipped because another run held them,
    with the holder (:meth:`hotich.lease.DistrictHeld.as_dict`)."""
    held = {}
    for code in district_codes:
        path = ctx.workdir(code) / HELD_FILE
        if path.exists():
            held[code] = json.loads(path.read_text(encoding="utf-8"))
    return held


def release_leases(ctx: RunContext) -> list[str]:
    """Give back the district leases this run still holds (districts that failed before
    their load committed); the districts released."""
    conn = connect(ctx)
    try:
        with conn, conn.cursor() as cur:
            return lease.release_run(cur, ctx.settings.sql_dir, ctx.run_id)
    finally:
        conn.close()


# --- extract ----------------------------------------------------------------------------


def extract_district(
    ctx: RunContext, district: District, resolve_uri: UriResolver
) -> dict[str, Any]:
    """Take the district's lease (:class:`hotich.lease.DistrictHeld` when another run holds
    it), then read its new or changed records into its work folder; return counts."""
    started = time.monotonic()
    sql_dir = ctx.settings.sql_dir
    with connect(ctx) as conn, conn.cursor() as cur:
        try:
            expiry = dt.timedelta(minutes=ctx.settings.lease_expiry_minutes)
            lease.take(cur, sql_dir, district.code, ctx.run_id, expiry)
        except lease.DistrictHeld as held:
            _note_held(ctx, held)
            raise
        (ctx.workdir(district.code) / HELD_FILE).unlink(missing_ok=True)
        cur.execute(
            "SELECT table_name, updated_at FROM recon.watermark WHERE district_code = %s",
            (district.code,),
        )
        watermarks = dict(cur.fetchall())
        cur.execute(
            "SELECT file_name, content_hash FROM recon.workbook_file WHERE district_code = %s",
            (district.code,),
        )
        known_files = dict(cur.fetchall())
        known_digests: dict[str, str] = {}
        if district.flavor is Flavor.LEGACY:
            cur.execute(
                (sql_dir / "load" / "known_digests.sql").read_text(encoding="utf-8"),
                {"district_code": district.code},
            )
            known_digests = dict(cur.fetchall())
    conn.close()
    work = ctx.workdir(district.code)
    workfiles.forget_load(work)  # what this extract reads is a load still to commit
    # Chunks stream to Parquet as they are read: memory is bounded by the chunk size. The
    # hashes of the records read before are looked up chunk by chunk, on a connection of
    # their own (autocommit: no transaction held open while the source is read).
    hashes_conn = connect(ctx)
    hashes_conn.autocommit = True
    known_hashes = KnownHashes(
        partial(_known_hashes, hashes_conn, sql_dir / "load" / "known_hashes.sql", district.code)
    )
    sink = RecordSink(work / "extract.parquet", label=f"district {district.label}")
    try:
        if district.flavor is Flavor.WORKBOOK:
            assert district.inbox is not None
            try:
                extract = extract_workbook(
                    district.code,
                    district.inbox,
                    known_files=known_files,
                    known_hashes=known_hashes,
                    sink=sink,
                    limits=WorkbookLimits.from_settings(ctx.settings),
                    chunk_rows=ctx.settings.chunk_rows,
                    settle_s=ctx.settings.inbox_settle_seconds,
                )
            except FileNotFoundError as exc:
                raise SourceError(f"district {district.label}: {exc}") from exc
        else:
            assert district.conn_id is not None
            uri = resolve_uri(district.conn_id)
            if district.flavor is Flavor.MODERN:
                extract = extract_modern(
                    district.code,
                    uri,
                    sql_dir=sql_dir,
                    watermarks=watermarks,
                    known_hashes=known_hashes,
                    lookback=dt.timedelta(minutes=ctx.settings.watermark_lookback_minutes),
                    chunk_rows=ctx.settings.chunk_rows,
                    sink=sink,
                )
            else:
                extract = extract_legacy(
                    district.code,
                    uri,
                    sql_dir=sql_dir,
                    known_hashes=known_hashes,
                    chunk_rows=ctx.settings.chunk_rows,
                    sink=sink,
                    known_digests=known_digests,
                    digests_path=work / SOURCE_DIGESTS,
                )
    finally:
        sink.close()
        hashes_conn.close()
    return save_extract(ctx, extract, seconds=time.monotonic() - started)


def _known_hashes(conn: Any, sql_file: Path, district_code: str, keys: list[str]) -> dict[str, str]:
    """The content hashes of ``keys`` recorded when last read (those never read left out)."""
    if not keys:
        return {}
    with conn.cursor() as cur:
        cur.execute(sql_file.read_text(encoding="utf-8"),
                    {"district_code": district_code, "keys": keys})  # fmt: skip
        return dict(cur.fetchall())


def save_extract(ctx: RunContext, extract: Extract, seconds: float) -> dict[str, Any]:
    """Write the extract state beside the extracted records; return the counts."""
    work = ctx.workdir(extract.district_code)
    state = {
        "watermarks": extract.watermarks,
        "workbook_files": extract.workbook_files,
        "rejected_files": extract.rejected_files,
        "inbox_files": extract.inbox_files,
        "read": extract.read,
    }
    _write_json(work / "extract_state.json", state)
    summary = {
        "district_code": extract.district_code,
        "read": extract.read,
        "extracted": extract.extracted,
        "rejected_files": len(extract.rejected_files),
        "extract_seconds": round(seconds, 2),
    }
    log.info(
        "district %s: %d rows read, %d new or changed",
        extract.district_code,
        extract.read,
        extract.extracted,
    )
    return summary


# --- validate ---------------------------------------------------------------------------


def validate_district(ctx: RunContext, district_code: str) -> dict[str, Any]:
    """Normalize and run the quality suites; write per-record quarantine reasons."""
    started = time.monotonic()
    work = ctx.workdir(district_code)
    workfiles.require(work, ["extract.parquet"], district_code=district_code, run_id=ctx.run_id)
    raw = pd.read_parquet(work / "extract.parquet")
    records = normalize.normalize_records(raw)
    named = records[["book", "entry_no"]].dropna().astype(str).drop_duplicates()
    with connect(ctx) as conn, conn.cursor() as cur:
        claimed = read_sql(
            cur,
            ctx.settings.sql_dir / "load" / "claimed_entries.sql",
            {"district_code": district_code, "books": named["book"].tolist(),
             "entries": named["entry_no"].tolist()},
        )  # fmt: skip
        past = quality.baseline(cur, ctx.settings.sql_dir, district_code, ctx.run_id, ctx.settings)
    conn.close()
    outcome = validate.validate_records(
        records,
        run_date=ctx.run_date,
        province_codes=validate.load_province_codes(ctx.settings.province_codes_file),
        claimed=claimed,
        suite_dir=ctx.settings.expectations_dir,
    )
    # Sorted code lists, one of its own per record (hotich.model.reason_lists).
    records["quarantine_reasons"] = outcome.reasons.reindex(records.index)
    records.to_parquet(work / "validated.parquet", index=False)
    gx_dir = work / "gx"
    gx_dir.mkdir(exist_ok=True)
    for earlier in gx_dir.glob("*.json"):  # of an earlier read in this run: loaded already
        earlier.unlink()
    for suite, result in outcome.suite_results.items():
        _write_json(gx_dir / f"{suite}.json", result)
    quarantined = int(records["quarantine_reasons"].map(len).gt(0).sum())
    rules = validate.rule_results(outcome.suite_results)
    shares = quality.reason_shares(rules)
    # The district's run against its own past (hotich.quality): a line, or None.
    spiked = quality.spike(quarantined, len(records), shares, past, ctx.settings)
    thresholds = gates.load_thresholds(ctx.settings.campaign_file, district_code)
    gate = gates.decide(rules, len(records), quarantined, spiked, thresholds)
    decision = gate_district(ctx, district_code, gate, len(records), quarantined)
    if decision == "block":  # nothing written: the load never runs, the records are read again
        raise gates.QualityGateBlocked(district_code, ctx.run_id, gate)
    return {
        "district_code": district_code,
        "validated": len(records),
        "failing_quality": quarantined,
        "quality_spike": spiked,
        "quality_judged": quality.judged(len(records), past, ctx.settings),
        "quality_gate": decision,
        # the warning's line (an incident of low severity), or None
        "quality_gate_warn": gate.summary if decision == "warn" else None,
        "validate_seconds": round(time.monotonic() - started, 2),
    }


def gate_district(
    ctx: RunContext, district_code: str, gate: gates.GateDecision, records: int, quarantined: int
) -> str:
    """Record the gate's decision for the district's run in ``ops.quality_gate``; a release
    waiting for the district is used by this run (once), and a block it meets becomes
    ``released``. The decision recorded."""
    sql_dir = ctx.settings.sql_dir / "ops"
    decision, release_id = gate.decision, None
    with connect(ctx) as conn, conn.cursor() as cur:
        cur.execute((sql_dir / "gate_release_take.sql").read_text(encoding="utf-8"),
                    {"district_code": district_code, "run_id": ctx.run_id})  # fmt: skip
        release = cur.fetchone()
        if release is not None:
            release_id = int(release[0])
            cur.execute((sql_dir / "gate_release_use.sql").read_text(encoding="utf-8"),
                        {"release_id": release_id, "run_id": ctx.run_id})  # fmt: skip
            if decision == "block":
                decision = "released"
                log.warning("district %s: quality gate would block (%s); released for this run"
                            " by %s", district_code, gate.summary, release[1])  # fmt: skip
        cur.execute((sql_dir / "gate_record.sql").read_text(encoding="utf-8"), {
            "run_id": ctx.run_id, "district_code": district_code, "decision": decision,
            "summary": gate.summary, "findings": json.dumps(gate.findings),
            "records": records, "quarantined": quarantined, "release_id": release_id,
        })  # fmt: skip
    conn.close()
    log.info("district %s: quality gate %s%s", district_code, decision,
             f": {gate.summary}" if gate.summary else "")  # fmt: skip
    return decision


# --- reconcile --------------------------------------------------------------------------


def persons_of(records: pd.DataFrame) -> pd.DataFrame:
    """One row per person to reconcile: the subject, or each spouse of a marriage."""
    frames = []
    single = records[records["record_type"].isin([RecordType.BIRTH.value, RecordType.DEATH.value])]
    if not single.empty:
        is_birth = single["record_type"] == RecordType.BIRTH.value
        is_death = ~is_birth
        frames.append(
            pd.DataFrame(
                {
                    "source_key": single["source_key"],
                    "record_type": single["record_type"],
                    "role": ROLE_SUBJECT,
                    "full_name": single["subject_name"],
                    "sex": single["subject_sex"],
                    "dob": single["subject_dob"],
                    "dob_year": single["subject_dob_year"],
                    "dob_year_only": single["subject_dob_state"] == "year",
                    "personal_id": single["subject_id"],
                    "mother_name": single["mother_name"].where(is_birth, None),
                    "father_name": single["father_name"].where(is_birth, None),
                    "death_date": single["death_date"].where(is_death),
                    "registration_date": single["registration_date"],
                }
            )
        )
    married = records[records["record_type"] == RecordType.MARRIAGE.value]
    for role, prefix, sex in ((ROLE_HUSBAND, "husband", SEX_MALE), (ROLE_WIFE, "wife", SEX_FEMALE)):
        if married.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "source_key": married["source_key"],
                    "record_type": married["record_type"],
                    "role": role,
                    "full_name": married[f"{prefix}_name"],
                    "sex": sex,
                    "dob": married[f"{prefix}_dob"],
                    "dob_year": married[f"{prefix}_dob_year"],
                    "dob_year_only": married[f"{prefix}_dob_state"] == "year",
                    "personal_id": married[f"{prefix}_id"],
                    "mother_name": None,
                    "father_name": None,
                    "death_date": pd.NaT,
                    "registration_date": married["registration_date"],
                }
            )
        )
    if not frames:
        from hotich.model import PERSON_COLUMNS

        return pd.DataFrame(columns=list(PERSON_COLUMNS))
    return pd.concat(frames, ignore_index=True)


#: What :func:`with_given` adds to a person's verdict: the name and ID its record gave.
GIVEN_COLUMNS = ("full_name", "personal_id")


def with_given(verdicts: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """Person verdicts with the name and ID each person's record gave (the load and the
    waiting list need both)."""
    given = persons[["source_key", "role", *GIVEN_COLUMNS]]
    return verdicts.merge(given, on=["source_key", "role"], how="left")


# The columns of validated.parquet the reconcile step reads: what ``persons_of`` takes
# from a record, and whether the record passed the suites.
_PERSON_FIELDS = ("subject", "husband", "wife")
RECONCILE_COLUMNS: tuple[str, ...] = (
    "source_key",
    "record_type",
    "quarantine_reasons",
    *(f"{p}_{f}" for p in _PERSON_FIELDS for f in ("name", "dob", "dob_year", "dob_state", "id")),
    "subject_sex",
    "mother_name",
    "father_name",
    "death_date",
    "registration_date",
)


def reconcile_district(
    ctx: RunContext, district_code: str, register: reconcile.RegisterLookup
) -> dict[str, Any]:
    """Check every person of the records that passed the suites against the register,
    ``chunk_rows`` records at a time (issue 16): a chunk's persons are asked about and
    linked, and their verdicts and candidates written, before the next chunk is read, so
    that memory follows the chunk, not the district. A person's verdict depends on its
    record and the register's answers alone: the verdicts are the same for any chunk."""
    started = time.monotonic()
    work = ctx.workdir(district_code)
    workfiles.require(work, ["validated.parquet"], district_code=district_code, run_id=ctx.run_id)
    rows = ctx.settings.chunk_rows
    counters: dict[str, int] = {}
    codes: dict[str, int] = {}
    n_persons = 0
    asked_before = reconcile.AskedBefore()
    keys: set[str] = set()  # the district's source keys, for its decisions
    with (
        shared_register(ctx, district_code, register) as asked,
        _RecordRowWriter(work / "persons.parquet", PERSONS_SCHEMA, rows) as persons_file,
        _RecordRowWriter(work / "candidates.parquet", CANDIDATES_SCHEMA, rows) as candidates_file,
    ):
        first = 0
        for records in _exact_batches(work / "validated.parquet", rows, list(RECONCILE_COLUMNS)):
            clean = records[records["quarantine_reasons"].map(len) == 0]
            persons = persons_of(clean)
            result = reconcile.reconcile(persons, asked, rows, asked_before)
            person_verdicts = with_given(result.persons, persons)
            # Sorted by their record's position, so that the load reads them chunk by chunk.
            persons_file.write(person_verdicts, records["source_key"], first)
            candidates_file.write(result.ambiguous, records["source_key"], first)
            for code, n in person_verdicts["reasons"].explode().value_counts().items():
                codes[str(code)] = codes.get(str(code), 0) + int(n)
            counters = reconcile.add_counters(counters, result.counters)
            n_persons += len(persons)
            first += len(records)
            keys.update(records["source_key"])
        outcomes = _prepare_decisions(ctx, district_code, keys, asked)
    shared = asked.stats.as_dict() if isinstance(asked, SharedRegister) else {}
    log.info("district %s: %d records reconciled in chunks of %d: %s", district_code, first,
             rows, counters)  # fmt: skip
    return {
        "district_code": district_code,
        "persons": n_persons,
        "reasons": codes,
        "decisions": outcomes,
        "register": counters,
        "register_shared": shared,
        "reconcile_seconds": round(time.monotonic() - started, 2),
    }


@contextmanager
def shared_register(
    ctx: RunContext, district_code: str, register: reconcile.RegisterLookup
) -> Iterator[reconcile.RegisterLookup]:
    """``register`` behind the run's answer store (:class:`hotich.register.shared.
    SharedRegister`: each ID and match query asked once per run across districts), or
    ``register`` itself when ``share_answers`` is off."""
    if not ctx.settings.register.share_answers:
        yield register
        return
    with SharedRegister(
        register,
        lambda: connect(ctx),
        ctx.settings.sql_dir,
        ctx.run_id,
        district_code,
        ctx.settings.register,
    ) as store:
        yield store


def forget_register_answers(ctx: RunContext) -> None:
    """The run is over (its report): delete its register answers (personal data)."""
    conn = connect(ctx)
    try:
        with conn, conn.cursor() as cur:
            forget_run(cur, ctx.settings.sql_dir, ctx.run_id)
    finally:
        conn.close()


def purge_register_answers(ctx: RunContext) -> None:
    """The plan step: delete the register answers other runs left (a run whose report
    never ran) once older than the run timeout, when no such run can still be going."""
    conn = connect(ctx)
    try:
        with conn, conn.cursor() as cur:
            purge(cur, ctx.settings.sql_dir, ctx.run_id, ctx.settings.run_timeout_minutes)
    finally:
        conn.close()


# --- load -------------------------------------------------------------------------------


def record_verdicts(records: pd.DataFrame, person_verdicts: pd.DataFrame) -> pd.DataFrame:
    """One verdict per record: status, sorted reasons and the ledger's personal_id."""
    out = records[
        ["district_code", "record_type", "source_key", "content_hash", "book", "entry_no"]
    ].copy()
    out["source_record"] = records["raw"]
    # Reason sets as bit masks over the contract's codes (decision 0003), whole columns at
    # a time: the quality codes, the register's (merged per record), LEGACY_ENCODING.
    quality = code_masks(records["quarantine_reasons"])
    quarantined = quality != 0
    status = pd.Series(Status.LOADED.value, index=records.index, dtype=object)
    register = np.zeros(len(records), dtype=np.int64)
    if not person_verdicts.empty:
        by_key = reconcile.merge_record_verdicts(person_verdicts).set_index("source_key")
        register = (
            records["source_key"].map(by_key["reason_mask"]).fillna(0).to_numpy(dtype=np.int64)
        )
        status = records["source_key"].map(by_key["status"]).fillna(Status.LOADED.value)
    status = status.where(~quarantined, Status.QUARANTINED.value)
    legacy = records["legacy_encoding"].fillna(False).astype(bool).to_numpy()
    # LEGACY_ENCODING is information: listed whatever the status.
    legacy_bit = code_bits({LEGACY_ENCODING})
    masks = np.where(quarantined, quality, register) | np.where(legacy, legacy_bit, 0)
    # A loaded record carries only information codes (contract): guard the invariant.
    not_info = code_bits(QUARANTINE_CODES | REVIEW_CODES)
    loaded = (status == Status.LOADED.value).to_numpy()
    assert not (masks[loaded] & not_info).any()
    out["reasons"] = reason_lists(masks, CODE_ORDER)
    out["status"] = status.values
    subject_ids = {}
    if not person_verdicts.empty:
        subj = person_verdicts[person_verdicts["role"] == ROLE_SUBJECT]
        subject_ids = dict(zip(subj["source_key"], subj["loaded_personal_id"], strict=True))
    loaded_single = (out["status"] == Status.LOADED.value) & out["record_type"].isin(
        [RecordType.BIRTH.value, RecordType.DEATH.value]
    )
    out["personal_id"] = out["source_key"].map(subject_ids).where(loaded_single, None)
    duplicate = (quality & code_bits({DUPLICATE_ENTRY})) != 0
    out["claims_entry"] = out["book"].notna() & out["entry_no"].notna() & ~duplicate
    return out


def _link_verdict(reasons: list[str]) -> str | None:
    for code in (LINKED, LINK_AMBIGUOUS, LINK_NONE):
        if code in reasons:
            return code
    return None


def load_frames(
    records: pd.DataFrame, verdicts: pd.DataFrame, person_verdicts: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registrations and people to load (records whose verdict is ``loaded``)."""
    loaded_keys = verdicts.loc[verdicts["status"] == Status.LOADED.value, "source_key"]
    recs = records[keys_in(records["source_key"], loaded_keys)]
    registrations = pd.DataFrame(
        {
            "source_key": recs["source_key"],
            "district_code": recs["district_code"],
            "record_type": recs["record_type"],
            "book": recs["book"],
            "entry_no": recs["entry_no"],
            "registration_date": recs["registration_date"].dt.strftime("%Y-%m-%d"),
            "place": recs["place"],
            "ethnicity": recs["ethnicity"].fillna(recs["husband_ethnicity"]),
            "nationality": recs["nationality"],
            "death_cause": recs["death_cause"],
            "legacy_encoding": recs["legacy_encoding"].fillna(False).astype(bool),
            "content_hash": recs["content_hash"],
        }
    )
    people = persons_of(recs)
    if people.empty:
        return registrations, pd.DataFrame(columns=["source_key", "role"])
    pv = person_verdicts.drop(
        columns=["full_name", "personal_id", "record_type", "source_name"], errors="ignore"
    )
    people = people.merge(pv, on=["source_key", "role"], how="left")
    src = recs.set_index("source_key")
    is_birth = people["record_type"] == RecordType.BIRTH.value

    def text_date(col: str) -> pd.Series:
        state = people["source_key"].map(src[f"{col}_state"])
        full = people["source_key"].map(src[col]).dt.strftime("%Y-%m-%d")
        year = people["source_key"].map(src[f"{col}_year"]).astype("string")
        return full.where(state == "full", year.where(state == "year", None)).where(is_birth, None)

    persons = pd.DataFrame(
        {
            "source_key": people["source_key"],
            "role": people["role"],
            "full_name": people["loaded_name"].fillna(people["full_name"]),
            "source_name": people["full_name"],
            "sex": people["sex"],
            "date_of_birth": people["dob"].dt.strftime("%Y-%m-%d"),
            "year_of_birth": people["dob_year"].astype("Int64"),
            "personal_id": people["loaded_personal_id"],
            "id_origin": people["personal_id"].notna().map({True: "given", False: None}),
            "mother_name": people["mother_name"],
            "mother_dob": text_date("mother_dob"),
            "father_name": people["father_name"],
            "father_dob": text_date("father_dob"),
            "death_date": people["death_date"].dt.strftime("%Y-%m-%d"),
            "link_verdict": people["reasons"].map(lambda r: _link_verdict(code_list(r))),
            "link_name_level": people.get("link_name_level"),
            "link_date_level": people.get("link_date_level"),
            "link_corroborated": people.get("link_corroborated"),
        }
    )
    persons.loc[persons["link_verdict"] == LINKED, "id_origin"] = "linked"
    return registrations, persons


# The position of a person's record in validated.parquet, kept in persons.parquet and
# candidates.parquet (sorted by it) so that the load reads a chunk's persons by range.
RECORD_ROW = "record_row"


def _by_record_row(frame: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """``frame`` (rows with a ``source_key``) with each row's record position in ``keys``
    (:data:`RECORD_ROW`), sorted by it (stable: a record's persons keep their order)."""
    position = pd.Series(np.arange(len(keys), dtype=np.int64), index=keys.to_numpy())
    position = position[~position.index.duplicated()]
    rows = frame["source_key"].map(position) if len(frame) else pd.Series(dtype="int64")
    out = frame.assign(**{RECORD_ROW: rows.fillna(-1).astype("int64").to_numpy()})
    return out.sort_values(RECORD_ROW, kind="stable").reset_index(drop=True)


# The work files the reconcile step writes a chunk at a time: one schema for all chunks
# (a column all None in one chunk is still text), each row beside its RECORD_ROW; the
# columns are reconcile's (VERDICT_COLUMNS, AMBIGUOUS_COLUMNS), text unless named here.
_TEXT, _FLAG = pa.string(), pa.bool_()
_NOT_TEXT = {"reasons": pa.list_(_TEXT), "link_corroborated": _FLAG, "corroborated": _FLAG,
             "fits": _FLAG, "best": _FLAG, "candidate_order": pa.int64(),
             "score": pa.float64(), RECORD_ROW: pa.int64()}  # fmt: skip


def _schema(columns: Iterable[str]) -> pa.Schema:
    return pa.schema([(c, _NOT_TEXT.get(c, _TEXT)) for c in columns])


PERSONS_SCHEMA = _schema((*reconcile.VERDICT_COLUMNS, *GIVEN_COLUMNS, RECORD_ROW))
CANDIDATES_SCHEMA = _schema((*reconcile.AMBIGUOUS_COLUMNS, RECORD_ROW))


class _RecordRowWriter:
    """A work file written a chunk of records at a time (``pyarrow.parquet.ParquetWriter``):
    each chunk's rows sorted by their record's position (:func:`_by_record_row`, offset by
    the chunk's first record), in row groups of at most ``rows``, so that the whole file
    is sorted by :data:`RECORD_ROW` as :class:`_RowRanges` reads it. Written to a temporary
    name and renamed on a clean exit: a failed step leaves no half file."""

    def __init__(self, path: Path, schema: pa.Schema, rows: int) -> None:
        self.path, self.schema, self.rows = path, schema, max(rows, 1)
        self.tmp = path.with_suffix(".parquet.tmp")
        self.writer = pq.ParquetWriter(self.tmp, schema)

    def write(self, frame: pd.DataFrame, keys: pd.Series, first: int) -> None:
        """Write the rows of ``frame`` whose records are ``keys``, the chunk's records
        (the first at position ``first`` of validated.parquet)."""
        if not len(frame):
            return
        sorted_rows = _by_record_row(frame, keys)
        sorted_rows[RECORD_ROW] += first
        table = pa.Table.from_pandas(
            sorted_rows[self.schema.names], schema=self.schema, preserve_index=False
        )
        self.writer.write_table(table, row_group_size=self.rows)

    def __enter__(self) -> _RecordRowWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.writer.close()
        if exc_type is None:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _exact_batches(
    path: Path, rows: int, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """A Parquet file's rows as frames of exactly ``rows`` rows (the last one shorter),
    whatever its row groups: one batch in memory at a time."""
    pending: list[pa.RecordBatch] = []
    held = 0
    with pq.ParquetFile(path) as pf:
        for batch in pf.iter_batches(batch_size=rows, columns=columns):
            pending.append(batch)
            held += batch.num_rows
            while held >= rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, rows).to_pandas()
                rest = table.slice(rows)
                pending, held = rest.to_batches(), rest.num_rows
        if held:
            yield pa.Table.from_batches(pending).to_pandas()


class _RowRanges:
    """A work file sorted by :data:`RECORD_ROW`, read one chunk's range of rows at a time
    (the row groups outside it are skipped by their statistics)."""

    def __init__(self, path: Path, keys: Callable[[], pd.Series]) -> None:
        self.path = path
        self.whole: pd.DataFrame | None = None
        if not path.exists():
            self.whole = pd.DataFrame()
        elif RECORD_ROW not in pq.read_schema(path).names:
            # Written before the files were sorted (a load retried across an upgrade).
            self.whole = _by_record_row(pd.read_parquet(path), keys())

    def rows(self, first: int, end: int) -> pd.DataFrame:
        """The rows of the records at positions ``first`` .. ``end - 1``."""
        if self.whole is not None:
            if self.whole.empty:
                return self.whole
            w = self.whole
            part = w[(w[RECORD_ROW] >= first) & (w[RECORD_ROW] < end)]
        else:
            part = pd.read_parquet(
                self.path, filters=[(RECORD_ROW, ">=", first), (RECORD_ROW, "<", end)]
            )
        return part.drop(columns=[RECORD_ROW]).reset_index(drop=True)


def _chunk_of(
    records: pd.DataFrame,
    person_verdicts: pd.DataFrame,
    candidates: pd.DataFrame,
    canonical: pd.Series | pd.DataFrame,
) -> LoadChunk:
    """The load's rows for some records of a district, with their persons and candidates;
    ``canonical``: the records' canonical JSON by source key, or their raw extract rows
    (turned into JSON for the records left waiting only)."""
    verdicts = record_verdicts(records, person_verdicts)
    registrations, persons = load_frames(records, verdicts, person_verdicts)
    waiting_records, waiting_persons = waiting_frames(verdicts, person_verdicts, canonical)
    return LoadChunk(verdicts, registrations, persons, _candidate_rows(candidates),
                     waiting_records, waiting_persons)  # fmt: skip


def district_chunks(work: Path, chunk_rows: int) -> Iterator[LoadChunk]:
    """A district's load from its work folder, ``chunk_rows`` records at a time: the
    validated records, beside the same rows of the extract (their canonical content) and
    their persons and candidates by record position; then the records the reconcile step
    applied decisions to."""
    validated = work / "validated.parquet"

    def keys() -> pd.Series:
        return pd.read_parquet(validated, columns=["source_key"])["source_key"]

    persons = _RowRanges(work / "persons.parquet", keys)
    candidates = _RowRanges(work / "candidates.parquet", keys)
    raws = _exact_batches(work / "extract.parquet", chunk_rows, ["source_key", *_CANONICAL])
    first = 0
    for records in _exact_batches(validated, chunk_rows):
        raw = next(raws)
        if not raw["source_key"].equals(records["source_key"]):
            raise RuntimeError(  # validate writes its records in the extract's order
                f"{validated} and extract.parquet differ in order at row {first}"
            )
        end = first + len(records)
        yield _chunk_of(records, persons.rows(first, end), candidates.rows(first, end), raw)
        first = end
    if (work / DECIDED_RECORDS).exists():  # the decisions the reconcile step applied
        decided = pd.read_parquet(work / DECIDED_RECORDS)
        canonical = decided.set_index("source_key")["canonical"]
        yield _chunk_of(
            decided.drop(columns=["canonical"]),
            pd.read_parquet(work / DECIDED_PERSONS),
            pd.read_parquet(work / DECIDED_CANDIDATES),
            canonical,
        )


def district_batch(ctx: RunContext, district_code: str) -> LoadBatch:
    """What this run learned about the district, ready to load: its chunks are read from
    its work folder as the load COPYs them (:func:`district_chunks`)."""
    work = ctx.workdir(district_code)
    workfiles.require(
        work,
        ["validated.parquet", "persons.parquet", "extract_state.json"],
        district_code=district_code,
        run_id=ctx.run_id,
    )
    state_text = (work / "extract_state.json").read_text(encoding="utf-8")
    state = json.loads(state_text)
    extracted = pq.read_metadata(work / "validated.parquet").num_rows
    if (work / DECIDED_RECORDS).exists():
        extracted += pq.read_metadata(work / DECIDED_RECORDS).num_rows
    outcomes = pd.DataFrame(columns=["decision_id", "outcome"])
    if (work / DECISION_OUTCOMES).exists():
        outcomes = pd.read_parquet(work / DECISION_OUTCOMES)
    chunk_rows = ctx.settings.chunk_rows
    digests_path = work / SOURCE_DIGESTS
    digests = pd.read_parquet(digests_path) if digests_path.exists() else pd.DataFrame()
    return LoadBatch(
        run_id=ctx.run_id,
        district_code=district_code,
        extracted=extracted,
        verdicts=_no_verdicts(),
        registrations=pd.DataFrame(columns=["source_key"]),
        persons=pd.DataFrame(columns=["source_key"]),
        candidates=_candidate_rows(pd.DataFrame()),
        chunks=lambda: district_chunks(work, chunk_rows),
        digest_state=state_text,
        watermarks=state["watermarks"],
        workbook_files=state["workbook_files"],
        rejected_files=state["rejected_files"],
        inbox_files=state.get("inbox_files"),
        stats={
            "read": state.get("read", 0),
            "decisions": outcomes["outcome"].value_counts().to_dict(),
        },
        decision_outcomes=outcomes,
        quality=validate.rule_results(suite_results(work)),
        source_digests=digests,
    )


def suite_results(work: Path) -> dict[str, dict[str, Any]]:
    """The GX summaries ``validate_district`` left in a district's work folder, by suite."""
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(work.glob("gx/*.json"))
    }


def load_district(ctx: RunContext, district_code: str) -> dict[str, Any]:
    """Write the district's verdicts, loaded records and extract state in one transaction,
    then delete its work files holding personal data.

    A retry after the commit writes nothing: it finds the load marker (the files are
    gone), or, killed between the commit and the marker, the batch's digest in
    ``recon.run_summary``."""
    started = time.monotonic()
    work = ctx.workdir(district_code)
    committed = workfiles.loaded_counts(work)
    if committed is not None:
        log.info("district %s: already loaded in run %s", district_code, ctx.run_id)
        return committed
    try:
        counts = _load_refusing(ctx, district_batch(ctx, district_code))
    except lease.DistrictHeld as held:  # this run's lease expired and another run took it
        _note_held(ctx, held)
        raise
    result = {
        "district_code": district_code,
        **counts,
        "load_seconds": round(time.monotonic() - started, 2),
    }
    # Committed: the district's records are in the national database now, so its work
    # files holding personal data go (docs/personal-data.md).
    workfiles.mark_loaded(work, result)
    result["work_files_deleted"] = workfiles.after_load(ctx.settings, work)
    return result


# A load the national database refuses a record of is tried again with that record
# quarantined (VALUE_INVALID), at most this many times: one bad record never holds back
# the rest of its district (issue 15, defect 2), and a load refused record after record
# is a bug to look at, not to go on with.
MAX_REFUSED_RECORDS = 20


def _load_refusing(ctx: RunContext, batch: LoadBatch) -> dict[str, int]:
    """``load_batch`` on a new connection; each record the database refuses quarantined
    and the load tried again (each try one transaction: only the last one commits)."""
    import psycopg2

    for _ in range(MAX_REFUSED_RECORDS + 1):
        conn = connect(ctx)
        try:
            return load_batch(conn, batch, ctx.settings.sql_dir)
        except LoadRefused as refused:
            if refused.source_key is None:
                raise
            log.warning("%s; quarantined VALUE_INVALID, the load is tried again", refused)
            batch = quarantine_refused(batch, refused.source_key, refused.sql_state or "")
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            # The server went away mid-load: nothing was committed (one transaction).
            raise NationalDatabaseUnavailable(
                f"district {batch.district_code}: the national database dropped the connection"
                f" during the load; nothing was committed: {loggable(first_line(exc))}"
            ) from exc
        finally:
            conn.close()
    raise LoadRefused(
        f"district {batch.district_code}: the national database refused more than"
        f" {MAX_REFUSED_RECORDS} records of the load; nothing was committed"
    )


def _candidate_rows(candidates: pd.DataFrame) -> pd.DataFrame:
    cols = ["source_key", "role", "candidate_id", "score", "rank"]
    if candidates.empty:
        return pd.DataFrame(columns=cols)
    frame = candidates.rename(columns={"so_dinh_danh": "candidate_id", "candidate_order": "rank"})
    if "rank" not in frame:
        frame = frame.sort_values(["source_key", "role", "score"], ascending=[True, True, False])
        frame["rank"] = frame.groupby(["source_key", "role"]).cumcount() + 1
    return frame.drop_duplicates(["source_key", "role", "candidate_id"])[cols]


# --- records waiting for a person: decisions applied, the register asked again ----------
# (docs/ledger.md, "Decisions" and "Re-reconciliation")

# In a district's work folder: the records whose decisions the reconcile step applied,
# their persons and candidates, and what the run did with each decision it found.
DECIDED_RECORDS = "decided.parquet"
DECIDED_PERSONS = "decided_persons.parquet"
DECIDED_CANDIDATES = "decided_candidates.parquet"
DECISION_OUTCOMES = "decision_outcomes.parquet"

# The canonical columns of a record as the extract read them (everything but the source's
# own JSON): what ``recon.waiting_record.record`` keeps to process the record again.
_CANONICAL = [c for c in RAW_COLUMNS if c != "raw"]


def _canonical_json(raw: pd.DataFrame) -> pd.Series:
    """Each raw canonical row as JSON text, by source key."""
    if raw.empty:
        return pd.Series(dtype=object)
    lines = raw[_CANONICAL].to_json(orient="records", lines=True, force_ascii=False)
    return pd.Series(lines.splitlines(), index=raw["source_key"].to_numpy(), dtype=object)


def _canonical_of_extract(path: Path, keys: list[str]) -> pd.Series:
    """The canonical JSON of the records ``keys`` of an extract file (only those read)."""
    if not keys or not path.exists():
        return pd.Series(dtype=object)
    raw = pd.read_parquet(path, columns=_CANONICAL, filters=[("source_key", "in", keys)])
    return _canonical_json(raw)


def waiting_frames(
    verdicts: pd.DataFrame,
    person_verdicts: pd.DataFrame,
    canonical: pd.Series | pd.DataFrame,
    extract_file: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``recon.waiting_record`` and ``recon.waiting_person`` for a load:
    every record whose verdict leaves a person waiting for a decision, with its canonical
    content (``canonical``: JSON by source key, or the records' raw extract rows, turned
    into JSON for those left waiting only; for the keys it lacks, the run's
    ``extract_file``) and last verdict."""
    persons = decisions.waiting_persons(verdicts, person_verdicts)
    keys = persons["source_key"].unique()
    content = (
        _canonical_json(canonical[keys_in(canonical["source_key"], keys)])
        if isinstance(canonical, pd.DataFrame)
        else canonical
    )
    if extract_file is not None:
        missing = [str(k) for k in keys if k not in content.index]
        content = pd.concat([content, _canonical_of_extract(extract_file, missing)])
    rec = verdicts[keys_in(verdicts["source_key"], keys)]
    records = pd.DataFrame(
        {
            "source_key": rec["source_key"],
            "district_code": rec["district_code"],
            "record_type": rec["record_type"],
            "content_hash": rec["content_hash"],
            "record": rec["source_key"].map(content[~content.index.duplicated()]),
            "source_record": rec["source_record"],
            "status": rec["status"],
            "reasons": rec["reasons"],
            "personal_id": rec["personal_id"],
        }
    )
    return records.reset_index(drop=True), persons


def rework(
    waiting: pd.DataFrame,
    register: reconcile.RegisterLookup,
    applied: pd.DataFrame,
    waiting_roles: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Process waiting records again from their kept content (``recon.waiting_record``
    rows: ``record`` and ``source_record`` as dicts, ``status``): normalized as the
    extract's records are, their persons checked against the register again, then the
    ``applied`` decisions given their verdicts. A loaded person who did not wait
    (``waiting_roles``: ``source_key``, ``role``) keeps a loaded verdict: loaded persons
    with an ID are not re-checked. Returns (records, person verdicts, candidates), as
    ``validated.parquet``, ``persons.parquet`` and ``candidates.parquet`` hold them."""
    raw = pd.DataFrame.from_records(list(waiting["record"]), columns=_CANONICAL)
    raw["raw"] = [json.dumps(r, ensure_ascii=False) for r in waiting["source_record"]]
    records = normalize.normalize_records(raw.reset_index(drop=True))
    returned = decisions.returned_keys(applied)
    is_returned = records["source_key"].isin(returned)
    records["quarantine_reasons"] = [[RETURNED] if r else [] for r in is_returned]
    records["canonical"] = _canonical_json(raw).to_numpy()
    persons = persons_of(records[~is_returned])
    result = reconcile.reconcile(persons, register)
    pv = with_given(result.persons, persons)
    was_loaded = pv["source_key"].map(waiting.set_index("source_key")["status"]) == (
        Status.LOADED.value
    )
    waited = pd.MultiIndex.from_frame(pv[["source_key", "role"]]).isin(
        pd.MultiIndex.from_frame(waiting_roles[["source_key", "role"]])
    )
    keep = was_loaded.to_numpy() & ~waited
    if keep.any():
        pv.loc[keep, "reasons"] = pv.loc[keep, "reasons"].map(
            lambda r: sorted(set(r) - REVIEW_CODES)
        )
        pv.loc[keep, "loaded_personal_id"] = pv.loc[keep, "personal_id"]
    pv = decisions.apply_to_persons(pv, applied)
    candidates = result.ambiguous
    if not applied.empty and not candidates.empty:
        decided = pd.MultiIndex.from_frame(applied[["source_key", "role"]])
        candidates = candidates[
            ~pd.MultiIndex.from_frame(candidates[["source_key", "role"]]).isin(decided)
        ]
    return records, pv, candidates


def _read_waiting(cur, sql_dir: Path, sql_name: str, district_code: str) -> pd.DataFrame:
    return read_sql(cur, sql_dir / "desk" / sql_name, {"district_code": district_code})


def _prepare_decisions(
    ctx: RunContext, district_code: str, changed_keys: set[str], register: reconcile.RegisterLookup
) -> dict[str, int]:
    """Find the district's decisions still to apply (``include/sql/desk``), tell applied
    from stale (:func:`hotich.decisions.triage`), process the decided records again with
    their decisions (:func:`rework`) and leave them in the work folder for the load,
    which writes their new ledger rows and the outcomes in its transaction."""
    work = ctx.workdir(district_code)
    for name in (DECIDED_RECORDS, DECIDED_PERSONS, DECIDED_CANDIDATES, DECISION_OUTCOMES):
        (work / name).unlink(missing_ok=True)
    sql_dir = ctx.settings.sql_dir
    conn = connect(ctx)
    try:
        with conn, conn.cursor() as cur:
            pending = _read_waiting(cur, sql_dir, "pending_decisions.sql", district_code)
            if pending.empty:
                return {}
            triaged = decisions.triage(pending, changed_keys)
            applied = triaged[triaged["outcome"] == decisions.Outcome.APPLIED.value]
            keys = list(applied["source_key"].unique())
            cur.execute(
                "SELECT source_key, record, source_record, status FROM recon.waiting_record"
                " WHERE source_key = ANY(%s)",
                (keys,),
            )
            waiting = pd.DataFrame(
                cur.fetchall(), columns=["source_key", "record", "source_record", "status"]
            )
            cur.execute(
                "SELECT source_key, role FROM recon.waiting_person WHERE source_key = ANY(%s)",
                (keys,),
            )
            roles = pd.DataFrame(cur.fetchall(), columns=["source_key", "role"])
    finally:
        conn.close()
    if not waiting.empty:
        records, pv, candidates = rework(waiting, register, applied, roles)
        records.to_parquet(work / DECIDED_RECORDS, index=False)
        pv.to_parquet(work / DECIDED_PERSONS, index=False)
        candidates.to_parquet(work / DECIDED_CANDIDATES, index=False)
    triaged[["decision_id", "outcome"]].to_parquet(work / DECISION_OUTCOMES, index=False)
    counts = {str(k): int(v) for k, v in triaged["outcome"].value_counts().items()}
    log.info("district %s: decisions %s", district_code, counts)
    return counts


def recheck_district(
    ctx: RunContext, district_code: str, register: reconcile.RegisterLookup
) -> dict[str, Any]:
    """Re-reconciliation of one district (docs/ledger.md): take its lease, ask the register
    again about every waiting record no decision covers (:func:`rework`), and write a new
    ledger row only where the rules now give another status, codes or linked ID, in one
    transaction that gives the lease back. Returns counts."""
    started = time.monotonic()
    sql_dir = ctx.settings.sql_dir
    conn = connect(ctx)
    try:
        with conn, conn.cursor() as cur:
            expiry = dt.timedelta(minutes=ctx.settings.lease_expiry_minutes)
            lease.take(cur, sql_dir, district_code, ctx.run_id, expiry)
            waiting = _read_waiting(cur, sql_dir, "recheck_records.sql", district_code)
            cur.execute(
                "SELECT source_key, role FROM recon.waiting_person WHERE district_code = %s",
                (district_code,),
            )
            roles = pd.DataFrame(cur.fetchall(), columns=["source_key", "role"])
    finally:
        conn.close()
    no_decisions = pd.DataFrame(columns=["source_key", "role", "decision", "personal_id"])
    if waiting.empty:
        records = pd.DataFrame(columns=["source_key"])
        pv = candidates = pd.DataFrame()
        verdicts = pd.DataFrame(columns=["source_key"])
    else:
        records, pv, candidates = rework(waiting, register, no_decisions, roles)
        verdicts = record_verdicts(records.drop(columns=["canonical"]), pv)
    last = waiting.set_index("source_key") if len(waiting) else None
    if last is not None and len(verdicts):
        same = (
            (verdicts["status"].to_numpy() == verdicts["source_key"].map(last["status"]).to_numpy())
            & (verdicts["reasons"].map(tuple) == verdicts["source_key"].map(last["reasons"]).map(
                lambda r: tuple(r))).to_numpy()
            & (verdicts["personal_id"].fillna("").to_numpy()
               == verdicts["source_key"].map(last["personal_id"]).fillna("").to_numpy())
        )  # fmt: skip
        changed = set(verdicts.loc[~same, "source_key"])
    else:
        changed = set()
    keep = records["source_key"].isin(changed)
    records = records[keep].reset_index(drop=True)
    canonical = (
        records.set_index("source_key")["canonical"] if len(records) else pd.Series(dtype=object)
    )
    records = records.drop(columns=["canonical"], errors="ignore")
    pv = pv[pv["source_key"].isin(changed)] if len(pv) else pv
    candidates = (
        candidates[candidates["source_key"].isin(changed)] if len(candidates) else candidates
    )
    verdicts = record_verdicts(records, pv) if len(records) else _no_verdicts()
    registrations, persons = (
        load_frames(records, verdicts, pv)
        if len(records)
        else (pd.DataFrame(columns=["source_key"]),) * 2
    )
    waiting_records, waiting_persons = waiting_frames(verdicts, pv, canonical) if len(records) else (
        pd.DataFrame(), pd.DataFrame())  # fmt: skip
    batch = LoadBatch(
        run_id=ctx.run_id,
        district_code=district_code,
        extracted=len(verdicts),
        verdicts=verdicts,
        registrations=registrations,
        persons=persons,
        candidates=_candidate_rows(candidates)
        if len(candidates)
        else _candidate_rows(pd.DataFrame()),
        stats={"rechecked": len(waiting), "changed": len(changed)},
        waiting_records=waiting_records,
        waiting_persons=waiting_persons,
    )
    counts = _load_refusing(ctx, batch)
    log.info("district %s: %d waiting records asked again, %d new verdicts",
             district_code, len(waiting), len(changed))  # fmt: skip
    return {"district_code": district_code, "rechecked": len(waiting), **counts,
            "recheck_seconds": round(time.monotonic() - started, 2)}  # fmt: skip


def _no_verdicts() -> pd.DataFrame:
    from hotich.load import STAGE_VERDICT_COLUMNS

    return pd.DataFrame(columns=list(STAGE_VERDICT_COLUMNS))
