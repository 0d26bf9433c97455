"""The work folders of runs: which files hold personal data, and when they go.

A district's work folder (``<data_dir>/runs/<run>/<district>/``) holds full copies of its
records while the run works on them: ``extract.parquet``, ``validated.parquet``,
``persons.parquet``, ``candidates.parquet``, ``extract_state.json``. They are deleted as
soon as the district's load has committed, unless ``HOTICH_WORK_RETENTION_HOURS`` keeps
them for debugging; the next run's plan step deletes what other runs left (a failed
district's files included) once that retention has passed, and whole run folders once
``HOTICH_RESULTS_RETENTION_DAYS`` has. Only files known to hold no personal data stay
longer: the GX result summaries (``gx/*.json``: counts, expectation arguments and sample
source keys), the load marker (``loaded.json``: counts) and the run report
(``_report/``: counts per district and reason). docs/personal-data.md is the reference.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hotich.config import Settings
from hotich.errors import IncidentError

log = logging.getLogger(__name__)

#: The load's marker in a district's folder: the counts it committed.
LOADED_MARKER = "loaded.json"
#: Files of a district's folder that hold no personal data (relative glob patterns).
NO_PERSONAL_DATA = ("gx/*.json", LOADED_MARKER)
#: The run report's folder (``hotich.report``): counts only.
REPORT_FOLDER = "_report"


def run_folder_name(run_id: str) -> str:
    """The name of a run's folder: the run id made a safe folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)


def run_dir(data_dir: Path, run_id: str) -> Path:
    """The local folder of a run's work files (``<data_dir>/runs/<run>``)."""
    return data_dir / "runs" / run_folder_name(run_id)


class WorkPath(Protocol):
    """What the retention rules need of a folder or file: a local :class:`~pathlib.Path`,
    or a path on the work storage (Airflow's ``ObjectStoragePath``: the same calls)."""

    @property
    def name(self) -> str: ...
    def iterdir(self) -> Iterator[Any]: ...
    def glob(self, pattern: str) -> Iterator[Any]: ...
    def rglob(self, pattern: str) -> Iterator[Any]: ...
    def is_dir(self) -> bool: ...
    def is_file(self) -> bool: ...
    def is_symlink(self) -> bool: ...
    def unlink(self, missing_ok: bool = False) -> None: ...


class WorkFilesGone(IncidentError, FileNotFoundError):
    """A stage's input files are gone: deleted after the district's load committed, or
    purged by a later run. Only the district's whole task group can run again."""

    incident_kind = "work_files_gone"


def require(work: Path, names: Iterable[str], *, district_code: str, run_id: str) -> None:
    """Raise :class:`WorkFilesGone` when any of ``names`` is missing from ``work``."""
    missing = [n for n in names if not (work / n).is_file()]
    if missing:
        raise WorkFilesGone(
            f"district {district_code}: the work files of run {run_id} are gone"
            f" ({', '.join(missing)} missing): they are deleted once the district's load"
            " commits, and the plan step of a later run purges what a run left after"
            " HOTICH_WORK_RETENTION_HOURS (docs/personal-data.md). Clear the district's whole"
            " task group (its extract task with all downstream tasks), not only this task:"
            " extract then reads the district's records again"
        )


def _keep(folder: WorkPath) -> set[Any]:
    return {p for pattern in NO_PERSONAL_DATA for p in folder.glob(pattern)}


def _stat(p: WorkPath) -> Any:
    """A file's size and time: ``lstat`` of a local path (a link is not followed), the
    storage's ``stat`` otherwise (an object store has no links)."""
    return p.lstat() if isinstance(p, Path) else p.stat()  # type: ignore[attr-defined]


def personal_files(folder: WorkPath) -> list[Any]:
    """Every file of a district's work folder except those known to hold no personal data
    (the safe direction: a file nobody listed counts as personal)."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    keep = _keep(folder)
    return sorted(p for p in folder.rglob("*") if (p.is_file() or p.is_symlink()) and p not in keep)


def remove_files(paths: Iterable[WorkPath]) -> tuple[int, int]:
    """Delete ``paths``; return (files, bytes) removed. A file that cannot be removed is
    logged (its path holds no personal data) and left for the next purge."""
    files = size = 0
    for p in paths:
        try:
            n = _stat(p).st_size
            p.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("work file %s could not be deleted: %s", p, exc.strerror)
            continue
        files, size = files + 1, size + n
    return files, size


def mark_loaded(work: Path, counts: dict[str, Any]) -> None:
    """Write the load marker (counts only) once the district's load has committed."""
    tmp = work / (LOADED_MARKER + ".tmp")
    tmp.write_text(json.dumps(counts, default=str), encoding="utf-8")
    tmp.replace(work / LOADED_MARKER)


