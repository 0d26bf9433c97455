"""Watching a workbook district's inbox: which files have arrived, complete, since last
looked (the inbox DAG's event, ``hotich.airflow.triggers.InboxFileTrigger``).

A file is *complete* when it is one the reader reads (not a lock, hidden or temporary
file: ``hotich.extract.workbook.ignored``), no office suite holds it open (no lock file
beside it) and it has held still, same size and modification time, for ``settle_s``
seconds across two looks. Each complete file is announced once per version (name, size,
modification time): a file replaced under the same name is announced again. Airflow-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hotich.extract.workbook import ignored, lock_files

Signature = tuple[int, int]  # (size in bytes, modification time in ns)


def snapshot(inbox: Path) -> dict[str, Signature]:
    """Every readable-looking file of the inbox: name -> (size, mtime_ns)."""
    out: dict[str, Signature] = {}
    if not inbox.is_dir():
        return out
    for p in inbox.iterdir():
        if ignored(p.name):
            continue
        try:
            st = p.stat()
        except FileNotFoundError:  # gone between the listing and the look
            continue
        if p.is_file():
            out[p.name] = (st.st_size, st.st_mtime_ns)
    return out


@dataclass
class InboxWatch:
    """What one watcher has seen of an inbox (kept in memory between looks)."""

    inbox: Path
    settle_s: float
    first_seen: dict[str, tuple[Signature, float]] = field(default_factory=dict)
    announced: dict[str, Signature] = field(default_factory=dict)

    def look(self, now: float) -> list[str]:
        """The files complete since the last look and not announced in this version."""
        current = snapshot(self.inbox)
        ready = []
        for name, sig in sorted(current.items()):
            seen = self.first_seen.get(name)
            if seen is None or seen[0] != sig:
                self.first_seen[name] = (sig, now)  # new, or still changing: wait
                continue
            if now - seen[1] < self.settle_s or self.announced.get(name) == sig:
                continue
            if any(lock.exists() for lock in lock_files(self.inbox / name)):
                continue
            self.announced[name] = sig
            ready.append(name)
        for name in set(self.first_seen) - set(current):
            self.first_seen.pop(name, None)
            self.announced.pop(name, None)
        return ready
