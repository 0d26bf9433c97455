"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the mail tests: it keeps what it
receives, or refuses every message with a 554."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any


@dataclass
class Inbox:
    """What the server received (parsed), and how many times it was asked."""

    messages: list[Message] = field(default_factory=list)
    attempts: int = 0


class _Handler:
    def __init__(self, inbox: Inbox, refuse: bool) -> None:
        self.inbox, self.refuse = inbox, refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.inbox.attempts += 1
        if self.refuse:
            return "554 5.7.1 Message refused"
        self.inbox.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(refuse: bool = False) -> Iterator[tuple[int, Inbox]]:
    """An aiosmtpd server on 127.0.0.1: (its port, what it received)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(_Handler(inbox, refuse), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()
