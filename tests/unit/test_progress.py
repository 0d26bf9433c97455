"""Campaign progress arithmetic (pure) and the campaign file's checks."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from hotich.config import Campaign, ConfigError, Phase, Settings, load_campaign
from hotich.ops.progress import PACE_DAYS, phase_progress, render_text

TODAY = dt.date(2026, 11, 25)
DEADLINE = dt.date(2027, 1, 15)  # 51 days after TODAY
CAMPAIGN = Campaign("c", (
    Phase("phase 1", 700, first_year=2006, last_year=2018),
    Phase("phase 2", 350, last_year=2005, deadline=DEADLINE),
))  # fmt: skip


def by_year(pairs: dict[int, int]) -> pd.DataFrame:
    return pd.DataFrame({"year": list(pairs), "entries": list(pairs.values())})


def first_loads(rows: list[tuple[dt.date, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["day", "year", "entries"])


def test_years_fall_in_their_phase_and_later_years_in_none():
    loaded = by_year({1990: 100, 2005: 50, 2006: 300, 2018: 400, 2019: 999})
    p1, p2 = phase_progress(CAMPAIGN, loaded, first_loads([]), TODAY)
    assert (p1.loaded, p1.share, p1.on_track, p1.deadline) == (700, 1.0, None, None)
    assert (p2.loaded, p2.days_left) == (150, 51)
    assert p2.needed_per_day == pytest.approx(200 / 51)
    assert p2.pace_per_day == 0 and p2.projected_finish is None and p2.on_track is False


def test_pace_counts_only_the_last_days_and_projects_the_finish():
    loaded = by_year({2000: 150})
    old_day = TODAY - dt.timedelta(days=PACE_DAYS)  # one day before the window
    recent = first_loads([(TODAY, 2000, 21), (TODAY - dt.timedelta(days=PACE_DAYS - 1), 2001, 14),
                          (old_day, 2000, 1000), (TODAY, 2010, 700)])  # fmt: skip
    _, p2 = phase_progress(CAMPAIGN, loaded, recent, TODAY)
    assert p2.pace_per_day == pytest.approx(35 / PACE_DAYS)  # 5 a day
    assert p2.projected_finish == TODAY + dt.timedelta(days=40)  # 200 left at 5 a day
    assert p2.on_track is True


def test_behind_when_the_pace_misses_the_deadline_and_done_when_the_target_is_met():
    slow = first_loads([(TODAY, 2000, 7)])  # 1 a day, 200 left
    _, behind = phase_progress(CAMPAIGN, by_year({2000: 150}), slow, TODAY)
    assert behind.on_track is False and behind.projected_finish == TODAY + dt.timedelta(days=200)
    _, done = phase_progress(CAMPAIGN, by_year({2000: 400}), slow, TODAY)
    assert (
        done.on_track is True
        and done.share == pytest.approx(400 / 350)
        and done.projected_finish is None
    )
    _, late = phase_progress(CAMPAIGN, by_year({2000: 150}), slow, DEADLINE + dt.timedelta(days=3))
    assert late.days_left == -3 and late.needed_per_day == 200 and late.on_track is False


def test_render_text_names_each_phase_and_district():
    progress = {
        "campaign": "c", "generated_at": "2026-11-25T08:00:00+07:00", "phases": [
            {"name": "phase 2", "loaded": 150, "target_entries": 350, "share": 150 / 350,
             "deadline": "2027-01-15", "days_left": 51, "needed_per_day": 3.9, "pace_per_day": 5.0,
             "on_track": True}],
        "districts": [{"district_code": "256", "name": "Bắc Ninh", "records": 10, "loaded": 8, "review": 1,
                       "quarantined": 1, "last_run_id": None, "hours_since_last_run": None}],
    }  # fmt: skip
    text = render_text(progress)
    assert "phase 2: 150 / 350 (42.9%), on track; deadline 2027-01-15 in 51 days" in text
    assert "256 Bắc Ninh" in text and "never" in text


def test_the_shipped_campaign_file_is_valid():
    campaign = load_campaign(Settings().campaign_file)
    assert [p.deadline for p in campaign.phases] == [None, dt.date(2027, 1, 15)]
    assert sum(p.target_entries for p in campaign.phases) == 1_050_000


@pytest.mark.parametrize(("body", "message"), [
    ("campaign: {phases: []}", "non-empty list"),
    ("campaign:\n  phases:\n    - {name: a}", "phase 'a': 'target_entries' is missing"),
    ("campaign:\n  phases:\n    - {name: a, target_entries: 5, deadline: soon}", "deadline must be a date"),
    ("campaign:\n  phases:\n    - {name: a, target_entries: 5, first_year: 2010, last_year: 2000}", "after"),
    ("campaign:\n  phases:\n    - {name: a, target_entries: 0}", "must be positive"),
    ("campaign: [", "not valid YAML"),
])  # fmt: skip
def test_campaign_file_errors_name_the_file_and_phase(tmp_path, body, message):
    path = tmp_path / "campaign.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_campaign(path)
    assert str(path) in str(err.value)


def test_a_pace_too_slow_to_project_gives_no_date_instead_of_failing():
    # Two records in the window against a province's target: ~7 million years at that
    # pace, past the last date Python has (the dashboard once answered 500 on it).
    huge = Campaign("c", (Phase("all", 1_100_000, deadline=DEADLINE),))
    (p,) = phase_progress(huge, by_year({2000: 2}), first_loads([(TODAY, 2000, 2)]), TODAY)
    assert p.pace_per_day > 0 and p.projected_finish is None and p.on_track is False
