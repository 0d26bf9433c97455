"""Incidents for the people on call (Sở TT&TT, the data engineers): what failed, where,
what to do, and whether it is still going on.

An *occurrence* is one task's final failure (its retries spent), or a run that finished
degraded. Occurrences become *incidents* in ``ops.incident`` (V007): one open incident per
kind and district; a repeat increments it; the next success of the same district and stage
closes it, with how long it was open. The people on call hear of an incident when it
opens, when its severity rises and when it closes, never on a repeat: one message per
channel (email, the alerts webhook) kept in ``ops.incident_notice``, so that a channel that
failed is tried again at the next event (docs/decisions/0011).

Airflow-free: ``hotich.airflow.callbacks`` builds an :class:`Occurrence` from the task's
context, and ``hotich.airflow.notifiers`` sends the messages through Airflow notifiers. The
SQL is in ``include/sql/ops/incident_*.sql``. Personal IDs in error texts are masked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotich.config import TIMEZONE, Settings
from hotich.errors import DEFAULT_KIND, first_line, incident_kind
from hotich.model import mask_ids

log = logging.getLogger("hotich.oncall")

RUNBOOK = "docs/reliability.md"

SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Kind:
    """A row of the runbook's table: what it is and what to do, in English (operators)
    and Vietnamese (Sở TT&TT, the districts), and how severe it is when it opens."""

    what: str
    action: str
    what_vi: str
    action_vi: str
    severity: str = "medium"
    finished: bool = False  # raised by a task that finished (degraded), not by a failure


# The kinds follow the runbook's table (docs/reliability.md).
KINDS: dict[str, Kind] = {
    "district_source_down": Kind(
        "district source cannot be read",
        "check the district's server, VPN and login; the next run (or Clear on the task) "
        "re-reads the district from its last committed watermark",
        "không đọc được nguồn dữ liệu của huyện",
        "kiểm tra máy chủ, VPN và tài khoản đăng nhập của huyện; lần chạy sau (hoặc Clear tác"
        " vụ) đọc lại huyện từ mốc đã ghi nhận cuối cùng",
    ),
    "register_credentials": Kind(
        "population register refused the credentials",
        "renew the client secret of the population_api connection, then Clear the task",
        "Cơ sở dữ liệu quốc gia về dân cư từ chối thông tin xác thực",
        "gia hạn khóa bí mật (client secret) của kết nối population_api, rồi Clear tác vụ",
        "high",
    ),
    "register_unavailable": Kind(
        "population register unavailable (5xx, timeouts, or 429 beyond the retry budget)",
        "no verdict was written for the district; Clear the task once the register answers, "
        "or let the next run pick the district up",
        "Cơ sở dữ liệu quốc gia về dân cư không phản hồi (lỗi 5xx, quá thời gian chờ, hoặc 429"
        " vượt quá số lần thử lại)",
        "chưa ghi kết quả nào cho huyện; Clear tác vụ khi hệ thống dân cư phản hồi trở lại, hoặc"
        " để lần chạy sau xử lý huyện",
    ),
    "connection_missing": Kind(
        "an Airflow connection is not defined",
        "define it (AIRFLOW_CONN_<ID>, the UI or the secrets backend), then Clear the task",
        "chưa khai báo một kết nối Airflow",
        "khai báo kết nối (AIRFLOW_CONN_<ID>, giao diện Airflow hoặc kho bí mật), rồi Clear tác vụ",
    ),
    "conservation": Kind(
        "records do not add up (extracted != loaded + review + quarantined)",
        "a bug: nothing was committed; open an issue with the task log, do not Clear yet",
        "số bản ghi không khớp (trích xuất ≠ đã nạp + chờ xem xét + cách ly)",
        "lỗi phần mềm: chưa ghi gì; mở issue kèm nhật ký tác vụ, chưa Clear",
        "high",
    ),
    "run_incomplete": Kind(
        "districts did not finish this run",
        "see the failed district tasks; their records are read again by the next run",
        "có huyện chưa hoàn tất trong lần chạy này",
        "xem các tác vụ lỗi của huyện; bản ghi của huyện được đọc lại ở lần chạy sau",
        "low",
    ),
    "national_database_down": Kind(
        "the national civil-status database cannot be reached",
        "check the civil_status_db connection, the PostgreSQL server and the network; no "
        "verdict was written; Clear the failed tasks once it answers, or let the next run",
        "không kết nối được cơ sở dữ liệu hộ tịch quốc gia",
        "kiểm tra kết nối civil_status_db, máy chủ PostgreSQL và mạng; chưa ghi kết quả nào;"
        " Clear các tác vụ lỗi khi cơ sở dữ liệu phản hồi, hoặc để lần chạy sau",
        "high",
    ),
    "schema_outdated": Kind(
        "the national database is not at the schema version this code needs",
        "run `python -m hotich.migrate` as the owner role (compose: airflow-init), then "
        "Clear the task; the pipeline's own login may not migrate",
        "cơ sở dữ liệu quốc gia chưa ở phiên bản lược đồ mà phần mềm cần",
        "chạy `python -m hotich.migrate` bằng vai trò chủ sở hữu (compose: airflow-init), rồi"
        " Clear tác vụ; tài khoản của pipeline không được nâng cấp lược đồ",
        "high",
    ),
    "load_refused": Kind(
        "the national database refused a value of a district's load",
        "nothing was committed for the district; the task log names the staging table, the "
        "line and the SQL state (never the record): open an issue with it",
        "cơ sở dữ liệu quốc gia từ chối một giá trị khi nạp dữ liệu của huyện",
        "chưa ghi gì cho huyện; nhật ký tác vụ nêu bảng tạm, dòng và mã SQL (không nêu bản"
        " ghi): mở issue kèm thông tin đó",
        "high",
    ),
    "work_files_gone": Kind(
        "the district's work files of that run are gone (deleted once its load committed, or"
        " purged by a later run: docs/personal-data.md)",
        "Clear the district's whole task group (its extract task with all downstream tasks),"
        " not only the failed task: extract reads the district's records again",
        "tệp làm việc của huyện trong lần chạy đó không còn (đã xóa sau khi nạp, hoặc bị lần"
        " chạy sau dọn)",
        "Clear cả nhóm tác vụ của huyện (tác vụ extract cùng mọi tác vụ phía sau), không chỉ"
        " tác vụ lỗi: extract đọc lại bản ghi của huyện",
        "low",
    ),
    "work_storage_unavailable": Kind(
        "the work storage (HOTICH_WORK_STORAGE) cannot be reached, or refused a read or write",
        "check the URL, the HOTICH_WORK_STORAGE_CONN_ID connection and the storage itself"
        " (bucket, permissions, network, the fsspec package of its scheme); nothing half-written"
        " is read as complete: Clear the failed task once it answers (decision 0018)",
        "không truy cập được nơi lưu tệp làm việc (HOTICH_WORK_STORAGE), hoặc nơi đó từ chối"
        " đọc hay ghi",
        "kiểm tra địa chỉ URL, kết nối HOTICH_WORK_STORAGE_CONN_ID và chính nơi lưu (bucket,"
        " quyền truy cập, mạng); không tệp ghi dở nào được coi là hoàn chỉnh: Clear tác vụ lỗi"
        " khi nơi lưu hoạt động trở lại",
        "high",
    ),
    "district_held": Kind(
        "another run holds the district (its lease: hotich.lease)",
        "nothing to do when that run is alive: the district's records are read by the next "
        "run that gets it; a lease left by a run that is gone expires after "
        "HOTICH_LEASE_EXPIRY_MINUTES (make run gives back a gone make run's leases at start)",
        "một lần chạy khác đang giữ huyện",
        "không cần làm gì khi lần chạy đó còn hoạt động; quyền giữ của một lần chạy đã dừng hết"
        " hạn sau HOTICH_LEASE_EXPIRY_MINUTES",
        "low",
    ),
    "register_degraded": Kind(
        "population register degraded: the district finished, but its calls needed many"
        " retries or 429 answers, or the circuit breaker opened",
        "nothing was lost; if it goes on for several runs, ask the register's operator about"
        " its health and the quota (docs/register-api.md), or lower HOTICH_REGISTER_CONCURRENCY",
        "hệ thống dân cư phản hồi kém: huyện vẫn hoàn tất, nhưng phải thử lại nhiều lần, nhận"
        " nhiều trả lời 429, hoặc bộ ngắt mạch đã mở",
        "không mất dữ liệu; nếu kéo dài nhiều lần chạy, liên hệ đơn vị vận hành Cơ sở dữ liệu"
        " quốc gia về dân cư về tình trạng và hạn mức truy vấn, hoặc giảm"
        " HOTICH_REGISTER_CONCURRENCY",
        "low",
        finished=True,
    ),
    "mail_refused": Kind(
        "the mail server refused or did not answer a fix list's mail",
        "check the hotich_smtp connection and the mail server; the fix list and report are in"
        " the district's outbox (<data_dir>/outbox/<district>/<run>/): send them by hand, or"
        " let the next run mail the next list",
        "máy chủ thư từ chối hoặc không trả lời thư gửi danh sách cần sửa",
        "kiểm tra kết nối hotich_smtp và máy chủ thư; danh sách cần sửa và báo cáo nằm trong"
        " thư mục outbox của đơn vị (<data_dir>/outbox/<đơn vị>/<lần chạy>/): gửi tay, hoặc"
        " để lần chạy sau gửi danh sách mới",
        "low",
        finished=True,
    ),
    "quality_spike": Kind(
        "quality spike: the district's records failed the quality rules far more than in its"
        " last runs",
        "the district's records loaded as usual, the failing ones quarantined; ask the district"
        " what changed (a new form, a new clerk, an import): the list of records to fix names"
        " them; thresholds HOTICH_QUALITY_SPIKE_*",
        "chất lượng dữ liệu giảm đột ngột: bản ghi của huyện vi phạm quy tắc chất lượng nhiều"
        " hơn hẳn các lần chạy trước",
        "bản ghi của huyện vẫn được nạp như thường, bản ghi lỗi được cách ly; hỏi huyện điều gì"
        " đã thay đổi (mẫu biểu mới, cán bộ mới, dữ liệu nhập hàng loạt): danh sách bản ghi cần"
        " sửa nêu rõ từng bản ghi",
        finished=True,
    ),
    "late_run": Kind(
        "late run: the daily run was not finished by the campaign's late_run_by hour",
        "look at the run in the Airflow UI (Grid): a district still extracting or waiting for"
        " the register, a task queued for want of a worker; the districts that finished are"
        " loaded. The run's report closes this incident when it finishes",
        "lần chạy hằng ngày chưa xong trước giờ quy định (late_run_by)",
        "xem lần chạy trên giao diện Airflow: huyện nào còn đang đọc dữ liệu hoặc chờ hệ thống"
        " dân cư, tác vụ nào đang chờ máy chạy; các huyện đã xong vẫn được nạp. Sự cố tự đóng"
        " khi báo cáo của lần chạy hoàn tất",
        finished=True,
    ),
    "silent_district": Kind(
        "silent district: no new or changed record for silent_district_days days while a"
        " campaign phase is open",
        "call the district: is the digitization going on, does its clerk still enter records,"
        " does the source or inbox hold what they entered? Closed by the first run that reads"
        " records from it again",
        "huyện không gửi bản ghi mới hoặc sửa đổi trong silent_district_days ngày, khi giai"
        " đoạn của chiến dịch đang mở",
        "liên hệ huyện: việc số hóa có đang tiến hành, cán bộ có còn nhập liệu, nguồn dữ liệu"
        " hoặc thư mục nhận tệp có chứa dữ liệu đã nhập không? Sự cố tự đóng khi lần chạy sau"
        " đọc được bản ghi của huyện",
        "low",
        finished=True,
    ),
    "quality_gate_blocked": Kind(
        "quality gate blocked the district's load: a rule failed more records than its"
        " threshold allows; nothing of the district was written, its records are read again"
        " next run",
        "look at the district's quality page (/hotich/quality/<district>): the failing source"
        " keys of the rule; ask the district to fix them at the source, or, when the data is"
        " right and the rule or threshold is not, release the district for one run there"
        " (op/admin, with a reason); thresholds in the campaign file's quality_gates",
        "cổng chất lượng đã chặn việc nạp dữ liệu của huyện: một quy tắc có quá nhiều bản ghi"
        " vi phạm; chưa ghi gì của huyện, lần chạy sau đọc lại các bản ghi",
        "xem trang chất lượng của huyện: danh sách mã bản ghi vi phạm; đề nghị huyện sửa tại"
        " nguồn, hoặc nếu dữ liệu đúng, kỹ sư dữ liệu mở cổng cho một lần chạy (ghi rõ lý do)",
        "high",
    ),
    "quality_gate_warn": Kind(
        "quality gate warned: a rule failed more records than its warning threshold; the"
        " district loaded as usual",
        "look at the district's quality page and tell the district which rule; thresholds in"
        " the campaign file's quality_gates",
        "cổng chất lượng cảnh báo: một quy tắc có nhiều bản ghi vi phạm hơn ngưỡng cảnh báo;"
        " huyện vẫn được nạp như thường",
        "xem trang chất lượng của huyện và báo huyện quy tắc bị vi phạm",
        "low",
        finished=True,
    ),
    "task_failed": Kind("task failed", "read the task log", "tác vụ lỗi", "đọc nhật ký tác vụ"),
}

EVENTS_NOTIFIED = ("opened", "severity_raised", "closed")  # never "repeated"


@dataclass(frozen=True)
class Occurrence:
    """One failed task, final (its retries are spent), or a run that finished degraded."""

    kind: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int | None
    try_number: int | None
    district: str | None
    error: str  # the exception's type and first line, IDs masked
    severity: str | None = None  # None: the kind's

    @property
    def stage(self) -> str:
        """``<dag_id>:<task_id>``: a success of it (same district) closes the incident."""
        return f"{self.dag_id}:{self.task_id}"

    @property
    def summary(self) -> str:
        """One line a person on call can act on."""
        k = KINDS[self.kind]
        how = "finished degraded" if k.finished else f"failed (try {self.try_number})"
        if self.kind == "late_run":
            how = "not reached"
        return (f"[hotich] {where(self.district, self.dag_id)}: {k.what}; {self.task_id} {how} "
                f"in run {self.run_id}: {self.error}. To do: {k.action} ({RUNBOOK}).")  # fmt: skip


def where(district: str | None, dag_id: str = "the run") -> str:
    """``district 262``, or the DAG for a run-wide incident."""
    return f"district {district}" if district else dag_id


@dataclass(frozen=True)
class Incident:
    """A row of ``ops.incident``."""

    incident_id: int
    kind: str
    district: str | None
    severity: str
    state: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    occurrences: int
    stages: list[str]
    run_ids: list[str]
    last_error: str
    closed_at: dt.datetime | None
    closed_by_run: str | None
    closed_by_stage: str | None
    open_for: dt.timedelta | None


@dataclass(frozen=True)
class Event:
    """What an occurrence or a success did to an incident: ``opened``, ``repeated``,
    ``severity_raised`` or ``closed``; ``occurrence`` is None for a close."""

    event: str
    incident: Incident
    occurrence: Occurrence | None = None

    @property
    def notified(self) -> bool:
        return self.event in EVENTS_NOTIFIED


def classify(exc: BaseException | None) -> str:
    """The incident kind of a task's final exception: the one its class (or a cause's)
    carries (``hotich.errors.IncidentError``), else ``task_failed``."""
    kind = incident_kind(exc)
    return kind if kind in KINDS else DEFAULT_KIND


def error_line(exc: BaseException | None) -> str:
    """``Type: first line`` of an exception, with personal IDs masked."""
    if exc is None:
        return "unknown error"
    first = first_line(exc)
    name = type(exc).__name__
    return mask_ids(name if first == name else f"{name}: {first}")


# ClientStats counter -> how the line names it, and the Settings field of its threshold.
DEGRADED_COUNTERS = (
    ("retries", "retries", "register_degraded_retries"),
    ("rate_limited", "answers 429", "register_degraded_429s"),
    ("breaker_opens", "circuit breaker openings", "register_degraded_breaker_opens"),
)


def register_degradation(stats: Mapping[str, Any], settings: Settings) -> str | None:
    """The ``register_degraded`` line of a district's register calls that finished
    (``hotich.register.client.ClientStats.as_dict``), or None when every counter is under
    its threshold (``HOTICH_REGISTER_DEGRADED_*``; 0: not watched)."""
    over = []
    for counter, label, field in DEGRADED_COUNTERS:
        limit, seen = getattr(settings, field), int(stats.get(counter) or 0)
        if limit > 0 and seen >= limit:
            over.append(f"{seen} {label} (threshold {limit})")
    if not over:
        return None
    return f"register calls of {int(stats.get('requests') or 0)} requests: " + ", ".join(over)


def raised_severity(current: str, new: str) -> str:
    """The higher of two severities."""
    return max(current, new, key=SEVERITIES.index)


def escalated(severity: str, runs: int, escalate_after_runs: int) -> str:
    """One level up once an incident has concerned ``escalate_after_runs`` runs (a district
    down for three days is more urgent than for one)."""
    if escalate_after_runs < 1 or runs < escalate_after_runs:
        return severity
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


# --- the national database (ops.incident, ops.incident_notice) --------------------------------


def _sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / "ops" / f"{name}.sql").read_text(encoding="utf-8")


def _incident(row: tuple) -> Incident:
    return Incident(*row)


def record(cur, sql_dir: Path, occ: Occurrence, *, escalate_after_runs: int) -> Event:
    """Open the occurrence's incident, or repeat the open one (same kind and district), on a
    psycopg2 cursor; the caller commits. Its severity rises to the occurrence's, and one
    level once it has concerned ``escalate_after_runs`` runs."""
    kind = KINDS[occ.kind]
    params = {
        "kind": occ.kind,
        "district": occ.district,
        "stage": occ.stage,
        "run_id": occ.run_id,
        "error": occ.error,
    }
    cur.execute(_sql(sql_dir, "incident_open"), params)  # locks the kind and district
    row = cur.fetchone()
    if row is None:
        severity = raised_severity(kind.severity, occ.severity or kind.severity)
        cur.execute(
            _sql(sql_dir, "incident_insert"),
            {**params, "severity": severity, **_texts(kind)},
        )
        return Event("opened", _incident(cur.fetchone()), occ)
    current = _incident(row)
    runs = len(set(current.run_ids) | {occ.run_id})
    # The occurrence's own severity, one level up once the incident concerns enough runs;
    # never lower than it already is (so it rises once, not at every later repeat).
    own = raised_severity(kind.severity, occ.severity or kind.severity)
    severity = raised_severity(current.severity, escalated(own, runs, escalate_after_runs))
    cur.execute(
        _sql(sql_dir, "incident_repeat"),
        {**params, "incident_id": current.incident_id, "severity": severity},
    )
    after = _incident(cur.fetchone())
    raised = SEVERITIES.index(after.severity) > SEVERITIES.index(current.severity)
    return Event("severity_raised" if raised else "repeated", after, occ)


def _texts(kind: Kind) -> dict[str, str]:
    return {
        "what_en": kind.what,
        "what_vi": kind.what_vi,
        "action_en": kind.action,
        "action_vi": kind.action_vi,
    }


def close(
    cur,
    sql_dir: Path,
    *,
    district: str | None,
    stage: str,
    run_id: str,
    keep: frozenset[str] = frozenset(),
) -> list[Event]:
    """Close the open incidents of ``district`` that ``stage`` raised, since it has just
    succeeded (in ``run_id``); ``keep``: kinds the same task raised as it succeeded (a
    degraded run). The caller commits."""
    cur.execute(
        _sql(sql_dir, "incident_close"),
        {"district": district, "stage": stage, "run_id": run_id, "keep": sorted(keep)},
    )
    return [Event("closed", _incident(r)) for r in cur.fetchall()]


def queue(cur, sql_dir: Path, event: Event, channels: list[str], templates_dir: Path) -> int:
    """Queue the event's message for each channel (none for a repeat); how many."""
    if not event.notified:
        return 0
    for channel in channels:
        cur.execute(
            _sql(sql_dir, "notice_add"),
            {
                "incident_id": event.incident.incident_id,
                "event": event.event,
                "channel": channel,
                "message": _json(message(event, templates_dir)),
            },
        )
    return len(channels)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


