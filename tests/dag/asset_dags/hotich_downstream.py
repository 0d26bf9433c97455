"""A downstream DAG placed for tests/dag/test_gates_airflow.py: scheduled on the registrations
of districts 901 and 902 (either one's event starts a run), as a district report or a
national sync would be. It says which district's committed load started it."""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from hotich.airflow.assets import registrations


@dag(
    dag_id="hotich_downstream",
    schedule=registrations("901") | registrations("902"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    tags=["hotich", "test"],
)
def hotich_downstream():
    @task
    def triggered_by() -> list[str]:
        """The Assets (district registrations) and hotich runs whose events started this run."""
        events = get_current_context()["triggering_asset_events"]
        return sorted(
            f"{asset.name}@{event.extra.get('run_id')}"
            for asset, asset_events in events.items()
            for event in asset_events
            if isinstance(asset, Asset)  # the alias lists the same events again
        )

    triggered_by()


hotich_downstream()
