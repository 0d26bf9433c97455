"""Campaign progress: how far each phase and district is, and what waits for whom.

For the campaign's managers (entries loaded against each phase's target and deadline,
at the pace of the last days) and for whoever is on call (each district's last finished
run, the quarantine and review backlogs by reason, and the rejected workbook files each
district has to fix). Aggregates, run ids, and the names and problems of rejected files
(file names are not personal data; a problem never quotes a cell): no name or personal
ID ever leaves this module, so the page can be shown to anyone who may see the
campaign's figures.

    python -m hotich.ops.progress [--json]     (national database: HOTICH_DATABASE_URL
                                                or the civil_status_db connection)
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import sys
import zoneinfo
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd
import psycopg2
import psycopg2.errors

from hotich.config import TIMEZONE, Campaign, ConfigError, Settings, load_campaign, load_districts
from hotich.db import masked, pg_connect
from hotich.errors import loggable
from hotich.load import read_sql
from hotich.ops.rejected import read_rejected_files


class ProgressUnavailable(RuntimeError):
    """The national database cannot be read; the message names it (password hidden)."""


# First loads per day are averaged over this many days (today included) for the pace.
PACE_DAYS = 7


@dataclass(frozen=True)
class PhaseProgress:
    """One phase of the campaign: entries loaded against its target and deadline."""

    name: str
    target_entries: int
    loaded: int
    share: float  # loaded / target
    deadline: dt.date | None
    days_left: int | None  # to the deadline, today excluded
    needed_per_day: float | None  # to reach the target by the deadline
    pace_per_day: float  # first loads per day over the last PACE_DAYS days
    projected_finish: dt.date | None  # at that pace; None when done or not moving
    on_track: bool | None  # None: no deadline


MAX_PROJECTION_DAYS = 36_500


def phase_progress(
    campaign: Campaign, loaded_by_year: pd.DataFrame, first_loaded: pd.DataFrame, today: dt.date
) -> list[PhaseProgress]:
    """Each phase's progress from the loaded entries per registration year
    (``year``, ``entries``) and the first loads per day and year (``day``, ``year``,
    ``entries``) of the last ``PACE_DAYS`` days."""
    since = today - dt.timedelta(days=PACE_DAYS - 1)
    recent = (
        first_loaded[pd.to_datetime(first_loaded["day"]).dt.date >= since]
        if len(first_loaded)
        else first_loaded
    )
    out = []
    for phase in campaign.phases:
        loaded = int(loaded_by_year.loc[_in_phase(loaded_by_year["year"], phase), "entries"].sum())
        pace = float(recent.loc[_in_phase(recent["year"], phase), "entries"].sum()) / PACE_DAYS
        remaining = max(phase.target_entries - loaded, 0)
        finish = None
        # A pace that would need a century or more is no projection (and past year 9999
        # no date at all: a first day of a few records against a province's target).
        if remaining and pace > 0 and remaining / pace < MAX_PROJECTION_DAYS:
            finish = today + dt.timedelta(days=math.ceil(remaining / pace))
        days_left = needed = on_track = None
        if phase.deadline is not None:
            days_left = (phase.deadline - today).days
            needed = remaining / days_left if days_left > 0 else float(remaining)
            on_track = remaining == 0 or (finish is not None and finish <= phase.deadline)
        out.append(
            PhaseProgress(
                name=phase.name,
                target_entries=phase.target_entries,
                loaded=loaded,
                share=loaded / phase.target_entries,
                deadline=phase.deadline,
                days_left=days_left,
                needed_per_day=needed,
                pace_per_day=pace,
                projected_finish=finish,
                on_track=on_track,
            )  # fmt: skip
        )
    return out


def _in_phase(years: pd.Series, phase) -> pd.Series:
    mask = pd.Series(True, index=years.index)
    if phase.first_year is not None:
        mask &= years >= phase.first_year
    if phase.last_year is not None:
        mask &= years <= phase.last_year
    return mask


def district_rows(
    names: dict[str, str],
    counts: pd.DataFrame,
    last_runs: pd.DataFrame,
    now: dt.datetime,
    rejected_files: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """One row per district (configured or seen): records by status, its last run and
    its open rejected files (``rejected_files``: counts by district code)."""
    counts = counts.set_index("district_code")
    runs = last_runs.set_index("district_code")
    rejected_files = rejected_files or {}
    rows = []
    for code in sorted(set(names) | set(counts.index) | set(runs.index) | set(rejected_files)):
        c: Any = counts.loc[code] if code in counts.index else None
        r: Any = runs.loc[code] if code in runs.index else None
        finished = None if r is None else pd.Timestamp(r["finished_at"]).to_pydatetime()
        rows.append({
            "district_code": code,
            "name": names.get(code, ""),
            **{k: 0 if c is None else int(c[k]) for k in ("records", "loaded", "review", "quarantined")},
            "last_run_id": None if r is None else str(r["run_id"]),
            "last_finished_at": None if finished is None else finished.astimezone(now.tzinfo).isoformat(
                timespec="minutes"),
            "hours_since_last_run": None if finished is None else round((now - finished).total_seconds() / 3600, 1),
            "rejected_files": int(rejected_files.get(code, 0)),
        })  # fmt: skip
    return rows


def read_progress(
    civil_status_uri: str, settings: Settings, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The whole progress picture, JSON-ready, read from the national database."""
    now = now or dt.datetime.now(zoneinfo.ZoneInfo(TIMEZONE))
    today = now.astimezone(zoneinfo.ZoneInfo(TIMEZONE)).date()
    campaign = load_campaign(settings.campaign_file)
    try:
        names = {d.code: d.name for d in load_districts(settings.districts_file)}
    except ConfigError:  # the figures still stand without the names
        names = {}
    try:
        frames = _read_frames(civil_status_uri, settings.sql_dir / "ops")
    except psycopg2.errors.UndefinedTable as exc:
        raise ProgressUnavailable(
            f"national database {masked(civil_status_uri)} has no hotich tables yet:"
            " the first run of the hotich_reconcile DAG creates them"
        ) from exc
    except psycopg2.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProgressUnavailable(
            f"national database {masked(civil_status_uri)} cannot be read: {first}"
        ) from exc
    counts, last_runs, backlog, by_year, first_loaded, rejected, desk, decided = frames[:8]
    by_day, backlog_days, incidents_days = frames[8:]
    phases = phase_progress(campaign, by_year, first_loaded, today)
    per_district = {str(k): int(v) for k, v in rejected["district_code"].value_counts().items()}
    districts = district_rows(names, counts, last_runs, now, per_district)
    totals = {
        k: sum(d[k] for d in districts) for k in ("records", "loaded", "review", "quarantined")
    }
    return {
        "campaign": campaign.name,
        "generated_at": now.isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "pace_days": PACE_DAYS,
        "phases": [_jsonable(asdict(p)) for p in phases],
        "districts": districts,
        "totals": totals,
        "backlog": [
            {k: (int(v) if k == "records" else v) for k, v in row.items()}
            for row in backlog.to_dict("records")
        ],  # fmt: skip
        "rejected_files": rejected_file_rows(rejected),
        "desk": desk_summary(desk, decided, now),
        "charts": {
            "phases": phase_series(campaign, first_loaded, phases, today),
            "records_by_day": pivot_days(by_day, "status", "records", today, CHART_DAYS),
            "backlog_by_day": backlog_series(backlog_days, today, CHART_DAYS),
            "incidents_by_day": pivot_days(incidents_days, "severity", "open", today, CHART_DAYS),
        },
    }


