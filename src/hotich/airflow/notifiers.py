"""The channels incidents are told through, as Airflow notifiers (``BaseNotifier``): email
over the ``hotich_smtp`` connection, through hotich's one SMTP client
(``hotich.feedback.mail``, the fix lists' too: docs/decisions/0017), and the alerts
webhook (``hotich_alerts``). Each message (``hotich.ops.incidents.message``) reaches the
notifier in its context as ``hotich_notice``; a notifier is made for each message, since
rendering its template fields changes it for good."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseNotifier

from hotich.config import Settings
from hotich.connections import ConnectionMissing, conn_uri

WEBHOOK_TIMEOUT_S = 10
SMTP_TIMEOUT_S = 10


class NotificationFailed(RuntimeError):
    """A channel did not take a message; the text names no secret."""


class WebhookNotifier(BaseNotifier):
    """POST the message's JSON ``payload`` to a webhook (chat tools that take
    ``{"text": ...}`` show its line)."""

    def __init__(self, uri: str, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        super().__init__()
        self.uri = uri
        self.timeout_s = timeout_s

    def notify(self, context: Any) -> None:
        """Send; raise :class:`NotificationFailed` naming the host only (the URL holds the
        webhook's secret, in its path or query)."""
        try:
            r = requests.post(
                self.uri, json=context["hotich_notice"]["payload"], timeout=self.timeout_s
            )
            r.raise_for_status()
            return
        except requests.HTTPError as exc:
            reason = f"HTTP {exc.response.status_code}"
        except requests.RequestException as exc:  # its text repeats the URL, secrets included
            reason = type(exc).__name__
        parts = urlsplit(self.uri)
        raise NotificationFailed(
            f"alerts webhook at {parts.scheme}://{parts.hostname} did not take it: {reason}"
        ) from None


class EmailNotifier(BaseNotifier):
    """Mail the message's ``subject`` and ``html`` (already rendered and escaped) to
    ``to`` through the ``hotich_smtp`` connection, read and sent as the fix lists are
    (:class:`hotich.feedback.mail.SmtpTarget`, :func:`hotich.feedback.mail.send`). One try:
    a message not taken is queued and tried again at the next incident event."""

    def __init__(self, to: list[str], smtp_conn_id: str) -> None:
        super().__init__()
        self.to = to
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Any) -> None:
        """Send; raise :class:`NotificationFailed` (host and port, no address, no secret)."""
        from hotich.feedback import mail

        target = mail.SmtpTarget.from_uri(conn_uri(self.smtp_conn_id))
        notice = context["hotich_notice"]
        html = str(notice["html"])
        msg = mail.compose(target.sender, ", ".join(self.to), str(notice["subject"]),
                           str((notice.get("payload") or {}).get("text") or _text_of(html)), html=html)  # fmt: skip
        try:
            mail.send(target, msg, retries=0, delay_s=0)
        except mail.MailRefused as exc:
            raise NotificationFailed(str(exc)) from None


def _text_of(html: str) -> str:
    """The plain-text part of an HTML notice: its text without the tags."""
    import re
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", html)).strip()


def email_notifier(settings: Settings) -> BaseNotifier:
    """The email channel's notifier over ``hotich_smtp`` to ``HOTICH_ALERTS_EMAIL_TO``."""
    return EmailNotifier(list(settings.alerts_email_to), settings.smtp_conn_id)


def channels(settings: Settings) -> dict[str, Callable[[], BaseNotifier]]:
    """The channels configured now, each with a maker of its notifier: ``webhook`` when the
    ``hotich_alerts`` connection is defined, ``email`` when ``hotich_smtp`` is and someone
    is to receive it (``HOTICH_ALERTS_EMAIL_TO``)."""
    out: dict[str, Callable[[], BaseNotifier]] = {}
    try:
        uri = conn_uri(settings.alerts_conn_id)
        out["webhook"] = lambda: WebhookNotifier(uri)
    except ConnectionMissing:
        pass
    if settings.alerts_email_to:
        try:
            conn_uri(settings.smtp_conn_id)
            out["email"] = lambda: email_notifier(settings)
        except ConnectionMissing:
            pass
    return out


def sender(
    context: Mapping[str, Any], makers: Mapping[str, Callable[[], BaseNotifier]]
) -> Callable[[str, Mapping[str, Any]], None]:
    """A :data:`hotich.ops.incidents.Sender`: one message to one channel, through a fresh
    notifier, in the task's context; raises when the channel did not take it (a channel
    no longer configured counts as not taking it)."""

    def send(channel: str, message: Mapping[str, Any]) -> None:
        if channel not in makers:
            raise NotificationFailed(f"the {channel} channel is no longer configured")
        makers[channel]()({**context, "hotich_notice": dict(message)})

    return send
