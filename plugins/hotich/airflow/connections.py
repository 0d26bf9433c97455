"""Connection URIs from Airflow connections (``AIRFLOW_CONN_<ID>`` or a secrets backend)."""

from __future__ import annotations

import os


def conn_uri(conn_id: str) -> str:
    """The URI of an Airflow connection.

    An ``AIRFLOW_CONN_<ID>`` URI is taken as given (Airflow's own round trip mangles
    ``sqlite:////abs/path`` URIs); anything else comes from Airflow's connection lookup,
    which knows the secrets backends.
    """
    env = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if env:
        return env
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id).get_uri()
    except Exception as exc:
        raise LookupError(
            f"Airflow connection {conn_id!r} is not defined: set AIRFLOW_CONN_{conn_id.upper()}"
            " or add it in the UI / secrets backend"
        ) from exc
