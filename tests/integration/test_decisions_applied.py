"""Decisions stored through the desk's data layer and applied by the next run, as the
contract's table says (docs/ledger.md, Decisions): real PostgreSQL, a real register over
HTTP, the pipeline's own stages."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from hotich import desk, pipeline
from hotich.db import pg_connect
from hotich.decisions import Decision, DecisionRefused, Proposed
from register_fixtures import person, register_client
from tests.integration.pipeline_kit import query, run_context, run_district
from tests.integration.test_pipeline import EXPECTED_901, REGISTER, district_901, ledger
from tests.integration.test_pipeline import register as register  # noqa: F401 - fixture


def waiting(national: str) -> dict[tuple[str, str], tuple]:
    rows = query(national, "SELECT source_key, role, kind, decided FROM recon.waiting_person")
    return {(k, r): (kind, d) for k, r, kind, d in rows}


def decide(national: str, key: str, role: str, proposed: Proposed, who: str = "officer1") -> int:
    conn = pg_connect(national)
    try:
        with conn, conn.cursor() as cur:
            hashes = query(national, "SELECT content_hash FROM recon.source_state"
                           " WHERE source_key = :k", k=key)  # fmt: skip
            content_hash = hashes[0][0]
            return desk.decide(cur, source_key=key, role=role, proposed=proposed, who=who,
                               content_hash=content_hash, register_snapshot={"shown": True})  # fmt: skip
    finally:
        conn.close()


def test_the_next_run_applies_decisions_and_finds_a_changed_record_stale(
    tmp_path, national, register
):
    district, uris = district_901(tmp_path)
    run_district(run_context(national, tmp_path / "data", "run-1"), district, uris, register)
    assert ledger(national, "run-1") == EXPECTED_901
    # Who waits: the given ID in review, and the persons loaded without an ID.
    assert waiting(national) == {
        ("901:birth:2", "subject"): ("given_id_in_review", False),
        ("901:death:12", "subject"): ("link_none", False),
        ("901:marriage:21", "husband"): ("link_none", False),
        ("901:marriage:21", "wife"): ("link_none", False),
    }

    # What the contract does not allow is refused before anything is stored.
    with pytest.raises(DecisionRefused, match="not allowed"):
        decide(national, "901:death:12", "subject", Proposed(Decision.CONFIRM, "x"))
    with pytest.raises(DecisionRefused, match="waits for no decision"):
        decide(national, "901:birth:1", "subject", Proposed(Decision.CONFIRM, "x"))
    confirmed = decide(national, "901:birth:2", "subject",
                       Proposed(Decision.CONFIRM, "giấy khai sinh gốc khớp; sổ đăng ký chậm"))  # fmt: skip
    returned = decide(
        national,
        "901:marriage:21",
        "husband",
        Proposed(Decision.RETURN, "thiếu ngày sinh", note="Kiểm tra lại ngày sinh của chồng"),
    )
    # A decision made, then the record changes at the source before the next run.
    first = decide(national, "901:death:12", "subject",
                   Proposed(Decision.LINK, "cùng người", personal_id="027050000003"))  # fmt: skip
    superseding = decide(national, "901:death:12", "subject", Proposed(Decision.RETURN, "không chắc", note="Kiểm tra tên"))  # fmt: skip
    con = sqlite3.connect(tmp_path / "901.sqlite")
    con.execute(
        "UPDATE khai_tu SET noi_chet = 'Từ Sơn', updated_at = '2026-11-22 08:00:00' WHERE id = 12"
    )
    con.commit()
    con.close()

    out = run_district(run_context(national, tmp_path / "data", "run-2"), district, uris, register)
    assert out["decisions"] == {"applied": 2, "stale": 1}
    assert ledger(national, "run-2") == {
        "901:birth:2": ("loaded", ["DECIDED"], "027218999999"),
        "901:marriage:21": ("quarantined", ["RETURNED"], None),
        # Changed content: processed afresh by the rules, the decision no longer applies.
        "901:death:12": ("loaded", ["LINK_NONE"], None),
    }
    outcomes = dict(query(national, "SELECT decision_id, outcome FROM recon.decision_outcome"))
    assert outcomes == {confirmed: "applied", returned: "applied", superseding: "stale"}
    assert first not in outcomes  # superseded before any run: never applied
    # The confirmed record is loaded now, with its given ID; the returned marriage keeps
    # its last loaded version and goes onto the district's list with the note.
    assert query(national, "SELECT personal_id, id_origin FROM civil.person"
                 " WHERE source_key = '901:birth:2'") == [("027218999999", "given")]  # fmt: skip
    assert query(national, "SELECT count(*) FROM civil.registration"
                 " WHERE source_key = '901:marriage:21'") == [(1,)]  # fmt: skip
    assert query(national, "SELECT reasons FROM recon.quarantine WHERE closed_at IS NULL"
                 " AND source_key = '901:marriage:21'") == [(["RETURNED"],)]  # fmt: skip
    assert query(national, "SELECT count(*) FROM recon.review WHERE closed_at IS NULL") == [(0,)]
    assert waiting(national) == {("901:death:12", "subject"): ("link_none", False)}
    actions = query(national, "SELECT who, action, source_key FROM recon.access_log"
                    " WHERE action = 'decide' ORDER BY access_id")  # fmt: skip
    assert [a[2] for a in actions] == [
        "901:birth:2",
        "901:marriage:21",
        "901:death:12",
        "901:death:12",
    ]

    # Nothing changed since: the third run writes nothing, and applies nothing twice.
    out3 = run_district(run_context(national, tmp_path / "data", "run-3"), district, uris, register)
    assert ledger(national, "run-3") == {} and not out3["decisions"]


def test_rereconciliation_writes_rows_only_where_the_register_now_says_otherwise(
    tmp_path, national, register
):
    district, uris = district_901(tmp_path)
    run_district(run_context(national, tmp_path / "data", "run-1"), district, uris, register)
    # Nothing changed in the register: asking again writes nothing.
    same = pipeline.recheck_district(
        run_context(national, tmp_path / "data", "recheck-0"), "901", register
    )
    assert same["rechecked"] == 3 and ledger(national, "recheck-0") == {}
    # The register issued the ID birth 2 gives; the ID-less persons still fit nobody.
    issued = person("027218999999", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa")
    with register_client([*REGISTER, issued]) as caught_up:
        ctx = run_context(national, tmp_path / "data", "recheck-1")
        out = pipeline.recheck_district(ctx, "901", caught_up)
        assert ledger(national, "recheck-1") == {"901:birth:2": ("loaded", [], "027218999999")}
        assert out["rechecked"] == 3 and out["loaded"] == 1
        assert query(
            national, "SELECT personal_id FROM civil.person WHERE source_key = '901:birth:2'"
        ) == [("027218999999",)]
        assert ("901:birth:2", "subject") not in waiting(national)
        again = pipeline.recheck_district(
            run_context(national, tmp_path / "data", "recheck-2"), "901", caught_up
        )
        assert again["rechecked"] == 2 and ledger(national, "recheck-2") == {}
    # The lease went back with each commit: the daily run takes the district as before.
    out = run_district(run_context(national, tmp_path / "data", "run-2"), district, uris, register)
    assert out["extracted"] == 0
