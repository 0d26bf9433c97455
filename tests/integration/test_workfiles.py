"""Personal data at rest: a district's work files go once its load has committed; with a
retention they stay until it passes; a failed district's files stay until the next run's
plan step purges them, and a stage of the old run then says to clear the whole district."""

from __future__ import annotations

import os
import time

import pytest

from hotich import pipeline, workfiles
from hotich.config import RegisterSettings
from hotich.ops.incidents import classify
from hotich.register.client import PopulationClient, RegisterUnavailable
from hotich_dev.leakscan import Scanner, file_texts
from register_fixtures import CLIENT_ID, CLIENT_SECRET, register_client
from tests.integration.pipeline_kit import query, run_context, run_district, validated_district
from tests.integration.test_pipeline import EXPECTED_901, REGISTER, district_901, ledger, rows_901

PERSONAL = ["candidates.parquet", "extract.parquet", "extract_state.json", "persons.parquet",
            "validated.parquet"]  # fmt: skip
# What stays: GX result summaries (counts, sample source keys) and the load's counts.
RESULTS = ["gx/birth.json", "gx/death.json", "gx/marriage.json", "gx/unknown.json", "loaded.json"]


@pytest.fixture(scope="module")
def register():
    with register_client(REGISTER) as client:
        yield client


def files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def personal_data_of_901() -> Scanner:
    rows = [r for group in rows_901().values() for r in group]
    ids = [
        r.get(c) for r in rows for c in ("so_dinh_danh", "chong_so_dinh_danh", "vo_so_dinh_danh")
    ]
    names = [r.get(c) for r in rows for c in ("ho_ten", "ho_ten_me", "ho_ten_cha", "chong_ho_ten",
                                              "vo_ho_ten")]  # fmt: skip
    return Scanner(ids=[*ids, *(p["so_dinh_danh"] for p in REGISTER)],
                   names=[*names, *(p["ho_ten"] for p in REGISTER)])  # fmt: skip


def age(folder, hours: float) -> None:
    """Make every file under ``folder`` look ``hours`` old."""
    then = time.time() - hours * 3600
    for p in folder.rglob("*"):
        os.utime(p, (then, then))


