"""The runs' work files on storage every worker reaches (docs/decisions/0018).

Unset ``HOTICH_WORK_STORAGE``: the stages read and write ``<data_dir>/runs`` themselves and
nothing here does anything. Set (``file:///shared/runs``, ``s3://bucket/prefix``): the
run folders live there, as Airflow's ``ObjectStoragePath`` reaches it, and each task works
on a copy in a scratch folder of its own (:func:`staged`):

1. **fetch**: the task's folders (a district's, or some files of each) from the storage
   into the scratch folder, so that the stages still read and write local files;
2. the stage runs on the scratch folder (``RunContext.runs_root``), Airflow-free;
3. **publish**, after the stage, succeeded or failed, as the stage left the folder: the load
   marker a new extract withdrew goes first, then each new or changed file is uploaded
   under a temporary name (``<name>.part-<hex>``) and renamed into place, the load marker
   last, then the files the stage deleted are deleted. A task killed mid-upload leaves at
   most a ``.part-`` file, which no task fetches and every purge deletes (it counts as
   personal: nobody listed it);
4. the scratch folder is deleted (it holds personal data), whatever happened.

The retention rules of :mod:`hotich.workfiles` run on the storage itself: the load task
deletes the district's personal files there once its load committed (:func:`after_load`),
and the plan step purges earlier runs there (:func:`purge_work_files`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from hotich import pipeline, workfiles
from hotich.config import Settings
from hotich.errors import IncidentError, first_line, loggable

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

#: An upload in flight: ``<name>.part-<hex>`` beside the file it becomes.
PART = ".part-"
#: Task scratch folders: ``<tmp>/hotich-scratch/<pid>-<random>/`` (``TMPDIR`` moves them).
SCRATCH = "hotich-scratch"

#: What a task fetches of a run folder: folder -> glob patterns of the files (relative to
#: it; None: every file of the folder).
Folders = Mapping[str, Sequence[str] | None]


class WorkStorageUnavailable(IncidentError, OSError):
    """The work storage (``HOTICH_WORK_STORAGE``) cannot be reached, or refuses a read or
    write: nothing of the task's was published that could be read as complete."""

    incident_kind = "work_storage_unavailable"


