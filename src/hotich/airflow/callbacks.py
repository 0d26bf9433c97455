"""Task callbacks: the incidents of the person on call (``hotich.ops.incidents``).

A task's final failure records an occurrence (opening or repeating its incident); a
task's success closes what the same stage raised for the same district. Events that open,
raise or close an incident are told through the notifiers (``hotich.airflow.notifiers``);
messages a channel did not take are tried again at every event. Nothing here ever fails a
task: what goes wrong is logged (docs/decisions/0011).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hotich.config import Settings
from hotich.connections import civil_status_uri
from hotich.db import pg_connect
from hotich.ops import incidents
from hotich.ops.incidents import Event, Occurrence, classify, error_line

log = logging.getLogger("hotich.oncall")

# Set in a task's context by a task that raised incidents as it succeeded (a district that
# finished degraded): its success does not close them.
RAISED_KEY = "hotich_incident_kinds"


def occurrence(context: dict[str, Any], kind: str, error: str) -> Occurrence:
    """An occurrence of ``kind`` in the task of ``context`` (its district, if any)."""
    ti = context.get("task_instance") or context.get("ti")
    return Occurrence(
        kind=kind,
        dag_id=str(getattr(ti, "dag_id", "?")),
        run_id=run_id_of(context),
        task_id=str(getattr(ti, "task_id", "?")),
        map_index=getattr(ti, "map_index", None),
        try_number=getattr(ti, "try_number", None),
        district=district_of(context),
        error=error,
    )


def notify_failure(context: dict[str, Any]) -> None:
    """Record the failed task's occurrence (which district, what, what to do) and tell the
    channels when it opened an incident or raised its severity."""
    exc = context.get("exception")
    occ = occurrence(context, classify(exc), error_line(exc))
    log.error("FAILED %s", occ.summary)
    _record(context, occ)


def _record(context: dict[str, Any], occ: Occurrence) -> None:
    settings = Settings.from_env()
    _track(
        context,
        settings,
        lambda cur: [
            incidents.record(
                cur, settings.sql_dir, occ, escalate_after_runs=settings.incident_escalate_runs
            )
        ],
        unrecorded=occ,
    )


def record_degraded(context: dict[str, Any], kind: str, error: str) -> None:
    """Record an occurrence of ``kind`` raised by a task that goes on to succeed (a
    district that finished degraded); its success then leaves that kind open, and the
    next success without it closes it."""
    occ = occurrence(context, kind, error)
    keep_open(context, kind)
    log.warning("DEGRADED %s", occ.summary)
    _record(context, occ)


def record_mail(context: dict[str, Any], outcomes: dict[str, str | None]) -> None:
    """The send-back task's mail (``hotich.feedback.stage.send_back``'s ``mail``: district
    code, or ``_province``, to None when it went or why not): a ``mail_refused`` occurrence
    for each refused one, and a close of that kind for each delivered one. The task's own
    success then leaves the refused ones open."""
    from dataclasses import replace

    if not outcomes:
        return
    settings = Settings.from_env()
    base = occurrence(context, "mail_refused", "")

    def step(cur) -> list[Event]:
        events = []
        for code, refused in sorted(outcomes.items()):
            district = None if code.startswith("_") else code
            if refused is None:
                events += incidents.close(cur, settings.sql_dir, district=district,
                                          stage=base.stage, run_id=base.run_id)  # fmt: skip
                continue
            occ = replace(base, district=district, error=refused)
            log.warning("DEGRADED %s", occ.summary)
            events.append(incidents.record(
                cur, settings.sql_dir, occ, escalate_after_runs=settings.incident_escalate_runs
            ))  # fmt: skip
        return events

    if any(refused is not None for refused in outcomes.values()):
        keep_open(context, "mail_refused")
    _track(context, settings, step)


def keep_open(context: dict[str, Any], kind: str) -> None:
    """This task's success does not close an open incident of ``kind`` (it raised one, or
    could not tell: a district with too few records to judge its quality)."""
    context.setdefault(RAISED_KEY, set()).add(kind)


def note_success(context: dict[str, Any]) -> None:
    """Close the incidents this task's stage raised for its district (it just succeeded)."""
    ti = context.get("task_instance") or context.get("ti")
    stage = f"{getattr(ti, 'dag_id', '?')}:{getattr(ti, 'task_id', '?')}"
    settings = Settings.from_env()
    _track(
        context,
        settings,
        lambda cur: incidents.close(
            cur, settings.sql_dir, district=district_of(context), stage=stage,
            run_id=run_id_of(context),
            keep=frozenset(context.get(RAISED_KEY) or ()),
        ),
    )  # fmt: skip


