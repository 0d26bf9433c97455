"""The inbox watcher: an event trigger for Airflow 3's event-driven scheduling.

``InboxFileTrigger`` runs in the triggerer (no worker slot held while it waits), one per
workbook district's inbox ``Asset`` (``dags/hotich_inbox.py``); it yields an event each
time a file in the inbox is complete (``hotich.inbox.InboxWatch``), which queues an asset
event and so a run of ``hotich_inbox`` for that district. Airflow 3.3 accepts any trigger
deriving from ``BaseEventTrigger`` in an ``AssetWatcher``; the standard provider's file
triggers delete the file they see, which an inbox must keep, hence this one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from hotich.inbox import InboxWatch


class InboxFileTrigger(BaseEventTrigger):
    """Yield ``{"district_code", "files"}`` whenever files of ``inbox`` are complete."""

    def __init__(
        self, district_code: str, inbox: str, settle_s: float = 10.0, poll_s: float = 5.0
    ) -> None:
        super().__init__()
        self.district_code = district_code
        self.inbox = inbox
        self.settle_s = settle_s
        self.poll_s = poll_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and arguments, as the triggerer rebuilds it."""
        return (
            "hotich.airflow.triggers.InboxFileTrigger",
            {"district_code": self.district_code, "inbox": self.inbox,
             "settle_s": self.settle_s, "poll_s": self.poll_s},
        )  # fmt: skip

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Look at the inbox every ``poll_s`` seconds, for ever."""
        watch = InboxWatch(Path(self.inbox), self.settle_s)
        while True:
            ready = await asyncio.to_thread(watch.look, time.time())
            if ready:
                self.log.info("district %s: %d complete files in the inbox",
                              self.district_code, len(ready))  # fmt: skip
                yield TriggerEvent({"district_code": self.district_code, "files": ready})
            await asyncio.sleep(self.poll_s)
