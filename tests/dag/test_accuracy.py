"""Accuracy on a synthetic province at scale 0.05 (about 55,000 records), every flavor and
store: the ledger against the generator's ground truth, which its own oracle computed
from the contract independently of the pipeline.

The targets are issue 7's: status agreement ≥ 99.9 %, precision and recall of every reason
code ≥ 99.5 %, and, for persons without an ID, the pipeline's link verdict and linked ID
equal to the rule's for every person (the rule is deterministic).
"""

from __future__ import annotations

import pandas as pd
import pytest

from hotich import db, pipeline
from hotich.config import load_districts
from hotich.model import LINK_AMBIGUOUS, LINK_NONE, LINKED, code_list
from hotich.register.client import PopulationClient
from hotich_dev.accuracy import read_ledger, score
from hotich_dev.run import read_env_file
from hotich_dev.simulator import BackgroundServer, create_app
from register_fixtures import CLIENT_ID, CLIENT_SECRET
from tests.conftest import reachable
from tests.integration.pipeline_kit import (
    generated_province,
    national_database,
    run_context,
    run_district,
)

pytestmark = pytest.mark.slow
SCALE, SEED = 0.05, 20261125


@pytest.fixture(scope="module")
def province(tmp_path_factory, embedded_pg):
    out = tmp_path_factory.mktemp("province")
    prefix = f"hotich_acc_{SEED}_"
    with generated_province(out, embedded_pg, scale=SCALE, seed=SEED, prefix=prefix) as province:
        yield province


@pytest.fixture(scope="module")
def first_run(province, embedded_pg, tmp_path_factory):
    uris = read_env_file(province / "connections.env")
    app = create_app(province / "register.parquet", {CLIENT_ID: CLIENT_SECRET})
    with BackgroundServer(app) as server, national_database(embedded_pg) as national:
        with PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET) as client:
            # The persons' verdicts are read back below: keep the work files a while.
            ctx = run_context(
                national, tmp_path_factory.mktemp("work"), "accuracy-run", work_retention_hours=1
            )
            for district in load_districts(province / "districts.yaml"):
                key = f"AIRFLOW_CONN_{district.conn_id.upper()}" if district.conn_id else ""
                run_district(ctx, district, {district.conn_id: uris.get(key, "")}, client)
            persons = pd.concat(
                [
                    pd.read_parquet(ctx.workdir(d.code) / "persons.parquet")
                    for d in load_districts(province / "districts.yaml")
                ],
                ignore_index=True,
            )
        conn = pipeline.connect(ctx)
        try:
            ledger = read_ledger(conn, "accuracy-run")
        finally:
            conn.close()
    return ledger, persons


def test_ledger_agrees_with_ground_truth(province, first_run):
    ledger, _ = first_run
    truth = pd.read_parquet(province / "truth.parquet")
    result = score(ledger, truth)
    print("\n" + result.table())
    assert result.records == len(truth) > 40_000
    assert result.missing == 0 and result.extra == 0
    assert result.status_agreement >= 0.999
    low = result.per_code[
        (result.per_code["precision"] < 0.995) | (result.per_code["recall"] < 0.995)
    ]
    assert low.empty, low.to_string()
    # Every code of the contract is exercised by the generator.
    assert len(result.per_code) == 19


def test_every_person_without_an_id_is_linked_as_the_rule_says(province, first_run):
    _, persons = first_run
    truth = pd.read_parquet(province / "truth_persons.parquet")
    truth = truth[~truth["gives_id"] & truth["link_verdict"].notna()]
    got = persons.assign(
        link_verdict=persons["reasons"].map(
            lambda r: next(
                (c for c in (LINKED, LINK_AMBIGUOUS, LINK_NONE) if c in code_list(r)), None
            )
        )
    )
    joined = truth.merge(got, on=["source_key", "role"], how="left", suffixes=("_truth", ""))
    verdict_diff = joined[joined["link_verdict_truth"] != joined["link_verdict"]]
    assert verdict_diff.empty, verdict_diff[
        ["source_key", "role", "link_verdict_truth", "link_verdict"]
    ].head(20)
    linked = joined[joined["link_verdict"] == LINKED]
    id_diff = linked[linked["linked_id"] != linked["loaded_personal_id"]]
    assert id_diff.empty, f"{len(id_diff)} persons linked to another citizen than the rule's"
    assert len(linked) > 1000 and (joined["link_verdict"] == LINK_AMBIGUOUS).sum() > 50


def test_hard_cases_are_present_at_density(province):
    truth = pd.read_parquet(province / "truth_persons.parquet")
    linked = truth[truth["link_verdict"] == LINKED]
    assert (linked["name_level"] == "folded").sum() > 10
    assert (linked["name_level"] == "slip").sum() > 10
    assert (linked["date_level"] == "swapped").sum() > 10
    assert linked["corroborated"].fillna(False).astype(bool).sum() > 100


def test_sources_in_every_store(province):
    uris = read_env_file(province / "connections.env").values()
    assert any(u.startswith("sqlite") for u in uris)
    assert any(u.startswith("postgresql") for u in uris)
    if reachable("127.0.0.1", 3306):
        assert any(u.startswith("mysql") for u in uris)
    assert db.masked(next(iter(uris)))
