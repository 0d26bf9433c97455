"""Connection URIs from Airflow connections (``AIRFLOW_CONN_<ID>`` or a secrets backend)."""

from __future__ import annotations

import json
import os
from urllib.parse import quote, urlencode

from hotich.config import Settings
from hotich.errors import IncidentError

# Airflow connection types → URI schemes the readers and the register client know.
_SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "http": "http",
    "https": "https",
}


def uri_from_json(doc: str) -> str:
    """An Airflow JSON connection (``{"conn_type": ..., "host": ...}``) as a URI."""
    c = json.loads(doc)
    conn_type = str(c.get("conn_type", "")).lower()
    scheme = _SCHEMES.get(conn_type, conn_type)
    host = c.get("host") or ""
    if scheme == "sqlite":
        return f"sqlite:///{host}"
    if scheme in ("http", "https") and "://" in host:
        scheme, host = host.split("://", 1)
    elif scheme == "http" and c.get("schema") in ("http", "https"):
        scheme = c["schema"]
    auth = ""
    if c.get("login") is not None:
        auth = (
            quote(str(c["login"]), safe="")
            + ":"
            + quote(str(c.get("password") or ""), safe="")
            + "@"
        )
    port = f":{c['port']}" if c.get("port") else ""
    path = f"/{c['schema']}" if c.get("schema") and scheme not in ("http", "https") else ""
    uri = f"{scheme}://{auth}{host.rstrip('/')}{port}{path}"
    extra = c.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    if scheme == "smtp" and extra:  # the SMTP client reads its extras from the query
        uri += "?" + urlencode({k: str(v).lower() if isinstance(v, bool) else v
                                for k, v in extra.items()})  # fmt: skip
    return uri


class ConnectionMissing(IncidentError, LookupError):
    """An Airflow connection the platform needs is not defined."""

    incident_kind = "connection_missing"


def conn_uri(conn_id: str) -> str:
    """The URI of an Airflow connection.

    An ``AIRFLOW_CONN_<ID>`` URI is taken as given (Airflow's own round trip mangles
    ``sqlite:////abs/path`` URIs), a JSON one is turned into a URI; anything else comes
    from Airflow's connection lookup, which knows the secrets backends.
    """
    env = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if env:
        return uri_from_json(env) if env.lstrip().startswith("{") else env
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id).get_uri()
    except Exception as exc:
        raise ConnectionMissing(
            f"Airflow connection {conn_id!r} is not defined: set AIRFLOW_CONN_{conn_id.upper()}"
            " or add it in the UI / secrets backend"
        ) from exc


def civil_status_uri(settings: Settings) -> str:
    """The national database: ``HOTICH_DATABASE_URL``, else the ``civil_status_db`` connection."""
    return os.environ.get("HOTICH_DATABASE_URL") or conn_uri(settings.civil_status_conn_id)
