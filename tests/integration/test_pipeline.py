"""The pipeline on real databases: SQLite, MariaDB and workbook sources, the national
database on PostgreSQL, the register simulator over HTTP on loopback.

Each record is hand-made, so each verdict is stated exactly.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from hotich import db, load, pipeline
from hotich.config import District
from hotich.extract import SourceError
from hotich.model import Flavor
from hotich.register.client import PopulationClient
from hotich.vnencoding import encode_tcvn3
from hotich_dev.simulator import RegisterIndex, load_register
from hotich_dev.source_schema import legacy_ddl
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, register_client, serve
from tests.integration.pipeline_kit import (
    birth,
    death,
    mariadb_database,
    marriage,
    modern,
    national_database,
    query,
    run_context,
    run_district,
    write_modern_server,
    write_modern_sqlite,
    write_workbook,
)

REGISTER = [
    person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa"),
    person("027317000002", "Trần Thị Mai", "Nữ", date(2017, 5, 5)),
    person("027050000003", "Đỗ Đức Độ", "Nam", date(1950, 3, 3), dead=date(2019, 4, 30)),
]


@pytest.fixture(scope="module")
def register():
    with register_client(REGISTER) as client:
        yield client


def rows_901() -> dict[str, list]:
    """District 901's source rows: each verdict of EXPECTED_901 once."""
    return dict(
        births=[
            birth(1, pid="027218000001"),
            birth(2, pid="027218999999"),
            birth(3, name=None),
            birth(
                4, name="Trần Thị Mai", sex="Nữ", dob="2017-05-05", reg="2017-06-01", mother=None
            ),
            birth(5, entry=1, name="Phạm Văn Cường", mother=None),
            birth(6, pid="027219000001"),
        ],
        deaths=[death(11), death(12, name="Hoàng Văn Tư", dob="1940-01-01")],
        marriages=[marriage(21)],
    )


def district_901(tmp_path: Path) -> tuple[District, dict[str, str]]:
    uri = write_modern_sqlite(tmp_path / "901.sqlite", **rows_901())
    return modern("901"), {"district_901": uri}


EXPECTED_901 = {
    "901:birth:1": ("loaded", [], "027218000001"),
    "901:birth:2": ("review", ["ID_NOT_FOUND"], None),
    "901:birth:3": ("quarantined", ["REQUIRED_MISSING"], None),
    "901:birth:4": ("loaded", ["LINKED"], "027317000002"),
    "901:birth:5": ("quarantined", ["DUPLICATE_ENTRY"], None),
    "901:birth:6": ("quarantined", ["ID_BIRTH_YEAR"], None),
    "901:death:11": ("loaded", ["LINKED"], "027050000003"),
    "901:death:12": ("loaded", ["LINK_NONE"], None),
    "901:marriage:21": ("loaded", ["LINK_NONE"], None),
}


def ledger(national: str, run_id: str) -> dict[str, tuple]:
    rows = query(
        national,
        "SELECT source_key, status, reasons, personal_id FROM recon.ledger WHERE run_id = :r",
        r=run_id,
    )
    return {k: (s, list(r), p) for k, s, r, p in rows}


def quality(national: str, run_id: str) -> dict[tuple[str, str], tuple[str, int, int]]:
    """``ops.quality_result`` of a run: (record type, rule) -> (reason, evaluated, failing)."""
    rows = query(national, "SELECT record_type, rule, reason, evaluated, failing"
                           " FROM ops.quality_result WHERE run_id = :r", r=run_id)  # fmt: skip
    return {(t, rule): (reason, e, f) for t, rule, reason, e, f in rows}


