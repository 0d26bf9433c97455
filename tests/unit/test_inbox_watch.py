"""A file still being written is not read: the inbox watcher announces a file once it
holds still and no office suite holds it open, once per version; the reader passes over a
file modified within the settle time or open with a lock file, without rejecting it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from hotich.airflow.triggers import InboxFileTrigger
from hotich.extract.workbook import still_written
from hotich.inbox import InboxWatch
from tests.unit.test_workbook_limits import birth_row, extract, write_xlsx


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_announced_once_complete_and_again_when_replaced(tmp_path):
    watch = InboxWatch(tmp_path, settle_s=5)
    part = tmp_path / "a.xlsx"
    part.write_bytes(b"PK\x03\x04half")
    assert watch.look(now=100) == []  # first seen: wait
    part.write_bytes(b"PK\x03\x04half and more")  # still growing
    assert watch.look(now=106) == []
    assert watch.look(now=108) == []  # unchanged, but not for 5 s yet
    assert watch.look(now=112) == ["a.xlsx"]
    assert watch.look(now=200) == []  # announced once per version
    lock = tmp_path / ".~lock.a.xlsx#"
    part.write_bytes(b"PK\x03\x04replaced")
    os.utime(part, ns=(time.time_ns(), time.time_ns() + 10**9))
    lock.write_bytes(b"x")  # open in LibreOffice
    assert watch.look(now=300) == [] and watch.look(now=310) == []
    lock.unlink()
    assert watch.look(now=311) == ["a.xlsx"]
    (tmp_path / "~$b.xlsx").write_bytes(b"owner")  # a lock file is never announced itself
    assert watch.look(now=400) == [] and watch.look(now=410) == []


def test_the_reader_passes_over_a_file_still_being_written(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_xlsx(inbox / "a.xlsx", [birth_row(1)])
    _age(inbox / "a.xlsx", 60)
    (inbox / "b.xlsx").write_bytes((inbox / "a.xlsx").read_bytes()[:200])  # half-written
    write_xlsx(inbox / "c.xlsx", [birth_row(2)])
    _age(inbox / "c.xlsx", 60)
    (inbox / "~$c.xlsx").write_bytes(b"owner")  # open in Excel
    assert still_written(inbox / "b.xlsx", 30) and still_written(inbox / "c.xlsx", 30)
    result, records = extract(inbox, tmp_path, settle_s=30)
    assert [f["file_name"] for f in result.workbook_files] == ["a.xlsx"]
    assert result.rejected_files == [] and len(records) == 1
    assert [f["file_name"] for f in result.inbox_files] == ["a.xlsx"]


def test_the_trigger_yields_an_event_for_a_complete_file(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"PK\x03\x04")
    trigger = InboxFileTrigger("263", str(tmp_path), settle_s=0.2, poll_s=0.05)
    classpath, kwargs = trigger.serialize()
    assert classpath == "hotich.airflow.triggers.InboxFileTrigger"
    assert InboxFileTrigger(**kwargs).serialize() == (classpath, kwargs)

    async def first_event():
        gen = trigger.run()
        try:
            return await asyncio.wait_for(anext(gen), timeout=5)
        finally:
            await gen.aclose()

    started = time.monotonic()
    event = asyncio.run(first_event())
    assert event.payload == {"district_code": "263", "files": ["a.xlsx"]}
    assert time.monotonic() - started >= 0.2