def send_digest(context: dict[str, Any]) -> int:
    """The daily digest: the incidents still open, once to every channel (not kept: the
    next day's replaces it), but the run-wide ones of this very task, which its own end is
    about to close or repeat. Nothing is sent when nothing is open; never raises. How many
    incidents it listed."""
    from hotich.airflow.notifiers import channels, sender

    settings = Settings.from_env()
    ti = context.get("task_instance") or context.get("ti")
    stage = f"{getattr(ti, 'dag_id', '?')}:{getattr(ti, 'task_id', '?')}"
    try:
        conn = pg_connect(civil_status_uri(settings))
        try:
            with conn, conn.cursor() as cur:
                still = incidents.still_open(cur, settings.sql_dir, leave_out_stage=stage)
        finally:
            conn.close()
        if still:
            makers = channels(settings)
            msg = incidents.digest(still, settings.templates_dir)
            log.warning("%s", msg["payload"]["text"])
            incidents.send_once(msg, list(makers), sender(context, makers))
        return len(still)
    except Exception as exc:  # noqa: BLE001 - the digest never fails the task
        log.warning("no incident digest: %s", error_line(exc))
        return 0


def _track(
    context: dict[str, Any],
    settings: Settings,
    step: Callable[[Any], list[Event]],
    unrecorded: Occurrence | None = None,
) -> None:
    """Run ``step`` on the national database, queue its events' messages, then send what is
    due. Without the database (it may be what failed), an occurrence is sent as it is."""
    from hotich.airflow.notifiers import channels, sender

    makers = channels(settings)
    send = sender(context, makers)
    try:
        conn = pg_connect(civil_status_uri(settings))
    except Exception as exc:  # noqa: BLE001 - never fail the task
        _unrecorded(unrecorded, exc, list(makers), send, settings)
        return
    try:
        try:
            with conn, conn.cursor() as cur:
                events = step(cur)
                for event in events:
                    incidents.queue(cur, settings.sql_dir, event, list(makers),
                                    settings.templates_dir)  # fmt: skip
                    level = logging.INFO if event.event == "repeated" else logging.WARNING
                    log.log(level, "incident #%d %s: %s", event.incident.incident_id,
                            event.event, incidents.text_line(event))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - e.g. a schema without ops.incident yet
            _unrecorded(unrecorded, exc, list(makers), send, settings)
            return
        if events:
            incidents.deliver(conn, settings.sql_dir, send,
                              max_attempts=settings.incident_notice_attempts)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - never fail the task
        log.warning("incident messages not sent: %s", error_line(exc))
    finally:
        conn.close()


def _unrecorded(
    occ: Occurrence | None, exc: BaseException, makers: list[str], send, settings: Settings
) -> None:
    if occ is None:
        log.warning("incidents not updated: the national database: %s", error_line(exc))
        return
    log.warning("incident not recorded (the national database: %s); sent as it is",
                error_line(exc))  # fmt: skip
    incidents.send_now(occ, makers, send, settings.templates_dir)


