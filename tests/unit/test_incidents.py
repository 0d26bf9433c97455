"""Incidents: their kind, their one line, masking, severity, and a webhook that fails."""

from __future__ import annotations

import datetime as dt

import pytest

from hotich.airflow.notifiers import NotificationFailed, WebhookNotifier
from hotich.config import Settings
from hotich.connections import ConnectionMissing
from hotich.errors import IncidentError
from hotich.extract import SourceError
from hotich.load import ConservationError
from hotich.model import mask_id, mask_ids
from hotich.ops.incidents import (
    KINDS,
    SEVERITIES,
    Occurrence,
    classify,
    duration,
    error_line,
    escalated,
    raised_severity,
    register_degradation,
)
from hotich.register.client import RegisterAuthError, RegisterCircuitOpen, RegisterUnavailable
from hotich.report import RunIncomplete


def chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(("exc", "kind"), [
    (SourceError("district 262: cannot read the legacy source"), "district_source_down"),
    (chained(RuntimeError("register refused the credentials"), RegisterAuthError("401")),
     "register_credentials"),
    (RegisterUnavailable("503 after 6 tries"), "register_unavailable"),
    (RegisterCircuitOpen("breaker open"), "register_unavailable"),
    (ConservationError("extracted 10 != 9"), "conservation"),
    (ConnectionMissing("Airflow connection 'district_262' is not defined"), "connection_missing"),
    (LookupError("Airflow connection 'x' is not defined"), "task_failed"),  # the class decides
    (KeyError("district_code"), "task_failed"),  # a LookupError subclass: not a connection
    (chained(RuntimeError("failed"), RunIncomplete(["262"])), "run_incomplete"),
    (RuntimeError("districts that did not finish this run: 262"), "task_failed"),  # not by text
    (KeyError("x"), "task_failed"),
    (None, "task_failed"),
])  # fmt: skip
def test_classify_by_the_exception_and_its_causes(exc, kind):
    assert classify(exc) == kind


def test_every_incident_error_kind_is_in_the_runbook_table():
    kinds = {cls.incident_kind for cls in _subclasses(IncidentError)}
    assert kinds <= set(KINDS)
    assert {
        "district_source_down",
        "register_credentials",
        "register_unavailable",
        "connection_missing",
        "conservation",
        "run_incomplete",
    } <= kinds


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def test_ids_are_masked_in_error_lines():
    assert mask_id("027218000001") == "027******001"
    assert mask_ids("ID 027218000001 and 27218000001 (lost zero); book 901-KS-2018") == (
        "ID 027******001 and 272*****001 (lost zero); book 901-KS-2018")  # fmt: skip
    assert error_line(ValueError("bad 027218000001\nsecond line")) == "ValueError: bad 027******001"
    assert error_line(None) == "unknown error"


INCIDENT = Occurrence(kind="district_source_down", dag_id="hotich_reconcile", run_id="r1",
                      task_id="district.extract", map_index=6, try_number=4, district="262",
                      error="SourceError: district 262: cannot read the legacy source at mysql://u@h/db")  # fmt: skip


def test_the_line_of_an_occurrence():
    assert INCIDENT.summary.startswith(
        "[hotich] district 262: district source cannot be read; district.extract failed (try 4)"
        " in run r1: SourceError: district 262: cannot read"
    )
    assert INCIDENT.summary.endswith("last committed watermark (docs/reliability.md).")
    assert INCIDENT.stage == "hotich_reconcile:district.extract"


def test_every_kind_says_what_to_do_in_both_languages():
    for kind in KINDS.values():
        assert kind.what and kind.action and kind.what_vi and kind.action_vi
        assert kind.severity in SEVERITIES


@pytest.mark.parametrize(("severity", "runs", "after", "expected"), [
    ("medium", 2, 3, "medium"), ("medium", 3, 3, "high"), ("high", 9, 3, "critical"),
    ("critical", 9, 3, "critical"), ("low", 9, 0, "low"),
])  # fmt: skip
def test_severity_rises_a_level_after_runs(severity, runs, after, expected):
    assert escalated(severity, runs, after) == expected
    assert raised_severity("low", "high") == raised_severity("high", "low") == "high"


@pytest.mark.parametrize(("seconds", "text"), [
    (42, "42 s"), (125, "2 min"), (3 * 3600 + 300, "3 h 5 min"), (2 * 86400 + 7200, "2 d 2 h"),
])  # fmt: skip
def test_how_long_an_incident_was_open(seconds, text):
    assert duration(dt.timedelta(seconds=seconds)) == text


def test_a_failing_webhook_names_its_host_only():
    with pytest.raises(NotificationFailed) as err:
        WebhookNotifier("http://127.0.0.1:1/nothing-listens?token=abc").notify(
            {"hotich_notice": {"payload": {"text": "x"}}})  # fmt: skip
    assert str(err.value) == ("alerts webhook at http://127.0.0.1 did not take it: ConnectionError")


def test_a_degraded_register_by_its_counters():
    stats = {"requests": 120, "retries": 3, "rate_limited": 0, "breaker_opens": 1}
    assert register_degradation(stats, Settings()) == (
        "register calls of 120 requests: 1 circuit breaker openings (threshold 1)"
    )
    assert register_degradation(stats, Settings(register_degraded_breaker_opens=0)) is None
    assert register_degradation({**stats, "breaker_opens": 0, "retries": 50}, Settings()) == (
        "register calls of 120 requests: 50 retries (threshold 50)"
    )
    occ = Occurrence(kind="register_degraded", dag_id="hotich_reconcile", run_id="r1",
                     task_id="district.reconcile", map_index=0, try_number=1, district="260",
                     error="register calls of 120 requests: 50 retries (threshold 50)")  # fmt: skip
    assert "district.reconcile finished degraded in run r1" in occ.summary