Sender = Callable[[str, Mapping[str, Any]], None]
"""Sends one message to one channel (``email``, ``webhook``); raises when it was not taken."""


def deliver(conn, sql_dir: Path, send: Sender, *, max_attempts: int, limit: int = 50) -> int:
    """Send the messages still due, oldest first (those of earlier events whose channel
    failed, too), each at most ``max_attempts`` times in all; marks each one; returns how
    many were delivered. A message another task is sending is left to it. Never raises for
    a channel that fails: that is logged, and its messages wait for the next event (after
    one failure the channel's other messages are not tried this time: a server that hangs
    costs one timeout, not one per message)."""
    delivered, down = 0, set()
    with conn, conn.cursor() as cur:
        cur.execute(_sql(sql_dir, "notice_pending"), {"max_attempts": max_attempts, "limit": limit})
        for notice_id, channel, msg in cur.fetchall():
            if channel in down:  # failed just now: the rest wait, untried, for the next event
                continue
            error = None
            try:
                send(channel, msg)
                delivered += 1
            except Exception as exc:  # noqa: BLE001 - a channel never fails the task
                error = error_line(exc)
                down.add(channel)
                log.warning(
                    "incident #%s: the %s channel did not take the %s message: %s",
                    msg.get("incident_id"),
                    channel,
                    msg.get("event"),
                    error,
                )
            cur.execute(_sql(sql_dir, "notice_result"), {"notice_id": notice_id, "error": error})
    return delivered


