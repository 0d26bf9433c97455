"""The load holds one chunk of a district at a time (issue 16, docs/decisions/0016): its
work files are read ``chunk_rows`` records at a time, and whatever the chunk, the ledger
and the national database end the same."""

from __future__ import annotations

import math

import pytest

from hotich import pipeline
from register_fixtures import register_client
from tests.integration.pipeline_kit import (
    modern,
    national_database,
    query,
    run_context,
    validated_district,
)
from tests.integration.test_pipeline import EXPECTED_901, REGISTER, district_901

# What the national database holds of a district's run, without the run's own id.
STATE = {
    "ledger": "SELECT source_key, status, reasons, personal_id FROM recon.ledger",
    "registrations": "SELECT source_key, record_type, book, entry_no, registration_date,"
    " place, content_hash FROM civil.registration",
    "persons": "SELECT source_key, role, full_name, personal_id, id_origin, link_verdict,"
    " date_of_birth, year_of_birth FROM civil.person",
    "waiting": "SELECT source_key, record, status FROM recon.waiting_record",
    "waiting_persons": "SELECT source_key, role, kind, given_id FROM recon.waiting_person",
    "quarantine": "SELECT source_key, reasons FROM recon.quarantine",
    "review": "SELECT source_key, reasons FROM recon.review",
    "summary": "SELECT district_code, extracted, loaded, review, quarantined"
    " FROM recon.run_summary",
}


@pytest.fixture(scope="module")
def register():
    with register_client(REGISTER) as client:
        yield client


def national_state(national: str) -> dict[str, list]:
    return {name: sorted(query(national, sql), key=repr) for name, sql in STATE.items()}


def load_in_chunks(tmp_path, server: str, register, chunk_rows: int) -> tuple[list, dict]:
    """District 901 through its stages with ``chunk_rows``: the record count of each chunk
    the load read, and the national database after it."""
    tmp_path.mkdir()
    district, uris = district_901(tmp_path)
    with national_database(server) as national:
        ctx = run_context(national, tmp_path / "data", "run-1", chunk_rows=chunk_rows)
        validated_district(ctx, district, uris)
        pipeline.reconcile_district(ctx, district.code, register)
        batch = pipeline.district_batch(ctx, district.code)
        assert batch.chunks is not None and batch.verdicts.empty  # nothing held whole
        sizes = [len(chunk.verdicts) for chunk in batch.chunks()]
        out = pipeline.load_district(ctx, district.code)
        assert out["extracted"] == len(EXPECTED_901)
        return sizes, national_state(national)


def test_the_load_reads_its_work_files_a_chunk_at_a_time_and_the_ledger_is_the_same(
    tmp_path, embedded_pg, register
):
    """Chunks of 2 records: five chunks of at most 2, and the same ledger, registrations,
    persons, waiting rows and counts as one chunk of 20,000 (the default)."""
    n = len(EXPECTED_901)
    small_sizes, small = load_in_chunks(tmp_path / "small", embedded_pg, register, 2)
    whole_sizes, whole = load_in_chunks(tmp_path / "whole", embedded_pg, register, 20_000)
    assert small_sizes == [2] * (n // 2) + [n % 2] * (n % 2)
    assert len(small_sizes) == math.ceil(n / 2) and whole_sizes == [n]
    assert small == whole
    ledger = {k: (s, list(r), p) for k, s, r, p in small["ledger"]}
    assert ledger == EXPECTED_901
    assert small["persons"] and small["waiting"]  # the comparison covers rows of each kind


def test_persons_work_file_is_sorted_by_record_in_row_groups_of_a_chunk(
    tmp_path, national, register
):
    """persons.parquet: each person beside its record's position, sorted, in row groups of
    chunk_rows, so that a chunk's persons are read by range (row groups skipped)."""
    import pyarrow.parquet as pq

    district, uris = district_901(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-1", chunk_rows=2)
    validated_district(ctx, district, uris)
    pipeline.reconcile_district(ctx, district.code, register)
    work = ctx.workdir(district.code)
    persons = pq.ParquetFile(work / "persons.parquet")
    rows = persons.read(columns=[pipeline.RECORD_ROW]).column(0).to_pylist()
    assert rows == sorted(rows) and min(rows) >= 0
    assert all(persons.metadata.row_group(i).num_rows <= 2 for i in range(persons.num_row_groups))
    keys = pq.read_table(work / "validated.parquet", columns=["source_key"]).column(0).to_pylist()
    person_keys = persons.read(columns=["source_key"]).column(0).to_pylist()
    assert [keys[r] for r in rows] == person_keys
    assert modern("901").code == district.code
