"""Fault tests (issue 15): a real fault during a run, then the runs that recover from it.

Each test ends with the same four checks (``pipeline_kit``): every record read has
exactly one verdict (``check_verdicts``), nothing is in the national database twice
(``check_no_duplicates``), the final state equals that of a run without the fault over
the same sources (``check_same_state``), and the failure is a clear incident naming the
fault and the district without personal data (``check_incident``).

The faults are real: a private MariaDB server killed with SIGKILL and restarted while the
extract reads it, a server that is off, the register simulator over HTTP answering later
than the client's timeout or announcing maintenance. Nothing of the pipeline is mocked;
the one patched name (``pipeline.RecordSink``) only says *when* to pull the plug.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import text

from hotich import db, pipeline
from hotich.config import District, RegisterSettings
from hotich.errors import IncidentError
from hotich.extract import RecordSink, SourceError
from hotich.extract.workbook import TEMPLATE
from hotich.model import Flavor
from hotich.register.client import PopulationClient, RegisterUnavailable
from hotich.report import RunIncomplete, run_report
from hotich_dev.simulator import RegisterIndex, load_register
from hotich_dev.source_schema import legacy_ddl
from register_fixtures import CLIENT_ID, CLIENT_SECRET, admin, person, serve
from tests.conftest import require
from tests.integration.pipeline_kit import (
    PrivateMariaDB,
    birth,
    check_incident,
    check_no_duplicates,
    check_same_state,
    check_verdicts,
    death,
    mariadb_database,
    mariadb_programs,
    marriage,
    modern,
    national_database,
    query,
    run_context,
    run_district,
    run_districts,
    write_modern_server,
    write_modern_sqlite,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# --- a small hand-made district and its register ----------------------------------------------

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Khoa", "Long", "Minh", "Nam", "Phúc"]
GIVEN_F = ["Hà", "Hoa", "Lan", "Mai", "Ngọc", "Oanh", "Quyên", "Thảo", "Trang", "Yến"]


def personal_id(year: int, female: bool, serial: int) -> str:
    """A well-formed ID of province 027 for someone born in ``year``."""
    return f"027{2 * (year // 100 - 19) + int(female)}{year % 100:02d}{serial:06d}"


def small_district(code: int, n: int = 30) -> tuple[dict[str, list], list[dict[str, Any]]]:
    """A modern district of ``n`` births, ``n // 4`` deaths and ``n // 6`` marriages with
    every kind of verdict (loaded with an ID, linked, unlinked, review, quarantined), and
    the register persons its records refer to. ``code`` keeps districts' IDs apart."""
    births, register = [], []
    for i in range(1, n + 1):
        female = i % 2 == 0
        name = f"{SURNAMES[i % 10]} {'Thị' if female else 'Văn'} {(GIVEN_F if female else GIVEN_M)[i // 10 % 10]}"
        dob = date(2015, 1, 1) + dt.timedelta(days=37 * i)
        pid = personal_id(dob.year, female, code * 1000 + i)
        mother = f"{SURNAMES[(i + 3) % 10]} Thị {GIVEN_F[i % 10]}"
        sex = "Nữ" if female else "Nam"
        kind = i % 6
        if kind in (0, 1, 2):  # in the register: given an ID (0), or to be linked (1, 2)
            register.append(person(pid, name, sex, dob, mother=mother))
        given = {0: pid, 4: personal_id(dob.year, female, code * 1000 + 900 + i)}.get(kind)
        births.append(
            birth(
                i,
                book=f"{code}-KS-2015-01",
                reg=(dob + dt.timedelta(days=20)).isoformat(),
                pid=given,  # 4: an ID the register does not know (review)
                name=None if kind == 5 else name,  # 5: quarantined (REQUIRED_MISSING)
                sex=sex,
                dob=dob.isoformat(),
                mother=mother,
            )
        )
    deaths = [
        death(1000 + i, book=f"{code}-KT-2020-01", name=f"{SURNAMES[i % 10]} Văn Tư",
              dob=f"19{40 + i}-02-03", died="2020-05-06", reg="2020-05-10")
        for i in range(n // 4)
    ]  # fmt: skip
    marriages = [
        marriage(2000 + i, book=f"{code}-KH-2019-01", reg="2019-06-01",
                 husband=f"{SURNAMES[i % 10]} Văn {GIVEN_M[i % 10]}",
                 wife=f"{SURNAMES[(i + 5) % 10]} Thị {GIVEN_F[i % 10]}")
        for i in range(n // 6)
    ]  # fmt: skip
    return {"births": births, "deaths": deaths, "marriages": marriages}, register


def dmy(iso: str | None) -> str | None:
    """An ISO date as workbooks and legacy tables write it (dd/mm/yyyy); an invalid one stays invalid."""
    return None if iso is None else f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


def modern_keys(code: str, rows: dict[str, list]) -> set[str]:
    """The source keys of a modern district's rows."""
    kinds = {"births": "birth", "deaths": "death", "marriages": "marriage"}
    return {f"{code}:{kinds[t]}:{r['id']}" for t, rs in rows.items() for r in rs}


def personal_texts(rows: dict[str, list]) -> list[str]:
    """Names and IDs of a district's rows: none may reach an incident."""
    cols = ("ho_ten", "ho_ten_me", "so_dinh_danh", "chong_ho_ten", "vo_ho_ten")
    return sorted({r[c] for rs in rows.values() for r in rs for c in cols if r.get(c)})


def register_server(people: list[dict[str, Any]]):
    """The register simulator over ``people`` on loopback (a context manager)."""
    return serve(RegisterIndex(load_register(pd.DataFrame(people))))


def client_of(server, settings: RegisterSettings | None) -> PopulationClient:
    """A new client of ``server``, as each reconcile task makes its own."""
    return PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET, settings)


@contextmanager
def simulated_register(
    people: list[dict[str, Any]], settings: RegisterSettings | None = None
) -> Iterator[tuple[Any, PopulationClient]]:
    """The register simulator over ``people`` on loopback, and a client of it."""
    with register_server(people) as server, client_of(server, settings) as client:
        yield server, client


@contextmanager
def reference_run(
    server_pg: str, data_dir: Path, districts: list[District], uris: dict[str, str], register
) -> Iterator[str]:
    """A fresh national database after one fault-free run over the same sources."""
    with national_database(server_pg) as reference:
        ctx = run_context(reference, data_dir, "run-reference")
        out = run_districts(ctx, districts, uris, register)
        assert all(isinstance(v, dict) for v in out.values()), out
        yield reference


# --- 1 and 2: a district's MariaDB restarting mid-read, and down for a whole run ----------------


@pytest.fixture(scope="module")
def private_mariadb(tmp_path_factory) -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this module's own (the machine's shared one is never touched)."""
    programs = mariadb_programs()
    require(
        programs is not None,
        "MariaDB server programs (mariadbd, mariadb-install-db) are not installed",
    )
    assert programs is not None
    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb"), *programs)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.datadir, ignore_errors=True)  # ~110 MB of InnoDB files


@pytest.fixture
def mariadb_up(private_mariadb: PrivateMariaDB) -> PrivateMariaDB:
    """The private server, running at the start of the test."""
    private_mariadb.start()
    return private_mariadb


def sink_that(after_chunks: int, fault: Callable[[], None]) -> type[RecordSink]:
    """A ``RecordSink`` that runs ``fault`` once the extract has written ``after_chunks``
    chunks: the fault strikes at a known point of the read, without timing."""

    class FaultingSink(RecordSink):
        chunks = 0

        def write(self, chunk: pd.DataFrame, read: int = 0) -> None:
            super().write(chunk, read)
            self.chunks += 1
            if self.chunks == after_chunks:
                fault()

    return FaultingSink


def test_district_mariadb_killed_and_restarted_mid_read(
    tmp_path, national, embedded_pg, mariadb_up, monkeypatch
):
    started = time.monotonic()
    rows, people = small_district(901)
    keys = modern_keys("901", rows)
    district = modern("901")
    with (
        simulated_register(people) as (_, register),
        mariadb_database(mariadb_up.server_uri, "hotich_fault") as uri,
    ):
        write_modern_server(uri, **rows)
        uris = {"district_901": uri}
        ctx = run_context(national, tmp_path / "data", "run-1", chunk_rows=4)
        restarted: dict[str, float] = {}

        def kill_and_restart() -> None:
            mariadb_up.kill()
            mariadb_up.start()  # back (after crash recovery) while the extract still reads
            restarted["at"] = time.monotonic()

        with monkeypatch.context() as patch:
            patch.setattr(pipeline, "RecordSink", sink_that(2, kill_and_restart))
            with pytest.raises(SourceError) as err:
                run_district(ctx, district, uris, register)
        assert "at" in restarted  # the server died after two chunks of khai_sinh
        # Nothing committed: no verdict, no watermark, no content hash.
        assert nothing_written(national, "901")

        # The extract task's retry (same run) reads the district in full from the restarted server.
        out = run_district(ctx, district, uris, register)
        recovered_s = time.monotonic() - restarted["at"]
        assert out["read"] == out["extracted"] == len(keys)

        with reference_run(embedded_pg, tmp_path / "ref", [district], uris, register) as reference:
            check_verdicts(national, {("run-1", "901"): len(keys)}, keys)
            check_no_duplicates(national)
            check_same_state(national, reference, ["901"])
    line = check_incident(err.value, "district_source_down", "901", "extract", personal_texts(rows))
    # What the driver said, not the query that pandas echoes first.
    assert "district 901: cannot read the modern source" in line and "MySQL server" in line
    assert "Execution failed on sql" not in line
    print(f"\n[fault 1] {len(keys)} records; {line}\n  recovered {recovered_s:.1f} s after the"
          f" restart (1 retry); wall {time.monotonic() - started:.1f} s")  # fmt: skip


def legacy_rows(rows: dict[str, list]) -> list[dict[str, Any]]:
    """A modern district's births and deaths as rows of the legacy wide table."""

    out = [
        {"ID": r["id"], "LoaiGiay": "KS", "SoQuyen": r["ma_so"], "SoDK": str(r["so_dang_ky"]),
         "NgayDK": dmy(r["ngay_dang_ky"]), "HoTen": r["ho_ten"], "GioiTinh": r["gioi_tinh"],
         "NgaySinh": dmy(r["ngay_sinh"]), "SoDinhDanh": r["so_dinh_danh"],
         "HoTen2": r["ho_ten_me"], "NoiSinhChet": r["noi_sinh"], "DanToc": r["dan_toc"]}
        for r in rows["births"]
    ]  # fmt: skip
    out += [
        {"ID": r["id"], "LoaiGiay": "KT", "SoQuyen": r["ma_so"], "SoDK": str(r["so_dang_ky"]),
         "NgayDK": dmy(r["ngay_dang_ky"]), "HoTen": r["ho_ten"], "GioiTinh": r["gioi_tinh"],
         "NgaySinh": dmy(r["ngay_sinh"]), "NgayChet": dmy(r["ngay_chet"]),
         "NoiSinhChet": r["noi_chet"]}
        for r in rows["deaths"]
    ]  # fmt: skip
    return out


