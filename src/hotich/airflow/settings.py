"""DAG-level settings read at parse time (environment only: no database, no network)."""

from __future__ import annotations

import os
from datetime import timedelta

from hotich.config import Settings


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
