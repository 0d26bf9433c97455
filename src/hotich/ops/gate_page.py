"""A district's quality gate and its failing source keys (``/hotich/quality/<district>/gate``,
``/hotich/quality/<district>/failing/<reason>``), beside the quality history page.

The gate page lists the district's gate decisions (``ops.quality_gate``, V008) and its
releases (``ops.quality_release``: who, when, why, which run used it). A user who may
decide on the review desk (``hotich.airflow.access.may_change``: op, admin) may release a
blocked district for one run, with a reason, by a POST carrying the page's form token
(cross-site forgery, as the desk). The failing keys page lists the source keys the
district's latest loaded run quarantined with a reason code to the same users; the others
see the count only (docs/access.md). Each release and each list of keys shown is written to
``recon.access_log``.
"""

import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import pandas as pd
import psycopg2
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hotich.config import TIMEZONE
from hotich.db import pg_connect
from hotich.desk import log_access
from hotich.load import read_sql

log = logging.getLogger(__name__)

KEYS_SHOWN = 500


class ReleaseRefused(ValueError):
    """A release that cannot be recorded (no reason given, or one already waiting)."""


def release(cur, sql_dir: Path, district_code: str, who: str, reason: str) -> int:
    """Record a release of the district for its next run (who, why); its id."""
    reason = " ".join(reason.split())
    if not reason:
        raise ReleaseRefused("a reason is required")
    try:
        cur.execute("SAVEPOINT release")
        cur.execute((sql_dir / "ops" / "gate_release_add.sql").read_text(encoding="utf-8"),
                    {"district_code": district_code, "released_by": who, "reason": reason})  # fmt: skip
    except psycopg2.errors.UniqueViolation as exc:
        cur.execute("ROLLBACK TO SAVEPOINT release")
        raise ReleaseRefused("a release is already waiting for the district's next run") from exc
    release_id = int(cur.fetchone()[0])
    log_access(cur, who, "release", None,
               {"district_code": district_code, "release_id": release_id, "reason": reason})  # fmt: skip
    return release_id


def read_gate(cur, sql_dir: Path, district_code: str, runs: int = 30) -> dict[str, pd.DataFrame]:
    """The district's gate decisions (newest first) and its releases."""
    params = {"district_code": district_code, "runs": runs}
    return {
        "gates": read_sql(cur, sql_dir / "ops" / "gate_history.sql", params),
        "releases": read_sql(cur, sql_dir / "ops" / "gate_releases.sql", params),
    }


def failing_keys(
    cur, sql_dir: Path, district_code: str, reason: str, limit: int = KEYS_SHOWN
) -> pd.DataFrame:
    """The source keys the district's latest loaded run quarantined with ``reason``
    (``total``: how many in all)."""
    params = {"district_code": district_code, "reason": reason, "limit": limit}
    return read_sql(cur, sql_dir / "ops" / "failing_keys.sql", params)


def page_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows for a template: missing values as None (pandas 3 reads a text column
    with NULLs as ``str`` with NaN, which a template would print as ``nan``), times in the
    province's time zone to the minute."""
    out = frame.astype(object)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            times = frame[col].dt.tz_convert(TIMEZONE).dt.strftime("%Y-%m-%d %H:%M")
            out[col] = times.astype(object)
    return out.where(frame.notna(), None).to_dict("records")  # type: ignore[return-value]


def may_release(gates: pd.DataFrame, releases: pd.DataFrame) -> bool:
    """Whether a release can be given now: the latest decision blocked, none waiting."""
    waiting = not releases.empty and releases["used_by_run"].isna().any()
    return not gates.empty and gates.iloc[0]["decision"] == "block" and not waiting


def router(deps: Any) -> APIRouter:
    """The gate's routes (mount at the app's root, beside ``/quality/<district>``);
    ``deps``: the desk's :class:`hotich.ops.desk_page.DeskDeps`."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    r = APIRouter()

    def render(request: Request, name: str, **values: Any) -> HTMLResponse:
        settings = deps.settings()
        env = Environment(loader=FileSystemLoader(settings.templates_dir / "ops"),
                          autoescape=select_autoescape(["html"]))  # fmt: skip
        root = str(request.url_for("gate_page", district_code="x")).rsplit("/quality/", 1)[0]
        return HTMLResponse(env.get_template(name).render(
            root=root + "/", message=request.query_params.get("message"),
            error=request.query_params.get("error"), **values))  # fmt: skip

    def check_code(code: str) -> None:
        if not code.isdigit() or len(code) > 6:
            raise HTTPException(404, "no such district")

    @r.get("/quality/{district_code}/gate", response_class=HTMLResponse, name="gate_page")
    def gate_page(
        request: Request, district_code: str,
        may_decide: Annotated[bool, Depends(deps.may_change)],
    ) -> HTMLResponse:  # fmt: skip
        check_code(district_code)
        conn = pg_connect(deps.civil_status_uri())
        try:
            with conn, conn.cursor() as cur:
                found = read_gate(cur, deps.settings().sql_dir, district_code)
        finally:
            conn.close()
        return render(request, "gate.html", district=district_code,
                      gates=page_records(found["gates"]),
                      releases=page_records(found["releases"]),
                      can_release=may_decide and may_release(found["gates"], found["releases"]),
                      may_decide=may_decide, csrf_token=deps.form_token(request))  # fmt: skip

    @r.post("/quality/{district_code}/release")
    def release_district(
        request: Request, district_code: str,
        who: Annotated[str, Depends(deps.user_name)],
        _changer: Annotated[Any, Depends(deps.require_changer)],
        reason: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> RedirectResponse:  # fmt: skip
        check_code(district_code)
        deps.check_same_site(request, csrf_token)
        back = str(request.url_for("gate_page", district_code=district_code))
        conn = pg_connect(deps.civil_status_uri())
        try:
            with conn, conn.cursor() as cur:
                release_id = release(cur, deps.settings().sql_dir, district_code, who, reason)
        except ReleaseRefused as refused:
            return RedirectResponse(back + "?" + urlencode({"error": f"Không ghi được: {refused}"}),
                                    303)  # fmt: skip
        finally:
            conn.close()
        log.info("quality gate: %s released district %s for one run (release %d)",
                 who, district_code, release_id)  # fmt: skip
        message = "Đã mở cổng cho lần chạy tới của huyện. / Released for the district's next run."
        return RedirectResponse(back + "?" + urlencode({"message": message}), 303)

    @r.get("/quality/{district_code}/failing/{reason}", response_class=HTMLResponse)
    def failing_page(
        request: Request, district_code: str, reason: str,
        may_decide: Annotated[bool, Depends(deps.may_change)],
        who: Annotated[str, Depends(deps.user_name)],
    ) -> HTMLResponse:  # fmt: skip
        check_code(district_code)
        if not reason.replace("_", "").isalnum():
            raise HTTPException(404, "no such reason code")
        conn = pg_connect(deps.civil_status_uri())
        try:
            with conn, conn.cursor() as cur:
                keys = failing_keys(cur, deps.settings().sql_dir, district_code, reason)
                if may_decide and not keys.empty:
                    log_access(cur, who, "failing_keys", None,
                               {"district_code": district_code, "reason": reason,
                                "shown": len(keys)})  # fmt: skip
        finally:
            conn.close()
        total = int(keys["total"].iloc[0]) if not keys.empty else 0
        run_id = str(keys["run_id"].iloc[0]) if not keys.empty else ""
        return render(request, "failing.html", district=district_code, reason=reason,
                      total=total, run_id=run_id, shown=may_decide,
                      keys=page_records(keys) if may_decide else [])  # fmt: skip

    return r