# The charts of records per day, the backlog and the incidents cover this many days.
CHART_DAYS = 60


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def phase_series(
    campaign: Campaign, first_loaded: pd.DataFrame, phases: list[PhaseProgress], today: dt.date
) -> list[dict[str, Any]]:
    """Per phase, JSON-ready: the entries loaded at the end of each day since the first
    load (``loaded``, none after today), its target, and the projection from today at the
    recent pace (``projected``, none before today) up to the deadline (or the projected
    finish, at most a year ahead, when the phase has no deadline). ``first_loaded``: first
    loads per ``day`` and ``year`` over the whole campaign."""
    out = []
    for phase, p in zip(campaign.phases, phases, strict=True):
        mine = first_loaded[_in_phase(first_loaded["year"], phase)]
        per_day = (
            mine.assign(d=pd.to_datetime(mine["day"]).dt.date).groupby("d")["entries"].sum()
            if len(mine)
            else pd.Series(dtype="int64")
        )
        start = min(per_day.index) if len(per_day) else today
        end = p.deadline or p.projected_finish or today
        end = max(today, min(end, today + dt.timedelta(days=365)))
        days = _days(start, end)
        loaded = per_day.reindex([d for d in days if d <= today], fill_value=0).cumsum()
        loaded_now = int(loaded.iloc[-1]) if len(loaded) else 0
        projected = [
            None if d < today else min(float(p.target_entries), loaded_now + p.pace_per_day * (d - today).days)
            for d in days
        ]  # fmt: skip
        out.append({
            "name": p.name,
            "target_entries": p.target_entries,
            "deadline": None if p.deadline is None else p.deadline.isoformat(),
            "days": [d.isoformat() for d in days],
            "loaded": [int(v) for v in loaded.tolist()] + [None] * (len(days) - len(loaded)),
            "projected": projected,
        })  # fmt: skip
    return out


