"""The run's last step for the districts: fix lists, reports, outbox, mail.

:func:`send_back` runs after the loads (the daily DAG) or after one file's load (the
inbox DAG): for each district given, its fix list and report into its outbox, then the
province's report, then the mails. A mail that cannot be delivered is an incident (the
task records it), not a failed run (``hotich.feedback.mail``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hotich import validate
from hotich.config import District, load_campaign
from hotich.feedback import mail, messages, outbox, reports
from hotich.pipeline import RunContext, connect

log = logging.getLogger(__name__)


def send_back(
    ctx: RunContext,
    districts: list[District],
    *,
    smtp: mail.SmtpTarget | None,
    province: bool = True,
) -> dict[str, Any]:
    """Write each district's fix list and report, the province's report (``province``),
    purge old outbox folders, and mail what was written (``smtp``: None, no mail).
    Returns counts and paths (no personal data); ``mail``: for each district mailed (and
    ``_province``), None when the mail went, else why it did not (an incident for the
    task to record)."""
    started = time.monotonic()
    settings = ctx.settings
    catalogue = messages.load_catalogue(settings.messages_file)
    codes = validate.load_province_codes(settings.province_codes_file)
    campaign = load_campaign(settings.campaign_file)
    run_folder = ctx.run_folder
    done: dict[str, outbox.Feedback] = {}
    conn = connect(ctx)
    try:
        for district in districts:
            with conn, conn.cursor() as cur:
                done[district.code] = outbox.write_district_fix_list(
                    cur, settings, district, ctx.run_id, catalogue, codes
                )
        with conn, conn.cursor() as cur:
            data = reports.read_report_data(cur, settings.sql_dir, ctx.run_id)
    finally:
        conn.close()
    written: dict[str, Any] = {}
    for district in districts:
        fb = done[district.code]
        fix = {**fb.summary.as_dict(), "file": fb.fix_list.name if fb.fix_list else None}
        html = reports.render(
            settings.templates_dir,
            "district.html",
            reports.district_context(
                data, district, catalogue, reports.read_gx(run_folder, district.code), fix
            ),
        )
        report = fb.folder / reports.REPORT_NAME
        report.write_text(html, encoding="utf-8")
        outbox.write_manifest(fb.folder, {"report": report.name})
        written[district.code] = {**fb.as_dict(), "report": str(report)}
    province_report = None
    if province:
        everyone = _all_districts(ctx)
        fix_lists = {c: v for c, v in written.items()}
        html = reports.render(
            settings.templates_dir,
            "province.html",
            reports.province_context(data, everyone, catalogue, campaign.name, fix_lists),
        )
        folder = outbox.outbox_dir(settings.data_dir, outbox.PROVINCE, ctx.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        province_report = folder / reports.REPORT_NAME
        province_report.write_text(html, encoding="utf-8")
    purged = outbox.purge_outbox(settings.data_dir, settings.outbox_retention_days)
    outcomes: dict[str, str | None] = {}
    if smtp is not None:
        for district in districts:
            fb = done[district.code]
            if not district.email or fb.fix_list is None:
                continue
            msg = mail.compose(
                smtp.sender,
                district.email,
                f"[hotich] {district.label}: {fb.summary.entries} bản ghi cần sửa",
                _body(fb.summary),
                [fb.fix_list, fb.folder / reports.REPORT_NAME],
            )
            refused = mail.deliver(smtp, msg, retries=settings.smtp_retries,
                                   delay_s=settings.smtp_retry_delay_s)  # fmt: skip
            outcomes[district.code] = refused
            written[district.code]["mailed"] = refused is None
        if province_report is not None and campaign.province_email:
            msg = mail.compose(smtp.sender, campaign.province_email,
                               f"[hotich] Báo cáo toàn tỉnh, lần chạy {ctx.run_id}",
                               "Báo cáo toàn tỉnh của lần chạy này ở tệp đính kèm.",
                               [province_report])  # fmt: skip
            outcomes[outbox.PROVINCE] = mail.deliver(smtp, msg, retries=settings.smtp_retries,
                                                     delay_s=settings.smtp_retry_delay_s)  # fmt: skip
    return {
        "districts": written,
        "province_report": str(province_report) if province_report else None,
        "purged_folders": purged,
        "mailed": sum(refused is None for refused in outcomes.values()),
        "mail": outcomes,
        "seconds": round(time.monotonic() - started, 2),
    }


def _all_districts(ctx: RunContext) -> list[District]:
    from hotich.config import load_districts

    return load_districts(ctx.settings.districts_file)


def _body(summary: Any) -> str:
    return (
        f"Kính gửi đơn vị {summary.district_code} {summary.district_name},\n\n"
        f"Sau lần chạy {summary.run_id}, còn {summary.entries} bản ghi cần sửa"
        f" ({summary.problems} lỗi); đã sửa từ danh sách trước: {summary.fixed}.\n"
        "Danh sách cần sửa (tệp .xlsx) và báo cáo của đơn vị ở tệp đính kèm: mỗi dòng là"
        " một trường cần sửa, giá trị hiện tại và lỗi cần sửa.\n\n"
        "Thư này do hệ thống hotich gửi tự động."
    )
