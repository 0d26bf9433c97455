"""A district through the real stages with its work files on a work storage (a ``file://``
URL of a folder other than the data folder, as a shared mount or a bucket would be), each
stage on its own scratch copy as the Celery workers' tasks run them: the files appear on
the storage, none holding personal data stays there or in a scratch folder once the load
committed, the retention rules hold there, and the ledger is the local path's."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from hotich import pipeline
from hotich.airflow import workstore
from hotich.config import RegisterSettings
from hotich.register.client import PopulationClient, RegisterUnavailable
from hotich_dev.leakscan import file_texts
from register_fixtures import CLIENT_ID, CLIENT_SECRET, register_client
from tests.integration.pipeline_kit import query, run_context
from tests.integration.test_pipeline import EXPECTED_901, REGISTER, district_901, ledger
from tests.integration.test_workfiles import PERSONAL, RESULTS, files, personal_data_of_901


@pytest.fixture(scope="module")
def register():
    with register_client(REGISTER) as client:
        yield client


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """Where the tasks' scratch folders go (the system's temporary folder otherwise)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp" / workstore.SCRATCH


def stored_run(national, tmp_path, run_id: str, **fields) -> tuple[pipeline.RunContext, Path]:
    storage = tmp_path / "storage"
    ctx = run_context(national, tmp_path / "data", run_id,
                      work_storage=f"file://{storage}", **fields)  # fmt: skip
    return ctx, storage / run_id


def run_stages(ctx: pipeline.RunContext, district, uris, register, after=None) -> dict:
    """extract → validate → reconcile → load as the tasks run them (hotich.airflow.tasks):
    each on its own scratch copy of the district's folder; ``after(stage)`` between them."""
    code, out = district.code, {}
    pipeline.prepare_database(ctx)
    stages = {
        "extract": lambda c: pipeline.extract_district(c, district, uris.__getitem__),
        "validate": lambda c: pipeline.validate_district(c, code),
        "reconcile": lambda c: pipeline.reconcile_district(c, code, register),
        "load": lambda c: pipeline.load_district(c, code),
    }
    for stage, run in stages.items():
        with workstore.staged(ctx, workstore.district(code)) as local:
            out |= run(local)
        if after:
            after(stage)
    out["work_files_deleted"] += workstore.after_load(ctx, code)
    return out


def test_a_district_through_the_stages_on_a_work_storage(tmp_path, national, register, scratch):
    district, uris = district_901(tmp_path)
    ctx, stored = stored_run(national, tmp_path, "run-1")
    seen: dict[str, list[str]] = {}

    def look(stage: str) -> None:
        seen[stage] = files(stored / "901")
        assert list(scratch.iterdir()) == [], stage  # each task's copy went with it

    out = run_stages(ctx, district, uris, register, after=look)
    assert seen["extract"] == ["extract.parquet", "extract_state.json"]
    assert {"validated.parquet", "gx/birth.json"} <= set(seen["validate"])
    assert {"persons.parquet", "candidates.parquet"} <= set(seen["reconcile"])
    # The load committed: only what holds no personal data stays on the storage...
    assert out["work_files_deleted"] == len(PERSONAL)
    assert files(stored / "901") == seen["load"] == RESULTS
    assert personal_data_of_901().scan_all(file_texts(stored)) == []
    # ...nothing was ever written in the data folder, and the ledger is the local path's
    # (tests/integration/test_pipeline.py and test_workfiles.py check it for the local one).
    assert not (tmp_path / "data" / "runs").exists()
    assert ledger(national, "run-1") == EXPECTED_901

    # A retry of the load after its commit finds the marker on the storage: nothing twice.
    with workstore.staged(ctx, workstore.district("901")) as local:
        again = pipeline.load_district(local, "901")
    assert (again["loaded"], again["review"], again["quarantined"]) == (5, 1, 3)
    assert query(national, "SELECT extracted FROM recon.run_summary") == [(9,)]


def test_the_retention_rules_hold_on_the_work_storage(tmp_path, national, register, scratch):
    district, uris = district_901(tmp_path)
    ctx, stored = stored_run(national, tmp_path, "run-1")
    down = PopulationClient("http://127.0.0.1:1", CLIENT_ID, CLIENT_SECRET,
                            RegisterSettings(max_retries=0))  # fmt: skip
    with down, pytest.raises(RegisterUnavailable):
        run_stages(ctx, district, uris, down)
    pipeline.release_leases(ctx)
    # A failed district's files stay on the storage for a retry in the same run...
    assert {"extract.parquet", "validated.parquet"} <= set(files(stored / "901"))
    assert list(scratch.iterdir()) == []
    assert workstore.purge_work_files(ctx)["files"] == 0
    # ...until the next run's plan step purges them there.
    nxt, _ = stored_run(national, tmp_path, "run-2")
    assert workstore.purge_work_files(nxt)["files"] >= 3
    assert [f for f in files(stored / "901") if not f.startswith("gx/")] == []
    # Whole run folders go once the results retention passed.
    then = time.time() - 91 * 86400
    for p in stored.rglob("*"):
        os.utime(p, (then, then))
    assert workstore.purge_work_files(nxt)["run_folders"] == 1 and not stored.exists()
