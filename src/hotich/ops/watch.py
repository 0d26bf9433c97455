"""Watches of the campaign over days rather than over one task: a district gone silent
while its phase is open (``silent_district``), and the text of a late daily run
(``late_run``, raised by the DAG's ``DeadlineAlert``: ``hotich.airflow.callbacks``).

Airflow-free. A district's last day with records comes from the dashboard's aggregate
``ops.daily_progress`` (V009: a verdict is written only for a new or changed record),
read by ``include/sql/ops/last_sent.sql``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from hotich.config import Campaign


def silent_districts(
    campaign: Campaign, codes: list[str], last_sent: pd.DataFrame, today: dt.date
) -> pd.DataFrame:
    """The districts of ``codes`` silent on ``today``: no new or changed record for
    ``campaign.silent_district_days`` days or more while a phase is open. ``last_sent``:
    ``district_code``, ``last_day`` (the last day it sent records). A district that never
    sent is silent once an open phase has been open that long (``opens``); a phase without
    ``opens`` waits for its first records. Returns ``district_code``, ``last_day`` (NaT:
    never), ``days`` (silent for; since the phase opened when it never sent), one row per
    silent district, by code; empty when the watch is off (``silent_district_days`` 0) or
    no phase is open."""
    n = campaign.silent_district_days
    open_phases = [p for p in campaign.phases if p.is_open(today)]
    empty = pd.DataFrame({"district_code": pd.Series(dtype=str),
                          "last_day": pd.Series(dtype="datetime64[ns]"),
                          "days": pd.Series(dtype="int64")})  # fmt: skip
    if n <= 0 or not open_phases or not codes:
        return empty
    opened = [p.opens for p in open_phases if p.opens is not None]
    since_open = (today - min(opened)).days if opened and len(opened) == len(open_phases) else None
    frame = pd.DataFrame({"district_code": sorted(set(codes))}).merge(
        last_sent.assign(district_code=last_sent["district_code"].astype(str)),
        on="district_code", how="left",
    )  # fmt: skip
    last = pd.to_datetime(frame["last_day"])
    days = (pd.Timestamp(today) - last).dt.days
    never = last.isna()
    days = days.where(~never, since_open if since_open is not None else -1)
    out = frame.assign(last_day=last, days=days.astype("int64"))
    return out.loc[out["days"] >= n, ["district_code", "last_day", "days"]].reset_index(drop=True)


def silent_line(last_day: pd.Timestamp | None, days: int, n: int) -> str:
    """The incident's error line (no personal data: a district and days)."""
    if last_day is None or pd.isna(last_day):
        return f"no record received since its phase opened {days} days ago (threshold {n} days)"
    return (f"no new or changed record for {days} days, the last on "
            f"{pd.Timestamp(last_day).date().isoformat()} (threshold {n} days)")  # fmt: skip


def late_line(deadline: dt.datetime | None, late_run_by: dt.time) -> str:
    """The ``late_run`` incident's error line: not finished by its deadline (local time)."""
    from zoneinfo import ZoneInfo

    from hotich.config import TIMEZONE

    if deadline is None:
        return f"not finished by {late_run_by.isoformat('minutes')} (Asia/Ho_Chi_Minh)"
    local = deadline.astimezone(ZoneInfo(TIMEZONE))
    return f"not finished by its deadline {local.strftime('%Y-%m-%d %H:%M')} (Asia/Ho_Chi_Minh)"
