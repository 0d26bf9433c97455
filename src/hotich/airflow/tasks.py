"""Airflow tasks of the daily DAG: thin wrappers over ``hotich.pipeline``.

They turn the Airflow context into a :class:`~hotich.pipeline.RunContext`, resolve
connections, and pass only small dicts (keys, counts) through XCom.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NoReturn

import pendulum
from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from hotich import pipeline
from hotich.airflow import workstore
from hotich.airflow.assets import LOADS, emit_loaded
from hotich.airflow.settings import lease_poke_seconds
from hotich.config import TIMEZONE, District, Settings, load_districts
from hotich.connections import civil_status_uri, conn_uri
from hotich.lease import DistrictHeld
from hotich.model import Flavor
from hotich.workfiles import REPORT_FOLDER, WorkFilesGone

log = logging.getLogger(__name__)


def run_context() -> pipeline.RunContext:
    """The pipeline's view of the current DAG run."""
    context = get_current_context()
    dag_run = context["dag_run"]
    when = getattr(dag_run, "run_after", None) or context.get("logical_date") or pendulum.now("UTC")
    settings = Settings.from_env()
    return pipeline.RunContext(
        run_id=dag_run.run_id,
        run_date=pendulum.instance(when).in_timezone(TIMEZONE).date(),
        settings=settings,
        civil_status_uri=civil_status_uri(settings),
    )


def _fail_without_retry(error: Exception) -> NoReturn:
    """Fail the task for good (a retry cannot help); ``error`` stays the cause, so the
    incident keeps its kind."""
    raise AirflowFailException(str(error)) from error


def _skip_held(held: DistrictHeld) -> NoReturn:
    """Skip the district's task (and so its downstream ones): another run holds it."""
    log.warning("%s", held)
    raise AirflowSkipException(str(held)) from held


def _entry(d: District) -> dict[str, Any]:
    """A district as the tasks pass it through XCom (:func:`_district` reads it back)."""
    return {"code": d.code, "name": d.name, "flavor": d.flavor.value, "conn_id": d.conn_id,
            "inbox": str(d.inbox) if d.inbox else None, "email": d.email}  # fmt: skip


def _district(entry: dict[str, Any]) -> District:
    return District(
        code=entry["code"],
        name=entry["name"],
        flavor=Flavor(entry["flavor"]),
        conn_id=entry.get("conn_id"),
        inbox=Path(entry["inbox"]) if entry.get("inbox") else None,
        email=entry.get("email"),
    )


@task
def plan_districts() -> list[dict[str, Any]]:
    """Read the districts file, check the national database's schema (migrate it in local
    runs: ``HOTICH_MIGRATE_ON_RUN``), list the districts to run."""
    ctx = run_context()
    # Earlier runs' work files (personal data) go first, whatever happens next.
    purged = workstore.purge_work_files(ctx)
    log.info("work files of earlier runs deleted: %s", purged)
    districts = load_districts(ctx.settings.districts_file)
    applied = pipeline.prepare_database(ctx)
    if applied:
        log.info("national database migrated: %s", ", ".join(applied))
    pipeline.purge_register_answers(ctx)  # what earlier runs left of the register's answers
    log.info(
        "run %s (date %s): %d districts from %s",
        ctx.run_id,
        ctx.run_date,
        len(districts),
        ctx.settings.districts_file,
    )
    return [_entry(d) for d in districts]


# The district tasks return one dict of counts, passed whole to the next task: without
# multiple_outputs=False, Airflow 3 infers it from the ``dict`` return type and pushes
# every key again as an XCom of its own.

# Mapped district tasks are labelled "260 Tiên Du" in the UI instead of a map index, and the
# failure callback finds the district in the same context (hotich.airflow.callbacks).
DISTRICT_LABEL = "{{ hotich_district }}"


def _mark_district(code: str, name: str | None) -> None:
    context = get_current_context()
    context["hotich_district_code"] = code  # type: ignore[typeddict-unknown-key]
    context["hotich_district"] = f"{code} {name or ''}".strip()  # type: ignore[typeddict-unknown-key]