def write_legacy_server(uri: str, rows: list[dict[str, Any]]) -> None:
    """A legacy district's ``hotich`` table on MariaDB."""
    engine = db.engine_for(uri)
    try:
        with engine.begin() as conn:
            conn.execute(text(legacy_ddl("mysql")))
            for row in rows:
                cols = ", ".join(row)
                marks = ", ".join(":" + c for c in row)
                conn.execute(text(f"INSERT INTO hotich ({cols}) VALUES ({marks})"), row)
    finally:
        engine.dispose()


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> None:
    """An inbox workbook: each template sheet with its header, then ``rows``."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, rows in sheets.items():
        ws = book.create_sheet(sheet)
        ws.append(TEMPLATE[sheet])
        for row in rows:
            ws.append(row)
    book.save(path)


def workbook_births(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Births as ``KhaiSinh`` rows (dates as dd/mm/yyyy text, IDs as text)."""

    return [
        [r["ma_so"], r["so_dang_ky"], dmy(r["ngay_dang_ky"]), r["ho_ten"], r["gioi_tinh"],
         dmy(r["ngay_sinh"]), r["so_dinh_danh"], r["noi_sinh"], r["dan_toc"], r["ho_ten_me"],
         None, r["ho_ten_cha"]]
        for r in rows
    ]  # fmt: skip


