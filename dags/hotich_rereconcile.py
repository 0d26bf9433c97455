"""hotich_rereconcile: the register asked again about the records still waiting."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from hotich.airflow.settings import default_args, run_timeout
from hotich.airflow.tasks import plan_districts, recheck

DOC = """
### hotich_rereconcile

Every Sunday at 03:00 (Asia/Ho_Chi_Minh), and on demand: for each district, ask the
population register again about every record still in `review` and every person loaded
without an ID that no decision covers, in the register client's batches within its quota.
Where the rules now give another verdict or linked ID (an ID issued since, a corrected
name, a new register person who fits, a namesake who died), the record gets a new row in
`recon.ledger`; where they give the same, none. It takes the same per-district lease as
the daily run (`docs/decisions/0006`): a district the daily run holds is skipped.
"""


@dag(
    dag_id="hotich_rereconcile",
    schedule="0 3 * * 0",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=run_timeout(),
    doc_md=DOC,
    tags=["hotich", "civil-status", "weekly"],
    default_args=default_args(),
)
def hotich_rereconcile():
    recheck.expand(district=plan_districts())


hotich_rereconcile()