@task(retry_exponential_backoff=2.0, map_index_template=DISTRICT_LABEL, multiple_outputs=False)
def extract(district: dict[str, Any]) -> dict[str, Any]:
    """Take the district's lease and read its new or changed records (a source that is down
    fails this task; a district another run holds is skipped)."""
    _mark_district(district["code"], district.get("name"))
    ctx = run_context()
    try:
        with workstore.staged(ctx, workstore.district(district["code"])) as local:
            extracted = pipeline.extract_district(local, _district(district), conn_uri)
    except DistrictHeld as held:
        _skip_held(held)
    return {**extracted, "district_name": district.get("name")}


@task(map_index_template=DISTRICT_LABEL, multiple_outputs=False)
def validate(extracted: dict[str, Any]) -> dict[str, Any]:
    """Normalize and run the data-quality suites on the district's records."""
    _mark_district(extracted["district_code"], extracted.get("district_name"))
    from hotich.gates import QualityGateBlocked

    code = extracted["district_code"]
    try:
        with workstore.staged(run_context(), workstore.district(code)) as local:
            validated = pipeline.validate_district(local, code)
    except (WorkFilesGone, QualityGateBlocked) as exc:
        # A blocked district: its incident names the rule and the counts; a retry would
        # decide the same (docs/decisions/0013).
        _fail_without_retry(exc)
    _watch("quality_spike", validated["quality_spike"], judged=validated["quality_judged"])
    _watch("quality_gate_warn", validated["quality_gate_warn"], judged=True)
    return {**extracted, **validated}


def _watch(kind: str, degraded: str | None, *, judged: bool) -> None:
    """A district that finished degraded (``degraded``: the line saying how): an incident
    of ``kind`` that this task's success leaves open; the next success that was judged and
    found nothing closes it. A success that could not be judged closes nothing."""
    from hotich.airflow.callbacks import keep_open, record_degraded

    context: Any = get_current_context()  # the very context the success callback gets
    if degraded:
        record_degraded(context, kind, degraded)
    elif not judged:
        keep_open(context, kind)


@task(retry_exponential_backoff=2.0, map_index_template=DISTRICT_LABEL, multiple_outputs=False)
def reconcile(validated: dict[str, Any]) -> dict[str, Any]:
    """Check every person against the population register (retried when it is down)."""
    from hotich.register.client import PopulationClient, RegisterAuthError

    _mark_district(validated["district_code"], validated.get("district_name"))
    ctx = run_context()
    register = ctx.settings.register
    code = validated["district_code"]
    with PopulationClient.from_uri(conn_uri(register.conn_id), register) as client:
        try:
            with workstore.staged(ctx, workstore.district(code)) as local:
                result = pipeline.reconcile_district(local, code, client)
        except WorkFilesGone as exc:
            _fail_without_retry(exc)
        except RegisterAuthError as exc:
            # Refused credentials will not get better on a retry.
            raise AirflowFailException(
                f"population register refused the credentials: {exc}"
            ) from exc
        result["register_calls"] = client.stats.as_dict()
    log.info("district %s: register calls %s", validated["district_code"], result["register_calls"])
    _watch_register(ctx, result["register_calls"])
    return {**validated, **result}


def _watch_register(ctx: pipeline.RunContext, stats: dict[str, Any]) -> None:
    """A district that finished with many retries, 429s or the breaker opening: an incident
    ``register_degraded``; a district that asked the register nothing is not judged."""
    from hotich.ops.incidents import register_degradation

    asked = int(stats.get("requests") or 0) > int(stats.get("token_fetches") or 0)
    _watch("register_degraded", register_degradation(stats, ctx.settings), judged=asked)


