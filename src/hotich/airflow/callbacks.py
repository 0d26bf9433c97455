"""Failure callbacks: one incident per failed task, for the person on call."""

from __future__ import annotations

from typing import Any

from hotich.config import Settings
from hotich.connections import conn_uri
from hotich.ops.incidents import Incident, classify, error_line, report_incident


def notify_failure(context: dict[str, Any]) -> None:
    """Log the failed task's incident (which district, what, what to do) and post it to
    the alerts webhook (the ``hotich_alerts`` connection) when there is one."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    dag_run = context.get("dag_run")
    task_id = str(getattr(ti, "task_id", "?"))
    incident = Incident(
        kind=classify(exc),
        dag_id=str(getattr(ti, "dag_id", "?")),
        run_id=str(getattr(dag_run, "run_id", None) or getattr(ti, "run_id", "?")),
        task_id=task_id,
        map_index=getattr(ti, "map_index", None),
        try_number=getattr(ti, "try_number", None),
        district=district_of(context),
        error=error_line(exc),
    )
    report_incident(incident, alerts_webhook())


def district_of(context: dict[str, Any]) -> str | None:
    """The district a task of the mapped group worked on (it says so in its context)."""
    code = context.get("hotich_district_code")
    return str(code) if code else None


def alerts_webhook() -> str | None:
    """The alerts webhook's URI, or None when the connection is not defined."""
    try:
        return conn_uri(Settings.from_env().alerts_conn_id)
    except LookupError:
        return None