def send_now(occ: Occurrence, channels: list[str], send: Sender, templates_dir: Path) -> int:
    """Without the national database (it is what is down): send the occurrence as an
    opening at once, unrecorded, to every channel; how many took it."""
    return send_once(message(Event("opened", _unrecorded(occ), occ), templates_dir), channels, send)


def send_once(msg: Mapping[str, Any], channels: list[str], send: Sender) -> int:
    """Send a message to every channel, once, kept nowhere (a channel that fails is logged);
    how many took it."""
    taken = 0
    for channel in channels:
        try:
            send(channel, msg)
            taken += 1
        except Exception as exc:  # noqa: BLE001 - a channel never fails the task
            log.warning("the %s channel did not take the %s message: %s", channel,
                        msg.get("event"), error_line(exc))  # fmt: skip
    return taken


def still_open(cur, sql_dir: Path, *, leave_out_stage: str | None = None) -> list[Incident]:
    """The open incidents, most severe and oldest first; ``leave_out_stage``: not the
    run-wide ones of that stage (the report is about to close or repeat them)."""
    cur.execute(_sql(sql_dir, "incident_still_open"), {"leave_out_stage": leave_out_stage})
    return [_incident(r) for r in cur.fetchall()]


def digest(open_incidents: list[Incident], templates_dir: Path) -> dict[str, Any]:
    """The daily digest of what is still open: the webhook's JSON body and the email."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    rows: list[dict[str, Any]] = [
        {
            "incident_id": i.incident_id,
            "kind": i.kind,
            "district": i.district,
            "severity": i.severity,
            "severity_vi": SEVERITY_VI[i.severity],
            "first_seen": i.first_seen.isoformat(),
            "since": local(i.first_seen),
            "occurrences": i.occurrences,
            "runs": len(i.run_ids),
            "what": KINDS.get(i.kind, KINDS[DEFAULT_KIND]).what,
            "what_vi": KINDS.get(i.kind, KINDS[DEFAULT_KIND]).what_vi,
            "action_vi": KINDS.get(i.kind, KINDS[DEFAULT_KIND]).action_vi,
        }
        for i in open_incidents
    ]
    n = len(rows)
    text = f"[hotich] {n} incident(s) still open: " + "; ".join(
        f"#{r['incident_id']} {r['severity']} {where(r['district'])}: {r['what']} since"
        f" {r['since']} ({r['runs']} run(s))"
        for r in rows
    )
    env = Environment(
        loader=FileSystemLoader(templates_dir / "ops"), autoescape=select_autoescape(["html"])
    )
    return {
        "event": "digest",
        "incident_id": None,
        "payload": {"text": text, "event": "digest", "open": rows, "runbook": RUNBOOK},
        "subject": f"[hotich] DIGEST: {n} incident(s) still open / Tổng hợp: {n} sự cố chưa"
        " khắc phục",
        "html": env.get_template("incident_digest.html").render(rows=rows, runbook=RUNBOOK),
    }


def _unrecorded(occ: Occurrence) -> Incident:
    now = dt.datetime.now(dt.UTC)
    return Incident(0, occ.kind, occ.district, occ.severity or KINDS[occ.kind].severity,
                    "open", now, now, 1, [occ.stage], [occ.run_id], occ.error,
                    None, None, None, None)  # fmt: skip


# --- messages ---------------------------------------------------------------------------------

EVENT_EN = {"opened": "OPENED", "severity_raised": "SEVERITY RAISED", "closed": "CLOSED"}
EVENT_VI = {"opened": "Mở sự cố", "severity_raised": "Sự cố nghiêm trọng hơn",
            "closed": "Đã khắc phục"}  # fmt: skip
SEVERITY_VI = {"low": "thấp", "medium": "trung bình", "high": "cao", "critical": "khẩn cấp"}


def duration(delta: dt.timedelta | None) -> str:
    """``2 d 3 h``, ``1 h 5 min``, ``42 s``: how long an incident was open."""
    if delta is None:
        return ""
    s = int(delta.total_seconds())
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{s} s"


def local(when: dt.datetime | None) -> str:
    """A time as the people on call read it: ``2026-11-25 01:00 +07``."""
    return when.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M %z")[:-2] if when else ""


def text_line(event: Event) -> str:
    """The event's one line (the webhook's ``text``, the log line)."""
    i, occ = event.incident, event.occurrence
    k = KINDS.get(i.kind, KINDS[DEFAULT_KIND])
    if event.event == "closed":
        return (f"[hotich] {where(i.district)}: {k.what}: closed by {i.closed_by_stage} in run "
                f"{i.closed_by_run}, open {duration(i.open_for)}, {i.occurrences} occurrence(s)"
                f" in {len(i.run_ids)} run(s).")  # fmt: skip
    assert occ is not None
    line = occ.summary
    if event.event == "severity_raised":
        line = (f"[hotich] severity raised to {i.severity} ({i.occurrences} occurrences in "
                f"{len(i.run_ids)} runs): " + line.removeprefix("[hotich] "))  # fmt: skip
    return line


def message(event: Event, templates_dir: Path) -> dict[str, Any]:
    """What the channels send about an event: the webhook's JSON body (``payload``), the
    email's subject and HTML."""
    i, occ = event.incident, event.occurrence
    k = KINDS.get(i.kind, KINDS[DEFAULT_KIND])
    payload = {
        "text": text_line(event),
        "event": event.event,
        "incident_id": i.incident_id or None,
        "kind": i.kind,
        "severity": i.severity,
        "state": i.state,
        "district": i.district,
        "first_seen": i.first_seen.isoformat(),
        "last_seen": i.last_seen.isoformat(),
        "occurrences": i.occurrences,
        "run_ids": i.run_ids,
        "open_for_s": i.open_for.total_seconds() if i.open_for is not None else None,
        **(
            {
                f: getattr(occ, f)
                for f in ("dag_id", "run_id", "task_id", "map_index", "try_number", "error")
            }  # fmt: skip
            if occ
            else {"run_id": i.closed_by_run, "task_id": i.closed_by_stage, "error": None}
        ),
        "what": k.what,
        "what_vi": k.what_vi,
        "action": k.action,
        "action_vi": k.action_vi,
        "runbook": RUNBOOK,
    }
    subject = (f"[hotich] {EVENT_EN[event.event]} ({i.severity}) {where(i.district)}: {k.what}"
               f" / {EVENT_VI[event.event]}: {k.what_vi}")  # fmt: skip
    return {
        "event": event.event,
        "incident_id": payload["incident_id"],
        "payload": payload,
        "subject": subject,
        "html": email_html(event, payload, k, templates_dir),
    }