@task(map_index_template=DISTRICT_LABEL, multiple_outputs=False, outlets=[LOADS])
def load(reconciled: dict[str, Any]) -> dict[str, Any]:
    """Write verdicts and loaded records in one transaction, giving back the district's
    lease; check conservation (skipped when another run took the lease over)."""
    _mark_district(reconciled["district_code"], reconciled.get("district_name"))
    ctx, code = run_context(), reconciled["district_code"]
    try:
        with workstore.staged(ctx, workstore.district(code)) as local:
            loaded = pipeline.load_district(local, code)
    except WorkFilesGone as exc:
        _fail_without_retry(exc)
    except DistrictHeld as held:
        _skip_held(held)
    deleted = workstore.after_load(ctx, code)  # on the work storage (none: nothing to do)
    if deleted:
        loaded["work_files_deleted"] = loaded.get("work_files_deleted", 0) + deleted
    # Committed: downstream DAGs of the district's registrations may run (hotich.airflow.assets).
    context: Any = get_current_context()
    code, run_id = reconciled["district_code"], context["dag_run"].run_id
    emit_loaded(context, code, run_id, int(loaded.get("loaded") or 0))
    return {**reconciled, **loaded}


@task(trigger_rule="all_done", multiple_outputs=False)
def report(planned: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Give back the leases of districts that failed; summarize the run per district; fail
    the run when a district did not finish (a district another run held does not fail it:
    docs/decisions/0006)."""
    from hotich.report import RunIncomplete, run_report

    if planned is None:  # plan_districts failed: its own incident says why
        _fail_without_retry(RunIncomplete(["every district (plan_districts failed)"]))
    ctx = run_context()
    released = pipeline.release_leases(ctx)
    if released:
        log.info("run %s gave back the leases of %s", ctx.run_id, ", ".join(released))
    pipeline.forget_register_answers(ctx)  # personal data, for the run only (decision 0015)
    codes = [d["code"] for d in planned]
    # The districts' skip notes, and the report's own folder.
    notes = {**{c: [pipeline.HELD_FILE] for c in codes}, REPORT_FOLDER: None}
    with workstore.staged(ctx, notes) as local:
        summary = run_report(local, codes)
    log.info("run %s\n%s", ctx.run_id, summary["table"])
    for code, status in summary.get("skipped", {}).items():
        log.warning("district %s %s; its records are read by the next run that gets it",
                    code, status)  # fmt: skip
    from hotich.airflow.callbacks import send_digest, watch_districts

    context: Any = get_current_context()
    silent = watch_districts(context, [d["code"] for d in planned])
    if silent:
        log.warning("silent districts (nothing new for days while a phase is open): %s",
                    ", ".join(silent))  # fmt: skip
    send_digest(context)
    if summary["unfinished"]:
        _fail_without_retry(RunIncomplete(summary["unfinished"]))
    return {k: v for k, v in summary.items() if k != "table"}


def smtp_target(settings: Settings) -> Any:
    """The mail server of the ``hotich_smtp`` connection, or None (no mail) without one."""
    from hotich.connections import ConnectionMissing
    from hotich.feedback.mail import SmtpTarget

    try:
        return SmtpTarget.from_uri(conn_uri(settings.smtp_conn_id))
    except ConnectionMissing:
        log.info("no %s connection: the outbox is written, nothing is mailed",
                 settings.smtp_conn_id)  # fmt: skip
        return None


def send_back_districts(districts: list[District], province: bool = True) -> dict[str, Any]:
    """Fix lists, reports, outbox and mail for ``districts`` (hotich.feedback.stage)."""
    from hotich.airflow.callbacks import record_mail
    from hotich.feedback.stage import send_back as send

    ctx = run_context()
    gx = {d.code: ["gx/*.json"] for d in districts}  # the district reports' quality figures
    with workstore.staged(ctx, gx) as local:
        out = send(local, districts, smtp=smtp_target(ctx.settings), province=province)
    context: Any = get_current_context()  # the very context the success callback gets
    record_mail(context, out["mail"])
    for code, d in out["districts"].items():
        log.info("district %s: fix list of %d entries (%d fixed since the last) in %s",
                 code, d["entries"], d["fixed"], d["folder"])  # fmt: skip
    return out


@task(trigger_rule="all_done", multiple_outputs=False)
def send_back(planned: list[dict[str, Any]] | None) -> dict[str, Any]:
    """After the loads: each district's fix list and report into its outbox
    (``<data_dir>/outbox/<district>/<run>/``) and by mail, the province's report; a mail
    server that refuses is an incident, not a failed run."""
    if planned is None:
        raise AirflowSkipException("plan_districts failed: nothing to send back")
    return send_back_districts([_district(d) for d in planned])


# --- the inbox DAG (dags/hotich_inbox.py) ------------------------------------------------


def event_district(conf: dict[str, Any], events: Any) -> str | None:
    """The district an inbox run is for: its triggering asset event's (the inbox
    watcher's payload), else the run's ``conf`` (``{"district": "263"}``, a manual run)."""
    for asset_events in (events or {}).values():
        for event in asset_events:
            payload = (getattr(event, "extra", None) or {}).get("payload") or {}
            if payload.get("district_code"):
                return str(payload["district_code"])
    return str(conf["district"]) if conf.get("district") else None


@task(multiple_outputs=False)
def inbox_district() -> dict[str, Any]:
    """Which workbook district this run processes (its inbox event, or ``conf``)."""
    context = get_current_context()
    conf = dict(getattr(context["dag_run"], "conf", None) or {})
    code = event_district(conf, context.get("triggering_asset_events"))
    settings = Settings.from_env()
    by_code = {d.code: d for d in load_districts(settings.districts_file)}
    if code not in by_code or by_code[code].flavor is not Flavor.WORKBOOK:
        raise AirflowFailException(f"no workbook district {code!r} in {settings.districts_file}")
    pipeline.prepare_database(run_context())
    return _entry(by_code[code])


@task.sensor(poke_interval=lease_poke_seconds(), timeout=6 * 3600, mode="reschedule")
def wait_for_district(district: dict[str, Any]) -> Any:
    """Take the district's lease for this run, waiting while another run (the daily one)
    holds it: rescheduled between tries, so no worker slot is held meanwhile."""
    from airflow.sdk import PokeReturnValue

    from hotich import lease

    ctx = run_context()
    try:
        with pipeline.connect(ctx) as conn, conn.cursor() as cur:
            lease.take(cur, ctx.settings.sql_dir, district["code"], ctx.run_id,
                       pendulum.duration(minutes=ctx.settings.lease_expiry_minutes))  # fmt: skip
        conn.close()
    except DistrictHeld as held:
        log.info("%s; waiting", held)
        return PokeReturnValue(is_done=False)
    return PokeReturnValue(is_done=True, xcom_value=district)


@task(multiple_outputs=False)
def send_back_inbox(loaded: dict[str, Any], district: dict[str, Any]) -> dict[str, Any]:
    """The file's fix list and report into the district's outbox, and by mail."""
    out = send_back_districts([_district(district)], province=False)
    return {"extracted": loaded.get("extracted", 0), **out["districts"][district["code"]]}


@task(trigger_rule="all_done")
def release_district() -> list[str]:
    """Give back the lease when a step failed before the load committed (it gives it back);
    delete the run's register answers."""
    ctx = run_context()
    released = pipeline.release_leases(ctx)
    pipeline.forget_register_answers(ctx)
    return released


@task(retry_exponential_backoff=2.0, map_index_template=DISTRICT_LABEL, multiple_outputs=False)
def recheck(district: dict[str, Any]) -> dict[str, Any]:
    """Re-reconciliation of one district: ask the register again about its waiting records
    that no decision covers, and write a ledger row where the verdict is now another
    (a district the daily run holds is skipped)."""
    from hotich.register.client import PopulationClient

    _mark_district(district["code"], district.get("name"))
    ctx = run_context()
    register = ctx.settings.register
    with PopulationClient.from_uri(conn_uri(register.conn_id), register) as client:
        try:
            result = pipeline.recheck_district(ctx, district["code"], client)
        except DistrictHeld as held:
            _skip_held(held)
        result["register_calls"] = client.stats.as_dict()
    _watch_register(ctx, result["register_calls"])
    log.info("district %s: re-reconciliation %s", district["code"], result)
    return result
