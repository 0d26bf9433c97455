"""hotich_reconcile: the daily reconciliation of the districts' civil-status records."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task_group

from hotich.airflow.settings import default_args, late_run_alert, reconcile_schedule, run_timeout
from hotich.airflow.tasks import (
    extract,
    load,
    plan_districts,
    reconcile,
    report,
    send_back,
    validate,
)

DOC = """
### hotich_reconcile

Every day at 01:00 (Asia/Ho_Chi_Minh), for each district of the districts file
(`HOTICH_DISTRICTS_FILE`), in parallel: **extract** the new or changed records,
**validate** them with the data-quality suites (`expectations/`), **reconcile** every person
against the population register, and **load** the clean ones into the national
civil-status database; every record read gets one row in `recon.ledger`.

A district whose source or the register is down fails its own tasks (retried with
backoff); the other districts finish. **report** then fails the run, naming them: their
records are read again by the next run. Before it, **send_back** writes each district's
list of records to fix (Vietnamese, `.xlsx`) and its HTML report into its outbox
(`<data_dir>/outbox/<district>/<run>/`), mails them where the districts file gives an
address (connection `hotich_smtp`), and writes the province's report; a mail server that
refuses is an incident, not a failed run. A district another run is processing (its lease,
`recon.district_lease`) is skipped and listed as such; it does not fail the run
(`docs/decisions/0006`). A run still going after `HOTICH_RUN_TIMEOUT_MINUTES` is failed; one not finished by
`late_run_by` (campaign file, default 06:00) opens a `late_run` incident, closed by its
report. The report also opens a `silent_district` incident for each district that sent
nothing new for `silent_district_days` while a phase is open.
Runbook: `docs/reliability.md`.
"""


@dag(
    dag_id="hotich_reconcile",
    schedule=reconcile_schedule(),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    # A run left behind (its worker or `make run` killed) is failed after this instead of
    # blocking the next day's run (max_active_runs=1) or being resumed forever.
    dagrun_timeout=run_timeout(),
    # Not finished by the campaign file's late_run_by (06:00): a late_run incident.
    deadline=late_run_alert(),
    doc_md=DOC,
    tags=["hotich", "civil-status", "daily"],
    default_args=default_args(),
)
def hotich_reconcile():
    @task_group
    def district(district: dict):
        return load(reconcile(validate(extract(district))))

    planned = plan_districts()
    district.expand(district=planned) >> send_back(planned) >> report(planned)


hotich_reconcile()