def test_district_server_down_for_the_whole_run(tmp_path, national, embedded_pg, mariadb_up):
    started = time.monotonic()
    legacy_src, legacy_people = small_district(912, n=24)
    book_src, book_people = small_district(913, n=18)
    legacy = District(code="912", name="Legacy 912", flavor=Flavor.LEGACY, conn_id="district_912")
    inbox = tmp_path / "inbox913"
    inbox.mkdir()
    write_workbook(inbox / "so_01.xlsx", {"KhaiSinh": workbook_births(book_src["births"])})
    workbook = District(code="913", name="Inbox 913", flavor=Flavor.WORKBOOK, inbox=inbox)
    legacy_keys = {f"912:{'birth' if r['LoaiGiay'] == 'KS' else 'death'}:{r['ID']}"
                   for r in legacy_rows(legacy_src)}  # fmt: skip
    book_keys = {f"913:birth:so_01.xlsx#{i + 2}" for i in range(len(book_src["births"]))}
    districts = [legacy, workbook]
    with (
        simulated_register(legacy_people + book_people) as (_, register),
        mariadb_database(mariadb_up.server_uri, "hotich_down") as uri,
    ):
        write_legacy_server(uri, legacy_rows(legacy_src))
        uris = {"district_912": uri}
        mariadb_up.stop()  # the district's server is off for the whole run
        try:
            ctx = run_context(national, tmp_path / "data", "run-1")
            run1 = run_districts(ctx, districts, uris, register)
            report = run_report(ctx, ["912", "913"])
        finally:
            mariadb_up.start()
        assert isinstance(run1["912"], SourceError), run1["912"]
        assert isinstance(run1["913"], dict) and run1["913"]["extracted"] == len(book_keys)
        assert report["unfinished"] == ["912"]  # the run fails, naming the district
        assert "912" in str(RunIncomplete(report["unfinished"]))
        assert query(
            national, "SELECT count(*) FROM recon.verdict WHERE district_code = '912'"
        ) == [(0,)]

        # The next run, with the server back: 912 in full, nothing of 913 read again.
        server_back = time.monotonic()
        run2 = run_districts(
            run_context(national, tmp_path / "data", "run-2"), districts, uris, register
        )
        recovered_s = time.monotonic() - server_back
        assert isinstance(run2["912"], dict), run2["912"]
        assert run2["912"]["extracted"] == len(legacy_keys)
        assert (run2["913"]["read"], run2["913"]["extracted"]) == (0, 0)

        with reference_run(embedded_pg, tmp_path / "ref", districts, uris, register) as reference:
            check_verdicts(
                national,
                {("run-1", "913"): len(book_keys), ("run-2", "912"): len(legacy_keys)},
                legacy_keys | book_keys,
            )
            check_no_duplicates(national)
            check_same_state(national, reference, ["912", "913"])
    personal = personal_texts(legacy_src)
    line = check_incident(run1["912"], "district_source_down", "912", "extract", personal)
    assert "district 912: cannot read the legacy source" in line
    print(f"\n[fault 2] {len(legacy_keys)} + {len(book_keys)} records; {line}\n  recovered in"
          f" 1 run ({recovered_s:.1f} s); wall {time.monotonic() - started:.1f} s")  # fmt: skip


# --- 3 and 4: the register slower than the timeout, and down for longer than the budget -------


@pytest.fixture(scope="module")
def register_faults(tmp_path_factory, embedded_pg) -> Iterator[SimpleNamespace]:
    """Two modern SQLite districts, 921 and 922, the register persons they refer to, and
    a national database after one fault-free run over them (the state to recover to)."""
    root = tmp_path_factory.mktemp("register_faults")
    districts, uris, people, keys, personal = [], {}, [], {}, []
    for code in ("921", "922"):
        rows, persons = small_district(int(code), n=24)
        uris[f"district_{code}"] = write_modern_sqlite(root / f"{code}.sqlite", **rows)
        districts.append(modern(code))
        people += persons
        keys[code] = modern_keys(code, rows)
        personal += personal_texts(rows)
    with (
        simulated_register(people) as (_, client),
        reference_run(embedded_pg, root / "ref", districts, uris, client) as reference,
    ):
        yield SimpleNamespace(districts=districts, uris=uris, people=people, keys=keys,
                              personal=personal, reference=reference)  # fmt: skip


def nothing_written(national: str, code: str) -> bool:
    """No verdict, content hash or watermark of the district in the national database."""
    return all(
        query(national, f"SELECT count(*) FROM recon.{t} WHERE district_code = :c", c=code)
        == [(0,)]
        for t in ("verdict", "source_state", "watermark", "run_summary")
    )


# Read timeout 0.3 s, 2 retries: a register answering after 1.5 s fails every attempt.
SHORT_TIMEOUT = RegisterSettings(timeout_s=0.3, connect_timeout_s=1.0, max_retries=2,
                                 backoff_base_s=0.05, backoff_cap_s=0.1, retry_budget_s=5.0)  # fmt: skip


