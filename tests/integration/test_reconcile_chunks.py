"""The reconcile step holds one chunk of a district at a time (issue 16): it reads
validated.parquet ``chunk_rows`` records at a time, asks the register about that chunk's
persons, and writes their verdicts and candidates before reading the next; whatever the
chunk, its work files, its counts and the ledger end the same."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from hotich import pipeline
from tests.integration.pipeline_kit import national_database, run_context, validated_district
from tests.integration.test_load_chunks import national_state, register  # noqa: F401
from tests.integration.test_pipeline import EXPECTED_901, district_901


class CountingRegister:
    """The register client, with the keys of each call it receives (through the run's
    answer store: only what the store did not answer)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.batch_calls: list[list[str]] = []
        self.match_calls: list[int] = []

    def batch_get(self, ids):
        ids = list(ids)
        self.batch_calls.append(ids)
        return self.client.batch_get(ids)

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        self.match_calls.append(len(queries))
        return self.client.match(queries)


def reconcile_in_chunks(tmp_path, server: str, client, chunk_rows: int) -> dict[str, Any]:
    """District 901 through its stages with ``chunk_rows``: the reconcile step's summary,
    its work files, the register calls and the national database after the load."""
    tmp_path.mkdir()
    district, uris = district_901(tmp_path)
    with national_database(server) as national:
        ctx = run_context(national, tmp_path / "data", "run-1", chunk_rows=chunk_rows)
        validated_district(ctx, district, uris)
        counting = CountingRegister(client)
        out = pipeline.reconcile_district(ctx, district.code, counting)
        work = ctx.workdir(district.code)
        files = {name: pq.ParquetFile(work / f"{name}.parquet")
                 for name in ("persons", "candidates")}  # fmt: skip
        tables = {name: f.read().to_pandas() for name, f in files.items()}
        groups = {name: [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)]
                  for name, f in files.items()}  # fmt: skip
        assert not list(work.glob("*.tmp"))
        pipeline.load_district(ctx, district.code)
        summary = {
            k: v for k, v in out.items() if k not in ("reconcile_seconds", "register_shared")
        }
        return {"summary": summary, "tables": tables, "groups": groups, "register": counting,
                "national": national_state(national)}  # fmt: skip


def test_reconcile_a_chunk_at_a_time_gives_the_same_verdicts_counts_and_ledger(
    tmp_path,
    embedded_pg,
    register,  # noqa: F811
):
    """Chunks of 2 records: the register is asked chunk by chunk (each call about at most
    two records' persons), persons.parquet is sorted by record in row groups of at most 2,
    and its rows, the candidates, the step's counts and the national database after the
    load are those of one chunk of 20,000 (the default)."""
    small = reconcile_in_chunks(tmp_path / "small", embedded_pg, register, 2)
    whole = reconcile_in_chunks(tmp_path / "whole", embedded_pg, register, 20_000)
    calls = small["register"]
    # 9 records in 5 chunks; 8 pass the suites' ID rules or have no ID: several asks.
    assert len(calls.batch_calls) + len(calls.match_calls) > 2
    assert len(whole["register"].batch_calls) == 1 and len(whole["register"].match_calls) == 1
    assert all(len(c) <= 2 * 2 for c in calls.batch_calls) and max(calls.match_calls) <= 2 * 2
    asked = sorted(i for c in calls.batch_calls for i in c)
    assert asked == sorted(whole["register"].batch_calls[0])  # each ID asked once
    assert sum(calls.match_calls) == whole["register"].match_calls[0]
    for name in ("persons", "candidates"):
        pd.testing.assert_frame_equal(small["tables"][name], whole["tables"][name])
    persons = small["tables"]["persons"]
    assert len(persons) and persons[pipeline.RECORD_ROW].is_monotonic_increasing
    assert max(small["groups"]["persons"]) <= 2 and len(small["groups"]["persons"]) > 1
    assert small["summary"] == whole["summary"]
    assert small["summary"]["register"]["queries"] == whole["register"].match_calls[0]
    assert small["national"] == whole["national"]
    ledger = {k: (s, list(r), p) for k, s, r, p in small["national"]["ledger"]}
    assert ledger == EXPECTED_901
