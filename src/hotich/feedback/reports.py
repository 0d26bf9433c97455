"""The district's and the province's HTML reports, from templates on disk.

Counts by status and reason of the run, the top reasons waiting, the fix backlog and its
age, the trend over the last 30 runs, and the run's Great Expectations results, with
Vietnamese labels. Rendered with Jinja2 (``include/templates/feedback/``, autoescape on:
a district name, a note or a value is text, never markup or a template); the charts are
``hotich.charts`` SVG, drawn on the server: no script, nothing fetched. Counts only: a
report holds no record's data (the fix list does), and may be shown on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from hotich import charts
from hotich.config import District
from hotich.feedback.messages import Catalogue
from hotich.load import read_sql

# (upper bound in days, label) of the backlog's age groups.
AGE_GROUPS: tuple[tuple[int, str], ...] = (
    (1, "0–1 ngày"),
    (7, "2–7 ngày"),
    (30, "8–30 ngày"),
    (10**9, "trên 30 ngày"),
)
REPORT_NAME = "bao-cao.html"


@dataclass(frozen=True)
class ReportData:
    """What the reports of one run read from the national database (counts only)."""

    run_id: str
    runs: pd.DataFrame  # report_runs.sql
    codes: pd.DataFrame  # report_run_codes.sql
    backlog: pd.DataFrame  # ops/backlog.sql: queue, district_code, code, records
    ages: pd.DataFrame  # backlog_age.sql


def read_report_data(cur: Any, sql_dir: Path, run_id: str) -> ReportData:
    """Read a run's report data."""
    fb = sql_dir / "feedback"
    return ReportData(
        run_id=run_id,
        runs=read_sql(cur, fb / "report_runs.sql", {}),
        codes=read_sql(cur, fb / "report_run_codes.sql", {"run_id": run_id}),
        backlog=read_sql(cur, sql_dir / "ops" / "backlog.sql", {}),
        ages=read_sql(cur, fb / "backlog_age.sql", {}),
    )


def read_gx(run_folder: Path, district_code: str) -> list[dict[str, Any]]:
    """The run's GX suite summaries for a district (``gx/*.json`` of its work folder)."""
    folder = run_folder / district_code / "gx"
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
    ] if folder.is_dir() else []  # fmt: skip


