"""One SMTP client for both uses of the ``hotich_smtp`` connection: the fix lists' mail
(``hotich.airflow.tasks.smtp_target``) and the incidents' email notices
(``hotich.airflow.notifiers.email_notifier``) read the same connection the same way, as
Airflow's SMTP provider defines its extras, and behave the same against a real server on
127.0.0.1 (aiosmtpd offering STARTTLS and refusing mail before it) (docs/decisions/0017)."""

from __future__ import annotations

import json

import pytest

from hotich.airflow.notifiers import NotificationFailed, email_notifier
from hotich.airflow.tasks import smtp_target
from hotich.config import Settings
from hotich.feedback import mail
from tests.oncall_kit import smtp_server

SETTINGS = Settings(alerts_email_to=("oncall@hotich.test",))


def _json_connection(port: int, **extra: object) -> str:
    """The connection as Airflow's UI form stores it: the extras as JSON booleans."""
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"from_email": "hotich@hotich.test", "timeout": 10,
                                 "ssl_context": "none", **extra}})  # fmt: skip


def _uri_connection(port: int, **extra: bool) -> str:
    """The same as an ``AIRFLOW_CONN_`` URI: the extras as text."""
    flags = "".join(f"&{k}={str(v).lower()}" for k, v in extra.items())
    return (f"smtp://127.0.0.1:{port}?from_email=hotich%40hotich.test&timeout=10"
            f"&ssl_context=none{flags}")  # fmt: skip


@pytest.mark.parametrize("form", [_json_connection, _uri_connection], ids=["json", "uri"])
@pytest.mark.parametrize("disable_tls", [False, True], ids=["starttls", "no-tls"])
def test_fix_lists_and_notices_use_the_connection_alike(form, disable_tls, monkeypatch, tmp_path):
    attachment = tmp_path / "danh-sach-can-sua-901.xlsx"
    attachment.write_bytes(b"PK\x03\x04 not really a workbook")
    with smtp_server(starttls=True) as box:
        monkeypatch.setenv("AIRFLOW_CONN_HOTICH_SMTP",
                           form(box.port, disable_ssl=True, disable_tls=disable_tls))  # fmt: skip
        target = smtp_target(SETTINGS)
        assert (target.starttls, target.use_ssl, target.sender) == (
            not disable_tls, False, "hotich@hotich.test")  # fmt: skip
        msg = mail.compose(target.sender, "hotich-901@example.test", "Danh sách cần sửa",
                           "Xin gửi danh sách.", [attachment])  # fmt: skip
        refused = mail.deliver(target, msg, retries=0, delay_s=0)
        notifier = email_notifier(SETTINGS)
        try:
            notifier.notify(
                {"hotich_notice": {"subject": "[hotich] OPENED", "html": "<p>sự cố</p>"}}
            )
            notice_failed = None
        except NotificationFailed as exc:
            notice_failed = str(exc)
    if disable_tls:
        # No STARTTLS: the server takes neither (530), both say so the same way.
        assert box.messages == [] and box.attempts == 0
        assert refused and notice_failed and refused.split(":")[0] == notice_failed.split(":")[0]
        assert "SMTPSenderRefused 530" in refused and "SMTPSenderRefused 530" in notice_failed
    else:
        assert refused is None and notice_failed is None
        assert box.over_tls == [True, True]
        fix_list, notice = box.messages
        (att,) = list(fix_list.iter_attachments())
        assert att.get_filename() == attachment.name
        assert att.get_content() == attachment.read_bytes()
        assert notice["From"] == "hotich@hotich.test" and box.recipients[1] == [
            "oncall@hotich.test"
        ]
        assert "sự cố" in notice.get_body(("html",)).get_content()


def test_the_extras_read_as_the_smtp_provider_reads_them(monkeypatch):
    """For the connection as the provider's form writes it, hotich's reading is the
    provider's own ``SmtpHook``'s: STARTTLS, SSL, sender, timeout."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    for extra in ({}, {"disable_tls": True}, {"disable_ssl": True},
                  {"disable_ssl": True, "disable_tls": True},
                  {"disable_ssl": True, "disable_tls": False}):  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_HOTICH_SMTP", _json_connection(587, **extra))
        hook, ours = SmtpHook("hotich_smtp"), smtp_target(SETTINGS)
        hook.smtp_connection = hook.get_connection("hotich_smtp")  # as its get_conn does
        provider = (hook.smtp_starttls and not hook.use_ssl, hook.use_ssl, hook.from_email,
                    float(hook.timeout), hook.host, hook.port)  # fmt: skip
        assert (ours.starttls, ours.use_ssl, ours.sender, ours.timeout_s, ours.host,
                ours.port) == provider, extra  # fmt: skip