def test_modern_district_end_to_end_then_incremental(tmp_path, national, register):
    district, uris = district_901(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-1")
    out = run_district(ctx, district, uris, register)
    assert out["extracted"] == 9
    assert (out["loaded"], out["review"], out["quarantined"]) == (5, 1, 3)
    assert ledger(national, "run-1") == EXPECTED_901
    # The register's counters reach the run's summary (they were once always {}).
    register_counts = out["register"]
    assert register_counts["persons"] == out["persons"] > 0
    assert register_counts["with_id"] + register_counts["without_id"] == out["persons"]
    assert register_counts["ids_requested"] > 0 and register_counts["queries"] > 0
    # Loaded people keep how they were linked; the quarantine keeps the source record.
    link = query(
        national,
        "SELECT link_verdict, link_name_level, id_origin FROM civil.person"
        " WHERE source_key = '901:death:11'",
    )
    assert link == [("LINKED", "exact", "linked")]
    (src,) = query(
        national, "SELECT source_record FROM recon.quarantine WHERE source_key = '901:birth:3'"
    )
    assert src[0]["id"] == "3" and src[0]["ho_ten"] is None
    # Quality history: the run's per-rule results, kept by the load (counts only).
    history = quality(national, "run-1")
    assert history[("birth", "The subject's full name is required.")] == ("REQUIRED_MISSING", 6, 1)
    birth_year = next(v for (t, rule), v in history.items()
                      if t == "birth" and rule.startswith("ID_BIRTH_YEAR"))  # fmt: skip
    assert birth_year == ("ID_BIRTH_YEAR", 3, 1)  # evaluated on the three 12-digit IDs
    assert next(v for (t, rule), v in history.items()
                if t == "birth" and rule.startswith("DUPLICATE_ENTRY")) == ("DUPLICATE_ENTRY", 6, 1)  # fmt: skip
    assert {t for t, _ in history} == {"birth", "death", "marriage"}
    assert history[("death", "The subject's full name is required.")] == ("REQUIRED_MISSING", 2, 0)
    failing = {reason for reason, _, f in history.values() if f}
    assert failing == {"REQUIRED_MISSING", "ID_BIRTH_YEAR", "DUPLICATE_ENTRY"}  # as the ledger

    # The next day: nothing changed, nothing read twice.
    ctx2 = run_context(national, tmp_path / "data", "run-2")
    out2 = run_district(ctx2, district, uris, register)
    assert out2["extracted"] == 0 and ledger(national, "run-2") == {}
    assert quality(national, "run-2") == {}  # nothing read, no rule ran

    # The district corrects record 3 at the source: it replaces its quarantine verdict.
    con = sqlite3.connect(tmp_path / "901.sqlite")
    con.execute(
        "UPDATE khai_sinh SET ho_ten = 'Phạm Thị Hạnh', gioi_tinh = 'Nữ',"
        " updated_at = '2026-11-21 08:00:00' WHERE id = 3"
    )
    con.commit()
    con.close()
    ctx3 = run_context(national, tmp_path / "data", "run-3")
    out3 = run_district(ctx3, district, uris, register)
    assert out3["extracted"] == 1
    assert ledger(national, "run-3") == {"901:birth:3": ("loaded", ["LINK_NONE"], None)}
    assert quality(national, "run-3")[("birth", "The subject's full name is required.")] == (
        "REQUIRED_MISSING", 1, 0)  # fmt: skip
    assert query(
        national, "SELECT closed_by_run FROM recon.quarantine WHERE source_key = '901:birth:3'"
    ) == [("run-3",)]
    assert query(national, "SELECT count(*) FROM civil.registration") == [(6,)]


def test_crash_mid_load_leaves_nothing_and_the_rerun_completes(
    tmp_path, national, register, monkeypatch
):
    district, uris = district_901(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-crash")

    def crash(cur, batch, sql_dir):
        raise RuntimeError("simulated crash in the middle of the load")

    monkeypatch.setattr(load, "_save_extract_state", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_district(ctx, district, uris, register)
    assert query(national, "SELECT count(*) FROM recon.verdict") == [(0,)]
    assert query(national, "SELECT count(*) FROM civil.registration") == [(0,)]
    assert query(national, "SELECT count(*) FROM recon.watermark") == [(0,)]
    monkeypatch.undo()
    # The retry of the same run, then a second retry: one verdict per record, loaded once
    # (the second finds the run's committed load, though the run gave its lease back).
    run_district(ctx, district, uris, register)
    pipeline.load_district(ctx, "901")
    assert ledger(national, "run-crash") == EXPECTED_901
    assert query(national, "SELECT count(*) FROM civil.registration") == [(5,)]
    assert query(national, "SELECT count(*) FROM civil.person") == [(6,)]


def test_national_database_dropping_mid_load_raises_its_own_error(
    tmp_path, national, register, monkeypatch
):
    import psycopg2

    district, uris = district_901(tmp_path)
    ctx = run_context(national, tmp_path / "data", "run-drop")

    def server_drops_the_connection(cur, batch, sql_dir):
        # The real server ends this session in the middle of the load's transaction.
        cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(load, "_save_extract_state", server_drops_the_connection)
    with pytest.raises(pipeline.NationalDatabaseUnavailable, match="dropped the connection") as err:
        run_district(ctx, district, uris, register)
    # The error that happened, not the failed rollback's "connection already closed".
    assert isinstance(err.value.__cause__, psycopg2.OperationalError)
    assert not isinstance(err.value.__cause__, psycopg2.InterfaceError)
    assert query(national, "SELECT count(*) FROM recon.verdict") == [(0,)]
    monkeypatch.undo()
    pipeline.load_district(ctx, "901")
    assert ledger(national, "run-drop") == EXPECTED_901


def test_national_database_unreachable_is_its_own_incident(tmp_path):
    from hotich.ops.incidents import classify

    ctx = run_context("postgresql://hotich:secret@127.0.0.1:9/civil_status", tmp_path, "run-x")
    with pytest.raises(pipeline.NationalDatabaseUnavailable) as err:
        pipeline.prepare_database(ctx)
    assert "secret" not in str(err.value) and "127.0.0.1" in str(err.value)
    assert classify(err.value) == "national_database_down"
    with pytest.raises(pipeline.NationalDatabaseUnavailable):
        pipeline.connect(ctx)


def test_unreachable_district_fails_with_its_name(tmp_path, national):
    ctx = run_context(national, tmp_path / "data", "run-down")
    pipeline.prepare_database(ctx)
    with pytest.raises(SourceError, match="district 905"):
        pipeline.extract_district(ctx, modern("905"), lambda _: "mysql://root:@127.0.0.1:1/nothing")


KS_HEADER = [
    "Số quyển",
    "Số đăng ký",
    "Ngày đăng ký",
    "Họ và tên",
    "Giới tính",
    "Ngày sinh",
    "Số định danh",
    "Nơi sinh",
    "Dân tộc",
    "Họ tên mẹ",
    "Ngày sinh mẹ",
    "Họ tên cha",
]
KT_HEADER = [
    "Số quyển",
    "Số đăng ký",
    "Ngày đăng ký",
    "Họ và tên",
    "Giới tính",
    "Ngày sinh",
    "Số định danh",
    "Ngày chết",
    "Nơi chết",
    "Nguyên nhân",
]


def test_workbook_inbox(tmp_path, national, register):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_workbook(
        inbox / "a.xlsx",
        {
            "KhaiSinh": [
                KS_HEADER,
                # The ID was typed as a number and lost its leading zero.
                [
                    "Q1",
                    1,
                    dt.datetime(2018, 3, 1),
                    "Nguyễn Văn An",
                    "Nam",
                    "02/01/2018",
                    27218000001,
                    "Bắc Ninh",
                    "Kinh",
                    "Lê Thị Hoa",
                    None,
                    None,
                ],
                [
                    "Q1",
                    2,
                    "1/3/2018",
                    "Nguyễn Văn Ba",
                    "nam",
                    "2018",
                    None,
                    None,
                    None,
                    None,
                    "1990",
                    None,
                ],
                [None] * 12,
            ],
            "Ghi chú": [["anything"]],
        },
    )
    (inbox / "KhaiTu_2019.csv").write_text(
        "\ufeff" + ",".join(KT_HEADER) + "\n"
        "Q9,1,01/05/2019,Đỗ Đức Độ,Nam,1950,,30/04/2019,Bắc Ninh,Già\n",
        encoding="utf-8",
    )
    write_workbook(inbox / "b_wrong.xlsx", {"KhaiSinh": [KS_HEADER[:-1] + ["Cha"], ["Q2", 1]]})
    (inbox / "c_broken.xlsx").write_bytes(b"this is not a workbook")
    district = District(code="903", name="Test 903", flavor=Flavor.WORKBOOK, inbox=inbox)
    ctx = run_context(national, tmp_path / "data", "run-wb")
    out = run_district(ctx, district, {}, register)
    assert out["rejected_files"] == 2
    got = ledger(national, "run-wb")
    assert got == {
        "903:birth:a.xlsx#2": ("loaded", [], "027218000001"),
        "903:birth:a.xlsx#3": ("quarantined", ["DATE_INVALID"], None),
        "903:death:KhaiTu_2019.csv#2": ("loaded", ["LINKED"], "027050000003"),
    }
    problems = dict(query(national, "SELECT file_name, problem FROM recon.rejected_file"))
    assert "b_wrong.xlsx: sheet KhaiSinh: headers differ" in problems["b_wrong.xlsx"]
    assert "c_broken.xlsx: cannot be opened" in problems["c_broken.xlsx"]

    # The campaign fixes row 3 and saves the file again: only that row is processed.
    write_workbook(
        inbox / "a.xlsx",
        {
            "KhaiSinh": [
                KS_HEADER,
                [
                    "Q1",
                    1,
                    dt.datetime(2018, 3, 1),
                    "Nguyễn Văn An",
                    "Nam",
                    "02/01/2018",
                    27218000001,
                    "Bắc Ninh",
                    "Kinh",
                    "Lê Thị Hoa",
                    None,
                    None,
                ],
                [
                    "Q1",
                    2,
                    "1/3/2018",
                    "Nguyễn Văn Ba",
                    "nam",
                    "05/02/2018",
                    None,
                    None,
                    None,
                    None,
                    "1990",
                    None,
                ],
            ],
        },
    )
    ctx2 = run_context(national, tmp_path / "data", "run-wb2")
    run_district(ctx2, district, {}, register)
    assert ledger(national, "run-wb2") == {"903:birth:a.xlsx#3": ("loaded", ["LINK_NONE"], None)}


def test_legacy_district_on_mariadb(tmp_path, national, register, external_mariadb):
    with mariadb_database(external_mariadb, "hotich_legacy") as uri:
        engine = db.engine_for(uri)
        with engine.begin() as conn:
            conn.execute(text(legacy_ddl("mysql")))
            rows = [
                # Typed with a TCVN3 font: converted and flagged.
                {
                    "LoaiGiay": "ks",
                    "SoQuyen": "L1",
                    "SoDK": "1",
                    "NgayDK": "01/03/2018",
                    "HoTen": encode_tcvn3("Nguyễn Văn An"),
                    "GioiTinh": "NAM",
                    "NgaySinh": "02/01/2018",
                    "SoDinhDanh": "027218000001",
                    "HoTen2": "Lê Thị Hoa",
                },
                {
                    "LoaiGiay": "XX",
                    "SoQuyen": "L1",
                    "SoDK": "2",
                    "NgayDK": "01/03/2018",
                    "HoTen": "Nguyễn Văn Ba",
                    "GioiTinh": "Nam",
                    "NgaySinh": "02/01/2018",
                },
                {
                    "LoaiGiay": "KT",
                    "SoQuyen": "L2",
                    "SoDK": "1",
                    "NgayDK": "01/05/2019",
                    "HoTen": "Đỗ Đức Độ",
                    "GioiTinh": "Nam",
                    "NgaySinh": "1950",
                    "NgayChet": "30/04/2019",
                },
            ]
            for row in rows:
                cols = ", ".join(row)
                conn.execute(
                    text(f"INSERT INTO hotich ({cols}) VALUES ({', '.join(':' + c for c in row)})"),
                    row,
                )
        engine.dispose()
        district = District(
            code="902", name="Test 902", flavor=Flavor.LEGACY, conn_id="district_902"
        )
        ctx = run_context(national, tmp_path / "data", "run-legacy")
        run_district(ctx, district, {"district_902": uri}, register)
    assert ledger(national, "run-legacy") == {
        "902:birth:1": ("loaded", ["LEGACY_ENCODING"], "027218000001"),
        "902:unknown:2": ("quarantined", ["REQUIRED_MISSING"], None),
        "902:death:3": ("loaded", ["LINKED"], "027050000003"),
    }
    (name_loaded,) = query(
        national, "SELECT full_name FROM civil.person WHERE source_key = '902:birth:1'"
    )
    assert name_loaded == ("Nguyễn Văn An",)


def test_modern_district_on_mariadb(tmp_path, national, register, external_mariadb):
    with mariadb_database(external_mariadb, "hotich_modern") as uri:
        write_modern_server(uri, **rows_901())
        ctx = run_context(national, tmp_path / "data", "run-modern-mariadb")
        out = run_district(ctx, modern("901"), {"district_901": uri}, register)
        assert out["extracted"] == 9 and ledger(national, "run-modern-mariadb") == EXPECTED_901
        # Unchanged: the next run reads nothing again (watermark and hashes on MariaDB types).
        again = run_district(run_context(national, tmp_path / "data", "run-2"), modern("901"),
                             {"district_901": uri}, register)  # fmt: skip
        assert again["extracted"] == 0


def test_national_database_on_the_external_postgres(tmp_path, external_pg, register):
    district, uris = district_901(tmp_path)
    with national_database(external_pg) as national:
        ctx = run_context(national, tmp_path / "data", "run-ext")
        run_district(ctx, district, uris, register)
        assert ledger(national, "run-ext") == EXPECTED_901


def test_register_outage_fails_the_district_without_verdicts_then_next_run_completes(
    tmp_path, national
):
    from hotich.config import RegisterSettings
    from hotich.register.client import RegisterUnavailable
    from register_fixtures import admin

    district, uris = district_901(tmp_path)
    index = RegisterIndex(load_register(pd.DataFrame(REGISTER)))
    with serve(index) as server:
        settings = RegisterSettings(retry_budget_s=2, max_retries=2, backoff_base_s=0.05)
        admin(server.base_url, "faults", {"outage_seconds": 60, "outage_retry_after": 30})
        with PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET, settings) as client:
            ctx = run_context(national, tmp_path / "data", "run-outage")
            with pytest.raises(RegisterUnavailable):
                run_district(ctx, district, uris, client)
            assert pipeline.release_leases(ctx) == ["901"]  # the run's report gives it back
        # No verdict was given because the register was unavailable, and nothing advanced.
        assert query(national, "SELECT count(*) FROM recon.verdict") == [(0,)]
        assert query(national, "SELECT count(*) FROM recon.watermark") == [(0,)]
        admin(server.base_url, "faults", {"outage_seconds": 0})
        with PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET, settings) as client:
            ctx2 = run_context(national, tmp_path / "data", "run-after-outage")
            run_district(ctx2, district, uris, client)
    assert ledger(national, "run-after-outage") == EXPECTED_901


def test_extract_reports_progress_while_it_reads(tmp_path, caplog):
    from hotich.config import Settings
    from hotich.extract import RecordSink
    from hotich.extract.modern import extract_modern

    uri = write_modern_sqlite(tmp_path / "901.sqlite", **rows_901())
    sink = RecordSink(tmp_path / "extract.parquet", label="district 901 Thử", progress_every_s=0)
    with caplog.at_level("INFO", logger="hotich.extract"):
        extract = extract_modern("901", uri, sql_dir=Settings().sql_dir, watermarks={}, known_hashes={},
                                 lookback=dt.timedelta(minutes=60), chunk_rows=2, sink=sink)  # fmt: skip
    sink.close()
    assert (extract.read, extract.extracted) == (9, 9)
    progress = [m for m in caplog.messages if m.startswith("district 901 Thử: ")]
    # Chunks of 2 rows: births 2+2+2, deaths 2, marriages 1.
    assert [int(m.split()[3]) for m in progress] == [2, 4, 6, 8, 9]
    assert progress[-1].startswith("district 901 Thử: 9 rows read, 9 new or changed so far")
