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
| a state-changing request (a decision, a release) from a user who may not change what the DAG loads | 403 |
| a state-changing request by the UI's cookie without the page's form token, or from another origin | 403 |

Changing what the daily DAG loads (an officer's decision, an engineer's release of a
held district) is mapped on editing that DAG *and* creating asset events (the district's
registrations are the DAG's assets): in the simple auth manager the ``op`` and ``admin``
roles; in FAB, Op and Admin (docs/access.md).

Cross-site request forgery: a browser sends the UI's cookie with any site's form, so a
request authenticated by the cookie must carry :func:`form_token` (a hash of that cookie,
which another site cannot read) and, when the browser names its ``Origin``, come from
this site. A request with a bearer token carries no ambient credential and needs neither.

Reading is mapped on the daily DAG because what the pages show is that DAG's output: an
auth manager that limits who reads which DAG (FAB, Keycloak) limits hotich's pages the same
way (docs/access.md).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AssetDetails, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

DAG_ID = "hotich_reconcile"
# The UI's JWT cookie (airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN).
COOKIE = "_token"


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


def may_change(user: Any) -> bool:
    """Whether ``user`` may change what the daily DAG loads (decide, release): editing the
    DAG and creating asset events, as the configured auth manager says."""
    manager = get_auth_manager()
    return manager.is_authorized_dag(
        method="PUT", details=DagDetails(id=DAG_ID), user=user
    ) and manager.is_authorized_asset(method="POST", details=AssetDetails(), user=user)


def require_changer(user: GetUserDep) -> Any:
    """A user who may change what the daily DAG loads, else 403; returns the user."""
    if not may_change(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this user may read but not decide: deciding needs the op or admin role"
            " (editing the hotich_reconcile DAG and creating asset events)",
        )
    return user


def user_name(user: GetUserDep) -> str:
    """The signed-in user's name, for the access log and the decisions."""
    return str(user.get_name())


def user_may_change(user: GetUserDep) -> bool:
    """:func:`may_change` for the signed-in user (a page offers its forms only then)."""
    return may_change(user)


def desk_deps() -> Any:
    """The review desk's dependencies in Airflow's api-server (``hotich.ops.desk_page``)."""
    from hotich.config import Settings
    from hotich.connections import civil_status_uri
    from hotich.ops.desk_page import DeskDeps, register_from_settings

    return DeskDeps(
        civil_status_uri=lambda: civil_status_uri(Settings.from_env()),
        register=register_from_settings(),
        user_name=user_name,
        may_change=user_may_change,
        require_changer=require_changer,
        check_same_site=check_same_site,
        form_token=form_token,
    )


def form_token(request: Request) -> str:
    """The token a page puts in its forms for the user's session: a hash of the UI's
    cookie (empty without one: a bearer client needs none)."""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie:
        return ""
    return hashlib.sha256(b"hotich-form:" + cookie.encode()).hexdigest()


def check_same_site(request: Request, submitted: str | None) -> None:
    """Refuse (403) a state-changing request that another site may have sent: one that
    relies on the cookie without this session's :func:`form_token`, or whose ``Origin``
    (or, without one, ``Referer``) is not this site."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return  # no ambient credential: a browser never adds this header cross-site
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and origin != "null" and urlsplit(origin).netloc.lower() != host.lower():
        raise HTTPException(status.HTTP_403_FORBIDDEN, "refused: a request from another site")
    expected = form_token(request)
    if not expected or not hmac.compare_digest(expected, submitted or ""):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "refused: the form's token is missing or stale (reload the page and try again)",
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
