"""Back to the district, on real servers: the fix list written from the national
database's open entries (a reviewer's return and its note included), the reports, the
outbox, and the mail received by a local SMTP server, or refused and become an incident."""

from __future__ import annotations

import os
import sqlite3
import time
from email.header import decode_header, make_header
from pathlib import Path

from openpyxl import load_workbook

from hotich import desk
from hotich.airflow.callbacks import note_success, record_mail
from hotich.config import District, Flavor
from hotich.db import pg_connect
from hotich.decisions import Decision, Proposed
from hotich.feedback import mail, outbox, stage
from tests.integration.pipeline_kit import query, run_context, run_district
from tests.integration.test_pipeline import district_901
from tests.integration.test_pipeline import register as register  # noqa: F401 - fixture
from tests.oncall_kit import smtp_server, task_context

NOTE = "Kiểm tra lại ngày sinh của chồng {{ 7*7 }}"


def _districts_file(tmp_path, email: str | None) -> os.PathLike:
    path = tmp_path / "districts.yaml"
    mail_line = f", email: {email}" if email else ""
    path.write_text(
        "districts:\n"
        f'  - {{code: "901", name: "Test 901", flavor: modern, conn_id: district_901{mail_line}}}\n',
        encoding="utf-8",
    )
    return path


def _return(national: str, key: str, role: str, note: str) -> None:
    conn = pg_connect(national)
    try:
        with conn, conn.cursor() as cur:
            (h,) = query(
                national, "SELECT content_hash FROM recon.source_state WHERE source_key = :k", k=key
            )[0]
            desk.decide(cur, source_key=key, role=role, who="officer1", content_hash=h,
                        proposed=Proposed(Decision.RETURN, "sai ngày sinh", note=note),
                        register_snapshot={})  # fmt: skip
    finally:
        conn.close()


