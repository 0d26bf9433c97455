"""The silent-district rule, the late-run deadline's interval, and their configuration."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from hotich.airflow.settings import RECONCILE_SCHEDULE, late_run_interval, reconcile_schedule
from hotich.config import Campaign, ConfigError, Phase, load_campaign
from hotich.ops.watch import late_line, silent_districts, silent_line

TODAY = dt.date(2026, 12, 3)


def campaign(days: int = 7, **phase) -> Campaign:
    return Campaign("C", (Phase("P", 100, **phase),), silent_district_days=days)


def last(**days_ago: int) -> pd.DataFrame:
    return pd.DataFrame({"district_code": list(days_ago),
                         "last_day": [TODAY - dt.timedelta(days=n) for n in days_ago.values()]})  # fmt: skip


def test_a_district_silent_for_the_threshold_is_listed_with_its_last_day():
    out = silent_districts(
        campaign(7), ["260", "261", "262"], last(**{"260": 7, "261": 6, "262": 30}), TODAY
    )
    assert out["district_code"].tolist() == ["260", "262"]
    assert out["days"].tolist() == [7, 30]
    assert out["last_day"].dt.date.tolist() == [
        TODAY - dt.timedelta(days=7),
        TODAY - dt.timedelta(days=30),
    ]


def test_no_watch_when_off_or_no_phase_is_open():
    silent = last(**{"260": 30})
    assert silent_districts(campaign(0), ["260"], silent, TODAY).empty  # off
    assert silent_districts(
        campaign(7, deadline=TODAY - dt.timedelta(days=1)), ["260"], silent, TODAY
    ).empty
    assert silent_districts(
        campaign(7, opens=TODAY + dt.timedelta(days=1)), ["260"], silent, TODAY
    ).empty
    # A district not planned in this run is not judged.
    assert silent_districts(campaign(7), ["261"], silent, TODAY).empty


def test_a_district_that_never_sent_is_silent_only_once_its_phase_has_been_open_that_long():
    nothing = last()
    assert silent_districts(campaign(7), ["263"], nothing, TODAY).empty  # no opening date
    assert silent_districts(
        campaign(7, opens=TODAY - dt.timedelta(days=6)), ["263"], nothing, TODAY
    ).empty
    out = silent_districts(campaign(7, opens=TODAY - dt.timedelta(days=9)), ["263"], nothing, TODAY)
    assert out["days"].tolist() == [9] and out["last_day"].isna().all()
    assert silent_line(out["last_day"][0], 9, 7) == (
        "no record received since its phase opened 9 days ago (threshold 7 days)")  # fmt: skip
    assert silent_line(pd.Timestamp("2026-11-20"), 13, 7) == (
        "no new or changed record for 13 days, the last on 2026-11-20 (threshold 7 days)")  # fmt: skip


def test_the_late_run_deadline_counts_from_the_scheduled_time():
    assert late_run_interval(dt.time(6, 0)) == dt.timedelta(hours=5)  # 01:00 -> 06:00
    assert late_run_interval(dt.time(0, 30)) == dt.timedelta(hours=23, minutes=30)  # next day
    assert late_run_interval(dt.time(1, 0)) == dt.timedelta(0)
    deadline = dt.datetime(2026, 12, 2, 23, 0, tzinfo=dt.UTC)
    assert late_line(deadline, dt.time(6, 0)) == (
        "not finished by its deadline 2026-12-03 06:00 (Asia/Ho_Chi_Minh)")  # fmt: skip


def test_the_daily_schedule_is_switched_off_only_by_name(monkeypatch):
    monkeypatch.delenv("HOTICH_RECONCILE_SCHEDULE", raising=False)
    assert reconcile_schedule() == RECONCILE_SCHEDULE == "0 1 * * *"
    monkeypatch.setenv("HOTICH_RECONCILE_SCHEDULE", "OFF")
    assert reconcile_schedule() is None
    monkeypatch.setenv("HOTICH_RECONCILE_SCHEDULE", "on")
    assert reconcile_schedule() == RECONCILE_SCHEDULE


def test_the_campaign_file_sets_the_watches(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("campaign:\n  name: C\n  late_run_by: '05:30'\n  silent_district_days: 3\n"
                    "  phases:\n    - {name: P, target_entries: 5, opens: 2026-11-01}\n", encoding="utf-8")  # fmt: skip
    c = load_campaign(path)
    assert (c.late_run_by, c.silent_district_days, c.phases[0].opens) == (
        dt.time(5, 30), 3, dt.date(2026, 11, 1))  # fmt: skip
    path.write_text("campaign:\n  late_run_by: 'soon'\n  phases:\n    - {name: P, target_entries: 5}\n",
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError, match="late_run_by"):
        load_campaign(path)