def shown(url: str) -> str:
    """The storage URL for a message: a password in it is hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


@dataclass(frozen=True)
class WorkStorage:
    """The run folders' root on the work storage, and the filesystem that reaches it."""

    url: str
    root: ObjectStoragePath

    @classmethod
    def of(cls, settings: Settings) -> WorkStorage | None:
        """The configured work storage, or None (the local folder ``<data_dir>/runs``)."""
        if settings.work_storage is None:
            return None
        url = settings.work_storage
        try:
            from airflow.sdk import ObjectStoragePath

            root = ObjectStoragePath(url, conn_id=settings.work_storage_conn_id)
            root.fs  # noqa: B018 - the filesystem is resolved now, so that a bad URL says so here
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own kinds
            raise _unavailable(url, "open", exc, settings.work_storage_conn_id) from exc
        return cls(url=url, root=root)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (Airflow's, through the connection when one is set)."""
        return self.root.fs

    def _path(self, *parts: str) -> str:
        return "/".join([self.root.path.rstrip("/"), *parts])

    def run_root(self, run_id: str) -> ObjectStoragePath:
        """The run's folder on the storage."""
        return self.root / workfiles.run_folder_name(run_id)

    def _call(self, what: str, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own kinds
            raise _unavailable(self.url, f"{what} {name}", exc) from exc

    def check(self) -> None:
        """Write and delete a small file at the root: a storage that cannot be reached or
        written fails here (the plan step), naming the URL."""
        probe = self._path(f".hotich-probe{PART}{uuid.uuid4().hex[:8]}")
        self._call("create", "the root folder", self.fs.makedirs, self.root.path, exist_ok=True)
        self._call("write", "a probe file", self.fs.pipe_file, probe, b"ok")
        self._call("delete", "a probe file", self.fs.rm, probe)

    def listing(self, run_id: str, folder: str) -> dict[str, Any]:
        """The files of one folder of the run on the storage: relative name -> info."""
        base = self._path(workfiles.run_folder_name(run_id), folder)
        found = self._call("list", folder, self.fs.find, base, detail=True)
        prefix = self.fs._strip_protocol(base).rstrip("/") + "/"
        files = {}
        for path, info in found.items():
            name = self.fs._strip_protocol(path)
            if info.get("type") == "file" and name.startswith(prefix) and PART not in name:
                files[name[len(prefix) :]] = info
        return files

    def fetch(self, run_id: str, folders: Folders, into: Path) -> dict[str, tuple[int, int]]:
        """Copy ``folders`` of the run into the local run folder ``into``; returns what was
        fetched (``folder/name`` -> local size and mtime, to tell what the stage changed)."""
        fetched: dict[str, tuple[int, int]] = {}
        for folder, patterns in folders.items():
            for name in sorted(self.listing(run_id, folder)):
                if patterns is not None and not any(fnmatch(name, p) for p in patterns):
                    continue
                rel = f"{folder}/{name}"
                local = into / rel
                local.parent.mkdir(parents=True, exist_ok=True)
                remote = self._path(workfiles.run_folder_name(run_id), rel)
                self._call("fetch", rel, self.fs.get_file, remote, str(local))
                st = local.stat()
                fetched[rel] = (st.st_size, st.st_mtime_ns)
        return fetched

    def upload(self, local: Path, remote: str, name: str) -> None:
        """``local`` to ``remote``, atomically: uploaded under a temporary name beside it,
        then renamed into place. Whatever fails, no partial file is left under ``remote``."""
        part = f"{remote}{PART}{uuid.uuid4().hex[:12]}"
        parent = remote.rsplit("/", 1)[0]
        try:
            self._call("create the folder of", name, self.fs.makedirs, parent, exist_ok=True)
            self._call("upload", name, self.fs.put_file, str(local), part)
            self._call("publish", name, self.fs.mv, part, remote)
        except BaseException:
            try:
                self.fs.rm(part)
            except Exception:  # noqa: BLE001, S110 - the purge deletes what is left
                pass
            raise

    def publish(self, run_id: str, local_run: Path, fetched: dict[str, tuple[int, int]]) -> int:
        """Bring the storage's copy of the run folder to what the stage left in
        ``local_run`` (see the module's docstring for the order); returns the files
        uploaded."""
        present = {
            str(p.relative_to(local_run)): p
            for p in (local_run.rglob("*") if local_run.is_dir() else ())
            if p.is_file()
        }
        changed = [
            rel
            for rel, p in sorted(present.items())
            if fetched.get(rel) != (p.stat().st_size, p.stat().st_mtime_ns)
        ]
        gone = [rel for rel in sorted(fetched) if rel not in present]

        def is_marker(rel: str) -> bool:
            return rel.rsplit("/", 1)[-1] == workfiles.LOADED_MARKER

        remote_run = workfiles.run_folder_name(run_id)
        for rel in [r for r in gone if is_marker(r)]:  # a withdrawn load marker: first
            self._call("delete", rel, self.fs.rm, self._path(remote_run, rel))
        for rel in sorted(changed, key=is_marker):  # the load marker: last
            self.upload(present[rel], self._path(remote_run, rel), rel)
        for rel in [r for r in gone if not is_marker(r)]:
            self._call("delete", rel, self.fs.rm, self._path(remote_run, rel))
        return len(changed)


def _unavailable(
    url: str, what: str, exc: BaseException, conn_id: str | None = None
) -> WorkStorageUnavailable:
    via = f" (connection {conn_id})" if conn_id else ""
    return WorkStorageUnavailable(
        f"work storage {shown(url)}{via} (HOTICH_WORK_STORAGE): cannot {what}:"
        f" {type(exc).__name__}: {loggable(first_line(exc))}"
    )


# --- the task's scratch folder ----------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A new folder of this task's (mode 700) under ``<tmp>/hotich-scratch``, deleted at the
    end whatever happens; the folders of tasks whose process is gone (killed before they
    could delete theirs) are deleted first."""
    base = Path(tempfile.gettempdir()) / SCRATCH
    base.mkdir(mode=0o700, exist_ok=True)
    for left in base.iterdir():
        pid = left.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- what the tasks call -----------------------------------------------------------------


@contextmanager
def staged(ctx: pipeline.RunContext, folders: Folders) -> Iterator[pipeline.RunContext]:
    """The run context a task's stage works with: ``ctx`` itself without a work storage;
    with one, a context over a scratch folder holding ``folders`` of the run fetched from
    the storage, published back after the stage (even when it failed: a district another
    run holds leaves its note), and deleted."""
    storage = WorkStorage.of(ctx.settings)
    if storage is None:
        yield ctx
        return
    with scratch_folder() as scratch:
        local = replace(ctx, runs_root=scratch)
        fetched = storage.fetch(ctx.run_id, folders, local.run_folder)
        try:
            yield local
        finally:
            storage.publish(ctx.run_id, local.run_folder, fetched)


def district(code: str) -> Folders:
    """A district's whole folder: what its stages fetch."""
    return {code: None}


def after_load(ctx: pipeline.RunContext, district_code: str) -> int:
    """Once the district's load committed: its personal files on the work storage go too
    (what the publish did not delete: a ``.part-`` file a killed upload left), unless the
    retention keeps them; the files deleted. Nothing to do without a work storage."""
    storage = WorkStorage.of(ctx.settings)
    if storage is None:
        return 0
    folder = storage.run_root(ctx.run_id) / district_code
    if storage.listing(ctx.run_id, district_code).get(workfiles.LOADED_MARKER) is None:
        return 0
    try:
        return workfiles.after_load(ctx.settings, folder)
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own kinds
        raise _unavailable(storage.url, f"delete the work files of {district_code}", exc) from exc


def purge_work_files(ctx: pipeline.RunContext) -> dict[str, int]:
    """The plan step's clean-up (:func:`hotich.workfiles.purge`) where the work files are:
    the local folder, and the work storage when there is one (checked first: one that
    cannot be reached or written fails the plan step, naming it); the districts some run
    holds the lease of are left alone in both."""
    storage = WorkStorage.of(ctx.settings)
    if storage is not None:
        storage.check()
    held = pipeline.held_leases(ctx)  # districts a run is working on now: left alone
    purged = pipeline.purge_work_files(ctx, held)
    if storage is None:
        return purged
    try:
        remote = workfiles.purge(ctx.settings, ctx.run_id, runs=storage.root, held=held).as_dict()
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own kinds
        raise _unavailable(storage.url, "purge earlier runs", exc) from exc
    return {k: purged[k] + remote[k] for k in purged}
