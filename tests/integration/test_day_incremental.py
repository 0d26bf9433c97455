"""A day of the campaign read incrementally leaves what a full re-read leaves.

A small generated province (modern districts on PostgreSQL and SQLite, the legacy one on
the machine's MariaDB, a workbook inbox) is run once; a day of changes is made in every
district's source (``hotich_dev.day``: rows corrected and added, a workbook saved again, a
new file); the next run reads only what changed (the legacy district only the rows whose
server digest changed, decision 0020). Its national database then holds the same latest
verdicts, registrations, people and open lists as a fresh one after one run over the
changed sources.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from hotich import db
from hotich.config import District, load_districts
from hotich.model import Flavor
from hotich.register.client import PopulationClient
from hotich_dev.day import apply_day
from hotich_dev.run import read_env_file
from hotich_dev.simulator import BackgroundServer, create_app
from register_fixtures import CLIENT_ID, CLIENT_SECRET
from tests.integration.pipeline_kit import (
    check_same_state,
    generated_province,
    national_database,
    query,
    run_context,
    run_districts,
)

pytestmark = pytest.mark.slow
SCALE, SEED, CHANGES = 0.004, 20261203, 300


def test_a_day_read_incrementally_equals_a_full_re_read(tmp_path, embedded_pg, external_mariadb):
    prefix = f"hotich_day_{SEED}_"
    with generated_province(
        tmp_path / "province", embedded_pg, scale=SCALE, seed=SEED, prefix=prefix
    ) as province:
        env = read_env_file(province / "connections.env")
        districts = one_per_flavor_and_store(load_districts(province / "districts.yaml"), env)
        assert {d.flavor for d in districts} == set(Flavor), "every flavor in the province"
        uris = {d.conn_id: env[f"AIRFLOW_CONN_{d.conn_id.upper()}"] for d in districts if d.conn_id}
        legacy = next(d for d in districts if d.flavor is Flavor.LEGACY)
        assert uris[legacy.conn_id].startswith("mysql"), "the legacy district on MariaDB"
        app = create_app(province / "register.parquet", {CLIENT_ID: CLIENT_SECRET})
        with (
            BackgroundServer(app) as server,
            PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET) as register,
            national_database(embedded_pg) as national,
            national_database(embedded_pg) as reference,
        ):
            first = run_districts(
                run_context(national, tmp_path / "data", "run-1"), districts, uris, register
            )
            assert failed(first) == {}
            # Nothing changed: the legacy district sends no row over the network.
            idle = run_districts(
                run_context(national, tmp_path / "data", "run-2"), districts, uris, register
            )
            assert {c: v["extracted"] for c, v in idle.items()} == dict.fromkeys(idle, 0)
            assert idle[legacy.code]["read"] == 0

            codes = {d.code for d in districts}
            touched = {c: n for c, n in apply_day(province, CHANGES).items() if c in codes}
            twin = claim_an_entry_read_before(uris[districts[0].conn_id], districts[0].code)
            assert set(touched) == {d.code for d in districts} and all(touched.values())
            day = run_districts(
                run_context(national, tmp_path / "data", "run-3"), districts, uris, register
            )
            assert failed(day) == {}
            # The legacy district read the rows the day changed or added, not its table.
            assert day[legacy.code]["read"] == touched[legacy.code]
            assert day[legacy.code]["extracted"] == touched[legacy.code]
            for code, n in touched.items():
                assert day[code]["extracted"] >= n * 0.9, (code, n, day[code])

            (reasons,) = query(national, "SELECT reasons FROM recon.verdict WHERE source_key = :k"
                               " AND run_id = 'run-3'", k=twin)[0]  # fmt: skip
            assert "DUPLICATE_ENTRY" in reasons, "an entry claimed in an earlier run"

            full = run_districts(
                run_context(reference, tmp_path / "ref", "run-full"), districts, uris, register
            )
            assert failed(full) == {}
            check_same_state(national, reference, [d.code for d in districts])
            (kept,) = query(
                national,
                "SELECT count(*) FROM recon.source_digest WHERE district_code = :d",
                d=legacy.code,
            )[0]
            assert kept == full[legacy.code]["read"], "a digest for every legacy row"


def one_per_flavor_and_store(districts: list[District], env: dict[str, str]) -> list[District]:
    """The first district of each flavor and store (PostgreSQL, SQLite, MariaDB, workbook
    inbox): the others add validate calls (GX's fixed cost each), not coverage."""
    first: dict[tuple[Flavor, str], District] = {}
    for d in districts:
        uri = env.get(f"AIRFLOW_CONN_{d.conn_id.upper()}", "") if d.conn_id else ""
        first.setdefault((d.flavor, uri.split(":", 1)[0]), d)
    return list(first.values())


def claim_an_entry_read_before(uri: str, code: str) -> str:
    """A birth added to a modern district under the book entry of one read before; its
    source key (its entry is the earlier record's: DUPLICATE_ENTRY)."""
    engine = db.engine_for(uri)
    with engine.begin() as conn:
        top = conn.execute(text("SELECT max(id) FROM khai_sinh")).scalar_one()
        conn.execute(
            text("INSERT INTO khai_sinh (id, ma_so, so_dang_ky, ngay_dang_ky, ho_ten, gioi_tinh,"
                 " ngay_sinh, updated_at) SELECT :id, ma_so, so_dang_ky, ngay_dang_ky, ho_ten,"
                 " gioi_tinh, ngay_sinh, :now FROM khai_sinh WHERE id = (SELECT min(id) FROM"
                 " khai_sinh WHERE so_dang_ky IS NOT NULL)"),
            {"id": int(top) + 1000, "now": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")},
        )  # fmt: skip
    engine.dispose()
    return f"{code}:birth:{int(top) + 1000}"


def failed(out: dict) -> dict:
    """The districts of a run that failed, with why."""
    return {code: repr(v) for code, v in out.items() if not isinstance(v, dict)}
