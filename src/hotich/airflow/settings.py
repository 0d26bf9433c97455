"""DAG-level settings read at parse time (environment only: no database, no network)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from datetime import timedelta
from typing import Any

from hotich.config import ConfigError, Settings, load_campaign

log = logging.getLogger(__name__)

# hotich_reconcile's schedule: every day at 01:00 (Asia/Ho_Chi_Minh); its run's logical date
# is that time, from which the late-run deadline is counted.
RECONCILE_AT = dt.time(1, 0)
RECONCILE_SCHEDULE = f"{RECONCILE_AT.minute} {RECONCILE_AT.hour} * * *"


def reconcile_schedule() -> str | None:
    """hotich_reconcile's schedule: :data:`RECONCILE_SCHEDULE`, or None (runs on demand
    only, triggered through the UI or the REST API) when ``HOTICH_RECONCILE_SCHEDULE`` is
    ``off``: a benchmark or test that triggers its own run on a running scheduler, which
    would otherwise also make today's 01:00 run when the DAG is unpaused."""
    if os.environ.get("HOTICH_RECONCILE_SCHEDULE", "").lower() == "off":
        return None
    return RECONCILE_SCHEDULE


def task_retries() -> int:
    """Retries of each task (``HOTICH_TASK_RETRIES``, default 3; tests set 0)."""
    return int(os.environ.get("HOTICH_TASK_RETRIES", "3"))


def run_timeout() -> timedelta:
    """How long a DAG run may last before the scheduler fails it (``dagrun_timeout``):
    ``HOTICH_RUN_TIMEOUT_MINUTES`` (:attr:`hotich.config.Settings.run_timeout_minutes`)."""
    return timedelta(minutes=Settings.from_env().run_timeout_minutes)


def lease_poke_seconds() -> float:
    """How often an inbox run waiting for its district's lease asks again
    (``HOTICH_LEASE_POKE_SECONDS``, default 15; the task is rescheduled in between)."""
    return float(os.environ.get("HOTICH_LEASE_POKE_SECONDS", "15"))


def default_args() -> dict:
    """The ``default_args`` every hotich DAG gives its tasks: owner, retries with backoff
    (``HOTICH_TASK_RETRIES``), and the incident callbacks: a final failure records an
    occurrence, a success closes what its stage raised (``hotich.airflow.callbacks``)."""
    from hotich.airflow.callbacks import note_success, notify_failure

    return {
        "owner": "hotich-data-engineering",
        "retries": task_retries(),
        "retry_delay": timedelta(seconds=30),
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": notify_failure,
        "on_success_callback": note_success,
    }


def late_run_interval(late_run_by: dt.time, scheduled_at: dt.time = RECONCILE_AT) -> timedelta:
    """From the run's logical date (its scheduled time) to ``late_run_by`` the same day, or
    the next day when that time is earlier; 0 when they are equal (a test's deadline)."""
    delta = dt.datetime.combine(dt.date.min, late_run_by) - dt.datetime.combine(
        dt.date.min, scheduled_at
    )
    return delta if delta >= timedelta(0) else delta + timedelta(days=1)


def late_run_alert() -> Any:
    """hotich_reconcile's ``DeadlineAlert``: a run not finished by the campaign file's
    ``late_run_by`` (default 06:00 Asia/Ho_Chi_Minh; manual runs: that long after they were
    triggered) calls :func:`hotich.airflow.callbacks.late_run` in the triggerer, which
    opens a run-wide ``late_run`` incident; the run's report closes it. None (no deadline)
    when ``HOTICH_LATE_RUN_DEADLINE`` is ``off``: ``make run``'s ``airflow dags test``, whose
    second run of a DAG with a deadline fails in Airflow 3.3.2."""
    if os.environ.get("HOTICH_LATE_RUN_DEADLINE", "").lower() == "off":
        return None
    # airflow.sdk exports them lazily (mypy cannot see them there): their own modules.
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    try:
        late_by = load_campaign(Settings.from_env().campaign_file).late_run_by
    except ConfigError as exc:  # the DAG still parses; the file's own check names the error
        log.warning("late run deadline at the default 06:00: %s", exc)
        late_by = dt.time(6, 0)
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=late_run_interval(late_by),
        callback=AsyncCallback("hotich.airflow.callbacks.late_run"),
        name="late_run",
    )