def run_id_of(context: dict[str, Any]) -> str:
    """The DAG run's id."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    return str(getattr(dag_run, "run_id", None) or getattr(ti, "run_id", "?"))


def district_of(context: dict[str, Any]) -> str | None:
    """The district a task of the mapped group worked on (it says so in its context)."""
    code = context.get("hotich_district_code")
    return str(code) if code else None


# --- watches over days: the late run (DeadlineAlert), the silent districts (report) ---------
async def late_run(context: dict[str, Any] | None = None, **_: Any) -> None:
    """hotich_reconcile's ``DeadlineAlert`` callback (``hotich.airflow.settings.late_run_alert``),
    run in the triggerer when the run is not finished by ``late_run_by``: a run-wide
    ``late_run`` incident, told through the notifiers. The context Airflow gives is the DAG
    run (``dag_run``: dag_id, run_id, ...) and the ``deadline``. Never raises."""
    import asyncio

    try:
        await asyncio.to_thread(record_late_run, context or {})
    except Exception as exc:  # noqa: BLE001 - a callback that fails tells nobody anything
        log.error("late run not recorded: %s", error_line(exc))


def record_late_run(context: dict[str, Any]) -> Occurrence:
    """Record the late run of ``context`` (a deadline callback's): its stage is the run's
    ``report`` task, whose success (the run finishing) closes it."""
    import datetime as dt

    from hotich.config import load_campaign
    from hotich.ops.watch import late_line

    settings = Settings.from_env()
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    if isinstance(deadline, str):
        deadline = dt.datetime.fromisoformat(deadline)
    occ = Occurrence(
        kind="late_run", dag_id=str(run.get("dag_id") or "hotich_reconcile"),
        run_id=str(run.get("dag_run_id") or run.get("run_id") or "?"), task_id="report", map_index=None,
        try_number=None, district=None,
        error=late_line(deadline, load_campaign(settings.campaign_file).late_run_by),
    )  # fmt: skip
    log.error("LATE %s", occ.summary)
    _record({"dag_run": run}, occ)
    return occ


def watch_districts(context: dict[str, Any], codes: list[str]) -> list[str]:
    """The report's watch of the districts ``codes``: a ``silent_district`` occurrence for
    each one silent (``hotich.ops.watch.silent_districts``), a close of that kind for each
    other. Never raises; the codes of the silent ones."""
    import datetime as dt
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from hotich.config import TIMEZONE, load_campaign
    from hotich.load import read_sql
    from hotich.ops.watch import silent_districts, silent_line

    settings = Settings.from_env()
    try:
        campaign = load_campaign(settings.campaign_file)
        conn = pg_connect(civil_status_uri(settings))
        try:
            with conn, conn.cursor() as cur:
                last = read_sql(cur, settings.sql_dir / "ops" / "last_sent.sql", {})
        finally:
            conn.close()
        today = dt.datetime.now(ZoneInfo(TIMEZONE)).date()
        silent = silent_districts(campaign, codes, last, today)
    except Exception as exc:  # noqa: BLE001 - the watch never fails the report
        log.warning("silent districts not watched: %s", error_line(exc))
        return []
    base = occurrence(context, "silent_district", "")
    others = frozenset(incidents.KINDS) - {"silent_district"}

    def step(cur) -> list[Event]:
        events: list[Event] = []
        found = {str(r["district_code"]): r for r in silent.to_dict("records")}
        for code in sorted(set(codes)):
            if code not in found:
                events += incidents.close(cur, settings.sql_dir, district=code, stage=base.stage,
                                          run_id=base.run_id, keep=others)  # fmt: skip
                continue
            r = found[code]
            occ = replace(base, district=code,
                          error=silent_line(r["last_day"], int(r["days"]), campaign.silent_district_days))  # fmt: skip
            log.warning("SILENT %s", occ.summary)
            events.append(incidents.record(
                cur, settings.sql_dir, occ, escalate_after_runs=settings.incident_escalate_runs
            ))  # fmt: skip
        return events

    _track(context, settings, step)
    return sorted(str(c) for c in silent["district_code"])
