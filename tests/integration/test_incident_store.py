"""Incidents in the national database (``ops.incident``, V007) and their messages through
the real notifiers: a webhook on loopback and an SMTP server (aiosmtpd) on 127.0.0.1.

One open incident per kind and district; repeats increment it and tell nobody; severity
rises after runs; the next success of the same district and stage closes it; a channel
that fails keeps its message for the next event; two tasks failing at once make one
incident. The DAG-run version of this is ``tests/dag/test_reconcile_dag.py``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import replace

import pandas as pd
import pytest

from hotich import db
from hotich.airflow.notifiers import WebhookNotifier, channels, email_notifier, sender
from hotich.config import Settings
from hotich.migrate import migrate
from hotich.ops import incidents
from hotich.ops.incidents import Occurrence
from hotich.register.client import PopulationClient
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, serve
from tests.integration.pipeline_kit import national_database, query
from tests.oncall_kit import smtp_server, task_context, webhook_server

SETTINGS = Settings(alerts_email_to=("oncall@sotttt.test", "de@hotich.test"))
DOWN = Occurrence(kind="district_source_down", dag_id="hotich_reconcile", run_id="r1",
                  task_id="district.extract", map_index=1, try_number=4, district="905",
                  error="SourceError: district 905: cannot read mysql://u@127.0.0.1:1/down "
                        "{{ 7*7 }} <b>027******001</b>")  # fmt: skip
EXTRACT = "hotich_reconcile:district.extract"


@pytest.fixture(scope="module")
def national(embedded_pg) -> Iterator[str]:
    with national_database(embedded_pg) as uri:
        engine = db.engine_for(uri)
        migrate(engine, SETTINGS.sql_dir)
        engine.dispose()
        yield uri


@pytest.fixture(scope="module")
def oncall():
    """The two channels, real, configured as a deployment would (Airflow connections)."""
    with webhook_server() as hook, smtp_server() as box:
        mp = pytest.MonkeyPatch()
        mp.setenv("AIRFLOW_CONN_HOTICH_ALERTS", hook.url + "?token=abc")
        mp.setenv("AIRFLOW_CONN_HOTICH_SMTP", box.connection_uri())
        yield hook, box
        mp.undo()


def record(national: str, occ: Occurrence) -> incidents.Event:
    """What the failure callback does: record, queue, deliver (hotich.airflow.callbacks)."""
    makers = channels(SETTINGS)
    conn = db.pg_connect(national)
    try:
        with conn, conn.cursor() as cur:
            event = incidents.record(cur, SETTINGS.sql_dir, occ, escalate_after_runs=3)
            incidents.queue(cur, SETTINGS.sql_dir, event, list(makers), SETTINGS.templates_dir)
        incidents.deliver(conn, SETTINGS.sql_dir, sender({}, makers), max_attempts=3)
    finally:
        conn.close()
    return event


def close(national: str, district: str | None, stage: str, run_id: str) -> list[incidents.Event]:
    makers = channels(SETTINGS)
    conn = db.pg_connect(national)
    try:
        with conn, conn.cursor() as cur:
            events = incidents.close(cur, SETTINGS.sql_dir, district=district, stage=stage,
                                     run_id=run_id)  # fmt: skip
            for e in events:
                incidents.queue(cur, SETTINGS.sql_dir, e, list(makers), SETTINGS.templates_dir)
        incidents.deliver(conn, SETTINGS.sql_dir, sender({}, makers), max_attempts=3)
    finally:
        conn.close()
    return events


def test_an_incident_opens_repeats_rises_and_closes(national, oncall):
    hook, box = oncall
    opened = record(national, DOWN)
    assert (opened.event, opened.incident.severity, opened.incident.occurrences) == (
        "opened", "medium", 1)  # fmt: skip
    assert [(m["event"], m["kind"], m["district"]) for m in hook.received] == [
        ("opened", "district_source_down", "905")]  # fmt: skip
    body = hook.received[0]
    assert body["text"] == DOWN.summary and body["incident_id"] == opened.incident.incident_id
    assert "VPN" in body["action"] and "VPN" in body["action_vi"]
    assert body["what_vi"] == "không đọc được nguồn dữ liệu của huyện"
    # The email: to everyone of HOTICH_ALERTS_EMAIL_TO, from the connection's sender,
    # Vietnamese and English, the error escaped and not rendered as a template.
    (mail,) = box.messages
    assert box.recipients == [["oncall@sotttt.test", "de@hotich.test"]]
    assert mail["From"] == "hotich-oncall@hotich.test"
    assert mail["Subject"].startswith("[hotich] OPENED (medium) district 905: district source")
    assert "Mở sự cố: không đọc được nguồn dữ liệu của huyện" in mail["Subject"]
    (html,) = box.bodies()
    assert "Cần làm" in html and "To do" in html and "kiểm tra máy chủ, VPN" in html
    assert "{{ 7*7 }}" in html and "&lt;b&gt;027******001&lt;/b&gt;" in html

    # The same district down the next run: a repeat, told to nobody.
    again = record(national, replace(DOWN, run_id="r2"))
    assert (again.event, again.incident.occurrences, again.incident.run_ids) == (
        "repeated", 2, ["r1", "r2"])  # fmt: skip
    assert len(hook.received) == 1 and len(box.messages) == 1
    # Cleared in the same run and failing again: one more occurrence, the same runs.
    assert record(national, replace(DOWN, run_id="r2")).incident.occurrences == 3
    # A third run: the severity rises a level, and that is told.
    third = record(national, replace(DOWN, run_id="r3"))
    assert (third.event, third.incident.severity) == ("severity_raised", "high")
    assert [m["event"] for m in hook.received] == ["opened", "severity_raised"]
    assert hook.received[1]["text"].startswith(
        "[hotich] severity raised to high (4 occurrences in 3 runs)"
    )
    assert len(box.messages) == 2
    # A fourth run: still high, a repeat again, told to nobody.
    fourth = record(national, replace(DOWN, run_id="r3b"))
    assert (fourth.event, fourth.incident.severity) == ("repeated", "high")
    assert len(hook.received) == 2

    # Successes elsewhere close nothing: another district, another stage, the run.
    assert close(national, "901", EXTRACT, "r4") == []
    assert close(national, "905", "hotich_reconcile:district.load", "r4") == []
    assert close(national, None, EXTRACT, "r4") == []
    # The district's extract succeeds: closed, with how long it was open.
    (closed,) = close(national, "905", EXTRACT, "r4")
    i = closed.incident
    assert (i.state, i.closed_by_run, i.closed_by_stage, i.occurrences) == (
        "closed", "r4", EXTRACT, 5)  # fmt: skip
    assert i.open_for is not None and i.open_for == i.closed_at - i.first_seen
    assert [m["event"] for m in hook.received] == ["opened", "severity_raised", "closed"]
    assert hook.received[2]["text"].startswith(
        "[hotich] district 905: district source cannot be read: closed by "
        f"{EXTRACT} in run r4, open "
    )
    assert box.messages[2]["Subject"].startswith("[hotich] CLOSED (high) district 905")
    assert "Đã khắc phục" in box.bodies()[2]
    assert close(national, "905", EXTRACT, "r5") == []  # nothing left open

    # It happens again later: a new incident, not the closed one reopened.
    reopened = record(national, replace(DOWN, run_id="r6"))
    assert reopened.event == "opened" and reopened.incident.incident_id != i.incident_id
    close(national, "905", EXTRACT, "r7")
    notices = query(national, "SELECT count(*), count(delivered_at) FROM ops.incident_notice")
    assert notices == [(10, 10)]  # 5 events x 2 channels, each delivered once


def test_a_channel_that_fails_is_tried_again_at_the_next_event(national, oncall, caplog):
    hook, box = oncall
    hook.received.clear()
    hook.answer = 500
    occ = replace(DOWN, kind="register_unavailable", task_id="district.reconcile",
                  district="262", error="RegisterUnavailable: 503 after 6 tries")  # fmt: skip
    with caplog.at_level("WARNING", logger="hotich.oncall"):
        record(national, occ)
    assert hook.received == []
    assert any("the webhook channel did not take the opened message: NotificationFailed: "
               "alerts webhook at http://127.0.0.1 did not take it: HTTP 500" in m
               for m in caplog.messages), caplog.messages  # fmt: skip
    assert not any("token=abc" in m for m in caplog.messages)
    pending = "SELECT channel, attempts, last_error IS NOT NULL FROM ops.incident_notice" \
              " WHERE delivered_at IS NULL ORDER BY notice_id"  # fmt: skip
    assert query(national, pending) == [("webhook", 1, True)]
    # Another incident while the webhook still fails: the older message is tried again and
    # fails; the new one is not tried after that (one timeout per pass, not one per message).
    record(national, replace(occ, kind="work_files_gone", task_id="district.validate"))
    assert query(national, pending) == [("webhook", 2, True), ("webhook", 0, False)]
    # The next event (a repeat, itself told to nobody) sends what is still due.
    hook.answer = 204
    record(national, replace(occ, run_id="r2"))
    assert [(m["event"], m["kind"]) for m in hook.received] == [
        ("opened", "register_unavailable"), ("opened", "work_files_gone")]  # fmt: skip
    assert query(
        national, "SELECT count(*) FROM ops.incident_notice WHERE delivered_at IS NULL"
    ) == [(0,)]


def test_two_tasks_failing_at_once_make_one_incident(national):
    occ = replace(DOWN, kind="conservation", district="263", task_id="district.load")
    barrier = threading.Barrier(4)
    events: list[str] = []

    def fail(n: int) -> None:
        conn = db.pg_connect(national)
        try:
            barrier.wait(timeout=10)
            with conn, conn.cursor() as cur:
                e = incidents.record(cur, SETTINGS.sql_dir, replace(occ, run_id=f"c{n}"),
                                     escalate_after_runs=0)  # fmt: skip
                events.append(e.event)
        finally:
            conn.close()

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(events) == ["opened", "repeated", "repeated", "repeated"]
    assert query(national, "SELECT occurrences, severity, cardinality(run_ids) FROM ops.incident"
                           " WHERE kind = 'conservation'") == [(4, "high", 4)]  # fmt: skip


def test_without_the_national_database_the_occurrence_is_sent_as_it_is(oncall):
    hook, _ = oncall
    hook.received.clear()
    hook.answer = 204
    bad = WebhookNotifier("http://127.0.0.1:1/nothing?token=abc")
    makers = {"webhook": lambda: WebhookNotifier(hook.url), "email": lambda: bad}
    occ = replace(DOWN, kind="national_database_down", district=None, task_id="plan_districts")
    assert incidents.send_now(occ, ["webhook", "email"], sender({}, makers),
                              SETTINGS.templates_dir) == 1  # fmt: skip
    (body,) = hook.received
    assert (body["event"], body["incident_id"], body["kind"]) == ("opened", None,
                                                                  "national_database_down")  # fmt: skip
    assert body["text"].startswith("[hotich] hotich_reconcile: the national civil-status database")


def test_channels_follow_the_configuration(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_HOTICH_ALERTS", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_HOTICH_SMTP", raising=False)
    assert set(channels(Settings())) == set()
    monkeypatch.setenv("AIRFLOW_CONN_HOTICH_SMTP", "smtp://127.0.0.1:25")
    assert set(channels(Settings())) == set()  # nobody to send it to
    assert set(channels(SETTINGS)) == {"email"}
    monkeypatch.setenv("AIRFLOW_CONN_HOTICH_ALERTS", "https://chat.example/hook")
    assert set(channels(SETTINGS)) == {"email", "webhook"}
    assert email_notifier(SETTINGS).smtp_conn_id == "hotich_smtp"


def test_a_district_that_finished_with_a_degraded_register(national, oncall, monkeypatch):
    """A register over its quota answers 429s the client rides out: the district finishes,
    and a low-severity incident opens; that success leaves it open, the next success
    without 429s closes it."""
    from hotich.airflow.callbacks import keep_open, note_success, record_degraded

    hook, _ = oncall
    hook.received.clear()
    people = [person("027218000001", "Nguyễn Văn An", "Nam", dt.date(2018, 1, 2))]
    with serve(RegisterIndex(load_register(pd.DataFrame(people))), quota_rps=2) as server:
        client = PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET)
        try:
            for _ in range(6):
                assert client.get("027218000001") is not None
        finally:
            client.close()
    stats = client.stats.as_dict()
    assert stats["rate_limited"] >= 1 and stats["retries"] >= 1
    assert incidents.register_degradation(stats, Settings()) is None  # under the defaults
    line = incidents.register_degradation(stats, Settings(register_degraded_429s=1))
    assert line is not None and f"{stats['rate_limited']} answers 429 (threshold 1)" in line

    monkeypatch.setenv("AIRFLOW_CONN_CIVIL_STATUS_DB", national)
    monkeypatch.delenv("HOTICH_DATABASE_URL", raising=False)
    monkeypatch.delenv("HOTICH_ALERTS_EMAIL_TO", raising=False)
    first = task_context("d1", "260")
    record_degraded(first, "register_degraded", line)
    note_success(first)  # the same task's success: the incident stays open
    assert [(m["event"], m["kind"], m["severity"]) for m in hook.received] == [
        ("opened", "register_degraded", "low")]  # fmt: skip
    assert "district.reconcile finished degraded in run d1" in hook.received[0]["text"]
    note_success(task_context("d2", "260", "district.extract"))  # another stage: nothing
    note_success(task_context("d2", "261"))  # another district: nothing
    unjudged = task_context("d2", "260")  # a reconcile that asked the register nothing
    keep_open(unjudged, "register_degraded")
    note_success(unjudged)
    assert len(hook.received) == 1
    note_success(task_context("d3", "260"))  # the next reconcile without 429s: closed
    assert [m["event"] for m in hook.received] == ["opened", "closed"]
    assert query(national, "SELECT state, closed_by_run FROM ops.incident"
                           " WHERE kind = 'register_degraded'") == [("closed", "d3")]  # fmt: skip


def test_the_digest_lists_what_is_still_open(national, oncall, monkeypatch):
    """The report's digest: every open incident, most severe first, but the run-wide ones
    of the report itself (its own end closes or repeats them); nothing when all are closed."""
    from hotich.airflow.callbacks import send_digest

    hook, box = oncall
    hook.received.clear()
    monkeypatch.setenv("AIRFLOW_CONN_CIVIL_STATUS_DB", national)
    monkeypatch.setenv("HOTICH_ALERTS_EMAIL_TO", "oncall@sotttt.test")
    record(national, replace(DOWN, kind="run_incomplete", district=None, task_id="report"))
    still = query(national, "SELECT kind, district_code, severity FROM ops.incident WHERE state"
                            " = 'open' AND district_code IS NOT NULL")  # fmt: skip
    assert len(still) >= 2
    hook.received.clear()
    mails = len(box.messages)
    report = task_context("d9", "", task_id="report")
    assert send_digest(report) == len(still)
    (body,) = hook.received
    listed = [(r["kind"], r["district"], r["severity"]) for r in body["open"]]
    assert sorted(listed) == sorted(still)
    assert [r[2] for r in listed] == sorted((r[2] for r in listed), key=incidents.SEVERITIES.index,
                                            reverse=True)  # fmt: skip
    assert body["text"].startswith(f"[hotich] {len(still)} incident(s) still open: #")
    assert box.messages[mails]["Subject"].startswith(f"[hotich] DIGEST: {len(still)} incident")
    # Another task's digest lists the run-wide one too.
    assert send_digest(task_context("d9", "", task_id="elsewhere")) == len(still) + 1
    # All closed: nothing sent.
    conn = db.pg_connect(national)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE ops.incident SET state = 'closed', closed_at = now()")
    conn.close()
    hook.received.clear()
    assert send_digest(report) == 0 and hook.received == []


def test_a_silent_district_opens_then_closes_when_it_sends_again(
    national, oncall, monkeypatch, tmp_path
):
    """The report's watch over ops.daily_progress (what the load keeps, V009): a district
    with nothing new for silent_district_days while a phase is open opens a low
    incident; the run after it sent records again closes it. One message each."""
    from hotich.airflow.callbacks import watch_districts

    hook, _ = oncall
    hook.received.clear()
    monkeypatch.setenv("AIRFLOW_CONN_CIVIL_STATUS_DB", national)
    monkeypatch.delenv("HOTICH_ALERTS_EMAIL_TO", raising=False)
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text("campaign:\n  name: C\n  silent_district_days: 7\n"
                        "  phases:\n    - {name: P, target_entries: 5}\n", encoding="utf-8")  # fmt: skip
    monkeypatch.setenv("HOTICH_CAMPAIGN_FILE", str(campaign))
    sent = ("INSERT INTO ops.daily_progress VALUES ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
            " - :ago, :d, 'loaded', 3) ON CONFLICT DO NOTHING")  # fmt: skip
    engine = db.engine_for(national)
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text(sent), {"ago": 9, "d": "270"})
        conn.execute(text(sent), {"ago": 0, "d": "271"})
    assert watch_districts(task_context("s1", "", task_id="report"), ["270", "271"]) == ["270"]
    assert [(m["event"], m["kind"], m["severity"]) for m in hook.received] == [
        ("opened", "silent_district", "low")]  # fmt: skip
    assert "no new or changed record for 9 days" in hook.received[0]["text"]
    assert watch_districts(task_context("s2", "", task_id="report"), ["270", "271"]) == ["270"]
    assert len(hook.received) == 1  # a repeat tells nobody
    with engine.begin() as conn:
        conn.execute(text(sent), {"ago": 0, "d": "270"})
    engine.dispose()
    assert watch_districts(task_context("s3", "", task_id="report"), ["270", "271"]) == []
    assert [m["event"] for m in hook.received] == ["opened", "closed"]
    assert query(national, "SELECT state, occurrences, closed_by_run FROM ops.incident"
                           " WHERE kind = 'silent_district'") == [("closed", 2, "s3")]  # fmt: skip


def test_a_late_run_opens_run_wide_and_its_report_closes_it(national, oncall, monkeypatch):
    """What the deadline callback records (the context Airflow's scheduler gives it: the
    DAG run and the deadline); the run's report succeeding closes it."""
    from hotich.airflow.callbacks import note_success, record_late_run

    hook, _ = oncall
    hook.received.clear()
    monkeypatch.setenv("AIRFLOW_CONN_CIVIL_STATUS_DB", national)
    monkeypatch.delenv("HOTICH_ALERTS_EMAIL_TO", raising=False)
    context = {"dag_run": {"dag_id": "hotich_reconcile", "dag_run_id": "late-1"},
               "deadline": {"id": "x", "deadline_time": "2026-12-02T23:00:00+00:00"}}  # fmt: skip
    record_late_run(context)
    assert [(m["event"], m["kind"]) for m in hook.received] == [("opened", "late_run")]
    assert "not finished by its deadline 2026-12-03 06:00" in hook.received[0]["text"]
    note_success(task_context("late-1", "", task_id="district.load"))  # not the report: nothing
    assert len(hook.received) == 1
    note_success(task_context("late-1", "", task_id="report"))
    assert [m["event"] for m in hook.received] == ["opened", "closed"]
    assert query(national, "SELECT district_code, state FROM ops.incident WHERE kind = 'late_run'") == [
        (None, "closed")]  # fmt: skip


