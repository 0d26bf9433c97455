"""The work storage's fetch and publish (hotich.airflow.workstore) on fsspec's in-memory
filesystem: what a stage changed is published, atomically, in the order the stages rely on;
the scratch copy goes whatever happens; a storage that cannot be reached says which."""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
import uuid
from pathlib import Path

import pytest
from airflow.sdk.io import attach
from fsspec.implementations.memory import MemoryFileSystem

from hotich import pipeline, workfiles
from hotich.airflow import workstore
from hotich.config import ConfigError, Settings
from hotich.ops.incidents import classify


@pytest.fixture
def storage(tmp_path, monkeypatch):
    """A context over a new ``memory://`` work storage; scratch folders under tmp_path."""
    attach("memory", fs=MemoryFileSystem())  # Airflow registers file:// only by itself
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    url = f"memory://work-{uuid.uuid4().hex[:8]}/runs"
    settings = Settings(data_dir=tmp_path / "data", work_storage=url)
    ctx = pipeline.RunContext("run 1", dt.date(2026, 12, 3), settings, "postgresql://unused")
    yield ctx
    MemoryFileSystem().rm(url.removeprefix("memory://").split("/")[0], recursive=True)


def remote(ctx: pipeline.RunContext, folder: str = "901") -> dict[str, bytes]:
    store = workstore.WorkStorage.of(ctx.settings)
    assert store is not None
    base = f"{store.root.path}/run_1/{folder}"
    return {name: store.fs.cat_file(f"{base}/{name}") for name in store.listing("run 1", folder)}


def scratch(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "tmp" / workstore.SCRATCH).iterdir())


def test_a_stage_works_on_local_files_and_what_it_changed_is_published(
    storage, tmp_path, monkeypatch
):
    with workstore.staged(storage, workstore.district("901")) as local:
        work = local.workdir("901")
        assert work.is_relative_to(tmp_path / "tmp") and work.is_dir()
        (work / "extract.parquet").write_bytes(b"records")
        (work / "held.json").write_text("{}")
    assert remote(storage) == {"extract.parquet": b"records", "held.json": b"{}"}
    assert scratch(tmp_path) == []  # the copy (personal data) is gone
    assert not (tmp_path / "data").exists()  # nothing in the local folder

    # The next stage finds the files; what it deletes is deleted, what it writes uploaded,
    # what it leaves as it was is not uploaded again.
    uploaded = []
    real = workstore.WorkStorage.upload

    def upload(self, local, remote_path, name):
        uploaded.append(name)
        real(self, local, remote_path, name)

    monkeypatch.setattr(workstore.WorkStorage, "upload", upload)
    with workstore.staged(storage, workstore.district("901")) as local:
        work = local.workdir("901")
        assert (work / "extract.parquet").read_bytes() == b"records"
        (work / "held.json").unlink()
        (work / "gx").mkdir()
        (work / "gx" / "birth.json").write_text('{"n": 1}')
    assert uploaded == ["901/gx/birth.json"]
    assert remote(storage) == {"extract.parquet": b"records", "gx/birth.json": b'{"n": 1}'}


def test_only_the_files_asked_for_are_fetched(storage):
    with workstore.staged(storage, workstore.district("901")) as local:
        (local.workdir("901") / "held.json").write_text("{}")
        (local.workdir("901") / "extract.parquet").write_bytes(b"records")
    with workstore.staged(storage, {"901": [pipeline.HELD_FILE], "_report": None}) as local:
        assert sorted(p.name for p in local.run_folder.rglob("*")) == ["901", "held.json"]
        (local.workdir("_report") / "report.md").write_text("# Run")
    # Not fetched, so not deleted; the report is published.
    assert set(remote(storage)) == {"extract.parquet", "held.json"}
    assert remote(storage, "_report") == {"report.md": b"# Run"}