def test_register_slower_than_the_client_timeout(tmp_path, national, register_faults):
    started = time.monotonic()
    f = register_faults
    district = f.districts[0]
    with register_server(f.people) as server:
        admin(server.base_url, "faults", {"latency_ms": 1500})
        ctx = run_context(national, tmp_path / "data", "run-1")
        with client_of(server, SHORT_TIMEOUT) as client:
            with pytest.raises(RegisterUnavailable, match="ReadTimeout") as err:
                run_district(ctx, district, f.uris, client)
            stats = client.stats
        # Every attempt timed out; the client retried as often as allowed, within its budget.
        assert stats.connection_errors == SHORT_TIMEOUT.max_retries + 1
        assert stats.retries == SHORT_TIMEOUT.max_retries
        assert stats.seconds_waited < SHORT_TIMEOUT.retry_budget_s
        assert nothing_written(national, "921")
        assert pipeline.release_leases(ctx) == ["921"]  # as the run's report task does

        admin(server.base_url, "faults", {"latency_ms": 0})  # the register is fast again
        fast_again = time.monotonic()
        with client_of(server, SHORT_TIMEOUT) as client:
            out = run_district(run_context(national, tmp_path / "data", "run-2"), district,
                               f.uris, client)  # fmt: skip
        recovered_s = time.monotonic() - fast_again
    assert out["extracted"] == len(f.keys["921"])
    check_verdicts(national, {("run-2", "921"): len(f.keys["921"])}, f.keys["921"])
    check_no_duplicates(national)
    check_same_state(national, f.reference, ["921"])
    line = check_incident(err.value, "register_unavailable", "921", "reconcile", f.personal)
    print(f"\n[fault 3] {len(f.keys['921'])} records; {stats.requests} requests,"
          f" {stats.connection_errors} timeouts; {line}\n  recovered in 1 run"
          f" ({recovered_s:.1f} s); wall {time.monotonic() - started:.1f} s")  # fmt: skip


# A budget of 4 s: maintenance announced for 600 s is given up at once.
BUDGET = RegisterSettings(timeout_s=5.0, max_retries=2, backoff_base_s=0.05,
                          backoff_cap_s=0.1, retry_budget_s=4.0)  # fmt: skip


def end_outage_once_refused(base_url: str) -> threading.Thread:
    """A thread that ends the simulator's outage as soon as it has refused one request
    (bounded: it gives up after 30 s, and the test then fails)."""

    def run() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not admin(base_url, "stats")["outage"]:
            time.sleep(0.02)
        admin(base_url, "faults", {"outage_seconds": 0})

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_register_outage_beyond_the_budget_then_two_runs_complete(
    tmp_path, national, register_faults
):
    started = time.monotonic()
    f = register_faults
    d921, d922 = f.districts
    data = tmp_path / "data"
    with register_server(f.people) as server:
        base = server.base_url
        # Run 1: maintenance for the whole run, announced far beyond the retry budget.
        admin(base, "faults", {"outage_seconds": 600, "outage_retry_after": 600})
        ctx1 = run_context(national, data, "run-1")
        run1 = {}
        for d in f.districts:
            with client_of(server, BUDGET) as client:
                run1 |= run_districts(ctx1, [d], f.uris, client)
        assert all(isinstance(e, RegisterUnavailable) for e in run1.values()), run1
        assert nothing_written(national, "921") and nothing_written(national, "922")

        # Run 2: the maintenance ends while 921 reconciles (the client waits out its
        # Retry-After), then the register fails every request (500) while 922 reconciles.
        ctx2 = run_context(national, data, "run-2")
        pipeline.extract_district(ctx2, d921, f.uris.__getitem__)
        pipeline.validate_district(ctx2, "921")
        admin(base, "faults", {"outage_seconds": 600, "outage_retry_after": 1})
        admin(base, "reset-stats", {})
        ender = end_outage_once_refused(base)
        with client_of(server, BUDGET) as client:
            pipeline.reconcile_district(ctx2, "921", client)
            waited = client.stats
        ender.join()
        pipeline.load_district(ctx2, "921")
        assert (waited.server_errors, waited.retries) == (1, 1)  # one 503, waited out once
        admin(base, "faults", {"error_rate": 1.0, "error_statuses": [500]})
        with client_of(server, BUDGET) as client:
            run2 = run_districts(ctx2, [d922], f.uris, client)
        assert isinstance(run2["922"], RegisterUnavailable), run2
        assert nothing_written(national, "922")

        # Run 3: the register answers; 922 completes, nothing of 921 is extracted again.
        admin(base, "faults", {"error_rate": 0.0})
        fault_over = time.monotonic()
        with client_of(server, BUDGET) as client:
            run3 = run_districts(run_context(national, data, "run-3"), f.districts, f.uris, client)
        recovered_s = time.monotonic() - fault_over
    assert run3["921"]["extracted"] == 0 and run3["922"]["extracted"] == len(f.keys["922"])
    n921, n922 = len(f.keys["921"]), len(f.keys["922"])
    check_verdicts(national, {("run-2", "921"): n921, ("run-3", "922"): n922},
                   f.keys["921"] | f.keys["922"])  # fmt: skip
    check_no_duplicates(national)
    check_same_state(national, f.reference, ["921", "922"])
    lines = [
        check_incident(run1["921"], "register_unavailable", "921", "reconcile", f.personal),
        check_incident(run1["922"], "register_unavailable", "922", "reconcile", f.personal),
        check_incident(run2["922"], "register_unavailable", "922", "reconcile", f.personal),
    ]
    assert "beyond the retry budget" in lines[0] and "giving up after 3 failures" in lines[2]
    print(f"\n[fault 4] {n921} + {n922} records; " + "\n  ".join(lines) +
          f"\n  921 recovered in run 2 (waited {waited.seconds_waited:.1f} s), 922 in run 3"
          f" ({recovered_s:.1f} s after the register answered); wall"
          f" {time.monotonic() - started:.1f} s")  # fmt: skip


