"""Each district's loaded registrations as an Airflow ``Asset``, so that downstream DAGs
(the district reports, a national sync) are scheduled on data: an event is emitted only
by a load that committed records loaded, never by a district that failed, was held by
another run, or loaded nothing. A downstream DAG of district 260:
``schedule=[registrations("260")]``.

The load task declares the alias :data:`LOADS` (districts come from the districts file at
run time) and adds one event per district through it."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias

LOADS = AssetAlias("hotich_district_registrations")


def registrations(district_code: str) -> Asset:
    """The Asset of a district's registrations in the national civil-status database."""
    return Asset(
        name=f"hotich_registrations_{district_code}",
        uri=f"x-hotich://civil-status/registrations/{district_code}",
        group="hotich",
    )


def emit_loaded(context: Any, district_code: str, run_id: str, loaded: int) -> bool:
    """Add the district's Asset event when its load committed records loaded; whether it did."""
    if loaded <= 0:
        return False
    context["outlet_events"][LOADS].add(
        registrations(district_code), extra={"run_id": run_id, "loaded": loaded}
    )
    return True