def test_the_incidents_page(national, oncall, tmp_path):
    """/hotich/incidents: what is open, with what to do in both languages, and what closed
    lately with how long it was open; the same as JSON. (Behind Airflow's login in the
    api-server: the plugin's dependencies, checked by tests/dag/test_reconcile_dag.py.)"""
    from fastapi.testclient import TestClient

    from hotich.ops.dashboard import create_app

    record(
        national,
        replace(
            DOWN,
            run_id="p1",
            district="262",
            error="SourceError: district"
            " 262: cannot read the legacy source at mysql://hotich@10.1.2.62:3306"
            "/hotich: Can't connect to MySQL server on '10.1.2.62' (timed out)",
        ),
    )
    client = TestClient(create_app(lambda: national, settings=lambda: SETTINGS))
    page = client.get("/incidents")
    assert page.status_code == 200
    text = page.text
    assert "Đang mở (1)" in text and "không đọc được nguồn dữ liệu của huyện" in text
    assert "kiểm tra máy chủ, VPN" in text and "check the district&#39;s server" in text
    assert "Can&#39;t connect to MySQL server on &#39;10.1.2.62&#39;" in text  # escaped
    assert "Đã khắc phục trong 30 ngày qua" in text and "Kéo dài" in text
    rows = client.get("/api/incidents").json()
    assert [(r["kind"], r["district_code"]) for r in rows if r["state"] == "open"] == [
        ("district_source_down", "262")]  # fmt: skip
    assert all(r["open_for"] for r in rows if r["state"] == "closed")
    down = TestClient(create_app(lambda: "postgresql://postgres:pw@127.0.0.1:9/x",
                                 settings=lambda: SETTINGS)).get("/incidents")  # fmt: skip
    assert down.status_code == 503 and ":pw@" not in down.text
    shoot(text, tmp_path, "incidents.png", "Sự cố / Incidents")


def shoot(html: str, tmp_path, name: str, heading: str) -> None:
    """The page in a real headless Chromium; ``HOTICH_UPDATE_SCREENSHOTS=1`` keeps it in docs/."""
    import os
    import shutil
    from pathlib import Path

    from tests.conftest import REPO, require

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    require(Path(chromium).exists(), "Debian's chromium is not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright

    shot = (REPO / "docs" / "screenshots" / name
            if os.environ.get("HOTICH_UPDATE_SCREENSHOTS") else tmp_path / name)  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        page.set_content(html)
        assert page.locator("h1").inner_text().startswith(heading)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
