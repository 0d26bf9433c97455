"""Incidents: their kind, their one line, masking, and delivery to a webhook on loopback."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hotich.connections import ConnectionMissing
from hotich.errors import IncidentError
from hotich.extract import SourceError
from hotich.load import ConservationError
from hotich.model import mask_id, mask_ids
from hotich.ops.incidents import KINDS, Incident, classify, error_line, report_incident
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


@pytest.fixture
def webhook():
    """A webhook on 127.0.0.1 that answers with the status in ``answer`` and keeps bodies."""
    state = {"answer": 204, "received": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            state["received"].append(
                json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(state["answer"])
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook?token=abc"
    yield state
    server.shutdown()
    server.server_close()


INCIDENT = Incident(kind="district_source_down", dag_id="hotich_reconcile", run_id="r1",
                    task_id="district.extract", map_index=6, try_number=4, district="262",
                    error="SourceError: district 262: cannot read the legacy source at mysql://u@h/db")  # fmt: skip


def test_an_incident_reaches_the_webhook_and_the_log(webhook, caplog):
    with caplog.at_level(logging.ERROR, logger="hotich.oncall"):
        assert report_incident(INCIDENT, webhook["url"]) is True
    (body,) = webhook["received"]
    assert (
        body["kind"] == "district_source_down"
        and body["district"] == "262"
        and body["try_number"] == 4
    )
    assert body["text"] == INCIDENT.summary
    assert body["text"].startswith(
        "[hotich] district 262: district source cannot be read; district.extract failed"
    )
    assert "VPN" in body["action"] and body["runbook"] == "docs/reliability.md"
    assert caplog.messages == ["FAILED " + INCIDENT.summary]


def test_a_failing_webhook_never_hides_the_incident(webhook, caplog):
    webhook["answer"] = 500
    with caplog.at_level(logging.WARNING, logger="hotich.oncall"):
        assert report_incident(INCIDENT, webhook["url"]) is False
        assert report_incident(INCIDENT, "http://127.0.0.1:1/nothing-listens") is False
        assert report_incident(INCIDENT, None) is False
    assert sum(m.startswith("FAILED ") for m in caplog.messages) == 3
    assert [m for m in caplog.messages if "did not take" in m] == [
        "alerts webhook at http://127.0.0.1 did not take the incident: HTTP 500",
        "alerts webhook at http://127.0.0.1 did not take the incident: ConnectionError",
    ]
    assert not any("token=abc" in m or "nothing-listens" in m for m in caplog.messages)
