"""hotich_inbox: a workbook dropped in a district's inbox, processed within minutes."""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, AssetWatcher, dag

from hotich.airflow.settings import default_args, run_timeout
from hotich.airflow.tasks import (
    extract,
    inbox_district,
    load,
    reconcile,
    release_district,
    send_back_inbox,
    validate,
    wait_for_district,
)
from hotich.airflow.triggers import InboxFileTrigger
from hotich.config import ConfigError, Flavor, Settings, load_districts

DOC = """
### hotich_inbox

Scheduled on data, not on the clock: each workbook district's inbox is an `Asset` watched
by `InboxFileTrigger` in the triggerer. When a file there is complete (not a lock or
temporary file, no lock file beside it, unchanged for `HOTICH_INBOX_SETTLE_SECONDS`), a
run starts for that district: it waits for the district's lease (a reschedule-mode sensor:
no worker slot while the daily run holds the district), then **extract**s the new or
replaced files only (the others' content hashes are known), **validate**s, **reconcile**s
and **load**s them exactly as the daily run does (same ledger rules: the daily run then
finds those rows unchanged), and **send_back** writes that district's list of records to
fix into its outbox and mails it. A manual run: `{"district": "263"}` as its conf.
"""


def _inbox_assets() -> list[Asset]:
    """One watched Asset per workbook district of the districts file (read at parse time:
    a local file, no database, no network)."""
    settings = Settings.from_env()
    try:
        districts = load_districts(settings.districts_file)
    except ConfigError:
        return []
    settle = max(settings.inbox_settle_seconds, 2 * settings.inbox_poll_seconds)
    return [
        Asset(
            name=f"hotich_inbox_{d.code}",
            uri=f"file://{d.inbox}",
            group="hotich_inbox",
            watchers=[
                AssetWatcher(
                    name=f"hotich_inbox_{d.code}",
                    trigger=InboxFileTrigger(
                        d.code, str(d.inbox), settle, settings.inbox_poll_seconds
                    ),
                )
            ],
        )
        for d in districts
        if d.flavor is Flavor.WORKBOOK and d.inbox is not None
    ]


def _schedule() -> object:
    assets = _inbox_assets()
    if not assets:
        return None
    schedule = assets[0]
    for asset in assets[1:]:
        schedule = schedule | asset  # any inbox starts a run
    return schedule


@dag(
    dag_id="hotich_inbox",
    schedule=_schedule(),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=4,
    dagrun_timeout=run_timeout(),
    doc_md=DOC,
    tags=["hotich", "civil-status", "inbox"],
    default_args=default_args(),
)
def hotich_inbox():
    district = inbox_district()
    held = wait_for_district(district)
    loaded = load(reconcile(validate(extract(held))))
    send_back_inbox(loaded, held) >> release_district()


hotich_inbox()