def pivot_days(
    frame: pd.DataFrame, column: str, value: str, today: dt.date, n_days: int
) -> dict[str, Any]:
    """A long frame (``day``, ``column``, ``value``) as JSON-ready series over the last
    ``n_days`` days (today included), one per value of ``column``, zero where absent."""
    days = _days(today - dt.timedelta(days=n_days - 1), today)
    if not len(frame):
        return {"days": [d.isoformat() for d in days], "series": {}}
    # groupby + unstack: pivot_table costs ~50 ms a call for the same table.
    wide = (
        frame.assign(day=pd.to_datetime(frame["day"]).dt.date)
        .groupby(["day", column])[value]
        .sum()
        .unstack(fill_value=0)
        .reindex(days, fill_value=0)
    )
    return {
        "days": [d.isoformat() for d in days],
        "series": {str(c): [int(v) for v in wide[c].tolist()] for c in wide.columns},
    }


def backlog_series(frame: pd.DataFrame, today: dt.date, n_days: int) -> dict[str, Any]:
    """The open quarantine and review entries at the end of each of the last ``n_days``
    days, JSON-ready: each district's last value carried forward over the days it did not
    load, then summed over the districts (``frame``: ``day``, ``district_code``, ``queue``,
    ``open_entries``)."""
    days = _days(today - dt.timedelta(days=n_days - 1), today)
    series: dict[str, list[int]] = {}
    if len(frame):
        f = frame.assign(day=pd.to_datetime(frame["day"]).dt.date)
        for queue in ("quarantine", "review"):
            # One row per day, district and queue (the table's key): unstacked as is.
            wide = (
                f[f["queue"] == queue]
                .drop_duplicates(["day", "district_code"], keep="last")
                .set_index(["day", "district_code"])["open_entries"]
                .unstack()
            )
            span = _days(min(min(wide.index), days[0]), today) if len(wide) else days
            filled = wide.reindex(span).ffill().fillna(0).sum(axis=1).reindex(days)
            series[queue] = [int(v) for v in filled.tolist()]
    return {"days": [d.isoformat() for d in days], "series": series}


def desk_summary(backlog: pd.DataFrame, by_day: pd.DataFrame, now: dt.datetime) -> dict[str, Any]:
    """The review desk on the dashboard, JSON-ready: per district the persons waiting,
    the oldest wait in days and the decisions no run has applied yet; decisions per day
    (made, applied, found stale) over the last 30 days."""
    districts: list[dict[str, Any]] = [
        {
            "district_code": str(r["district_code"]),
            "waiting": int(r["waiting"]),
            "oldest_days": int((now - pd.Timestamp(r["oldest"]).to_pydatetime()).days),
            "decided_not_applied": int(r["decided_not_applied"]),
        }
        for r in backlog.to_dict("records")
    ]
    days = [
        {"day": pd.Timestamp(r["day"]).date().isoformat(),
         **{k: int(r[k]) for k in ("decided", "applied", "stale")}}
        for r in by_day.to_dict("records")
    ]  # fmt: skip
    oldest = [int(d["oldest_days"]) for d in districts]
    return {
        "waiting": sum(int(d["waiting"]) for d in districts),
        "oldest_days": max(oldest) if oldest else None,
        "districts": districts,
        "decisions_by_day": days,
    }


