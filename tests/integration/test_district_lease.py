"""One district, one run at a time (hotich.lease): two runs over the same district
sources on the real national database give each record one verdict in all and ask the
register once per person; a lease left behind expires and is taken over, and the run it
was taken from commits nothing."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text

from hotich import db, pipeline
from hotich.lease import DistrictHeld
from hotich.register.client import PopulationClient
from hotich.report import run_report
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, serve
from tests.integration.pipeline_kit import query, run_context, run_district
from tests.integration.test_pipeline import EXPECTED_901, REGISTER, district_901, ledger


class Asking:
    """The register client, noting every person it is asked about (IDs, or name, sex and
    date of birth for the ID-less), across runs and threads."""

    def __init__(self, client: PopulationClient, asked: list[tuple]) -> None:
        self.client, self.asked, self._lock = client, asked, threading.Lock()

    def batch_get(self, ids):
        ids = list(ids)
        with self._lock:
            self.asked += [("id", i) for i in ids]
        return self.client.batch_get(ids)

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        with self._lock:
            self.asked += [("match", *q) for q in queries[["ho_ten", "gioi_tinh", "ngay_sinh"]]
                           .itertuples(index=False)]  # fmt: skip
        return self.client.match(queries)


@pytest.fixture(scope="module")
def register_url():
    with serve(RegisterIndex(load_register(pd.DataFrame(REGISTER)))) as server:
        yield server.base_url


@pytest.fixture
def asked() -> list[tuple]:
    return []


@pytest.fixture
def register(register_url, asked):
    with PopulationClient(register_url, CLIENT_ID, CLIENT_SECRET) as client:
        yield Asking(client, asked)


def verdicts_per_record(national: str) -> dict[str, int]:
    rows = query(national, "SELECT source_key, count(*) FROM recon.verdict GROUP BY source_key")
    return dict(rows)


def lease_rows(national: str) -> list[tuple]:
    return query(national, "SELECT district_code, run_id FROM recon.district_lease")


def test_a_district_held_by_one_run_is_skipped_by_the_other(tmp_path, national, register, asked):
    district, uris = district_901(tmp_path)
    a = run_context(national, tmp_path / "data", "run-a")
    b = run_context(national, tmp_path / "data", "run-b")
    pipeline.prepare_database(a)
    pipeline.extract_district(a, district, uris.__getitem__)
    assert lease_rows(national) == [("901", "run-a")]

    # Run b comes while run a holds 901: it reads nothing and says who holds the district.
    with pytest.raises(DistrictHeld, match=r"district 901: skipped: held by run run-a since ") as e:
        pipeline.extract_district(b, district, uris.__getitem__)
    assert e.value.holder is not None and e.value.holder.run_id == "run-a"
    assert not (b.workdir("901") / "extract.parquet").exists()

    pipeline.validate_district(a, "901")
    pipeline.reconcile_district(a, "901", register)
    pipeline.load_district(a, "901")
    assert lease_rows(national) == []  # given back by the load's commit

    # Run b's report lists the district as skipped; the run is not incomplete for it.
    report = run_report(b, ["901"])
    assert report["unfinished"] == []
    assert report["skipped"]["901"].startswith("skipped: held by run run-a since ")
    assert "skipped: held by run run-a" in report["table"]
    # The next run gets the district and finds nothing new: nothing is read twice.
    c = run_context(national, tmp_path / "data", "run-c")
    assert pipeline.extract_district(c, district, uris.__getitem__)["extracted"] == 0
    assert ledger(national, "run-a") == EXPECTED_901
    assert set(verdicts_per_record(national).values()) == {1}
    assert max(Counter(asked).values()) == 1  # each person asked of the register once


def test_two_runs_at_once_give_each_record_one_verdict(tmp_path, national, register, asked):
    district, uris = district_901(tmp_path)
    pipeline.prepare_database(run_context(national, tmp_path / "data", "setup"))
    start = threading.Barrier(2, timeout=60)
    outcome: dict[str, Any] = {}

    def run(run_id: str) -> None:
        ctx = run_context(national, tmp_path / "data", run_id)
        start.wait()
        try:
            outcome[run_id] = run_district(ctx, district, uris, register)["extracted"]
        except DistrictHeld as held:
            outcome[run_id] = held
        finally:
            pipeline.release_leases(ctx)  # what each run's report does

    threads = [threading.Thread(target=run, args=(r,)) for r in ("run-x", "run-y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    # One run read the district's records; the other was either skipped or came after the
    # commit and found nothing new.
    read = sorted(v if isinstance(v, int) else -1 for v in outcome.values())
    assert read in ([-1, len(EXPECTED_901)], [0, len(EXPECTED_901)]), outcome
    assert set(verdicts_per_record(national).values()) == {1}
    assert len(verdicts_per_record(national)) == len(EXPECTED_901)
    assert max(Counter(asked).values()) == 1
    assert lease_rows(national) == []


def test_an_expired_lease_is_taken_over_and_its_run_commits_nothing(
    tmp_path, national, register, asked
):
    district, uris = district_901(tmp_path)
    stale = run_context(national, tmp_path / "data", "run-stale")
    pipeline.prepare_database(stale)
    pipeline.extract_district(stale, district, uris.__getitem__)
    pipeline.validate_district(stale, "901")
    pipeline.reconcile_district(stale, "901", register)
    # Its lease runs out before it loads (a run that hung for longer than the expiry).
    engine = db.engine_for(national)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE recon.district_lease SET expires_at = now() - interval '1 minute'")
        )
    engine.dispose()
    fresh = run_context(national, tmp_path / "data", "run-fresh")
    pipeline.extract_district(fresh, district, uris.__getitem__)
    assert lease_rows(national) == [("901", "run-fresh")]

    # The late load commits nothing: it would give the records a second verdict.
    with pytest.raises(DistrictHeld, match="lease expired and is now held by run run-fresh"):
        pipeline.load_district(stale, "901")
    assert verdicts_per_record(national) == {}
    report = run_report(stale, ["901"])
    assert report["unfinished"] == [] and "nothing committed" in report["skipped"]["901"]

    pipeline.validate_district(fresh, "901")
    pipeline.reconcile_district(fresh, "901", register)
    pipeline.load_district(fresh, "901")
    assert ledger(national, "run-fresh") == EXPECTED_901
    assert set(verdicts_per_record(national).values()) == {1}
    # Asked twice in all (the stale run, then the one that took over), never more.
    assert max(Counter(asked).values()) == 2


def test_the_report_gives_back_a_failed_districts_lease(tmp_path, national):
    district, uris = district_901(tmp_path)
    failed = run_context(national, tmp_path / "data", "run-failed")
    pipeline.prepare_database(failed)
    pipeline.extract_district(failed, district, uris.__getitem__)
    # ... its validate or reconcile fails for good; the run's report task then runs:
    assert pipeline.release_leases(failed) == ["901"]
    assert pipeline.release_leases(failed) == []
    assert run_report(failed, ["901"])["unfinished"] == ["901"]
    # The next run is not held back by it, and reads every record (none was committed).
    after = run_context(national, tmp_path / "data", "run-after")
    assert pipeline.extract_district(after, district, uris.__getitem__)["extracted"] == len(
        EXPECTED_901
    )
    assert lease_rows(national) == [("901", "run-after")]
