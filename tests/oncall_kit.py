"""The people on call's side of an incident, for real on 127.0.0.1: a webhook that keeps
the JSON bodies it receives (and answers what it is told to), and an SMTP server
(aiosmtpd) that keeps the messages it receives."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace


@dataclass
class Webhook:
    """An alerts webhook: its URL, the bodies it took, and the status it answers."""

    url: str = ""
    received: list[dict] = field(default_factory=list)
    answer: int = 204


@contextmanager
def webhook_server(path: str = "/hooks/oncall") -> Iterator[Webhook]:
    """A webhook on 127.0.0.1; bodies are kept only when it answers 2xx."""
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if hook.answer < 300:
                hook.received.append(body)
            self.send_response(hook.answer)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """An SMTP server's port and the messages it accepted (parsed, with their recipients)."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    attempts: int = 0  # messages it was asked to take, refused ones included
    over_tls: list[bool] = field(default_factory=list)  # each accepted message: after STARTTLS

    def connection_uri(self, sender: str = "hotich-oncall@hotich.test") -> str:
        """An Airflow SMTP connection to it: plain SMTP, no TLS, the sender in its extra."""
        return (f"smtp://127.0.0.1:{self.port}?disable_tls=true&disable_ssl=true"
                f"&from_email={sender.replace('@', '%40')}&timeout=10&retry_limit=0")  # fmt: skip

    def bodies(self) -> list[str]:
        """Each message's HTML body, decoded."""
        return [
            next(p for p in m.walk() if p.get_content_type() == "text/html").get_content()
            for m in self.messages
        ]


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate made here for 127.0.0.1 (openssl)."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@contextmanager
def smtp_server(refuse: bool = False, starttls: bool = False) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts, or
    (``refuse``) refuses every one with a 554; ``starttls``: it offers STARTTLS (its own
    certificate) and takes no mail before it (530), as a provider's relay."""
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's)
            box.attempts += 1
            if refuse:
                return "554 5.7.1 Message refused"
            box.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            box.recipients.append(list(envelope.rcpt_tos))
            box.over_tls.append(session.ssl is not None)
            return "250 OK"

    with socket.socket() as probe:  # the controller checks its port by connecting: no 0
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        tls = {"tls_context": _self_signed(Path(tmp)), "require_starttls": True} if starttls else {}
        controller = Controller(Handler(), hostname="127.0.0.1", port=box.port, **tls)
        controller.start()
        try:
            yield box
        finally:
            controller.stop()


def task_context(run_id: str, district: str, task_id: str = "district.reconcile") -> dict:
    """What Airflow hands a task callback, the parts the callbacks read."""
    ti = SimpleNamespace(dag_id="hotich_reconcile", task_id=task_id, map_index=0,
                         try_number=1, run_id=run_id)  # fmt: skip
    return {"task_instance": ti, "dag_run": SimpleNamespace(run_id=run_id),
            "hotich_district_code": district}  # fmt: skip