def rejected_file_rows(rejected: pd.DataFrame) -> list[dict[str, Any]]:
    """The open rejected files, JSON-ready: district, file, kind, problem (without the
    leading file name), since (local minutes), what the district does (Vietnamese)."""
    cols = {"district_code": "district_code", "file_name": "file_name",
            "problem_kind": "problem_kind", "detail": "problem", "since": "since",
            "action_vi": "district_action_vi"}  # fmt: skip
    frame = rejected.loc[:, list(cols)].rename(columns=cols).astype(object)
    return cast(list[dict[str, Any]], frame.where(frame.notna(), None).to_dict("records"))


def _read_frames(uri: str, sql: Path) -> tuple[pd.DataFrame, ...]:
    conn = pg_connect(uri)
    try:
        with conn.cursor() as cur:
            return (
                read_sql(cur, sql / "districts.sql", {}),
                read_sql(cur, sql / "last_runs.sql", {}),
                read_sql(cur, sql / "backlog.sql", {}),
                read_sql(cur, sql / "loaded_by_year.sql", {}),
                read_sql(cur, sql / "first_loaded_by_day.sql", {}),
                read_rejected_files(cur, sql.parent),  # the open ones
                read_sql(cur, sql / "desk_backlog.sql", {}),
                read_sql(cur, sql / "decisions_by_day.sql", {}),
                read_sql(cur, sql / "records_by_day.sql", {"days": CHART_DAYS}),
                read_sql(cur, sql / "backlog_by_day.sql", {}),
                read_sql(cur, sql / "incidents_by_day.sql", {"days": CHART_DAYS}),
            )
    finally:
        conn.close()


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in d.items()}


