"""DAG-level settings read at parse time (environment only: no database, no network)."""

from __future__ import annotations

import os


def task_retries() -> int:
    """Retries of each task (``HOTICH_TASK_RETRIES``, default 3; tests set 0)."""
    return int(os.environ.get("HOTICH_TASK_RETRIES", "3"))
