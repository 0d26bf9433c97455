"""Failure callbacks: one readable line for the person on call."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("hotich.oncall")


def notify_failure(context: dict[str, Any]) -> None:
    """Log which district and stage failed, the try, and the error's first line."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    first_line = str(exc).splitlines()[0] if exc else "unknown error"
    log.error(
        "FAILED %s map_index=%s try %s: %s: %s",
        getattr(ti, "task_id", "?"), getattr(ti, "map_index", "?"), getattr(ti, "try_number", "?"),
        type(exc).__name__ if exc else "Error", first_line,
    )
