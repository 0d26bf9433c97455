"""The outbox: what goes back to each district, per run, and for how long it is kept.

``<data_dir>/outbox/<district>/<run>/`` holds the district's fix list
(``danh-sach-can-sua-<district>.xlsx``), its HTML report and ``manifest.json`` (counts
only); ``<data_dir>/outbox/_province/<run>/`` the province's report. A run folder older
than ``HOTICH_OUTBOX_RETENTION_DAYS`` (90 by default) is deleted by a later run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hotich.config import District, Settings
from hotich.feedback import fixlist, messages
from hotich.load import read_sql
from hotich.workfiles import run_folder_name

log = logging.getLogger(__name__)

PROVINCE = "_province"
MANIFEST = "manifest.json"


def outbox_dir(data_dir: Path, district_code: str, run_id: str) -> Path:
    """A district's (or :data:`PROVINCE`'s) outbox folder for a run."""
    return data_dir / "outbox" / district_code / run_folder_name(run_id)


def fix_list_name(district_code: str) -> str:
    """The fix list's file name, as the district receives it."""
    return f"danh-sach-can-sua-{district_code}.xlsx"


@dataclass(frozen=True)
class Feedback:
    """What one district's feedback of one run produced."""

    district_code: str
    folder: Path
    fix_list: Path | None  # None: nothing waits for the district
    summary: fixlist.Summary
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """For XCom and the manifest: counts and paths, no personal data."""
        return {
            **self.summary.as_dict(),
            "folder": str(self.folder),
            "fix_list": str(self.fix_list) if self.fix_list else None,
            "seconds": round(self.seconds, 2),
        }


def read_open_entries(cur: Any, sql_dir: Path, district_code: str) -> pd.DataFrame:
    """The district's open quarantine entries (``include/sql/feedback/open_entries.sql``)."""
    return read_sql(
        cur, sql_dir / "feedback" / "open_entries.sql", {"district_code": district_code}
    )


def write_district_fix_list(
    cur: Any,
    settings: Settings,
    district: District,
    run_id: str,
    catalogue: messages.Catalogue,
    province_codes: frozenset[str],
) -> Feedback:
    """Write the district's fix list for this run into its outbox (when anything waits)
    and record it in ``recon.fix_list``, in the caller's transaction."""
    started = time.monotonic()
    sql_dir = settings.sql_dir
    entries = read_open_entries(cur, sql_dir, district.code)
    fixed = int(
        read_sql(
            cur,
            sql_dir / "feedback" / "fixed_since.sql",
            {"district_code": district.code, "run_id": run_id},
        ).iloc[0]["fixed"]
    )
    found = messages.problems(entries, district.flavor, catalogue, province_codes)
    oldest = pd.to_datetime(entries["opened_at"], utc=True).min() if len(entries) else None
    summary = fixlist.Summary(
        district_code=district.code,
        district_name=district.name,
        run_id=run_id,
        written_at=dt.datetime.now(dt.UTC),
        entries=len(entries),
        problems=len(found),
        fixed=fixed,
        oldest_since=None if oldest is None or pd.isna(oldest) else oldest.to_pydatetime(),
    )
    folder = outbox_dir(settings.data_dir, district.code, run_id)
    path = None
    if len(entries):
        path = fixlist.write_fix_list(
            folder / fix_list_name(district.code), found, summary, catalogue
        )
    cur.execute(
        (sql_dir / "feedback" / "record_list.sql").read_text(encoding="utf-8"),
        {
            "district_code": district.code,
            "run_id": run_id,
            "entries": summary.entries,
            "problems": summary.problems,
            "fixed": summary.fixed,
            "oldest_since": summary.oldest_since,
        },
    )
    feedback = Feedback(district.code, folder, path, summary, time.monotonic() - started)
    write_manifest(folder, feedback.as_dict())
    log.info(
        "district %s: fix list of %d entries (%d fields to correct), %d fixed since the last,"
        " written in %.2f s",
        district.code,
        summary.entries,
        summary.problems,
        summary.fixed,
        feedback.seconds,
    )
    return feedback


def write_manifest(folder: Path, value: dict[str, Any]) -> Path:
    """Write (or extend) a run folder's manifest: counts and file names only."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    current.update(value)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, ensure_ascii=False, indent=1, default=str), "utf-8")
    tmp.replace(path)
    return path


def purge_outbox(data_dir: Path, retention_days: float, now: float | None = None) -> int:
    """Delete outbox run folders older than ``retention_days`` (by their files' time);
    returns how many went."""
    root = data_dir / "outbox"
    if not root.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - retention_days * 86_400
    gone = 0
    for folder in (p for d in root.iterdir() if d.is_dir() for p in d.iterdir() if p.is_dir()):
        newest = max((f.stat().st_mtime for f in folder.rglob("*") if f.is_file()), default=0.0)
        if max(newest, folder.stat().st_mtime) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    if gone:
        log.info("outbox: %d run folders older than %g days deleted", gone, retention_days)
    return gone


def latest_report(data_dir: Path, district_code: str) -> Path | None:
    """The newest HTML report in a district's (or :data:`PROVINCE`'s) outbox, if any."""
    root = data_dir / "outbox" / district_code
    reports = list(root.glob("*/bao-cao.html")) if root.is_dir() else []
    return max(reports, key=lambda p: p.stat().st_mtime) if reports else None
