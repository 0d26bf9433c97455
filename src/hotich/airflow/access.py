"""Who may see hotich's pages in Airflow's api-server: Airflow's own login and auth manager.

Airflow does not authenticate a plugin's FastAPI app on its own (apache/airflow #72655).
These dependencies do, through ``airflow.api_fastapi.core_api.security``: the user comes
from a bearer token or the UI's JWT cookie, and the configured auth manager says what the
user may do. hotich has no login of its own.

| request | answer |
| --- | --- |
| no token, or an expired one | 401; a page (``Accept: text/html``) redirects to Airflow's login, back here after |
| a token Airflow did not sign | 403 |
| a user who may not read the ``hotich_reconcile`` DAG | 403 |
| a user who may read it (simple auth manager: every role from viewer up) | the page |

Reading is mapped on the daily DAG because what the pages show is that DAG's output: an
auth manager that limits who reads which DAG (FAB, Keycloak) limits hotich's pages the same
way (docs/access.md).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

DAG_ID = "hotich_reconcile"


def may_read(user: Any) -> bool:
    """Whether ``user`` may read the daily DAG, as the configured auth manager says."""
    return get_auth_manager().is_authorized_dag(
        method="GET", details=DagDetails(id=DAG_ID), user=user
    )


def require_reader(user: GetUserDep) -> None:
    """A user of Airflow who may read the daily DAG, else 403 (``get_user`` answers 401
    when there is no valid token)."""
    if not may_read(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this user may not read the {DAG_ID} DAG, whose results these pages show",
        )


def reader_dependencies() -> list[Any]:
    """The FastAPI dependencies every hotich page and API route takes."""
    return [Depends(require_reader)]


def login_redirects(app: FastAPI) -> FastAPI:
    """Send a browser that is not logged in to Airflow's login page, and back after;
    an API client gets the 401 itself."""

    @app.exception_handler(HTTPException)
    async def unauthenticated(request: Request, exc: HTTPException) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        if exc.status_code == status.HTTP_401_UNAUTHORIZED and wants_page:
            login = get_auth_manager().get_url_login(next_url=str(request.url))
            return RedirectResponse(login, status_code=status.HTTP_303_SEE_OTHER)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))  # fmt: skip

    return app
