"""Each ID and each match query asked once per run, across districts (decision 0015).

Two districts whose persons partly appear in both (a person born in one and married or
dead in the other), reconciled at the same time in two threads with a client each, over
the register simulator on loopback and a national database on the embedded PostgreSQL.
The simulator counts how often each ID and each query (folded name, sex, date) was asked.
"""

from __future__ import annotations

import collections
import threading
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from hotich import db, pipeline
from hotich.config import RegisterSettings
from hotich.model import CITIZEN_COLUMNS
from hotich.register.client import PopulationClient, RegisterUnavailable
from hotich.register.shared import SharedRegister, forget_run, purge, query_keys
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, admin, person, serve
from tests.integration.pipeline_kit import (
    birth,
    death,
    marriage,
    modern,
    national_database,
    query,
    run_context,
    write_modern_sqlite,
)

REGISTER = [
    person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa"),
    person("027317000002", "Trần Thị Mai", "Nữ", date(2017, 5, 5)),
    person("027050000003", "Đỗ Đức Độ", "Nam", date(1950, 3, 3), dead=date(2019, 4, 30)),
    person("027090000004", "Nguyễn Văn Bình", "Nam", date(1990, 1, 2)),
    person("027192000005", "Lê Thị Lan", "Nữ", date(1992, 2, 3), mother=""),
    person("027219000006", "Phạm Văn Cường", "Nam", date(2019, 2, 2)),
]


def sources(tmp_path: Path) -> dict[str, str]:
    """District 901 and 902: the same ID, the same ID-less persons (one spelled otherwise,
    folding alike) in both, and a few persons of one district only."""
    uri_901 = write_modern_sqlite(
        tmp_path / "901.sqlite",
        births=[
            birth(1, pid="027218000001"),
            birth(2, pid="027218999999"),
            birth(3, name="Trần Thị Mai", sex="Nữ", dob="2017-05-05", reg="2017-06-01"),
            birth(4, name="Phạm Văn Cường", dob="2019-02-02", reg="2019-03-01", mother=None),
        ],
        deaths=[death(11)],
        marriages=[marriage(21)],
    )
    uri_902 = write_modern_sqlite(
        tmp_path / "902.sqlite",
        births=[
            birth(1, book="902-KS-2018-01", pid="027218000001"),
            birth(2, book="902-KS-2018-01", pid="027218999999"),
            birth(
                3,
                book="902-KS-2017-01",
                name="TRẦN THỊ  MAI",
                sex="Nữ",
                dob="2017-05-05",
                reg="2017-06-01",
            ),  # fmt: skip
        ],
        deaths=[death(11, book="902-KT-2019-01")],
        marriages=[marriage(21, book="902-KH-2018-01", husband_id="027090000004")],
    )
    return {"district_901": uri_901, "district_902": uri_902}


