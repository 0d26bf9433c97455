"""One bad record never holds back its district, and a retry after the commit writes
nothing twice (issue 15, defect 2 and the kill between commit and success).

Real SQLite district sources, the national database on the embedded PostgreSQL, the
register simulator over HTTP on loopback, and, for the kill, a real process killed with
SIGKILL right after its load committed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from hotich import load, pipeline
from hotich.extract import KEPT_CELL_CHARS, cap_cells
from hotich.load import LoadRefused
from register_fixtures import person, register_client
from tests.conftest import REPO
from tests.integration.pipeline_kit import (
    birth,
    death,
    modern,
    query,
    run_context,
    run_district,
    write_modern_sqlite,
)

REGISTER = [
    person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa"),
]
SECRET_NAME = "Lương Thị Bảo Mật"


@pytest.fixture(scope="module")
def register():
    with register_client(REGISTER) as client:
        yield client


def sources(tmp_path: Path, long_name: str | None = None) -> dict[str, str]:
    rows = [
        birth(1, pid="027218000001"),
        birth(2, name=long_name or SECRET_NAME, sex="Nữ", mother=None),
        birth(3, name="Trần Văn Ba", mother=None),
    ]
    return {
        "district_901": write_modern_sqlite(
            tmp_path / "901.sqlite", births=rows, deaths=[death(11)]
        )
    }


def ledger(national: str, run_id: str) -> dict[str, tuple]:
    rows = query(
        national,
        "SELECT source_key, status, reasons FROM recon.ledger WHERE run_id = :r",
        r=run_id,
    )
    return {k: (s, list(r)) for k, s, r in rows}


def test_cap_cells_cuts_only_long_values_and_says_how_much():
    frame = pd.DataFrame(
        {"a": ["x" * (KEPT_CELL_CHARS + 7), "short", None], "b": ["y", None, "z"]}, dtype=object
    )
    capped = cap_cells(frame)
    assert capped["a"][0] == "x" * KEPT_CELL_CHARS + "…[+7 characters not kept]"
    assert capped["a"][1] == "short" and capped["a"][2] is None
    assert capped["b"].tolist() == ["y", None, "z"]
    same = pd.DataFrame({"a": ["short"]}, dtype=object)
    assert cap_cells(same) is same


def test_a_value_too_long_is_kept_cut_and_its_record_quarantined(tmp_path, national, register):
    """350,000 characters in a name: VALUE_INVALID, the rest of the district loads, and
    the quarantine keeps 4,096 of them with a note; the next run does not read it again."""
    uris = sources(tmp_path, long_name="Nguyễn " * 50_000)
    ctx = run_context(national, tmp_path / "data", "run-1")
    out = run_district(ctx, modern("901"), uris, register)
    assert (out["extracted"], out["loaded"], out["quarantined"]) == (4, 3, 1)
    assert ledger(national, "run-1")["901:birth:2"] == ("quarantined", ["VALUE_INVALID"])
    ((kept,),) = query(
        national,
        "SELECT source_record->>'ho_ten' FROM recon.quarantine WHERE source_key = '901:birth:2'",
    )
    assert kept.endswith(f"…[+{350_000 - KEPT_CELL_CHARS} characters not kept]")
    assert len(kept) < KEPT_CELL_CHARS + 40
    out2 = run_district(
        run_context(national, tmp_path / "data", "run-2"), modern("901"), uris, register
    )
    assert out2["extracted"] == 0


def test_a_record_the_database_refuses_is_quarantined_and_the_rest_loads(
    tmp_path, national, register, caplog
):
    """A source record the national database will not take (here: not JSON, which jsonb
    refuses with SQL state 22P02) is quarantined VALUE_INVALID and the load tried again;
    the log names the record by its key and quotes nothing of it."""
    uris = sources(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-refused")
    pipeline.prepare_database(ctx)
    pipeline.extract_district(ctx, modern("901"), uris.__getitem__)
    pipeline.validate_district(ctx, "901")
    pipeline.reconcile_district(ctx, "901", register)
    validated = ctx.workdir("901") / "validated.parquet"
    records = pd.read_parquet(validated)
    bad = records["source_key"] == "901:birth:2"
    records.loc[bad, "raw"] = '{"ho_ten": "' + SECRET_NAME + '", 027218000001'
    records.to_parquet(validated, index=False)

    with caplog.at_level("INFO"):
        out = pipeline.load_district(ctx, "901")
    assert (out["extracted"], out["loaded"], out["quarantined"]) == (4, 3, 1)
    # The one load that committed says where its time went.
    (done,) = [r.getMessage() for r in caplog.records if "of 4 extracted" in r.getMessage()]
    assert re.search(r"\(staged in \d+\.\d s, applied in \d+\.\d s, committed in \d+\.\d s\)$",
                     done), done  # fmt: skip
    assert ledger(national, "run-refused") == {
        "901:birth:1": ("loaded", []),
        "901:birth:2": ("quarantined", ["VALUE_INVALID"]),
        "901:birth:3": ("loaded", ["LINK_NONE"]),
        "901:death:11": ("loaded", ["LINK_NONE"]),
    }
    assert query(national, "SELECT count(*) FROM civil.registration") == [(3,)]
    ((note,),) = query(
        national, "SELECT source_record FROM recon.quarantine WHERE source_key = '901:birth:2'"
    )
    assert "22P02" in note["_not_kept"]
    (warning,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "stage_verdict, line 2: record 901:birth:2" in warning and "22P02" in warning
    assert SECRET_NAME not in caplog.text and "027218000001" not in caplog.text


def test_a_refusal_without_a_line_quotes_nothing_of_the_row(tmp_path, national, register):
    """A row refused inside the upsert (a CHECK of civil.person) raises LoadRefused with
    the SQL state only: PostgreSQL's 'Failing row contains (…names…)' stays out."""
    uris = sources(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-check")
    pipeline.prepare_database(ctx)
    pipeline.extract_district(ctx, modern("901"), uris.__getitem__)
    pipeline.validate_district(ctx, "901")
    pipeline.reconcile_district(ctx, "901", register)
    batch = pipeline.district_batch(ctx, "901")
    read = batch.chunks
    assert read is not None  # the district's load is read chunk by chunk

    def a_cousin_first():  # the first person of the first chunk given a role civil.person refuses
        for i, chunk in enumerate(read()):
            if i == 0:
                chunk.persons.loc[chunk.persons.index[0], "role"] = "cousin"
            yield chunk

    batch = dataclasses.replace(batch, chunks=a_cousin_first)
    conn = pipeline.connect(ctx)
    try:
        with pytest.raises(LoadRefused, match="SQL state 23514") as err:
            load.load_batch(conn, batch, ctx.settings.sql_dir)
    finally:
        conn.close()
    text = str(err.value)
    assert "Failing row" not in text and "Nguyễn" not in text and err.value.source_key is None
    assert err.value.__suppress_context__  # the driver's text is not chained into the log


KILL_AFTER_COMMIT = """
import os, signal, sys, json
sys.path[:0] = [{repo!r}, {repo!r} + "/tests/integration"]
from hotich import pipeline
from tests.integration.pipeline_kit import run_context

class KilledAfterCommit:
    # The task's process dies right after the commit, before it reports success.
    def __init__(self, conn):
        self._conn = conn
    def commit(self):
        self._conn.commit()
        os.kill(os.getpid(), signal.SIGKILL)
    def __getattr__(self, name):
        return getattr(self._conn, name)

real = pipeline.connect
pipeline.connect = lambda ctx: KilledAfterCommit(real(ctx))
pipeline.load_district(run_context({national!r}, __import__("pathlib").Path({data!r}), "run-kill"), "901")
print("not killed")
"""


def test_a_kill_between_commit_and_success_then_the_retry_writes_nothing_twice(
    tmp_path, national, register, caplog
):
    uris = sources(tmp_path)
    data = tmp_path / "data"
    ctx = run_context(national, data, "run-kill")
    pipeline.prepare_database(ctx)
    pipeline.extract_district(ctx, modern("901"), uris.__getitem__)
    pipeline.validate_district(ctx, "901")
    pipeline.reconcile_district(ctx, "901", register)
    script = KILL_AFTER_COMMIT.format(repo=str(REPO), national=national, data=str(data))
    killed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    committed = query(
        national,
        "SELECT extracted, loaded, review, quarantined FROM recon.run_summary WHERE run_id = 'run-kill'",
    )
    assert committed == [(4, 4, 0, 0)]

    # Airflow retries the task: it finds the load committed and writes nothing again.
    before = query(national, "SELECT source_key, loaded_at FROM civil.registration ORDER BY 1")
    with caplog.at_level("INFO", logger="hotich.load"):
        again = pipeline.load_district(ctx, "901")
    assert "committed before" in caplog.text
    assert (again["extracted"], again["loaded"]) == (4, 4)
    assert (
        query(national, "SELECT source_key, loaded_at FROM civil.registration ORDER BY 1") == before
    )
    assert (
        query(
            national,
            "SELECT extracted, loaded, review, quarantined FROM recon.run_summary WHERE run_id = 'run-kill'",
        )
        == committed
    )
    assert query(national, "SELECT count(*), count(DISTINCT source_key) FROM recon.verdict") == [
        (4, 4)
    ]
    assert query(
        national, "SELECT count(*), count(DISTINCT (source_key, role)) FROM civil.person"
    ) == [(4, 4)]


def test_a_district_read_again_in_the_same_run_adds_its_new_records(tmp_path, national, register):
    """Clearing a district's whole task group after its load committed: the new extract
    reads only what changed since, and the run's summary counts each record once."""
    uris = sources(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-again")
    run_district(ctx, modern("901"), uris, register)
    con = sqlite3.connect(tmp_path / "901.sqlite")
    con.execute(
        "UPDATE khai_sinh SET ho_ten = 'Trần Văn Bốn', updated_at = '2026-11-21 08:00:00' WHERE id = 3"
    )
    con.commit()
    con.close()
    out = run_district(ctx, modern("901"), uris, register)
    assert out["extracted"] == 1
    summary = query(
        national,
        "SELECT extracted, loaded, review, quarantined, stats FROM recon.run_summary"
        " WHERE run_id = 'run-again'",
    )
    assert [row[:4] for row in summary] == [(4, 4, 0, 0)]
    assert json.dumps(summary[0][4])  # the stats stay JSON