def gx_rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per suite: how many records and expectations, which failed and for how many."""
    rows = []
    for s in summaries:
        stats = s.get("statistics") or {}
        failed = [
            {
                "reason": r.get("reason"),
                "expectation": r.get("expectation_type"),
                "column": (r.get("kwargs") or {}).get("column", ""),
                "unexpected": r.get("unexpected_count") or 0,
            }
            for r in s.get("results", [])
            if not r.get("success")
        ]
        rows.append(
            {
                "suite": s.get("suite"),
                "success": bool(s.get("success")),
                "records": s.get("records", 0),
                "evaluated": stats.get("evaluated_expectations", 0),
                "unsuccessful": stats.get("unsuccessful_expectations", 0),
                "failed": failed,
            }
        )
    return rows


def _age_groups(ages: pd.DataFrame) -> list[tuple[str, int]]:
    days = ages["age_days"].astype(int) if len(ages) else pd.Series(dtype=int)
    out, lower = [], -1
    for upper, label in AGE_GROUPS:
        out.append((label, int(ages.loc[(days > lower) & (days <= upper), "entries"].sum())))
        lower = upper
    return out


def _trend_chart(runs: pd.DataFrame, title: str) -> str:
    x = [pd.Timestamp(t).tz_convert("Asia/Ho_Chi_Minh").strftime("%d/%m %H:%M")
         for t in runs["finished_at"]]  # fmt: skip
    series = {
        "Cần sửa": runs["quarantined"].astype(float).tolist(),
        "Chờ rà soát": runs["review"].astype(float).tolist(),
        "Đã nạp": runs["loaded"].astype(float).tolist(),
    }
    dashed = {"Danh sách cần sửa (bản ghi)": runs["entries"].astype(float).where(
        runs["entries"].notna(), None).tolist()}  # fmt: skip
    return charts.line_chart(x, series, title=title, y_label="bản ghi", dashed=dashed)


def _context(
    data: ReportData, codes: list[str], catalogue: Catalogue, runs: pd.DataFrame,
    ages: pd.DataFrame, run_codes: pd.DataFrame, backlog: pd.DataFrame,
) -> dict[str, Any]:  # fmt: skip
    """What a report shows for the districts ``codes`` (one, or the province's all)."""
    run_sum = data.runs[
        (data.runs["run_id"] == data.run_id) & data.runs["district_code"].isin(codes)
    ]
    status_rows = [
        (catalogue.statuses.get(s, s), int(run_sum[s].sum()))
        for s in ("loaded", "review", "quarantined")
    ]
    reasons = (
        run_codes[run_codes["code"] != ""].groupby("code")["records"].sum().sort_values(ascending=False)
        if len(run_codes) else pd.Series(dtype=int)
    )  # fmt: skip
    reason_rows = [(c, catalogue.title(str(c)), int(n)) for c, n in reasons.items()]
    open_q = backlog[backlog["queue"] == "quarantine"]
    top = open_q.groupby("code")["records"].sum().sort_values(ascending=False).head(10)
    top_rows = [(c, catalogue.title(str(c)), int(n)) for c, n in top.items()]
    groups = _age_groups(ages)
    oldest = int(ages["age_days"].max()) if len(ages) else None
    by_run = runs.groupby("run_id", sort=False).agg(
        finished_at=("finished_at", "max"), loaded=("loaded", "sum"), review=("review", "sum"),
        quarantined=("quarantined", "sum"), entries=("entries", lambda s: s.sum(min_count=1)),
    ).sort_values("finished_at").tail(30) if len(runs) else runs  # fmt: skip
    return {
        "run_id": data.run_id,
        "status_rows": status_rows,
        "extracted": int(run_sum["extracted"].sum()),
        "reason_rows": reason_rows,
        "top_rows": top_rows,
        "backlog_entries": int(ages["entries"].sum()) if len(ages) else 0,
        "review_open": int(backlog.loc[backlog["queue"] == "review", "records"].sum()),
        "age_rows": groups,
        "oldest_days": oldest,
        "trend_runs": len(by_run),
        "charts": {
            "trend": charts.line_chart([], {}, title="Xu hướng 30 lần chạy gần nhất")
            if by_run.empty
            else _trend_chart(by_run, "Xu hướng 30 lần chạy gần nhất"),
            "top": charts.bar_chart(
                [str(c) for c, _, _ in top_rows],
                [n for _, _, n in top_rows],
                title="Lý do chờ sửa nhiều nhất",
                x_label="bản ghi",
            ),
            "age": charts.bar_chart(
                [g for g, _ in groups],
                [n for _, n in groups],
                title="Tuổi của danh sách cần sửa",
                x_label="bản ghi",
                keep_order=True,
            ),
        },  # fmt: skip
    }


def district_context(
    data: ReportData, district: District, catalogue: Catalogue, gx: list[dict[str, Any]],
    fix_list: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """The district report's values."""
    code = district.code
    ctx = _context(
        data, [code], catalogue,
        data.runs[data.runs["district_code"] == code],
        data.ages[data.ages["district_code"] == code],
        data.codes[data.codes["district_code"] == code],
        data.backlog[data.backlog["district_code"] == code],
    )  # fmt: skip
    return {**ctx, "title": f"{code} {district.name}", "district": district,
            "gx": gx_rows(gx), "fix_list": fix_list}  # fmt: skip


def province_context(
    data: ReportData, districts: list[District], catalogue: Catalogue, campaign_name: str,
    fix_lists: dict[str, dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """The province report's values: the whole province, and a row per district."""
    codes = [d.code for d in districts]
    ctx = _context(data, codes, catalogue, data.runs[data.runs["district_code"].isin(codes)],
                   data.ages, data.codes, data.backlog)  # fmt: skip
    rows: list[dict[str, Any]] = []
    for d in districts:
        run = data.runs[
            (data.runs["run_id"] == data.run_id) & (data.runs["district_code"] == d.code)
        ]
        ages = data.ages[data.ages["district_code"] == d.code]
        fl = fix_lists.get(d.code) or {}
        rows.append({
            "district": d,
            "ran": not run.empty,
            **{k: int(run[k].sum()) for k in ("extracted", "loaded", "review", "quarantined")},
            "backlog": int(ages["entries"].sum()),
            "oldest_days": int(ages["age_days"].max()) if len(ages) else None,
            "fixed": fl.get("fixed"),
        })  # fmt: skip
    backlog_chart = charts.bar_chart(
        [d.label for d in districts],
        [float(r["backlog"]) for r in rows],
        title="Danh sách cần sửa theo đơn vị",
        x_label="bản ghi",
    )
    ctx["charts"]["districts"] = backlog_chart
    return {**ctx, "title": campaign_name, "rows": rows}


def environment(templates_dir: Path) -> Any:
    """The reports' Jinja2 environment: templates on disk, autoescape on for every file."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(templates_dir / "feedback"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    env.filters["num"] = number
    return env


def number(n: int | float) -> str:
    """A count as Vietnamese writes it: ``12.025`` (a dot between thousands)."""
    return f"{n:,.0f}".replace(",", ".")


def render(templates_dir: Path, name: str, context: dict[str, Any]) -> str:
    """Render a report template; the charts (``context['charts']``, hotich.charts SVG,
    whose text is escaped there) go in as markup, everything else as text."""
    from markupsafe import Markup

    values = dict(context)
    values["charts"] = {k: Markup(v) for k, v in context.get("charts", {}).items()}  # noqa: S704
    values["generated_at"] = (
        dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    )
    return str(environment(templates_dir).get_template(name).render(**values))