def test_fix_list_report_outbox_and_mail(tmp_path, national, register, monkeypatch):
    district, uris = district_901(tmp_path)
    district = District(district.code, district.name, Flavor.MODERN, district.conn_id,
                        email="hotich-901@example.test")  # fmt: skip
    fields = {
        "districts_file": _districts_file(tmp_path, district.email),
        "smtp_retry_delay_s": 0.01,
    }
    ctx1 = run_context(national, tmp_path / "data", "run-1", **fields)
    run_district(ctx1, district, uris, register)
    with smtp_server() as inbox:
        target = mail.SmtpTarget("127.0.0.1", inbox.port, sender="hotich@example.test")
        out = stage.send_back(ctx1, [district], smtp=target)
        assert out["mailed"] == 1 and inbox.attempts == 1
    sent = out["districts"]["901"]
    assert (sent["entries"], sent["fixed"]) == (3, 0)
    fix = load_workbook(sent["fix_list"])
    rows = [[c.value for c in r] for r in fix["Khai sinh"].iter_rows(min_row=2)]
    # Book, entry, registration date, key, field, value, what is wrong, code, since.
    assert ["3", "Họ và tên", None, "Họ và tên còn trống: đây là thông tin bắt buộc",
            "REQUIRED_MISSING"] in [r[5:10] for r in rows]  # fmt: skip
    assert any(r[9] == "ID_BIRTH_YEAR" and r[7] == "027219000001" for r in rows)
    # The mail carries the workbook, as sent.
    (msg,) = inbox.messages
    subject = str(make_header(decode_header(msg["Subject"])))
    assert msg["To"] == "hotich-901@example.test" and "3 bản ghi cần sửa" in subject
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    attached = parts[outbox.fix_list_name("901")].get_payload(decode=True)
    assert attached == Path(sent["fix_list"]).read_bytes()
    report = (tmp_path / "data" / "outbox" / "901" / "run-1" / "bao-cao.html").read_text("utf-8")
    assert "Báo cáo đơn vị 901 Test 901" in report and "<svg" in report and "<script" not in report
    assert "REQUIRED_MISSING" in report and "Great Expectations" in report
    assert (tmp_path / "data" / "outbox" / "_province" / "run-1" / "bao-cao.html").exists()

    # A reviewer returns the marriage with a note; the district fixes birth 3 at the source.
    _return(national, "901:marriage:21", "husband", NOTE)
    con = sqlite3.connect(tmp_path / "901.sqlite")
    con.execute("UPDATE khai_sinh SET ho_ten = 'Lê Văn Ba', updated_at = '2026-11-22 08:00:00'"
                " WHERE id = 3")  # fmt: skip
    con.commit()
    con.close()
    ctx2 = run_context(national, tmp_path / "data", "run-2", **fields)
    run_district(ctx2, district, uris, register)
    with smtp_server(refuse=True) as inbox:
        target = mail.SmtpTarget("127.0.0.1", inbox.port)
        out2 = stage.send_back(ctx2, [district], smtp=target)
        # Refused: tried 1 + smtp_retries times, then an incident; the step did not fail.
        assert inbox.attempts == 1 + ctx2.settings.smtp_retries and out2["mailed"] == 0
    assert "mail server 127.0.0.1" in out2["mail"]["901"]
    # The task records it as the people on call see it: one open mail_refused incident,
    # which the task's own success leaves open and the next delivered mail closes.
    monkeypatch.setenv("AIRFLOW_CONN_CIVIL_STATUS_DB", national)
    monkeypatch.delenv("HOTICH_DATABASE_URL", raising=False)
    context = task_context("run-2", "", "send_back")
    record_mail(context, out2["mail"])
    note_success(context)
    incident = "SELECT district_code, state FROM ops.incident WHERE kind = 'mail_refused'"
    assert query(national, incident) == [("901", "open")]
    record_mail(task_context("run-3", "", "send_back"), {"901": None})
    assert query(national, incident) == [("901", "closed")]
    sent2 = out2["districts"]["901"]
    assert (sent2["entries"], sent2["fixed"], sent2["mailed"]) == (3, 1, False)
    fix2 = load_workbook(sent2["fix_list"])
    assert "3" not in [r[5].value for r in fix2["Khai sinh"].iter_rows(min_row=2)]
    married = [[c.value for c in r] for r in fix2["Kết hôn"].iter_rows(min_row=2)]
    assert [r[8] for r in married if r[9] == "RETURNED"] == [f"Cán bộ rà soát trả lại: {NOTE}"]
    summary = {r[0].value: r[1].value for r in fix2["Tóm tắt"].iter_rows(min_row=2)}
    assert summary["Đã sửa từ danh sách trước"] == 1 and summary["Còn phải sửa (bản ghi)"] == 3
    assert query(
        national, "SELECT run_id, entries, fixed FROM recon.fix_list ORDER BY written_at"
    ) == [("run-1", 3, 0), ("run-2", 3, 1)]


def test_old_outbox_folders_go_after_the_retention(tmp_path):
    old = tmp_path / "outbox" / "901" / "run-old"
    new = tmp_path / "outbox" / "901" / "run-new"
    for folder in (old, new):
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
    past = time.time() - 91 * 86_400
    os.utime(old / "manifest.json", (past, past))
    os.utime(old, (past, past))
    assert outbox.purge_outbox(tmp_path, 90) == 1
    assert not old.exists() and new.exists()


def test_the_smtp_connection_as_airflow_writes_it():
    t = mail.SmtpTarget.from_uri(
        "smtp://hotich%40tinh:s%3Acr%40t@mail.example.test:587?from_email=hotich%40example.test"
        "&disable_tls=false&disable_ssl=true"
    )
    assert (t.host, t.port, t.login, t.password, t.sender) == (
        "mail.example.test", 587, "hotich@tinh", "s:cr@t", "hotich@example.test")  # fmt: skip
    assert t.starttls and not t.use_ssl
    assert "s:cr@t" not in repr(t)
    s = mail.SmtpTarget.from_uri("smtps://relay.example.test")
    assert (s.port, s.use_ssl, s.starttls, s.login) == (465, True, False, None)