def test_personal_files_go_once_the_load_commits(tmp_path, national, register):
    district, uris = district_901(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-1")
    out = run_district(ctx, district, uris, register)
    work = ctx.workdir("901")
    assert out["work_files_deleted"] == len(PERSONAL)
    left = files(work)
    assert left == RESULTS
    # What stays holds no personal data (the scanner finds them in the source rows).
    scanner = personal_data_of_901()
    assert scanner.scan("rows", str(rows_901()))
    assert scanner.scan_all(file_texts(work)) == []

    # A retry of the load after its commit writes nothing twice: it returns what was committed.
    again = pipeline.load_district(ctx, "901")
    assert (again["loaded"], again["review"], again["quarantined"]) == (5, 1, 3)
    assert ledger(national, "run-1") == EXPECTED_901
    assert query(national, "SELECT extracted FROM recon.run_summary") == [(9,)]

    # Clearing only reconcile of this run: its input is gone, and the error says what to do.
    with pytest.raises(
        workfiles.WorkFilesGone, match="Clear the district's whole task group"
    ) as err:
        pipeline.reconcile_district(ctx, "901", register)
    assert (
        "validated.parquet missing" in str(err.value) and classify(err.value) == "work_files_gone"
    )


def test_with_a_retention_the_files_stay_until_it_passes(tmp_path, national, register):
    district, uris = district_901(tmp_path)
    data = tmp_path / "data"
    ctx = run_context(national, data, "run-1", work_retention_hours=2)
    assert run_district(ctx, district, uris, register)["work_files_deleted"] == 0
    work = ctx.workdir("901")
    assert set(PERSONAL) <= set(files(work))
    # The next run's plan step: within the retention nothing goes.
    nxt = run_context(national, data, "run-2", work_retention_hours=2)
    assert pipeline.purge_work_files(nxt) == {"files": 0, "bytes": 0, "run_folders": 0}
    age(work, 3)
    purged = pipeline.purge_work_files(nxt)
    assert purged["files"] == len(PERSONAL) and purged["bytes"] > 0
    assert files(work) == RESULTS
    # The results (counts only) stay HOTICH_RESULTS_RETENTION_DAYS (90), then the run folder goes.
    age(work.parent, 89 * 24)
    assert pipeline.purge_work_files(nxt)["run_folders"] == 0
    age(work.parent, 91 * 24)
    gone = pipeline.purge_work_files(nxt)
    assert (gone["run_folders"], gone["files"]) == (1, len(RESULTS)) and not work.parent.exists()


def test_a_failed_districts_files_stay_until_the_next_run(tmp_path, national, register):
    district, uris = district_901(tmp_path)
    data = tmp_path / "data"
    ctx = run_context(national, data, "run-1")
    down = PopulationClient("http://127.0.0.1:1", CLIENT_ID, CLIENT_SECRET,
                            RegisterSettings(max_retries=0))  # fmt: skip
    with down, pytest.raises(RegisterUnavailable):
        run_district(ctx, district, uris, down)
    pipeline.release_leases(ctx)  # the run's report gives back a failed district's lease
    work = ctx.workdir("901")
    assert {"extract.parquet", "extract_state.json", "validated.parquet"} <= set(files(work))
    # The current run's plan step (a retry of plan) leaves its own run alone.
    assert pipeline.purge_work_files(ctx)["files"] == 0
    # The next run's plan step purges them (retention 0: whatever a run left).
    nxt = run_context(national, data, "run-2")
    assert pipeline.purge_work_files(nxt)["files"] >= 3
    assert [f for f in files(work) if not f.startswith("gx/")] == []
    # Clearing only the old run's reconcile fails, saying to clear the whole district...
    with pytest.raises(workfiles.WorkFilesGone, match="run run-1 are gone"):
        pipeline.reconcile_district(ctx, "901", register)
    # ...and clearing its whole task group loads it.
    run_district(ctx, district, uris, register)
    assert ledger(national, "run-1") == EXPECTED_901


def test_another_runs_plan_step_leaves_a_district_in_progress_alone(tmp_path, national, register):
    """A re-reconciliation (or any run) starting while the daily run works on a district:
    its plan step deletes nothing the daily run still needs (it holds the district's
    lease); once the lease is given back or has expired, the next purge deletes them."""
    district, uris = district_901(tmp_path)
    data = tmp_path / "data"
    ctx = run_context(national, data, "run-1")
    validated_district(ctx, district, uris)  # extracted and validated: the lease is held
    work = ctx.workdir("901")
    in_progress = set(files(work))
    assert {"extract.parquet", "validated.parquet"} <= in_progress
    weekly = run_context(national, data, "rereconcile-1")
    assert pipeline.held_leases(weekly) == {("run-1", "901")}
    assert pipeline.purge_work_files(weekly)["files"] == 0
    assert set(files(work)) == in_progress
    # The daily run goes on from the files the other run's plan step left.
    out = pipeline.reconcile_district(ctx, "901", register) | pipeline.load_district(ctx, "901")
    assert (out["loaded"], out["review"], out["quarantined"]) == (5, 1, 3)
    assert ledger(national, "run-1") == EXPECTED_901

    # A lease expired (its run crashed): that run's files are forfeit with it.
    ctx2 = run_context(national, data, "run-2")
    validated_district(ctx2, district, uris)
    conn = pipeline.connect(ctx2)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE recon.district_lease SET expires_at = now() - interval '1 minute'")
    conn.close()
    assert pipeline.held_leases(weekly) == frozenset()
    assert pipeline.purge_work_files(weekly)["files"] >= 2
    assert [f for f in files(ctx2.workdir("901")) if not f.startswith("gx/")] == []
