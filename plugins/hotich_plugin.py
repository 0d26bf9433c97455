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


class HotichPlugin(AirflowPlugin):
    """The campaign dashboard, mounted in the api-server behind Airflow's login."""

    name = "hotich"
    fastapi_apps = [
        {
            "app": login_redirects(
                create_app(
                    lambda: civil_status_uri(Settings.from_env()),
                    dependencies=reader_dependencies(),
                    desk=desk_deps(),
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
