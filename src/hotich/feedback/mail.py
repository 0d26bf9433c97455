"""hotich's one SMTP client: the outbox's mail (a district's fix list and report to its
address, the province's report to the campaign's) and the incidents' email notices
(``hotich.airflow.notifiers.EmailNotifier``) both read the Airflow SMTP connection
``hotich_smtp`` with :meth:`SmtpTarget.from_uri` and send with :func:`send`
(docs/decisions/0017).

A server that refuses or cannot be reached is tried again (``smtp_retries`` times,
``smtp_retry_delay_s`` apart, doubling); then the failure is logged as an incident for
the people on call (``hotich.ops.incidents``), and the run goes on: the files stay in the
outbox, and the next run's mail carries the next list.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from hotich.errors import IncidentError, loggable

log = logging.getLogger(__name__)

MAIL_KIND = "mail_refused"  # its row in hotich.ops.incidents.KINDS
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MailRefused(IncidentError, RuntimeError):
    """The mail server refused a message, or could not be reached, after the retries."""

    incident_kind = MAIL_KIND


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes: the ``hotich_smtp`` connection's host, port, login, sender."""

    host: str
    port: int = 25
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "hotich@localhost"
    starttls: bool = False
    use_ssl: bool = False
    timeout_s: float = 30.0
    verify_tls: bool = True  # False: the extra ssl_context "none" (a server's own certificate)

    @classmethod
    def from_uri(cls, uri: str) -> SmtpTarget:
        """From the connection's ``smtp://`` URI: its login and secret, host, port, and the
        extras exactly as the Airflow SMTP provider defines them (``SmtpHook``): TLS is
        on unless turned off, ``disable_ssl`` (true: no TLS from the start; ``smtps://``
        always has it), ``disable_tls`` (true: no STARTTLS; only without SSL),
        ``ssl_context`` (``none``: the server's certificate is not checked), ``from_email``
        (the sender), ``timeout``. A value ``false``/``0``/``no`` in a URI means false (the
        provider itself would take the text as true)."""
        parts = urlsplit(uri)
        extras = {k: v[-1] for k, v in parse_qs(parts.query).items()}

        def flag(name: str) -> bool:
            return str(extras.get(name, "")).lower() not in ("", "false", "0", "no")

        use_ssl = parts.scheme == "smtps" or not flag("disable_ssl")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if use_ssl else 25),
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=extras.get("from_email") or "hotich@localhost",
            starttls=not use_ssl and not flag("disable_tls"),
            use_ssl=use_ssl,
            timeout_s=float(extras.get("timeout", 30.0)),
            verify_tls=str(extras.get("ssl_context", "default")).lower() != "none",
        )

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context of SSL and STARTTLS (checking the certificate unless told not)."""
        if self.verify_tls:
            return ssl.create_default_context()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context


def compose(
    sender: str,
    to: str,
    subject: str,
    body: str,
    attachments: Sequence[Path] = (),
    html: str | None = None,
) -> EmailMessage:
    """A plain-text mail (and its ``html`` alternative) with the files attached (the
    workbook as .xlsx)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="hotich")
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for path in attachments:
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            maintype, subtype = XLSX.split("/")
        elif path.suffix == ".html":
            maintype, subtype = "text", "html"
        else:
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def _send_once(target: SmtpTarget, msg: EmailMessage) -> None:
    smtp: smtplib.SMTP
    if target.use_ssl:
        smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout_s,
                                context=target.tls_context())  # fmt: skip
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout_s)
    with smtp:
        if target.starttls:
            smtp.starttls(context=target.tls_context())
        if target.login:
            smtp.login(target.login, target.password or "")
        smtp.send_message(msg)


def send(
    target: SmtpTarget,
    msg: EmailMessage,
    *,
    retries: int,
    delay_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send ``msg``, retrying a refusal or a connection failure; the attempts it took.
    Raises :class:`MailRefused` (never the server's text with the address) when all fail."""
    last: BaseException | None = None
    for attempt in range(1, retries + 2):
        try:
            _send_once(target, msg)
            return attempt
        except (smtplib.SMTPException, OSError) as exc:
            last = exc
            log.warning("mail to %s:%s failed (try %d of %d): %s", target.host, target.port,
                        attempt, retries + 1, type(exc).__name__)  # fmt: skip
            if attempt <= retries:
                sleep(delay_s * 2 ** (attempt - 1))
    detail = getattr(last, "smtp_code", None)
    raise MailRefused(
        f"mail server {target.host}:{target.port} did not take the mail after {retries + 1}"
        f" tries: {type(last).__name__}{f' {detail}' if detail else ''}"
    )


def deliver(target: SmtpTarget, msg: EmailMessage, *, retries: int, delay_s: float) -> str | None:
    """:func:`send`, a refusal after the retries returned (its one line, no personal data)
    instead of raised: the run goes on, and its task records the incident
    (``hotich.airflow.callbacks.record_mail``). None when the mail went."""
    try:
        send(target, msg, retries=retries, delay_s=delay_s)
        return None
    except MailRefused as exc:
        line = loggable(str(exc))
        log.error("mail to %s not delivered: %s", msg["To"] and "the district", line)
        return line
