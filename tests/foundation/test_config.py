"""The typed configuration and the districts file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotich.config import ConfigError, Settings, load_districts
from hotich.model import Flavor
from tests.conftest import REPO


def test_default_districts_file_lists_the_eight_units():
    districts = load_districts(REPO / "include" / "config" / "districts.yaml")
    assert sorted(d.code for d in districts) == [
        "256",
        "258",
        "259",
        "260",
        "261",
        "262",
        "263",
        "264",
    ]
    assert {d.flavor for d in districts} == set(Flavor)


def test_settings_from_env():
    s = Settings.from_env({"HOTICH_DISTRICTS_FILE": "/x/d.yaml", "HOTICH_PROVINCE_CODE": "001"})
    assert s.districts_file == Path("/x/d.yaml") and s.province_code == "001"
    with pytest.raises(ConfigError, match="three digits"):
        Settings.from_env({"HOTICH_PROVINCE_CODE": "27"})


def test_run_timeout_and_lease_expiry():
    s = Settings.from_env(
        {"HOTICH_RUN_TIMEOUT_MINUTES": "90", "HOTICH_LEASE_EXPIRY_MINUTES": "120"}
    )
    assert (s.run_timeout_minutes, s.lease_expiry_minutes) == (90, 120)
    # A lease shorter than a run could expire under a live run: refused, naming both.
    with pytest.raises(ConfigError, match="HOTICH_LEASE_EXPIRY_MINUTES at least as long"):
        Settings.from_env({"HOTICH_RUN_TIMEOUT_MINUTES": "90", "HOTICH_LEASE_EXPIRY_MINUTES": "60"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("districts: []", "non-empty list"),
        (
            "districts:\n  - {code: '260', name: X, flavor: cloud, conn_id: c}",
            "flavor must be one of",
        ),
        ("districts:\n  - {code: '263', name: X, flavor: workbook}", "needs 'inbox'"),
        ("districts:\n  - {code: '260', name: X, flavor: modern}", "needs 'conn_id'"),
        (
            "districts:\n  - {code: '1', flavor: modern, conn_id: a}\n  - {code: '1', flavor: modern, conn_id: b}",
            "more than once",
        ),
        ("districts: [", "not valid YAML"),
    ],
)
def test_bad_districts_files_name_the_file_and_entry(tmp_path, body, message):
    path = tmp_path / "districts.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_districts(path)
    assert str(path) in str(err.value)


def test_workbook_inbox_is_resolved_relative_to_the_file(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(
        "districts:\n  - {code: '263', name: Gia Bình, flavor: workbook, inbox: in/263}\n"
    )
    (district,) = load_districts(path)
    assert district.inbox == tmp_path / "in" / "263"


def test_work_file_retention_from_env():
    s = Settings.from_env({})
    assert (s.work_retention_hours, s.results_retention_days) == (0, 90)  # personal data: none
    s = Settings.from_env(
        {"HOTICH_WORK_RETENTION_HOURS": "36", "HOTICH_RESULTS_RETENTION_DAYS": "7.5"}
    )
    assert (s.work_retention_hours, s.results_retention_days) == (36, 7.5)
    with pytest.raises(ConfigError, match="HOTICH_WORK_RETENTION_HOURS must not be negative"):
        Settings.from_env({"HOTICH_WORK_RETENTION_HOURS": "-1"})
    with pytest.raises(ConfigError, match="HOTICH_RESULTS_RETENTION_DAYS must be a number"):
        Settings.from_env({"HOTICH_RESULTS_RETENTION_DAYS": "a week"})


def test_where_the_fix_lists_are_mailed_and_how_long_the_outbox_keeps_them(tmp_path):
    from hotich.config import load_campaign

    (tmp_path / "d.yaml").write_text(
        "districts:\n  - {code: '263', name: 'Gia Bình', flavor: workbook, inbox: in,"
        " email: ' hotich-263@example.test '}\n  - {code: '264', name: 'L', flavor: modern,"
        " conn_id: d264}\n",
        encoding="utf-8",
    )
    assert [d.email for d in load_districts(tmp_path / "d.yaml")] == [
        "hotich-263@example.test",
        None,
    ]
    (tmp_path / "c.yaml").write_text(
        "campaign:\n  name: C\n  province_email: tinh@example.test\n"
        "  phases:\n    - {name: P, target_entries: 10}\n",
        encoding="utf-8",
    )
    assert load_campaign(tmp_path / "c.yaml").province_email == "tinh@example.test"
    assert load_campaign(REPO / "include" / "config" / "campaign.yaml").province_email is None
    s = Settings.from_env(
        {"HOTICH_OUTBOX_RETENTION_DAYS": "30", "HOTICH_INBOX_SETTLE_SECONDS": "10"}
    )
    assert (s.outbox_retention_days, s.inbox_settle_seconds, s.smtp_conn_id) == (
        30,
        10,
        "hotich_smtp",
    )
    with pytest.raises(ConfigError, match="HOTICH_OUTBOX_RETENTION_DAYS"):
        Settings.from_env({"HOTICH_OUTBOX_RETENTION_DAYS": "-1"})


def test_register_answer_sharing_from_env():
    s = Settings.from_env({})
    assert s.register.share_answers is True and s.register.answer_wait_s == 120.0
    s = Settings.from_env(
        {"HOTICH_REGISTER_SHARE_ANSWERS": "false", "HOTICH_REGISTER_ANSWER_WAIT_S": "30"}
    )
    assert s.register.share_answers is False and s.register.answer_wait_s == 30.0
    with pytest.raises(ValueError, match="answer_wait_s"):
        Settings.from_env({"HOTICH_REGISTER_ANSWER_WAIT_S": "0"})