# --- rendering --------------------------------------------------------------------------------
def _n(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return html.escape(str(v))


def _phase_state(p: dict[str, Any]) -> str:
    if p["on_track"] is None:
        return "no deadline"
    if p["loaded"] >= p["target_entries"]:
        return "done"
    return "on track" if p["on_track"] else "behind"


def render_html(progress: dict[str, Any]) -> str:
    """A self-contained page (no scripts, relative links only: it works behind a proxy)."""
    phases = "".join(
        f"<tr class='{_phase_state(p).replace(' ', '-')}'><td>{_n(p['name'])}</td><td>{_n(p['loaded'])}</td>"
        f"<td>{_n(p['target_entries'])}</td><td>{p['share']:.1%}</td><td>{_n(p['deadline'])}</td>"
        f"<td>{_n(p['days_left'])}</td><td>{_n(p['needed_per_day'])}</td><td>{_n(p['pace_per_day'])}</td>"
        f"<td>{_n(p['projected_finish'])}</td><td>{_phase_state(p)}</td></tr>"
        for p in progress["phases"]
    )
    districts = "".join(
        f"<tr><td>{_n(d['district_code'])} {_n(d['name'])}</td><td>{_n(d['records'])}</td><td>{_n(d['loaded'])}</td>"
        f"<td>{_n(d['review'])}</td><td>{_n(d['quarantined'])}</td>{_rejected_cell(d.get('rejected_files', 0))}"
        f"<td>{_n(d['last_run_id'])}</td>"
        f"<td>{_n(_local_minutes(d['last_finished_at']))}</td><td>{_n(d['hours_since_last_run'])}</td></tr>"
        for d in progress["districts"]
    )
    t = progress["totals"]
    backlog = _backlog_table(progress)
    rejected_line, rejected = _rejected_html(progress)
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>hotich: {_n(progress["campaign"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; white-space: nowrap; }}
th:first-child, td:first-child {{ text-align: left; }}
td.zero {{ color: #bbb; }}
tr.behind td {{ background: #fde2e2; }} tr.on-track td, tr.done td {{ background: #e3f6e5; }}
td.rejected, p.rejected {{ background: #fde2e2; font-weight: bold; }}
table.files td {{ text-align: left; white-space: normal; }}
div.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: .5rem; }}
div.charts figure {{ margin: 0; }} svg.chart {{ width: 100%; height: auto; }}
</style></head><body>
<h1>{_n(progress["campaign"])}</h1>
{rejected_line}<p>Figures as of {_n(progress["generated_at"])} (Asia/Ho_Chi_Minh). Pace: entries loaded
for the first time per day, over the last {progress["pace_days"]} days.
<a href="api/progress">JSON</a> · <a href="reports/">reports sent back to the districts</a></p>
<h2>Phases</h2>
{_charts_html(progress)}
<table><tr><th>phase</th><th>loaded</th><th>target</th><th>done</th><th>deadline</th><th>days left</th>
<th>needed / day</th><th>pace / day</th><th>projected finish</th><th>state</th></tr>{phases}</table>
<h2>Districts</h2>
<table><tr><th>district</th><th>records read</th><th>loaded</th><th>review</th><th>quarantined</th>
<th>rejected files</th><th>last finished run</th><th>finished at</th><th>hours since</th></tr>{districts}
<tr><th>all</th><th>{_n(t["records"])}</th><th>{_n(t["loaded"])}</th><th>{_n(t["review"])}</th>
<th>{_n(t["quarantined"])}</th><th>{_n(len(progress.get("rejected_files", [])))}</th><th colspan="3"></th></tr></table>
{rejected}
<h2>Waiting, by reason and district: quarantine (the district fixes the source) and review
(the register disagrees)</h2>
{backlog}
{_desk_html(progress)}
</body></html>
"""


def line_chart(x: list[str], series: dict[str, Any], *, title: str, y_label: str = "",
               dashed: dict[str, Any] | None = None) -> str:  # fmt: skip
    """:func:`hotich.charts.line_chart` over ISO dates. Drawn at every view (about a
    millisecond each from its template, decision 0019): a view after a load shows the new
    figures with no cache to invalidate."""
    from hotich.charts import line_chart as draw

    return draw([dt.date.fromisoformat(d) for d in x], series, dashed=dashed, title=title,
                y_label=y_label)  # fmt: skip


def _charts_html(progress: dict[str, Any]) -> str:
    """The dashboard's charts (server-side SVG): loaded against target per phase with the
    projected finish, records per day, the backlog over time, open incidents."""
    charts = progress.get("charts")
    if not charts:
        return ""
    out = []
    for p in charts["phases"]:
        dashed = {"target": [float(p["target_entries"])] * len(p["days"]),
                  "projected (recent pace)": p["projected"]}  # fmt: skip
        title = f"Loaded against target: {p['name']}" + (
            f" (deadline {p['deadline']})" if p["deadline"] else ""
        )
        out.append(line_chart(p["days"], {"loaded": p["loaded"]}, dashed=dashed,
                              title=title, y_label="entries"))  # fmt: skip
    for key, title, y_label in (
        ("records_by_day", f"Records per day, by verdict (last {CHART_DAYS} days)", "records"),
        ("backlog_by_day", "Backlog: open quarantine and review entries", "entries"),
        ("incidents_by_day", "Open incidents, by severity", "incidents"),
    ):
        c = charts[key]
        out.append(line_chart(c["days"], c["series"] or {"none": [0] * len(c["days"])},
                              title=title, y_label=y_label))  # fmt: skip
    return "<div class='charts'>" + "".join(f"<figure>{c}</figure>" for c in out) + "</div>"


def _desk_html(progress: dict[str, Any]) -> str:
    """The review desk: who waits for a decision per district, and decisions per day."""
    desk = progress.get("desk") or {"districts": [], "decisions_by_day": [], "waiting": 0}
    rows = "".join(
        f"<tr><td>{_n(d['district_code'])}</td><td>{_n(d['waiting'])}</td>"
        f"<td>{_n(d['oldest_days'])}</td><td>{_n(d['decided_not_applied'])}</td></tr>"
        for d in desk["districts"]
    )
    days = desk["decisions_by_day"]
    chart = line_chart(
        [d["day"] for d in days],
        {"decided": [d["decided"] for d in days], "applied": [d["applied"] for d in days],
         "stale": [d["stale"] for d in days]},
        title="Decisions per day (last 30 days)", y_label="decisions",
    )  # fmt: skip
    return (
        f"<h2>Review desk: {_n(desk['waiting'])} persons wait for a decision "
        "(<a href='desk/'>open the desk</a>)</h2>"
        "<table><tr><th>district</th><th>waiting</th><th>oldest wait (days)</th>"
        f"<th>decided, not yet applied</th></tr>{rows}</table>"
        f"<div style='max-width:48rem'>{chart}</div>"
    )


def _rejected_cell(n: int) -> str:
    return "<td class='zero'>·</td>" if not n else f"<td class='rejected'>{_n(n)}</td>"


def _rejected_html(progress: dict[str, Any]) -> tuple[str, str]:
    """The line under the title and the section listing the open rejected files (both
    empty when there are none)."""
    files = progress.get("rejected_files", [])
    if not files:
        return "", ""
    n_districts = len({f["district_code"] for f in files})
    line = (
        f"<p class='rejected'>{len(files):,} rejected workbook "
        f"{'file' if len(files) == 1 else 'files'} in {n_districts} "
        f"{'district' if n_districts == 1 else 'districts'} wait for the district to fix them:"
        " <a href='#rejected'>see below</a>.</p>"
    )
    rows = "".join(
        f"<tr><td>{_n(f['district_code'])}</td><td>{_n(f['file_name'])}</td><td>{_n(f['problem'])}</td>"
        f"<td>{_n(f['since'])}</td><td lang='vi'>{_n(f['district_action_vi'])}</td></tr>"
        for f in files
    )
    section = (
        "<h2 id='rejected'>Rejected workbook files: the district fixes them (a corrected file"
        " of the same name, or the file taken out of the inbox)</h2>"
        "<table class='files'><tr><th>district</th><th>file</th><th>problem</th><th>since</th>"
        f"<th lang='vi'>việc cần làm</th></tr>{rows}</table>"
    )
    return line, section


def _local_minutes(stamp: str | None) -> str | None:
    return None if stamp is None else stamp[:16].replace("T", " ")


def _backlog_table(progress: dict[str, Any]) -> str:
    """Open entries as a table of (queue, reason) by district, with a total column."""
    if not progress["backlog"]:
        return "<p>Nothing waits.</p>"
    table = (
        pd.DataFrame(progress["backlog"])
        .groupby(["queue", "code", "district_code"])["records"]
        .sum()
        .unstack(fill_value=0)
    )
    table = table.reindex(columns=[d["district_code"] for d in progress["districts"]], fill_value=0)
    table["all"] = table.sum(axis=1)
    head = "".join(f"<th>{_n(c)}</th>" for c in table.columns)
    body = "".join(
        f"<tr><td>{_n(queue)}</td><td>{_n(code)}</td>"
        + "".join(
            "<td class='zero'>·</td>" if v == 0 else f"<td>{_n(int(v))}</td>" for v in row.tolist()
        )
        + "</tr>"
        for (queue, code), row in cast(
            Iterable[tuple[tuple[str, str], pd.Series]], table.iterrows()
        )
    )
    return f"<table><tr><th>queue</th><th>reason</th>{head}</tr>{body}</table>"


def render_text(progress: dict[str, Any]) -> str:
    """The same figures as plain text, for the terminal."""
    lines = [f"{progress['campaign']} — as of {progress['generated_at']}", ""]
    for p in progress["phases"]:
        line = f"{p['name']}: {p['loaded']:,} / {p['target_entries']:,} ({p['share']:.1%}), {_phase_state(p)}"
        if p["deadline"]:
            line += (f"; deadline {p['deadline']} in {p['days_left']} days, needs "
                     f"{p['needed_per_day']:,.0f}/day, pace {p['pace_per_day']:,.0f}/day")  # fmt: skip
        lines.append(line)
    lines.append("")
    lines.append(
        f"{'district':<18}{'read':>10}{'loaded':>10}{'review':>8}{'quarant.':>10}  last finished run"
    )
    for d in progress["districts"]:
        label = f"{d['district_code']} {d['name']}"[:17]
        last = (
            f"{d['last_run_id']} ({d['hours_since_last_run']} h ago)"
            if d["last_run_id"]
            else "never"
        )
        lines.append(
            f"{label:<18}{d['records']:>10,}{d['loaded']:>10,}{d['review']:>8,}{d['quarantined']:>10,}  {last}"
        )
    files = progress.get("rejected_files", [])
    if files:
        lines += ["", f"rejected workbook files, open ({len(files):,}): the district fixes them"]
        lines += [loggable(f"  {f['district_code']} {f['file_name']}: {f['problem']} (since {f['since']})")
                  for f in files]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the progress (text, or JSON with ``--json``)."""
    from hotich.connections import civil_status_uri

    settings = Settings.from_env()
    try:
        progress = read_progress(civil_status_uri(settings), settings)
    except (ProgressUnavailable, ConfigError, LookupError) as exc:
        print(f"progress: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps(progress, ensure_ascii=False, indent=1)
        if "--json" in argv
        else render_text(progress)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
