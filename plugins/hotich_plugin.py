"""Registers hotich with Airflow: the campaign dashboard at /hotich/, the review desk at
/hotich/desk/, the incidents at /hotich/incidents, and their navigation entries.

Every page and API route of it asks for Airflow's login and a user who may read the daily
DAG (``hotich.airflow.access``; docs/access.md).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from hotich.airflow.access import desk_deps, login_redirects, reader_dependencies
from hotich.config import Settings
from hotich.connections import civil_status_uri
from hotich.ops.dashboard import create_app
from hotich.ops.gate_page import router as gate_router


def with_gate(app):
    """The quality gate's pages and release action beside the quality history."""
    app.include_router(gate_router(desk_deps()), dependencies=reader_dependencies())
    return app


class HotichPlugin(AirflowPlugin):
    """The campaign dashboard, mounted in the api-server behind Airflow's login."""

    name = "hotich"
    fastapi_apps = [
        {
            "app": login_redirects(
                with_gate(
                    create_app(
                        lambda: civil_status_uri(Settings.from_env()),
                        dependencies=reader_dependencies(),
                        desk=desk_deps(),
                    )
                )
            ),
            "url_prefix": "/hotich",
            "name": "hotich campaign progress",
        }
    ]
    # Relative href: the UI resolves it against its own base URL (works behind a proxy).
    external_views = [
        {
            "name": "Campaign progress",
            "href": "hotich/",
            "destination": "nav",
            "url_route": "hotich",
        },
        {
            "name": "Review desk",
            "href": "hotich/desk/",
            "destination": "nav",
            "url_route": "hotich-desk",
        },
        {
            "name": "Incidents",
            "href": "hotich/incidents",
            "destination": "nav",
            "url_route": "hotich-incidents",
        },
    ]
