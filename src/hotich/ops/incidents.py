"""Incidents for the people on call (Sở TT&TT, the data engineers): what failed, where,
and what to do, as one line in the logs and, when an alerts webhook is configured, as a
JSON message to it (chat tools that take ``{"text": ...}`` show the line).

Airflow-free: ``hotich.airflow.callbacks`` builds an :class:`Incident` from the task's
context and hands it here. Personal IDs in error texts are masked.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import requests

from hotich.errors import DEFAULT_KIND, first_line, incident_kind
from hotich.model import mask_ids

log = logging.getLogger("hotich.oncall")

RUNBOOK = "docs/reliability.md"
WEBHOOK_TIMEOUT_S = 10

# kind -> (what it is, what to do). The kinds follow the runbook's table.
KINDS: dict[str, tuple[str, str]] = {
    "district_source_down": (
        "district source cannot be read",
        "check the district's server, VPN and login; the next run (or Clear on the task) "
        "re-reads the district from its last committed watermark",
    ),
    "register_credentials": (
        "population register refused the credentials",
        "renew the client secret of the population_api connection, then Clear the task",
    ),
    "register_unavailable": (
        "population register unavailable (5xx, timeouts, or 429 beyond the retry budget)",
        "no verdict was written for the district; Clear the task once the register answers, "
        "or let the next run pick the district up",
    ),
    "connection_missing": (
        "an Airflow connection is not defined",
        "define it (AIRFLOW_CONN_<ID>, the UI or the secrets backend), then Clear the task",
    ),
    "conservation": (
        "records do not add up (extracted != loaded + review + quarantined)",
        "a bug: nothing was committed; open an issue with the task log, do not Clear yet",
    ),
    "run_incomplete": (
        "districts did not finish this run",
        "see the failed district tasks; their records are read again by the next run",
    ),
    "national_database_down": (
        "the national civil-status database cannot be reached",
        "check the civil_status_db connection, the PostgreSQL server and the network; no "
        "verdict was written; Clear the failed tasks once it answers, or let the next run",
    ),
    "schema_outdated": (
        "the national database is not at the schema version this code needs",
        "run `python -m hotich.migrate` as the owner role (compose: airflow-init), then "
        "Clear the task; the pipeline's own login may not migrate",
    ),
    "load_refused": (
        "the national database refused a value of a district's load",
        "nothing was committed for the district; the task log names the staging table, the "
        "line and the SQL state (never the record): open an issue with it",
    ),
    "work_files_gone": (
        "the district's work files of that run are gone (deleted once its load committed, or"
        " purged by a later run: docs/personal-data.md)",
        "Clear the district's whole task group (its extract task with all downstream tasks),"
        " not only the failed task: extract reads the district's records again",
    ),
    "district_held": (
        "another run holds the district (its lease: hotich.lease)",
        "nothing to do when that run is alive: the district's records are read by the next "
        "run that gets it; a lease left by a run that is gone expires after "
        "HOTICH_LEASE_EXPIRY_MINUTES (make run gives back a gone make run's leases at start)",
    ),
    "task_failed": ("task failed", "read the task log"),
}


@dataclass(frozen=True)
class Incident:
    """One failed task, final (its retries are spent)."""

    kind: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int | None
    try_number: int | None
    district: str | None
    error: str  # the exception's type and first line, IDs masked

    @property
    def summary(self) -> str:
        """One line a person on call can act on."""
        what, action = KINDS[self.kind]
        where = f"district {self.district}" if self.district else self.dag_id
        return (f"[hotich] {where}: {what}; {self.task_id} failed (try {self.try_number}) in run "
                f"{self.run_id}: {self.error}. To do: {action} ({RUNBOOK}).")  # fmt: skip

    def payload(self) -> dict:
        """The webhook's JSON body."""
        return {
            "text": self.summary,
            **asdict(self),
            "action": KINDS[self.kind][1],
            "runbook": RUNBOOK,
        }


def classify(exc: BaseException | None) -> str:
    """The incident kind of a task's final exception: the one its class (or a cause's)
    carries (``hotich.errors.IncidentError``), else ``task_failed``."""
    kind = incident_kind(exc)
    return kind if kind in KINDS else DEFAULT_KIND


def error_line(exc: BaseException | None) -> str:
    """``Type: first line`` of an exception, with personal IDs masked."""
    if exc is None:
        return "unknown error"
    first = first_line(exc)
    name = type(exc).__name__
    return mask_ids(name if first == name else f"{name}: {first}")


def report_incident(incident: Incident, webhook_uri: str | None) -> bool:
    """Log the incident; post it to the webhook when one is given. Never raises: a
    notification that fails must not hide the failure it reports. True when delivered."""
    log.error("FAILED %s", incident.summary)
    if not webhook_uri:
        return False
    try:
        r = requests.post(webhook_uri, json=incident.payload(), timeout=WEBHOOK_TIMEOUT_S)
        r.raise_for_status()
        return True
    except requests.HTTPError as exc:
        reason = f"HTTP {exc.response.status_code}"
    except requests.RequestException as exc:  # its text repeats the URL, secrets included
        reason = type(exc).__name__
    # A webhook URL carries its secret in the path or the query: name the host only.
    parts = urlsplit(webhook_uri)
    log.warning(
        "alerts webhook at %s://%s did not take the incident: %s",
        parts.scheme,
        parts.hostname,
        reason,
    )
    return False