def email_html(event: Event, payload: Mapping[str, Any], kind: Kind, templates_dir: Path) -> str:
    """The email's body, Vietnamese first, then English (autoescaped: an error text may
    hold anything)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(templates_dir / "ops"), autoescape=select_autoescape(["html"])
    )
    i = event.incident
    values = {
        **payload,
        "event_vi": EVENT_VI[event.event],
        "event_en": EVENT_EN[event.event],
        "severity_vi": SEVERITY_VI[i.severity],
        "first_seen_local": local(i.first_seen),
        "last_seen_local": local(i.last_seen),
        "closed_at_local": local(i.closed_at),
        "open_for": duration(i.open_for),
        "runs": len(i.run_ids),
        "kind_row": dataclasses.asdict(kind),
    }
    return env.get_template("incident_email.html").render(**values)


# --- the incidents page (/hotich/incidents) ------------------------------------------------

PAGE_DAYS = 30


def page_rows(uri: str, sql_dir: Path, days: int = PAGE_DAYS) -> list[dict[str, Any]]:
    """The open incidents and those closed in the last ``days`` days, as dicts."""
    from hotich.db import pg_connect

    conn = pg_connect(uri)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(_sql(sql_dir, "incidents_page"), {"days": days})
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()


def render_page(rows: list[dict[str, Any]], templates_dir: Path, root: str) -> str:
    """The incidents page: what is open (what to do, in Vietnamese and English) and what
    closed lately, with how long it was open. Error lines are masked; nothing personal."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(templates_dir / "ops"), autoescape=select_autoescape(["html"])
    )
    return env.get_template("incidents.html").render(
        open=[r for r in rows if r["state"] == "open"],
        closed=[r for r in rows if r["state"] == "closed"],
        days=PAGE_DAYS, root=root, severity_vi=SEVERITY_VI, local=local, duration=duration,
    )  # fmt: skip
