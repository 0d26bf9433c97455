"""The quality history page (``/hotich/quality/<district>``): a district's data-quality
results over its last runs (``ops.quality_result``, decision 0012), per reason code, as a
chart, and the rules its latest run failed. Counts and shares only: no value, no source key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hotich import charts
from hotich.config import TIMEZONE
from hotich.db import pg_connect
from hotich.load import read_sql

RUNS = 30


def read_history(uri: str, sql_dir: Path, district_code: str, runs: int = RUNS) -> dict[str, Any]:
    """The district's history (run, time, reason, share, failing), its latest failures and
    its latest gate decision (a blocked run writes no history: the page says so)."""
    conn = pg_connect(uri)
    try:
        with conn, conn.cursor() as cur:
            params = {"district_code": district_code, "runs": runs}
            history = read_sql(cur, sql_dir / "ops" / "quality_history.sql", params)
            latest = read_sql(cur, sql_dir / "ops" / "quality_latest.sql", params)
            gate = read_sql(cur, sql_dir / "ops" / "gate_history.sql", {**params, "runs": 1})
    finally:
        conn.close()
    return {"history": history, "latest": latest, "gate": gate}


def share_series(history: pd.DataFrame) -> tuple[list[str], dict[str, list[float]]]:
    """The chart's x labels (each run's time) and, per reason code that failed any record
    in these runs, its share in percent per run."""
    if history.empty:
        return [], {}
    failing = history.groupby("reason")["failing"].sum()
    shown = sorted(failing[failing > 0].index)
    wide = history.pivot_table(index="recorded_at", columns="reason", values="share",
                               aggfunc="max").sort_index()  # fmt: skip
    return run_labels(list(wide.index)), {
        r: (wide[r].fillna(0) * 100).round(2).tolist() for r in shown
    }


def run_labels(times: list[pd.Timestamp]) -> list[str]:
    """Each run's local time to the second (``12-03 13:33:05``), unique: a chart's category
    axis would draw two runs of the same label as one."""
    out: list[str] = []
    for t in times:
        label = t.tz_convert(TIMEZONE).strftime("%m-%d %H:%M:%S")
        n = sum(1 for x in out if x == label or x.startswith(label + " ("))
        out.append(f"{label} ({n + 1})" if n else label)
    return out


def render(district_code: str, found: dict[str, Any], templates_dir: Path, root: str) -> str:
    """The page: the chart of the district's reasons over its runs, and the latest failures."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    labels, series = share_series(found["history"])
    chart = charts.line_chart(
        labels, series, title=f"Huyện {district_code}: tỷ lệ bản ghi vi phạm theo mã lý do (%)",
        y_label="% bản ghi / of records",
    )  # fmt: skip
    env = Environment(
        loader=FileSystemLoader(templates_dir / "ops"), autoescape=select_autoescape(["html"])
    )
    return env.get_template("quality.html").render(
        district=district_code, chart=chart, runs=found["history"]["run_id"].nunique(),
        latest=found["latest"].to_dict("records"), root=root, blocked=blocked_run(found),
    )  # fmt: skip


def blocked_run(found: dict[str, Any]) -> dict[str, Any] | None:
    """The district's latest gate decision when it blocked (run id, line), else None."""
    gate = found.get("gate")
    if gate is None or gate.empty or gate.iloc[0]["decision"] != "block":
        return None
    return {"run_id": str(gate.iloc[0]["run_id"]), "summary": str(gate.iloc[0]["summary"])}