def test_a_failed_stage_publishes_what_it_left_and_its_scratch_goes(storage, tmp_path):
    with pytest.raises(RuntimeError, match="held"):
        with workstore.staged(storage, workstore.district("901")) as local:
            (local.workdir("901") / pipeline.HELD_FILE).write_text('{"status": "held"}')
            raise RuntimeError("held by another run")
    assert remote(storage) == {pipeline.HELD_FILE: b'{"status": "held"}'}
    assert scratch(tmp_path) == []


def test_a_crash_mid_upload_leaves_no_file_the_next_task_reads_as_complete(
    storage, tmp_path, monkeypatch
):
    with workstore.staged(storage, workstore.district("901")) as local:
        (local.workdir("901") / "validated.parquet").write_bytes(b"old")
    store = workstore.WorkStorage.of(storage.settings)
    assert store is not None
    fs = store.fs

    def cut_off(lpath, rpath, **kwargs):
        with fs.open(rpath, "wb") as f:  # half of the file reaches the storage
            f.write(Path(lpath).read_bytes()[:3])
        raise ConnectionResetError("connection reset by peer")

    real_put = fs.put_file
    monkeypatch.setattr(fs, "put_file", cut_off)
    with pytest.raises(workstore.WorkStorageUnavailable) as err:
        with workstore.staged(storage, workstore.district("901")) as local:
            (local.workdir("901") / "validated.parquet").write_bytes(b"new and longer")
            (local.workdir("901") / "persons.parquet").write_bytes(b"persons")
    assert "cannot upload 901/persons.parquet" in str(err.value) and store.url in str(err.value)
    assert classify(err.value) == "work_storage_unavailable"
    # The old file is whole, the new one absent, the half one under a name nobody fetches.
    assert remote(storage) == {"validated.parquet": b"old"}
    assert not [p for p in fs.find(store.root.path) if workstore.PART in p]  # cleaned up
    assert scratch(tmp_path) == []
    # A task killed mid-upload cannot clean up: its part file is never fetched, and counts
    # as personal data for the purges.
    monkeypatch.setattr(fs, "put_file", real_put)
    fs.pipe_file(f"{store.root.path}/run_1/901/persons.parquet{workstore.PART}dead", b"half")
    with workstore.staged(storage, workstore.district("901")) as local:
        assert [p.name for p in local.workdir("901").iterdir()] == ["validated.parquet"]
    left = workfiles.personal_files(store.run_root("run 1") / "901")
    assert [p.name for p in left] == ["persons.parquet.part-dead", "validated.parquet"]


def test_the_load_marker_is_withdrawn_first_and_published_last(storage, monkeypatch):
    with workstore.staged(storage, workstore.district("901")) as local:
        work = local.workdir("901")
        (work / "extract.parquet").write_bytes(b"records")
        workfiles.mark_loaded(work, {"loaded": 1})
        (work / "validated.parquet").write_bytes(b"records")
    store = workstore.WorkStorage.of(storage.settings)
    assert store is not None
    calls: list[tuple[str, str]] = []
    fs = store.fs
    real_mv, real_rm = fs.mv, fs.rm
    monkeypatch.setattr(fs, "mv", lambda a, b, **k: calls.append(("put", b)) or real_mv(a, b, **k))
    monkeypatch.setattr(fs, "rm", lambda p, **k: calls.append(("rm", p)) or real_rm(p, **k))

    def published() -> list[tuple[str, str]]:  # the in-memory mv removes its source too
        return [(op, p.rsplit("/", 1)[-1]) for op, p in calls if workstore.PART not in p]

    # A new extract: the marker goes before the new records arrive.
    with workstore.staged(storage, workstore.district("901")) as local:
        work = local.workdir("901")
        workfiles.forget_load(work)
        (work / "extract.parquet").write_bytes(b"new records")
    assert published() == [
        ("rm", "loaded.json"), ("put", "extract.parquet")]  # fmt: skip
    calls.clear()
    # A load: the marker is published after everything else, before the deletions.
    with workstore.staged(storage, workstore.district("901")) as local:
        work = local.workdir("901")
        (work / "gx").mkdir()
        (work / "gx" / "birth.json").write_text("{}")
        workfiles.mark_loaded(work, {"loaded": 2})
        workfiles.after_load(local.settings, work)
    assert published() == [
        ("put", "birth.json"), ("put", "loaded.json"), ("rm", "extract.parquet"),
        ("rm", "validated.parquet")]  # fmt: skip
    assert set(remote(storage)) == {"gx/birth.json", "loaded.json"}