def run_in_parallel(ctx: pipeline.RunContext, uris: dict[str, str], base_url: str) -> dict:
    """Extract and validate both districts, reconcile them at once (a thread and a client
    each, as two worker processes would), load both; the reconcile summaries."""
    districts = [modern("901"), modern("902")]
    pipeline.prepare_database(ctx)
    for d in districts:
        pipeline.extract_district(ctx, d, uris.__getitem__)
        pipeline.validate_district(ctx, d.code)
    out: dict[str, dict | BaseException] = {}
    start = threading.Barrier(len(districts))

    def reconcile(code: str) -> None:
        try:
            with PopulationClient(base_url, CLIENT_ID, CLIENT_SECRET) as client:
                start.wait(timeout=30)
                out[code] = pipeline.reconcile_district(ctx, code, client)
        except BaseException as exc:  # noqa: BLE001 - raised below, in the test's thread
            out[code] = exc

    threads = [threading.Thread(target=reconcile, args=(d.code,)) for d in districts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for code, result in out.items():
        if isinstance(result, BaseException):
            raise AssertionError(f"district {code} failed") from result
    for d in districts:
        pipeline.load_district(ctx, d.code)
    return out


def execute(national: str, sql: str, **params) -> None:
    """One statement on the national database, committed."""
    engine = db.engine_for(national)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def ledger(national: str, run_id: str) -> dict[str, tuple]:
    rows = query(national, "SELECT source_key, status, reasons, personal_id FROM recon.ledger"
                           " WHERE run_id = :r", r=run_id)  # fmt: skip
    return {k: (s, sorted(r), p) for k, s, r, p in rows}


@pytest.fixture
def simulator():
    with serve(RegisterIndex(load_register(pd.DataFrame(REGISTER)))) as server:
        yield server


def asks(server) -> dict[str, dict[str, int]]:
    return server.app.state.simulator.ask_counts()


def test_each_id_and_query_asked_once_across_parallel_districts(tmp_path, embedded_pg, simulator):
    uris = sources(tmp_path)
    with national_database(embedded_pg) as national:
        ctx = run_context(national, tmp_path / "shared", "run-once")
        out = run_in_parallel(ctx, uris, simulator.base_url)
        once = asks(simulator)
        shared_ledger = ledger(national, "run-once")
        left = query(national, "SELECT count(*) FROM recon.register_ask WHERE answered_at IS NULL")
        pipeline.forget_register_answers(ctx)
        kept = query(national, "SELECT (SELECT count(*) FROM recon.register_ask)"
                               " + (SELECT count(*) FROM recon.register_answer)")  # fmt: skip
    # Every ID and every query asked exactly once in the run.
    assert once["ids"]["repeated"] == 0 and once["queries"]["repeated"] == 0
    assert once["ids"]["asked"] == once["ids"]["distinct"] == 3  # two given, one in 902 only
    assert once["queries"]["asked"] == once["queries"]["distinct"]
    stats = [r["register_shared"] for r in out.values()]
    assert sum(s["ids_asked"] for s in stats) == 3
    assert sum(s["ids_shared"] for s in stats) == 2  # the ID and the unknown ID of both
    assert sum(s["queries_shared"] for s in stats) >= 3  # Mai (spelled otherwise), Độ, Lan
    assert sum(s["taken_over"] + s["asked_unclaimed"] for s in stats) == 0
    assert left == [(0,)] and kept == [(0,)]  # all answered; then gone with the run

    # The same run without the store: each shared person asked twice, the same ledger.
    admin(simulator.base_url, "reset-stats", {})
    with national_database(embedded_pg) as national:
        ctx = run_context(national, tmp_path / "alone", "run-once",
                          register=RegisterSettings(share_answers=False))  # fmt: skip
        run_in_parallel(ctx, uris, simulator.base_url)
        twice = asks(simulator)
        alone_ledger = ledger(national, "run-once")
    assert twice["ids"]["repeated"] == 2 and twice["queries"]["repeated"] >= 3
    assert shared_ledger == alone_ledger
    assert len(shared_ledger) == 11
    assert shared_ledger["902:birth:3"] == ("loaded", ["LINKED"], "027317000002")


def store(national: str, ctx: pipeline.RunContext, code: str, client, **settings) -> SharedRegister:
    return SharedRegister(
        client,
        lambda: pipeline.connect(ctx),
        ctx.settings.sql_dir,
        ctx.run_id,
        code,
        RegisterSettings(**settings),
    )


def test_a_stale_claim_is_taken_over_and_a_failed_ask_gives_its_claims_back(
    tmp_path, national, simulator
):
    ctx = run_context(national, tmp_path, "run-stale")
    pipeline.prepare_database(ctx)
    # District 999's task claimed two IDs, then died without answering.
    execute(national, "INSERT INTO recon.register_ask (run_id, kind, ask_key, claimed_by)"
                      " VALUES ('run-stale', 'id', '027218000001', '999'),"
                      " ('run-stale', 'id', '027317000002', '999')")  # fmt: skip
    with PopulationClient(simulator.base_url, CLIENT_ID, CLIENT_SECRET) as client:
        with store(national, ctx, "901", client, answer_wait_s=0.5, answer_poll_s=0.1) as s:
            found, missing = s.batch_get(["027218000001", "027317000002", "027050000003"])
        assert sorted(found["so_dinh_danh"]) == ["027050000003", "027218000001", "027317000002"]
        assert missing == set()
        assert s.stats.taken_over == 2 and s.stats.ids_asked == 3
        # Read back from the store, another district gets the same answers, asking nothing.
        with store(national, ctx, "902", client) as other:
            again, missing = other.batch_get(["027218000001", "027192000005", "027999999999"])
        assert other.stats.ids_shared == 1 and other.stats.ids_asked == 2
        assert missing == {"027999999999"}
        lan = again.set_index("so_dinh_danh").loc["027192000005"]
        assert lan["ho_ten_me"] == "" and lan["ngay_chet"] is None  # '' is not NULL
        # The register goes down while 903 asks: its claims are given back, not left.
        admin(simulator.base_url, "faults", {"outage_seconds": 60, "outage_retry_after": None})
        quick = PopulationClient(simulator.base_url, CLIENT_ID, CLIENT_SECRET,
                                 RegisterSettings(max_retries=0))  # fmt: skip
        with quick, store(national, ctx, "903", quick) as s3, pytest.raises(RegisterUnavailable):
            s3.match(pd.DataFrame({"ref": ["q0"], "ho_ten": ["Đỗ Đức Độ"],
                                   "gioi_tinh": ["Nam"], "ngay_sinh": ["1950-03-03"]}))  # fmt: skip
        admin(simulator.base_url, "faults", {"outage_seconds": 0})
    assert query(national, "SELECT count(*) FROM recon.register_ask WHERE claimed_by = '903'") == [
        (0,)
    ]


def test_a_task_waiting_for_a_live_claim_writes_nothing_until_it_goes_stale(
    tmp_path, national, simulator
):
    """Waiting reads the store (waiting.sql): trying to claim a key another district holds
    would lock its row (a lock-only xmax) on every poll, and take the store's lock."""
    ctx = run_context(national, tmp_path, "run-wait")
    pipeline.prepare_database(ctx)
    execute(national, "INSERT INTO recon.register_ask (run_id, kind, ask_key, claimed_by)"
                      " VALUES ('run-wait', 'id', '027218000001', '999')")  # fmt: skip
    xmax = "SELECT xmax::text, claimed_by FROM recon.register_ask WHERE run_id = 'run-wait'"
    with PopulationClient(simulator.base_url, CLIENT_ID, CLIENT_SECRET) as client:
        with store(national, ctx, "901", client, answer_wait_s=1.5, answer_poll_s=0.05) as s:
            out: dict[str, object] = {}
            waiter = threading.Thread(
                target=lambda: out.update(found=s.batch_get(["027218000001"])[0])
            )
            waiter.start()
            # Its first claim locked the row (the conflict) once; polls lock it no more.
            time.sleep(0.4)
            first = query(national, xmax)
            time.sleep(0.6)  # about 12 polls, all before the claim goes stale
            later = query(national, xmax)
            waiter.join(timeout=30)
        assert not waiter.is_alive()
    assert first == later and later[0][1] == "999"
    assert s.stats.taken_over == 1
    assert list(out["found"]["so_dinh_danh"]) == ["027218000001"]  # type: ignore[index]


def test_answered_keys_are_found_by_the_primary_key_in_a_large_run(tmp_path, national):
    """A chunk marked answered finds its keys by the index, not by scanning the run's
    claims (quadratic in the run's keys: the planner did so for a joined key table)."""
    ctx = run_context(national, tmp_path, "run-large")
    pipeline.prepare_database(ctx)
    execute(national, "INSERT INTO recon.register_ask (run_id, kind, ask_key, claimed_by)"
                      " SELECT 'run-large', 'id', (100000000000 + g)::text, '901'"
                      " FROM generate_series(1, 200000) g")  # fmt: skip
    execute(national, "ANALYZE recon.register_ask")
    sql = (ctx.settings.sql_dir / "register" / "answered.sql").read_text(encoding="utf-8")
    keys = [str(100000000000 + g) for g in range(1, 200001, 20)]
    conn = pipeline.connect(ctx)
    try:
        with conn.cursor() as cur:
            cur.execute("EXPLAIN " + sql, {"run_id": "run-large", "kind": "id",
                                           "claimed_by": "901", "keys": keys})  # fmt: skip
            plan = "\n".join(r[0] for r in cur.fetchall())
    finally:
        conn.rollback()
        conn.close()
    assert "on register_ask_pkey" in plan, plan[:400]  # an index or bitmap index scan
    assert "Seq Scan" not in plan


def test_query_keys_fold_the_name_and_keep_sex_and_date():
    q = pd.DataFrame({"ho_ten": ["Trần Thị Mai", "TRẦN THỊ  MAI", "Tran Thi Mai", "Trần Thị Mai"],
                      "gioi_tinh": ["Nữ", "Nữ", "Nữ", "Nam"],
                      "ngay_sinh": ["2017-05-05", "2017-05-05", "2017", "2017-05-05"]})  # fmt: skip
    keys = query_keys(q).tolist()
    assert keys[0] == keys[1] == "tran thi mai\x1fNữ\x1f2017-05-05"
    assert len(set(keys)) == 3


def test_the_run_forgets_its_answers_and_the_plan_purges_what_old_runs_left(tmp_path, national):
    ctx = run_context(national, tmp_path, "run-new")
    pipeline.prepare_database(ctx)
    for run, age in (("run-old", "7 hours"), ("run-recent", "1 minute"), ("run-new", "0")):
        execute(national, "INSERT INTO recon.register_ask (run_id, kind, ask_key, claimed_by,"
                          " claimed_at) VALUES (:r, 'id', '027218000001', '901',"
                          " now() - CAST(:a AS interval))", r=run, a=age)  # fmt: skip
        execute(national, "INSERT INTO recon.register_answer (run_id, kind, ask_key,"
                          " so_dinh_danh, written_at) VALUES (:r, 'id', '027218000001',"
                          " '027218000001', now() - CAST(:a AS interval))", r=run, a=age)  # fmt: skip
    pipeline.purge_register_answers(ctx)  # run timeout 360 minutes: run-old goes
    runs = "SELECT DISTINCT run_id FROM recon.{} ORDER BY 1"
    assert query(national, runs.format("register_ask")) == [("run-new",), ("run-recent",)]
    assert query(national, runs.format("register_answer")) == [("run-new",), ("run-recent",)]
    with pipeline.connect(ctx) as conn, conn.cursor() as cur:
        forget_run(cur, ctx.settings.sql_dir, "run-new")
        purge(cur, ctx.settings.sql_dir, "run-new", 0)  # nothing of a run is too recent at 0
    conn.close()
    assert query(national, runs.format("register_ask")) == []


def test_the_connection_uri_may_turn_sharing_off():
    from urllib.parse import quote

    login = f"{quote(CLIENT_ID)}:{quote(CLIENT_SECRET, safe='')}"
    uri = f"http://{login}@127.0.0.1:8800?share_answers=false&answer_wait_s=5"
    with PopulationClient.from_uri(uri) as client:
        assert client.settings.share_answers is False and client.settings.answer_wait_s == 5.0


def test_a_key_asked_for_an_earlier_chunk_is_read_back_not_asked_again(
    tmp_path, national, simulator
):
    """The reconcile step asks a chunk of records at a time: an ID or query the district
    repeats in a later chunk comes from the store (``read_again``), not the register."""
    ctx = run_context(national, tmp_path, "run-again")
    pipeline.prepare_database(ctx)
    mai = pd.DataFrame({"ref": ["q0"], "ho_ten": ["Trần Thị Mai"], "gioi_tinh": ["Nữ"],
                        "ngay_sinh": ["2017-05-05"]})  # fmt: skip
    with PopulationClient(simulator.base_url, CLIENT_ID, CLIENT_SECRET) as client:
        with store(national, ctx, "901", client) as s:
            first, _ = s.batch_get(["027218000001", "027999999999"])
            first_match = s.match(mai)
            before = asks(simulator)
            again, missing = s.batch_get(["027218000001", "027999999999", "027317000002"])
            again_match = s.match(mai.assign(ref="q7"))
            after = asks(simulator)
    assert sorted(again["so_dinh_danh"]) == ["027218000001", "027317000002"]
    assert missing == {"027999999999"}
    assert again_match.drop(columns="ref").equals(first_match.drop(columns="ref"))
    assert set(again_match["ref"]) == {"q7"} and len(first_match) == 1
    assert s.stats.read_again == 3 and s.stats.ids_shared == 0 and s.stats.queries_shared == 0
    assert s.stats.ids_asked == 3 and s.stats.queries_asked == 1
    assert after["ids"]["asked"] - before["ids"]["asked"] == 1  # only the new ID
    assert after["queries"]["asked"] == before["queries"]["asked"]


class EveryId:
    """A register that knows every ID it is asked, and counts the asks (no HTTP: the
    store is under test)."""

    def __init__(self) -> None:
        self.asked: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def batch_get(self, ids: list[str]) -> tuple[pd.DataFrame, set[str]]:
        with self._lock:
            self.asked.update(ids)
        found = pd.DataFrame({c: [None] * len(ids) for c in CITIZEN_COLUMNS}, dtype=object)
        found["so_dinh_danh"] = list(ids)
        return found, set()


def test_districts_claiming_and_answering_overlapping_keys_do_not_deadlock(tmp_path, national):
    """Four districts share most of their IDs and write their answers in small chunks
    while the others claim: a claim locks the rows it conflicts with, an answer marks its
    own rows, and no order of the two may deadlock (seen at scale 1.0 before the store's
    statements were serialized per run)."""
    ctx = run_context(national, tmp_path, "run-busy")
    pipeline.prepare_database(ctx)
    universe = [f"027{n:09d}" for n in range(6_000)]
    errors: list[BaseException] = []

    def district(code: str, seed: int, run_id: str, register: EveryId) -> None:
        keys = pd.Series(universe).sample(frac=0.7, random_state=seed).tolist()
        settings = {"answer_chunk": 50, "answer_poll_s": 0.05, "answer_wait_s": 2.0}
        run = run_context(national, tmp_path, run_id)
        try:
            with store(national, run, code, register, **settings) as s:
                found, missing = s.batch_get(keys)
            assert sorted(found["so_dinh_danh"]) == sorted(keys) and missing == set()
        except BaseException as exc:  # noqa: BLE001 - reported below, with its district
            errors.append(exc)

    for round_ in range(3):
        register = EveryId()
        threads = [threading.Thread(target=district, args=(f"90{i}", 10 * round_ + i,
                                                           f"run-busy-{round_}", register))
                   for i in range(4)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a district task hangs"
        assert errors == []
        # Each ID asked once in the run, whichever district asked it.
        assert set(register.asked.values()) == {1} and len(register.asked) > 5_000


class SlowEveryId(EveryId):
    """:class:`EveryId` that takes ``seconds`` over each batch."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def batch_get(self, ids: list[str]) -> tuple[pd.DataFrame, set[str]]:
        time.sleep(self.seconds)
        return super().batch_get(ids)


def test_a_district_asking_longer_than_the_wait_keeps_its_claims(tmp_path, national):
    """District 901 asks 6 chunks of 0.25 s (1.5 s) with claims stale after 0.6 s: it
    confirms them while it asks, so district 902, waiting for the same IDs, takes none
    over and every ID is asked once."""
    ctx = run_context(national, tmp_path, "run-slow")
    pipeline.prepare_database(ctx)
    keys = [f"027{n:09d}" for n in range(60)]
    register = SlowEveryId(0.25)
    settings = {"answer_chunk": 10, "answer_wait_s": 0.6, "answer_poll_s": 0.05}
    with store(national, ctx, "901", register, **settings) as first:
        slow = threading.Thread(target=first.batch_get, args=(keys,))
        slow.start()
        time.sleep(0.1)  # 901 has claimed them all and asks its first chunk
        with store(national, ctx, "902", register, **settings) as second:
            found, _ = second.batch_get(keys)
        slow.join(timeout=30)
    assert not slow.is_alive()
    assert second.stats.taken_over == 0 and second.stats.ids_shared == 60
    assert sorted(found["so_dinh_danh"]) == keys
    assert set(register.asked.values()) == {1}