# --- 5: thirty days of corrections, additions and replaced workbooks ----------------------------

MODERN_TABLES = {"khai_sinh": "birth", "khai_tu": "death", "ket_hon": "marriage"}
SHEET_TYPES = {"KhaiSinh": "birth", "KhaiTu": "death"}
# The defects a record may carry at the source; each is a verdict other than loaded.
BIRTH_DEFECTS = ("no_name", "bad_date", "unknown_id")


class DailySources:
    """A modern district (931, SQLite) and a workbook district (932, an inbox) whose
    records change day after day, from a seeded generator.

    Every record has a true content (which gets ``loaded``) and maybe a defect at the
    source (quarantine or review). A day's changes add records (some with defects, some
    claiming a book entry another record holds), correct defects, change neutral fields
    of any record, touch rows without changing them, replace workbook files (corrected
    rows in place, rows appended), and drop a file with wrong headers that a later day
    replaces by a good one. Never generated, because the contract makes the incremental
    state differ from a fresh run on purpose: a loaded record whose new version fails
    (the last loaded version stays, ledger row rule 6), a book entry moved away from the
    record that holds it (an unchanged record is not read again, rule 3), a deletion.
    """

    def __init__(self, root: Path, seed: int) -> None:
        import random

        self.rng = random.Random(seed)
        self.root = root
        self.inbox = root / "inbox"
        self.inbox.mkdir(parents=True)
        self.sqlite = root / "931.sqlite"
        self.uri = f"sqlite:///{self.sqlite}"
        self.people: list[dict[str, Any]] = []  # the register
        self._pool: list[dict[str, Any]] = []  # register persons not yet in a record
        self.records: dict[str, dict[str, Any]] = {}  # source_key -> record
        self.files: dict[str, dict[str, list[str]]] = {}  # file -> sheet -> source keys
        self.bad_files: dict[str, dict[str, list[str]]] = {}  # rejected, to be replaced
        self._dirty: set[str] = set()  # modern rows to write
        self._dirty_files: set[str] = set()
        self.last_read: dict[str, Any] = {}  # source_key -> content of its last verdict
        self._next = {"id": 1, "entry": 1, "file": 1}
        for i in range(240):
            female = i % 2 == 1
            dob = date(2010, 1, 1) + dt.timedelta(days=self.rng.randrange(4000))
            p = person(
                personal_id(dob.year, female, 931_000 + i),
                f"{self.rng.choice(SURNAMES)} {'Thị' if female else 'Văn'} "
                f"{self.rng.choice(GIVEN_F if female else GIVEN_M)} {self.rng.choice(GIVEN_M)}",
                "Nữ" if female else "Nam",
                dob,
                mother=f"{self.rng.choice(SURNAMES)} Thị {self.rng.choice(GIVEN_F)}",
            )
            self.people.append(p)
        self._pool = list(self.people)
        self.rng.shuffle(self._pool)

    # --- records ------------------------------------------------------------------

    def _counter(self, what: str) -> int:
        self._next[what] += 1
        return self._next[what] - 1

    def _new(self, rtype: str, key: str, defect: str | None) -> dict[str, Any]:
        rng = self.rng
        entry = self._counter("entry")
        if rtype == "birth":
            in_register = rng.random() < 0.6 and bool(self._pool)
            if in_register:
                p = self._pool.pop()
                name, sex, dob, mother = p["ho_ten"], p["gioi_tinh"], p["ngay_sinh"], p["ho_ten_me"]
                pid = p["so_dinh_danh"] if rng.random() < 0.5 else None
            else:  # someone the register does not hold (linked to nobody)
                female = rng.random() < 0.5
                name = f"{rng.choice(SURNAMES)} {'Thị' if female else 'Văn'} {rng.choice(GIVEN_F)}{rng.choice('xyz')}"
                sex = "Nữ" if female else "Nam"
                dob = date(2010, 1, 1) + dt.timedelta(days=rng.randrange(4000))
                mother, pid = f"{rng.choice(SURNAMES)} Thị {rng.choice(GIVEN_F)}", None
            truth = {"name": name, "sex": sex, "dob": dob.isoformat(), "mother": mother,
                     "pid": pid, "reg": (dob + dt.timedelta(days=rng.randrange(1, 60))).isoformat()}  # fmt: skip
        elif rtype == "death":
            died = date(2019, 1, 1) + dt.timedelta(days=rng.randrange(1500))
            truth = {"name": f"{rng.choice(SURNAMES)} Văn {rng.choice(GIVEN_M)}{rng.choice('xyz')}",
                     "sex": "Nam", "dob": f"19{rng.randrange(30, 60)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
                     "died": died.isoformat(), "reg": (died + dt.timedelta(days=rng.randrange(1, 20))).isoformat(),
                     "pid": None}  # fmt: skip
        else:
            reg = date(2019, 1, 1) + dt.timedelta(days=rng.randrange(1500))
            truth = {"husband": f"{rng.choice(SURNAMES)} Văn {rng.choice(GIVEN_M)}{rng.choice('xyz')}",
                     "husband_dob": f"19{rng.randrange(80, 95)}-03-04",
                     "wife": f"{rng.choice(SURNAMES)} Thị {rng.choice(GIVEN_F)}{rng.choice('xyz')}",
                     "wife_dob": f"19{rng.randrange(82, 97)}-05-06", "reg": reg.isoformat()}  # fmt: skip
        truth["place"] = rng.choice(["Bắc Ninh", "Từ Sơn", "Tiên Du"])  # marriage: none
        truth["ethnicity"] = "Kinh"
        book = {"birth": "KS", "death": "KT", "marriage": "KH"}[rtype]
        record = {"key": key, "type": rtype, "truth": truth, "defect": defect,
                  "book": f"931-{book}-2019-01" if key.startswith("931") else f"Q-{book}",
                  "entry": entry}  # fmt: skip
        self.records[key] = record
        return record

    def _defect(self, rtype: str) -> str | None:
        r = self.rng.random()
        if rtype == "birth":
            return self.rng.choice(BIRTH_DEFECTS) if r < 0.3 else None
        if rtype == "marriage":
            return "underage" if r < 0.2 else None
        return "no_name" if r < 0.2 else None

    def _maybe_duplicate(self, record: dict[str, Any], candidates: list[str]) -> None:
        """One record in eight claims a book entry that an earlier record holds."""
        holders = [k for k in candidates if self.records[k]["type"] == record["type"]
                   and not str(self.records[k]["defect"]).startswith("dup")]  # fmt: skip
        if holders and self.rng.random() < 0.125:
            holder = self.records[self.rng.choice(holders)]
            record["defect"] = f"dup:{holder['book']}:{holder['entry']}"

    def add_modern(self, n: int, stamp: str, *, clean: bool = False) -> None:
        """``n`` new rows of the modern district (``clean``: births without a defect)."""
        tables = ["khai_sinh"] if clean else ["khai_sinh"] * 6 + ["khai_tu"] * 2 + ["ket_hon"]
        for _ in range(n):
            table = self.rng.choice(tables)
            rtype = MODERN_TABLES[table]
            earlier = self._readable_keys("931")
            defect = None if clean else self._defect(rtype)
            rec = self._new(rtype, f"931:{rtype}:{self._next['id']}", defect)
            rec["id"], rec["table"], rec["stamp"] = self._counter("id"), table, stamp
            if not clean:
                self._maybe_duplicate(rec, earlier)
            self._dirty.add(rec["key"])

    def _readable_keys(self, district: str) -> list[str]:
        # A record of a rejected file is read later than records of files after it: it
        # holds no entry that another record could duplicate.
        return [k for k, r in self.records.items()
                if k.startswith(f"{district}:") and not r.get("pending")]  # fmt: skip

    def add_file(self, births: int, deaths: int, *, bad_headers: bool = False) -> str:
        """A new inbox file (named after the others: it sorts last)."""
        name = f"so_{self._counter('file'):03d}.xlsx"
        sheets: dict[str, list[str]] = {"KhaiSinh": [], "KhaiTu": []}
        earlier = self._readable_keys("932")
        for sheet, n in (("KhaiSinh", births), ("KhaiTu", deaths)):
            for row in range(2, n + 2):
                rtype = SHEET_TYPES[sheet]
                rec = self._new(rtype, f"932:{rtype}:{name}#{row}", self._defect(rtype))
                self._maybe_duplicate(rec, earlier)
                sheets[sheet].append(rec["key"])
        if bad_headers:  # its rows are not read until the file is replaced
            self.bad_files[name] = sheets
            for keys in sheets.values():
                for k in keys:
                    self.records[k]["pending"] = True
        else:
            self.files[name] = sheets
        self._dirty_files.add(name)
        return name

    def append_rows(self, name: str, n: int, *, clean: bool = False) -> None:
        """``n`` rows appended to an inbox file (the file is replaced)."""
        # Only records read before these rows in a run from scratch too (files sort by
        # name) may hold an entry they duplicate: "read first" must mean the same thing.
        earlier = [k for k in self._readable_keys("932") if k.split(":", 2)[2] < f"{name}$"]
        sheets = ["KhaiSinh"] if clean else ["KhaiSinh", "KhaiSinh", "KhaiTu"]
        for _ in range(n):
            sheet = self.rng.choice(sheets)
            rtype, keys = SHEET_TYPES[sheet], self.files[name][sheet]
            defect = None if clean else self._defect(rtype)
            rec = self._new(rtype, f"932:{rtype}:{name}#{len(keys) + 2}", defect)
            if not clean:
                self._maybe_duplicate(rec, earlier)
            keys.append(rec["key"])
        self._dirty_files.add(name)

    def correct(self, key: str, stamp: str) -> None:
        """The district corrects a record: a defect fixed (or replaced by another one), or
        a field that changes no verdict (the place) changed."""
        rec = self.records[key]
        defect = rec["defect"]
        if defect is not None and self.rng.random() < 0.8:
            rec["defect"] = None
        elif defect is not None and rec["type"] == "birth" and not defect.startswith("dup"):
            rec["defect"] = self.rng.choice(BIRTH_DEFECTS)
        elif rec["type"] == "marriage":  # the husband's ethnicity: a marriage has no place
            rec["truth"]["ethnicity"] = self.rng.choice(["Tày", "Nùng", "Mường"])
        else:
            rec["truth"]["place"] = self.rng.choice(["Quế Võ", "Thuận Thành", "Gia Bình"])
        self._touch(rec, stamp)

    def _touch(self, rec: dict[str, Any], stamp: str) -> None:
        if rec["key"].startswith("931:"):
            rec["stamp"] = stamp
            self._dirty.add(rec["key"])
        else:
            self._dirty_files.add(rec["key"].split(":", 2)[2].split("#")[0])

    def fix_headers(self, name: str) -> None:
        """A rejected file replaced by one with the template's headers."""
        self.files[name] = self.bad_files.pop(name)
        for keys in self.files[name].values():
            for k in keys:
                self.records[k].pop("pending", None)
        self._dirty_files.add(name)

    # --- one day --------------------------------------------------------------------

    def change(self, day: int) -> list[str]:
        """The day's changes at the sources (seeded); returns what happened."""
        rng, stamp = self.rng, f"2026-11-{day:02d} 07:30:00"
        done = []
        if rng.random() < 0.3:  # the modern district's day (most days nothing changes)
            if rng.random() < 0.6:
                n = rng.randint(2, 6)
                self.add_modern(n, stamp)
                done.append(f"931 +{n}")
            modern = [k for k in self.records if k.startswith("931:")]
            flawed = [k for k in modern if self.records[k]["defect"]]
            for _ in range(rng.randint(1, 5)):
                key = rng.choice(flawed if flawed and rng.random() < 0.7 else modern)
                self.correct(key, stamp)
                done.append(f"931 fix {key}")
            if rng.random() < 0.3:  # saved again unchanged: read, not extracted
                self._touch(self.records[rng.choice(modern)], stamp)
                done.append("931 touch")
        if rng.random() < 0.25:  # the workbook district's day
            what = rng.random()
            if self.bad_files and what < 0.3:
                name = rng.choice(sorted(self.bad_files))
                self.fix_headers(name)
                done.append(f"932 headers fixed {name}")
            elif what < 0.45:
                bad = not self.bad_files and rng.random() < 0.5
                name = self.add_file(rng.randint(2, 6), rng.randint(0, 2), bad_headers=bad)
                done.append(f"932 new {name}" + (" (wrong headers)" if bad else ""))
            else:  # a file replaced: rows corrected in place, maybe rows appended
                name = rng.choice(sorted(self.files))
                keys = [k for ks in self.files[name].values() for k in ks]
                flawed = [k for k in keys if self.records[k]["defect"]]
                done.append(f"932 replaced {name}")  # re-saved even when no row changed
                for _ in range(rng.randint(0, 4)):
                    key = rng.choice(flawed if flawed and rng.random() < 0.7 else keys)
                    self.correct(key, stamp)
                    done.append(f"932 fix {key}")
                if rng.random() < 0.5:
                    n = rng.randint(1, 4)
                    self.append_rows(name, n)
                    done.append(f"932 {name} +{n}")
                self._dirty_files.add(name)
        return done

    # --- rendering the sources --------------------------------------------------------

    def content(self, rec: dict[str, Any]) -> dict[str, Any]:
        """A record as its source shows it: the truth with its defect."""
        t, defect = dict(rec["truth"]), rec["defect"] or ""
        book, entry = rec["book"], rec["entry"]
        if defect.startswith("dup:"):
            _, book, entry = defect.split(":", 2)
        name_field = "husband" if rec["type"] == "marriage" else "name"
        if defect == "no_name":
            t[name_field] = None
        if defect == "bad_date":
            t["dob"] = t["dob"][:5] + "02-30"
        if defect == "unknown_id":
            t["pid"] = personal_id(int(t["dob"][:4]), t["sex"] == "Nữ", 990_000 + int(entry))
        if defect == "underage":
            t["wife_dob"] = f"{int(t['reg'][:4]) - 16}{t['reg'][4:]}"
        return {**t, "book": book, "entry": int(entry)}

    def modern_row(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The record as a row of its modern table."""
        c, i, stamp = self.content(rec), rec["id"], rec["stamp"]
        if rec["type"] == "birth":
            row = birth(i, book=c["book"], entry=c["entry"], reg=c["reg"], pid=c["pid"],
                        name=c["name"], sex=c["sex"], dob=c["dob"], mother=c["mother"],
                        updated_at=stamp)  # fmt: skip
            row["noi_sinh"] = c["place"]
        elif rec["type"] == "death":
            row = death(i, book=c["book"], entry=c["entry"], reg=c["reg"], name=c["name"],
                        sex=c["sex"], dob=c["dob"], died=c["died"], updated_at=stamp)  # fmt: skip
            row["noi_chet"] = c["place"]
        else:
            row = marriage(i, book=c["book"], reg=c["reg"], husband=c["husband"],
                           husband_dob=c["husband_dob"], wife=c["wife"], wife_dob=c["wife_dob"],
                           updated_at=stamp)  # fmt: skip
            row["so_dang_ky"], row["chong_dan_toc"] = c["entry"], c["ethnicity"]
        return row

    def sheet_row(self, rec: dict[str, Any]) -> list[Any]:
        """The record as a row of its workbook sheet."""
        c = self.content(rec)
        if rec["type"] == "birth":
            return [c["book"], c["entry"], dmy(c["reg"]), c["name"], c["sex"], dmy(c["dob"]),
                    c["pid"], c["place"], "Kinh", c["mother"], None, None]  # fmt: skip
        return [c["book"], c["entry"], dmy(c["reg"]), c["name"], c["sex"], dmy(c["dob"]),
                None, dmy(c["died"]), c["place"], "Già yếu"]  # fmt: skip

    def write(self) -> None:
        """Write what changed since the last write to the SQLite file and the inbox."""
        rows: dict[str, list] = {"births": [], "deaths": [], "marriages": []}
        for key in sorted(self._dirty):
            rec = self.records[key]
            rows[
                {"birth": "births", "death": "deaths", "marriage": "marriages"}[rec["type"]]
            ].append(self.modern_row(rec))
        write_modern_sqlite(self.sqlite, **rows)
        for name in sorted(self._dirty_files):
            sheets = self.files.get(name) or self.bad_files[name]
            book = openpyxl.Workbook()
            book.remove(book.active)
            for sheet, keys in sheets.items():
                ws = book.create_sheet(sheet)
                header = list(TEMPLATE[sheet])
                if name in self.bad_files:
                    header[-1] = "Ghi chú"  # not the template's last column
                ws.append(header)
                for k in keys:
                    ws.append(self.sheet_row(self.records[k]))
            book.save(self.inbox / name)
        self._dirty, self._dirty_files = set(), set()

    def readable(self) -> dict[str, Any]:
        """The content of every record a run can read today, by source key."""
        return {k: self.content(r) for k, r in self.records.items() if not r.get("pending")}

    def changed_since_read(self, district: str) -> set[str]:
        """The district's records whose content differs from the one last given a verdict."""
        prefix = f"{district}:"
        return {k for k, c in self.readable().items()
                if k.startswith(prefix) and self.last_read.get(k) != c}  # fmt: skip

    def mark_read(self, district: str) -> None:
        """The district's run finished: its records' contents are the ones read."""
        self.last_read |= {k: c for k, c in self.readable().items() if k.startswith(f"{district}:")}


def test_thirty_daily_runs_end_equal_to_one_run_from_scratch(tmp_path, national, embedded_pg):
    started = time.monotonic()
    src = DailySources(tmp_path / "sources", seed=20261101)
    src.add_modern(110, "2026-10-31 17:00:00")
    src.add_file(births=30, deaths=6)
    src.add_file(births=24, deaths=4)
    src.write()
    m931 = modern("931")
    w932 = District(code="932", name="Inbox 932", flavor=Flavor.WORKBOOK, inbox=src.inbox)
    districts, uris = [m931, w932], {"district_931": src.uri}
    # Two days of the thirty bring a fault of their own: the inbox share is not mounted,
    # and the register is in maintenance for the whole run.
    inbox_gone, register_down = 9, 17
    runs: dict[tuple[str, str], int] = {}
    incidents: list[tuple[int, str, Exception]] = []
    events: list[str] = []
    with register_server(src.people) as server:
        for day in range(1, 31):
            if day > 1:
                events += src.change(day)
                src.write()
            if day == inbox_gone:
                src.inbox.rename(src.inbox.with_name("inbox-unmounted"))
            if day == register_down:
                # Both districts have someone to look up that day.
                src.add_modern(1, f"2026-11-{day:02d} 09:00:00", clean=True)
                src.append_rows(sorted(src.files)[0], 1, clean=True)
                src.write()
                admin(server.base_url, "faults", {"outage_seconds": 600, "outage_retry_after": 600})
            ctx = run_context(
                national, tmp_path / "data", f"day-{day:02d}", run_date=date(2026, 11, day)
            )
            expected = {d.code: src.changed_since_read(d.code) for d in districts}
            with client_of(server, BUDGET) as client:
                out = run_districts(ctx, districts, uris, client)
            for d in districts:
                result = out[d.code]
                if isinstance(result, IncidentError):
                    incidents.append((day, d.code, result))
                    continue
                if isinstance(result, Exception):  # a bug, not a fault: its traceback
                    raise result
                assert result["extracted"] == len(expected[d.code]), (day, d.code)
                runs[(ctx.run_id, d.code)] = result["extracted"]
                src.mark_read(d.code)
            if day == inbox_gone:
                src.inbox.with_name("inbox-unmounted").rename(src.inbox)
            if day == register_down:
                admin(server.base_url, "faults", {"outage_seconds": 0})
        daily_s = time.monotonic() - started
        # One run from scratch over the final sources, in a fresh national database.
        with national_database(embedded_pg) as fresh:
            with client_of(server, BUDGET) as client:
                scratch = run_districts(run_context(fresh, tmp_path / "fresh", "scratch",
                                                    run_date=date(2026, 11, 30)),
                                        districts, uris, client)  # fmt: skip
            assert all(isinstance(v, dict) for v in scratch.values()), scratch
            keys = set(src.readable())
            assert sum(v["extracted"] for v in scratch.values()) == len(keys)
            check_verdicts(national, runs, keys)
            check_no_duplicates(national)
            check_no_duplicates(fresh)
            check_same_state(national, fresh, ["931", "932"])
            final = national_state_counts(fresh)
            # The seed made every kind of change happen, fixed records and duplicates included.
            kinds = ["931 +", "931 fix", "931 touch", "932 new", "(wrong headers)",
                     "932 headers fixed", "932 replaced", "932 fix", ".xlsx +"]  # fmt: skip
            assert [k for k in kinds if not any(k in e for e in events)] == []
            (fixed,) = query(national, "SELECT count(DISTINCT v.source_key) FROM recon.verdict v"
                             " JOIN recon.source_state s USING (source_key)"
                             " WHERE v.status <> 'loaded' AND s.last_status = 'loaded'")  # fmt: skip
            (dups,) = query(national, "SELECT count(*) FROM recon.verdict"
                            " WHERE 'DUPLICATE_ENTRY' = ANY(reasons)")  # fmt: skip
            assert fixed[0] > 0 and dups[0] > 0
    assert [(day, code) for day, code, _ in incidents] == [(9, "932"), (17, "931"), (17, "932")], (
        incidents
    )
    personal = sorted({v for c in src.readable().values() for f, v in c.items()
                       if f in ("name", "mother", "pid", "husband", "wife") and v})  # fmt: skip
    lines = [check_incident(incidents[0][2], "district_source_down", "932", "extract", personal)]
    assert "inbox folder" in lines[0]
    lines += [check_incident(e, "register_unavailable", c, "reconcile", personal)
              for _, c, e in incidents[1:]]  # fmt: skip
    print(f"\n[fault 5] {len(keys)} records at the end ({final}); {len(events)} changes over 30"
          f" days ({fixed[0]} records fixed, {dups[0]} duplicate-entry verdicts);"
          f" {sum(runs.values())} verdicts in {len(runs)} district runs; daily runs"
          f" {daily_s:.1f} s; wall {time.monotonic() - started:.1f} s\n  " + "\n  ".join(lines))  # fmt: skip


def national_state_counts(national: str) -> dict[str, int]:
    """How many records are loaded, in review and in quarantine (latest verdicts)."""
    rows = query(national, "SELECT status, count(*) FROM (SELECT DISTINCT ON (source_key) status"
                 " FROM recon.verdict ORDER BY source_key, processed_at DESC) v GROUP BY status")  # fmt: skip
    return dict(rows)