def test_without_a_work_storage_the_stage_gets_its_own_context():
    ctx = pipeline.RunContext("r", dt.date(2026, 12, 3), Settings(), "postgresql://unused")
    with workstore.staged(ctx, workstore.district("901")) as local:
        assert local is ctx and local.run_folder == workfiles.run_dir(ctx.settings.data_dir, "r")


def test_a_storage_that_cannot_be_reached_says_which(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    url = f"file://{blocker}/runs"
    settings = Settings(data_dir=tmp_path, work_storage=url)
    ctx = pipeline.RunContext("r", dt.date(2026, 12, 3), settings, "postgresql://unused")
    with pytest.raises(workstore.WorkStorageUnavailable, match="cannot create the root") as err:
        workstore.purge_work_files(ctx)
    assert url in str(err.value) and "HOTICH_WORK_STORAGE" in str(err.value)
    with pytest.raises(workstore.WorkStorageUnavailable, match="nosuch://x/runs.*cannot open"):
        workstore.WorkStorage.of(Settings(work_storage="nosuch://x/runs"))


@pytest.mark.parametrize(("raw", "url"), [
    (None, None), ("", None), (" file:///srv/hotich/runs/ ", "file:///srv/hotich/runs"),
    ("s3://bucket/hotich", "s3://bucket/hotich"),
])  # fmt: skip
def test_the_setting(raw, url):
    env = {"HOTICH_WORK_STORAGE": raw} if raw is not None else {}
    assert Settings.from_env(env).work_storage == url


@pytest.mark.parametrize("raw", ["/srv/hotich/runs", "file://relative/runs", "bucket/prefix"])
def test_the_setting_refuses_what_is_not_a_storage_url(raw):
    with pytest.raises(ConfigError, match="HOTICH_WORK_STORAGE"):
        Settings.from_env({"HOTICH_WORK_STORAGE": raw})


def test_a_password_in_the_url_is_not_shown():
    password = secrets.token_hex(8)  # made at run time: no credential in the repository
    assert workstore.shown(f"s3://key:{password}@bucket/p") == "s3://key:***@bucket/p"
    assert workstore.shown("s3://bucket/p") == "s3://bucket/p"


def test_a_storage_without_file_times_gets_the_safe_direction_in_the_purge(storage, monkeypatch):
    """fsspec's in-memory files have no modification time: an earlier run's personal files
    count as old (deleted), its results as new (kept), whatever the retention."""
    # No national database here: no run holds a lease (tests/integration/test_workfiles.py
    # has the districts a run holds).
    monkeypatch.setattr(pipeline, "held_leases", lambda ctx: frozenset())
    store = workstore.WorkStorage.of(storage.settings)
    assert store is not None
    for name in ("901/extract.parquet", "901/gx/birth.json", "901/loaded.json", "_report/r.md"):
        store.fs.pipe_file(f"{store.root.path}/earlier/{name}", b"x")
    assert workstore.purge_work_files(storage) == {"files": 1, "bytes": 1, "run_folders": 0}
    left = sorted(store.fs.find(f"{store.root.path}/earlier"))
    assert [p.split("/earlier/")[1] for p in left] == [
        "901/gx/birth.json", "901/loaded.json", "_report/r.md"]  # fmt: skip