def forget_load(work: Path) -> None:
    """Remove the load marker: a new extract into the folder is a new load to commit."""
    (work / LOADED_MARKER).unlink(missing_ok=True)


def loaded_counts(work: Path) -> dict[str, Any] | None:
    """The counts the district's load committed in this run, or None when it did not."""
    marker = work / LOADED_MARKER
    return json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None


def after_load(settings: Settings, work: WorkPath) -> int:
    """Once the district's load has committed: delete its files holding personal data,
    unless ``work_retention_hours`` keeps them (the next runs' purge then does). Returns
    the files deleted."""
    if settings.work_retention_hours > 0:
        return 0
    files, _ = remove_files(personal_files(work))
    return files


@dataclass(frozen=True)
class PurgeSummary:
    """What one purge deleted."""

    files: int = 0
    bytes: int = 0
    run_folders: int = 0  # whole run folders removed (results retention passed)

    def as_dict(self) -> dict[str, int]:
        """Counts for a log line or XCom."""
        return {"files": self.files, "bytes": self.bytes, "run_folders": self.run_folders}


def _newest_mtime(paths: Iterable[WorkPath], default: float, unknown: float) -> float:
    """The newest modification time of ``paths`` (``default`` when there are none); a
    storage that gives no time (0) gives ``unknown`` instead: the caller's safe direction."""
    times = [_stat(p).st_mtime or unknown for p in paths]
    return max(times, default=default)


def _remove_tree(folder: WorkPath) -> None:
    if isinstance(folder, Path):
        shutil.rmtree(folder, ignore_errors=True)
    else:  # an ObjectStoragePath: universal-pathlib's recursive rmdir
        folder.rmdir(recursive=True)  # type: ignore[attr-defined]


def purge(
    settings: Settings,
    current_run_id: str,
    now: dt.datetime | None = None,
    runs: WorkPath | None = None,
    held: Collection[tuple[str, str]] = (),
) -> PurgeSummary:
    """Delete what other runs left in ``runs`` (``<data_dir>/runs`` unless given: the work
    storage's root): a district's files holding personal data once the newest of them is
    older than ``work_retention_hours`` (at the default 0: whatever is there, a failed
    district's included), and a whole run folder once its newest file is older than
    ``results_retention_days``. The current run's folder is never touched, nor a district
    folder of a run that still holds the district's lease (``held``: ``(run_id,
    district_code)``, :func:`hotich.lease.held`): that run is working on it now, in
    another DAG run or another DAG. A storage that tells no file times gets the safe
    direction: its personal files count as old, its results as new."""
    runs = settings.data_dir / "runs" if runs is None else runs
    if not runs.is_dir():
        return PurgeSummary()
    now_ts = (now or dt.datetime.now(dt.UTC)).timestamp()
    personal_before = now_ts - settings.work_retention_hours * 3600
    results_before = now_ts - settings.results_retention_days * 86400
    current = run_folder_name(current_run_id)
    in_use = {(run_folder_name(run_id), code) for run_id, code in held}
    files = size = folders = 0
    for run in sorted(runs.iterdir()):
        if run.name == current or run.is_symlink() or not run.is_dir():
            continue
        busy = {code for name, code in in_use if name == run.name}
        if busy:
            log.info(
                "work files of run folder %s kept for districts %s: the run holds their leases",
                run.name,
                ", ".join(sorted(busy)),
            )
        everything = [p for p in run.rglob("*") if p.is_file()]
        if not busy and _newest_mtime(everything, _stat(run).st_mtime, now_ts) < results_before:
            size += sum(_stat(p).st_size for p in everything)
            files += len(everything)
            _remove_tree(run)
            folders += 1
            continue
        for district in sorted(d for d in run.iterdir() if d.is_dir() and not d.is_symlink()):
            if district.name == REPORT_FOLDER or district.name in busy:
                continue
            personal = personal_files(district)
            if personal and _newest_mtime(personal, now_ts, 0.0) < personal_before:
                n, b = remove_files(personal)
                files, size = files + n, size + b
    summary = PurgeSummary(files=files, bytes=size, run_folders=folders)
    if files or folders:
        log.info(
            "work files of earlier runs purged: %d files (%.1f MB), %d run folders removed whole",
            files,
            size / 2**20,
            folders,
        )
    return summary
