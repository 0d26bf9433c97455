"""hotich against what a province would write instead, on the same generated data.

    .venv/bin/python benchmarks/bench_compare.py pipeline --scale 0.05   # 1. naive pipeline
    .venv/bin/python benchmarks/bench_compare.py linkage --persons 10000 # 2. vs Splink 5
    .venv/bin/python benchmarks/bench_compare.py validate --scale 0.05   # 3. GX / pandas / SQL
    .venv/bin/python benchmarks/bench_compare.py load --rows 50000       # 4. COPY vs the rest
    .venv/bin/python benchmarks/bench_compare.py all

Splink is a bench-only dependency: ``make bench-compare`` (or
``.venv/bin/uv pip install -p .venv/bin/python -r benchmarks/requirements.txt``) installs
it. Each section prints its table with the ratios and appends it to
``benchmarks/RESULTS.md`` with the machine's load average; ``benchmarks/COMPARE.md`` says
what each comparison means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import append, load_average  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


# --- 1. the naive pipeline ------------------------------------------------------------------
def generated(scale: float, seed: int, server: str, out: Path | None = None) -> Path:
    """The synthetic province at ``scale`` (its server districts on ``server``), generated
    once into ``out`` (default ``benchmarks/out/compare-<scale>``) and reused after."""
    out = out or OUT / f"compare-{scale:g}"
    if not (out / "truth.parquet").exists():
        from hotich_dev.synth.province import generate

        generate(
            scale=scale,
            seed=seed,
            out=out,
            pg_url=server,
            mariadb_url=None,
            db_prefix=f"hotich_cmp_{str(scale).replace('.', '_')}_",
        )
    return out


def modern_districts(
    province: Path, only: list[str] | None = None
) -> tuple[list[Any], dict[str, str]]:
    """The province's ``modern`` districts (``only`` these codes, if given) and every
    connection URI of its env file."""
    from hotich.config import load_districts
    from hotich.model import Flavor
    from hotich_dev.run import read_env_file

    uris = read_env_file(province / "connections.env")
    districts = [
        d
        for d in load_districts(province / "districts.yaml")
        if d.flavor is Flavor.MODERN and (only is None or d.code in only)
    ]
    return districts, uris


def run_hotich(
    province: Path,
    national: str,
    register_uri: str,
    run_id: str,
    run_date: dt.date,
    work: Path,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """hotich's stages over the province's modern districts, one after another in this
    process (as the naive run goes); seconds per stage."""
    from hotich import pipeline
    from hotich.config import Settings
    from hotich.register.client import PopulationClient

    districts, uris = modern_districts(province, only)
    ctx = pipeline.RunContext(
        run_id=run_id,
        run_date=run_date,
        settings=Settings(data_dir=work, migrate_on_run=True),
        civil_status_uri=national,
    )
    seconds = dict.fromkeys(("prepare", "extract", "validate", "reconcile", "load"), 0.0)
    t0 = time.monotonic()
    pipeline.prepare_database(ctx)
    seconds["prepare"] = time.monotonic() - t0
    requests = 0
    for d in districts:
        t0 = time.monotonic()
        pipeline.extract_district(ctx, d, lambda c: uris[f"AIRFLOW_CONN_{c.upper()}"])
        t1 = time.monotonic()
        seconds["extract"] += t1 - t0
        pipeline.validate_district(ctx, d.code)
        t2 = time.monotonic()
        seconds["validate"] += t2 - t1
        with PopulationClient.from_uri(register_uri) as client:
            pipeline.reconcile_district(ctx, d.code, client)
            requests += client.stats.as_dict()["requests"]
        t3 = time.monotonic()
        seconds["reconcile"] += t3 - t2
        pipeline.load_district(ctx, d.code)
        seconds["load"] += time.monotonic() - t3
    return {"seconds": seconds, "register_requests": requests}


def _side(which: str, args: tuple) -> tuple[float, dict[str, Any]]:
    """One side of the race in a fresh process: wall seconds from its start (imports
    included), and what it returned."""
    t0 = time.monotonic()
    if which == "hotich":
        out = run_hotich(*args)
    else:
        import naive_pipeline

        out = naive_pipeline.run_naive(*args)
    return time.monotonic() - t0, out


def in_fresh_process(which: str, args: tuple) -> tuple[float, float, dict[str, Any]]:
    """(wall from the parent incl. the process start, wall in the child, result)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.monotonic()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        inner, out = pool.submit(_side, which, args).result()
    return time.monotonic() - t0, inner, out


def in_this_process(which: str, args: tuple) -> tuple[float, float, dict[str, Any]]:
    """:func:`in_fresh_process` without the fresh process (imports already paid)."""
    inner, out = _side(which, args)
    return inner, inner, out


def agreement(hotich: pd.DataFrame, naive: pd.DataFrame) -> dict[str, Any]:
    """How the two ledgers agree, record by record (status, reasons, personal_id)."""
    h = hotich[["source_key", "status", "reasons", "personal_id"]].set_index("source_key")
    n = naive[["source_key", "status", "reasons", "personal_id"]].set_index("source_key")
    both = h.join(n.add_suffix("_n"), how="outer").rename(columns={c: f"{c}_h" for c in h.columns})
    present = both["status_h"].notna() & both["status_n"].notna()
    b = both[present]
    status = b["status_h"] == b["status_n"]
    reasons = b["reasons_h"].map(lambda r: tuple(sorted(r))) == b["reasons_n"].map(
        lambda r: tuple(sorted(r))
    )
    pid = b["personal_id_h"].fillna("") == b["personal_id_n"].fillna("")
    same = status & reasons & pid
    differ = b[~same].reset_index()
    for c in ("personal_id_h", "personal_id_n"):  # never a full personal ID in a log
        differ[c] = differ[c].map(lambda v: f"{v[:3]}*******{v[-3:]}" if isinstance(v, str) else v)
    return {
        "records": len(both),
        "only_hotich": int((both["status_n"].isna()).sum()),
        "only_naive": int((both["status_h"].isna()).sum()),
        "status": float(status.mean()) if len(b) else 1.0,
        "reasons": float(reasons.mean()) if len(b) else 1.0,
        "personal_id": float(pid.mean()) if len(b) else 1.0,
        "differ": differ,  # the records that differ, personal IDs masked
    }


def race_pipeline(
    province: Path,
    server: str,
    work: Path,
    run_date: dt.date | None = None,
    quota: float | None = None,
    db_prefix: str = "hotich_cmp",
    only: list[str] | None = None,
    fresh_processes: bool = True,
) -> dict[str, Any]:
    """hotich and the naive pipeline over the province's modern districts, each into its
    own fresh national database (``<db_prefix>_hotich``, ``<db_prefix>_naive``), against
    one register simulator (``quota``: its requests per second per client, off by
    default); times and agreement. ``only``: these district codes of them;
    ``fresh_processes=False`` runs both sides in this process (the test's cheap way)."""
    import naive_pipeline

    from hotich.db import pg_connect
    from hotich_dev.accuracy import read_ledger
    from hotich_dev.demo import fresh_database
    from hotich_dev.run import register_simulator
    from hotich_dev.synth.province import today_in_vietnam

    run_date = run_date or today_in_vietnam()
    districts, uris = modern_districts(province, only)
    sources = {d.code: uris[f"AIRFLOW_CONN_{d.conn_id.upper()}"] for d in districts}
    race = in_fresh_process if fresh_processes else in_this_process
    stamp = f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    nat_h = fresh_database(server, f"{db_prefix}_hotich")
    nat_n = fresh_database(server, f"{db_prefix}_naive")
    extra = ["--quota", str(quota)] if quota else []
    with register_simulator(province / "register.parquet", extra_args=extra) as register_uri:
        h_wall, h_inner, h_out = race(
            "hotich", (province, nat_h, register_uri, f"cmp-h-{stamp}", run_date, work, only)
        )
        n_wall, n_inner, n_out = race(
            "naive", (sources, register_uri, nat_n, f"cmp-n-{stamp}", run_date)
        )
    conn = pg_connect(nat_h)
    try:
        h_ledger = read_ledger(conn, f"cmp-h-{stamp}")
    finally:
        conn.close()
    n_ledger = naive_pipeline.read_naive_ledger(nat_n, f"cmp-n-{stamp}")
    truth = pd.read_parquet(province / "truth.parquet")
    truth = truth[truth["district_code"].isin(list(sources))]
    return {
        "districts": list(sources),
        "records": len(n_ledger),
        "hotich": {"wall": h_wall, "inner": h_inner, **h_out},
        "naive": {"wall": n_wall, "inner": n_inner, **n_out},
        "agreement": agreement(h_ledger, n_ledger),
        "hotich_vs_truth": agreement(h_ledger, truth),
        "naive_vs_truth": agreement(n_ledger, truth),
    }


def section_pipeline(args: argparse.Namespace) -> None:
    from hotich_dev import embedded

    server = embedded.embedded_uri(OUT / "pg")
    province = generated(args.scale, args.seed, server)
    r = race_pipeline(province, server, OUT / "compare-work", quota=args.quota)
    h, n, a = r["hotich"], r["naive"], r["agreement"]
    if len(a["differ"]):
        print(a["differ"].head(20).to_string(), file=sys.stderr)
    rows = [
        ("scale / districts (modern only)", f"{args.scale:g} / {', '.join(r['districts'])}"),
        ("records", f"{r['records']:,}"),
        ("register quota (requests/s per client)", f"{args.quota:g}" if args.quota else "off"),
        ("hotich, wall incl. process start and imports (s)", f"{h['wall']:.1f}"),
        *[(f"hotich {k} (s)", f"{v:.1f}") for k, v in h["seconds"].items()],
        ("naive, wall incl. process start and imports (s)", f"{n['wall']:.1f}"),
        ("register requests: hotich / naive", f"{h['register_requests']:,} / {n['register_requests']:,}"),
        ("**naive / hotich, end to end**", f"**{n['wall'] / h['wall']:.1f}×**"),
        ("records/s: hotich / naive", f"{r['records'] / h['wall']:,.0f} / {r['records'] / n['wall']:,.0f}"),
        ("same status / reasons / personal_id (hotich vs naive)",
         f"{a['status']:.4%} / {a['reasons']:.4%} / {a['personal_id']:.4%}"),
        ("records only in one ledger (hotich / naive)", f"{a['only_hotich']} / {a['only_naive']}"),
        ("status agreement with truth: hotich / naive",
         f"{r['hotich_vs_truth']['status']:.4%} / {r['naive_vs_truth']['status']:.4%}"),
        ("reasons equal to the truth's: hotich / naive",
         f"{r['hotich_vs_truth']['reasons']:.4%} / {r['naive_vs_truth']['reasons']:.4%}"),
        ("load average (1, 5, 15 min)", load_average()),
    ]  # fmt: skip
    append(
        f"Compare: hotich vs a naive pipeline, scale {args.scale:g}"
        f"{f', register quota {args.quota:g} rps' if args.quota else ''} ({dt.date.today()})",
        "The same modern districts of one generated province, each side in a fresh process "
        "(imports included), one after the other, against one register simulator; the naive "
        "side is `benchmarks/naive_pipeline.py` (read_sql whole tables, Python loops for the "
        "rules, one register request per person, row-by-row inserts). "
        "`benchmarks/bench_compare.py pipeline`.",
        rows,
    )


# --- 2. linkage: hotich vs Splink 5 (DuckDB) ----------------------------------------------
def idless_persons(province: Path, server: str, work: Path) -> pd.DataFrame:
    """The ID-less persons of the province's modern districts that the contract sends to
    the linkage (records with no quarantine code, per the generator's truth), as
    ``persons_of`` gives them to ``reconcile`` (extract and normalize only)."""
    from hotich import normalize, pipeline
    from hotich.config import Settings
    from hotich_dev.demo import fresh_database

    districts, uris = modern_districts(province)
    ctx = pipeline.RunContext(
        run_id=f"cmp-link-{dt.datetime.now():%Y%m%dT%H%M%S}",
        run_date=dt.date.today(),
        settings=Settings(data_dir=work, migrate_on_run=True),
        civil_status_uri=fresh_database(server, "hotich_cmp_linkage"),
    )
    pipeline.prepare_database(ctx)
    frames = []
    for d in districts:
        pipeline.extract_district(ctx, d, lambda c: uris[f"AIRFLOW_CONN_{c.upper()}"])
        raw = pd.read_parquet(ctx.workdir(d.code) / "extract.parquet")
        frames.append(pipeline.persons_of(normalize.normalize_records(raw)))
    persons = pd.concat(frames, ignore_index=True)
    truth = pd.read_parquet(province / "truth_persons.parquet")
    linked = truth[truth["link_verdict"].notna()][["source_key", "role"]]
    persons = persons.merge(linked, on=["source_key", "role"], how="inner")
    return persons[persons["personal_id"].isna()].reset_index(drop=True)


def link_scores(persons: pd.DataFrame, truth: pd.DataFrame, predicted: pd.Series) -> dict:
    """Precision, recall and F1 of ``predicted`` IDs (per person, None: not linked)
    against the true identities of ``truth`` (None: not in the register)."""
    true = persons.merge(truth, on=["source_key", "role"], how="left")["true_id"]
    pred = predicted.reset_index(drop=True)
    made = pred.notna()
    tp = int((made & (pred == true)).sum())
    fp = int((made & (pred != true)).sum())
    fn = int((true.notna() & ~(made & (pred == true))).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def splink_link(persons: pd.DataFrame, register: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Splink 5 on DuckDB, link_only, persons against the register: blocked on sex and
    date of birth (and on sex, folded name and birth year, the register's own match
    rule, so that year-only dates and day/month swaps can be found); u by random
    sampling, m by EM. Returns every scored pair (person, candidate, probability) and
    the seconds of each step."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from hotich.names import fold_keys

    def fold(s: pd.Series) -> pd.Series:
        out = pd.Series(fold_keys(s.astype(object).to_numpy()).to_pylist(), index=s.index)
        return out.where(s.notna(), None)

    t0 = time.monotonic()
    left = pd.DataFrame(
        {
            "unique_id": persons["source_key"] + "|" + persons["role"],
            "name": fold(persons["full_name"]),
            "sex": persons["sex"],
            "dob": pd.to_datetime(persons["dob"]).dt.strftime("%Y-%m-%d"),
            "year": persons["dob_year"].astype("Int64").astype(str),
            "mother": fold(persons["mother_name"]),
            "father": fold(persons["father_name"]),
            "death": pd.to_datetime(persons["death_date"]).dt.strftime("%Y-%m-%d"),
        }
    )
    right = pd.DataFrame(
        {
            "unique_id": register["so_dinh_danh"],
            "name": fold(register["ho_ten"]),
            "sex": register["gioi_tinh"],
            "dob": register["ngay_sinh"].astype(str).str[:10],
            "year": register["ngay_sinh"].astype(str).str[:4],
            "mother": fold(register["ho_ten_me"]),
            "father": fold(register["ho_ten_cha"]),
            "death": register["ngay_chet"].where(register["ngay_chet"].notna(), None),
        }
    )
    right["death"] = right["death"].map(lambda v: str(v)[:10] if v is not None else None)
    settings = SettingsCreator(
        link_type="link_only",
        blocking_rules_to_generate_predictions=[
            block_on("sex", "dob"),
            block_on("sex", "name", "year"),
        ],
        comparisons=[
            cl.DamerauLevenshteinAtThresholds("name", [1, 2]),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.DamerauLevenshteinAtThresholds("mother", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("father", [1, 2]),
            cl.ExactMatch("death"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db = DuckDBAPI()
    linker = Linker(
        [db.register(left, table_name="persons"), db.register(right, table_name="register")],
        settings,
        log_level="WARNING",
    )
    prep = time.monotonic() - t0
    t0 = time.monotonic()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("sex", "name", "dob")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("sex", "dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("sex", "name", "year")
    )
    train = time.monotonic() - t0
    t0 = time.monotonic()
    pairs = linker.inference.predict(threshold_match_probability=0.001).as_pandas_dataframe()
    predict = time.monotonic() - t0
    left_is_l = pairs["unique_id_l"].isin(left["unique_id"])
    pairs = pd.DataFrame(
        {
            "person": pairs["unique_id_l"].where(left_is_l, pairs["unique_id_r"]),
            "candidate": pairs["unique_id_r"].where(left_is_l, pairs["unique_id_l"]),
            "p": pairs["match_probability"],
        }
    )
    return pairs, {"prepare": prep, "train": train, "predict": predict}


def decide(pairs: pd.DataFrame, threshold: float, margin: float) -> pd.Series:
    """Per person, the best candidate when its probability reaches ``threshold`` and
    beats the second best by ``margin``; else nothing."""
    ranked = pairs.sort_values(["person", "p"], ascending=[True, False])
    ranked["k"] = ranked.groupby("person").cumcount()
    best = ranked[ranked["k"] == 0].set_index("person")
    second = ranked[ranked["k"] == 1].set_index("person")["p"].reindex(best.index).fillna(0.0)
    ok = (best["p"] >= threshold) & (best["p"] - second >= margin)
    return best["candidate"].where(ok, None)


def section_linkage(args: argparse.Namespace) -> None:
    from hotich.reconcile import reconcile
    from hotich.register.client import PopulationClient
    from hotich_dev import embedded
    from hotich_dev.run import register_simulator

    server = embedded.embedded_uri(OUT / "pg")
    province = generated(args.scale, args.seed, server)
    persons = idless_persons(province, server, OUT / "compare-linkage-work")
    register = pd.read_parquet(province / "register.parquet")
    truth = pd.read_parquet(province / "truth_persons.parquet")
    known = set(register["so_dinh_danh"])
    truth = truth.assign(
        true_id=truth["true_personal_id"].where(truth["true_personal_id"].isin(known), None)
    )[["source_key", "role", "true_id", "link_verdict", "linked_id"]]
    keys = persons["source_key"] + "|" + persons["role"]

    with register_simulator(province / "register.parquet") as register_uri:
        t0 = time.monotonic()
        with PopulationClient.from_uri(register_uri) as client:
            result = reconcile(persons, client)
        hotich_s = time.monotonic() - t0
    verdicts = result.persons
    linked = verdicts["reasons"].map(lambda r: "LINKED" in r)
    hotich_pred = verdicts["loaded_personal_id"].where(linked, None)
    verdict_of = verdicts["reasons"].map(
        lambda r: next((c for c in ("LINKED", "LINK_AMBIGUOUS", "LINK_NONE") if c in r), None)
    )
    contract = persons[["source_key", "role"]].merge(truth, on=["source_key", "role"], how="left")
    same_verdicts = float(
        (
            (verdict_of.to_numpy() == contract["link_verdict"].to_numpy())
            & (hotich_pred.fillna("").to_numpy() == contract["linked_id"].fillna("").to_numpy())
        ).mean()
    )
    h = link_scores(persons, truth, hotich_pred)

    t0 = time.monotonic()
    pairs, steps = splink_link(persons, register)
    best = None
    for threshold in (0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        for margin in (0.0, 0.05, 0.1, 0.2, 0.4, 0.6):
            pred = decide(pairs, threshold, margin).reindex(keys.to_numpy())
            sc = link_scores(persons, truth, pd.Series(pred.to_numpy(dtype=object)))
            if best is None or sc["f1"] > best[0]["f1"]:
                best = (sc, threshold, margin)
    splink_s = time.monotonic() - t0
    assert best is not None
    sp, threshold, margin = best
    out = [
        ("province scale / ID-less persons / register persons",
         f"{args.scale:g} / {len(persons):,} / {len(register):,}"),
        ("hotich: the contract's link (reconcile, register simulator over HTTP) (s)",
         f"{hotich_s:.1f}"),
        ("Splink: prepare / train (u sampling, 2 EM) / predict (s)",
         f"{steps['prepare']:.1f} / {steps['train']:.1f} / {steps['predict']:.1f}"),
        ("Splink incl. the threshold and margin search on the truth (s)", f"{splink_s:.1f}"),
        ("**Splink / hotich, seconds**", f"**{splink_s / hotich_s:.1f}×**"),
        ("hotich: precision / recall / F1",
         f"{h['precision']:.4f} / {h['recall']:.4f} / {h['f1']:.4f} (FP {h['fp']}, FN {h['fn']})"),
        (f"Splink, best on the truth (threshold {threshold:g}, margin {margin:g}):"
         " precision / recall / F1",
         f"{sp['precision']:.4f} / {sp['recall']:.4f} / {sp['f1']:.4f} (FP {sp['fp']}, FN {sp['fn']})"),
        ("hotich's verdicts equal the contract's (truth's LINKED/AMBIGUOUS/NONE and ID)",
         f"{same_verdicts:.4%}"),
        ("Splink pairs scored (p ≥ 0.001)", f"{len(pairs):,}"),
        ("load average (1, 5, 15 min)", load_average()),
    ]  # fmt: skip
    append(
        f"Compare: linkage vs Splink 5, scale {args.scale:g} ({dt.date.today()})",
        "The same ID-less persons (modern districts, records the contract sends to the "
        "linkage) linked to the generated register; identity from the generator's truth "
        "(a person the register never held counts as a correct non-link). Splink 5.0 on "
        "DuckDB, blocked on sex + date of birth and on sex + folded name + birth year; its "
        "threshold and top-two margin are the pair that gives the best F1 on the truth "
        "(an advantage hotich does not get). `benchmarks/bench_compare.py linkage`.",
        out,
    )


# --- 3. validation: GX, plain pandas, SQL in PostgreSQL -------------------------------------
def rules_sql(run_date: dt.date, province_codes: frozenset[str]) -> str:
    """The quarantine rules (docs/ledger.md, with ``hotich.validate``'s readings) as one
    PostgreSQL query over a table ``rec`` of normalized records: ``source_key`` and its
    sorted codes. Written out from ``hotich.validate``'s rule tables (the same tables the
    GX suites are built from), one expression per field and rule."""
    from hotich import model
    from hotich.validate import MIN_AGE, PEOPLE, RULES, TEXT_FIELDS, TEXT_LIMITS

    run_ord = run_date.year * 10000 + run_date.month * 100 + run_date.day
    given = "NULLIF(btrim({c}, E' \\t\\n\\r'), '')"
    per_date = []
    for f in model.DATE_FIELDS:
        years = ", ".join(f"'{t}'" for t, r in RULES.items() if f in r.year_only) or "NULL"
        per_date += [
            f"({f}_state = 'missing' OR {f}_state IS NULL) AS {f}_missing",
            f"{f}_state = 'full' AS {f}_full",
            f"{f}_state = 'year' AS {f}_yo",
            f"CASE WHEN {f}_state = 'full' THEN extract(year FROM {f})::int"
            f" ELSE {f}_year END AS {f}_y",
            f"CASE WHEN {f}_state = 'full' THEN (extract(year FROM {f}) * 10000"
            f" + extract(month FROM {f}) * 100 + extract(day FROM {f}))::int"
            f" ELSE coalesce({f}_year, 0) * 10000 END AS {f}_ord",
            f"({f}_state = 'full' OR ({f}_state = 'year' AND rt IN ({years}))) AS {f}_ok0",
        ]
    valid = {f: f"({f}_ok0 AND {f}_ord <= {run_ord})" for f in model.DATE_FIELDS}
    codes = ", ".join(f"'{c}'" for c in sorted(province_codes))
    flags: dict[str, list[str]] = {c: [] for c in model.QUARANTINE_CODES}
    flags[model.DATE_INVALID] = [f"(NOT {f}_missing AND NOT {valid[f]})" for f in model.DATE_FIELDS]
    flags[model.REQUIRED_MISSING] = ["rt = 'unknown'"]
    for t, r in RULES.items():
        lacks = [
            "s_sex IS NULL" if c == "subject_sex" else f"{given.format(c=c)} IS NULL"
            for c in r.required_text
        ] + [f"{c}_missing" for c in r.required_dates]
        if lacks:
            flags[model.REQUIRED_MISSING].append(f"(rt = '{t}' AND ({' OR '.join(lacks)}))")
        for later, earlier in r.order:
            before = (
                f"CASE WHEN {later}_yo OR {earlier}_yo THEN {later}_y < {earlier}_y"
                f" ELSE {later}_ord < {earlier}_ord END"
            )
            flags[model.DATE_ORDER].append(
                f"(rt = '{t}' AND {valid[later]} AND {valid[earlier]} AND {before})"
            )
    for c in TEXT_FIELDS:
        flags[model.VALUE_INVALID].append(
            f"({c} ~ '[\\x01-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]'"
            f" OR char_length({c}) > {TEXT_LIMITS[c]})"
        )
    for role in ("husband", "wife"):
        dob = PEOPLE[role][1]
        bday = (
            f"CASE WHEN {dob}_m = 2 AND {dob}_d = 29 AND NOT (reg_y % 4 = 0 AND"
            f" (reg_y % 100 <> 0 OR reg_y % 400 = 0)) THEN 28 ELSE {dob}_d END"
        )
        age = (
            f"(reg_y - {dob}_y - CASE WHEN reg_m < {dob}_m OR (reg_m = {dob}_m AND"
            f" reg_d < {bday}) THEN 1 ELSE 0 END)"
        )
        flags[model.MARRIAGE_AGE].append(
            f"(rt = 'marriage' AND {valid['registration_date']} AND registration_date_full"
            f" AND {valid[dob]} AND {dob}_full AND {age} < {MIN_AGE[role]})"
        )
    for c in model.ID_FIELDS:
        flags[model.ID_FORMAT].append(f"({given.format(c=c)} !~ '^[0-9]{{12}}$')")
    for role, (id_col, dob, sex_src) in PEOPLE.items():
        types = ", ".join(f"'{t}'" for t, r in RULES.items() if role in r.people)
        pid = given.format(c=id_col)
        ok = f"rt IN ({types}) AND {pid} ~ '^[0-9]{{12}}$'"
        sex = "s_sex" if sex_src == "subject_sex" else f"'{sex_src}'::text"
        y = f"{dob}_y"
        flags[model.ID_PROVINCE].append(f"({ok} AND substr({pid}, 1, 3) NOT IN ({codes}))")
        flags[model.ID_CENTURY_SEX].append(
            f"({ok} AND {valid[dob]} AND {sex} IS NOT NULL AND ({y} < 1900 OR {y} >= 2400"
            f" OR substr({pid}, 4, 1)::int <> 2 * (({y} - 1900) / 100)"
            f" + CASE WHEN {sex} = 'Nữ' THEN 1 ELSE 0 END))"
        )
        flags[model.ID_BIRTH_YEAR].append(
            f"({ok} AND {valid[dob]} AND substr({pid}, 5, 2)::int <> {y} % 100)"
        )
    flags[model.DUPLICATE_ENTRY] = ["dup_rank > 1"]
    arms = ",\n    ".join(
        f"CASE WHEN {' OR '.join(flags[c])} THEN '{c}' END"
        for c in sorted(model.QUARANTINE_CODES)
        if flags[c]
    )
    ymd = ", ".join(
        f"extract(month FROM {f})::int AS {f}_m, extract(day FROM {f})::int AS {f}_d"
        for f in ("husband_dob", "wife_dob")
    )
    return f"""
WITH typed AS (
  SELECT *, CASE WHEN record_type IN ('birth', 'death', 'marriage') THEN record_type
                 ELSE 'unknown' END AS rt,
         CASE WHEN subject_sex IN ('Nam', 'Nữ') THEN subject_sex END AS s_sex
  FROM rec
), dated AS (
  SELECT *, {", ".join(per_date)},
         extract(year FROM registration_date)::int AS reg_y,
         extract(month FROM registration_date)::int AS reg_m,
         extract(day FROM registration_date)::int AS reg_d, {ymd},
         CASE WHEN rt <> 'unknown' AND {given.format(c="book")} IS NOT NULL
                   AND {given.format(c="entry_no")} IS NOT NULL
              THEN row_number() OVER (PARTITION BY district_code, rt,
                       {given.format(c="book")}, {given.format(c="entry_no")}
                       ORDER BY sort_key) END AS dup_rank
  FROM typed
)
SELECT source_key, array_remove(ARRAY[
    {arms}
  ]::text[], NULL) AS reasons
FROM dated
"""


def records_ddl() -> str:
    """The table ``rec`` of normalized records (text, each date as X / X_year / X_state)."""
    from hotich import model
    from hotich.validate import TEXT_FIELDS

    cols = ["source_key text", "district_code text", "record_type text", "sort_key bigint"]
    cols += [f"{c} text" for c in TEXT_FIELDS]
    for f in model.DATE_FIELDS:
        cols += [f"{f} date", f"{f}_year int", f"{f}_state text"]
    return f"DROP TABLE IF EXISTS rec; CREATE UNLOGGED TABLE rec ({', '.join(cols)})"


def record_columns() -> list[str]:
    from hotich import model
    from hotich.validate import TEXT_FIELDS

    cols = ["source_key", "district_code", "record_type", "sort_key", *TEXT_FIELDS]
    for f in model.DATE_FIELDS:
        cols += [f, f"{f}_year", f"{f}_state"]
    return cols


def section_validate(args: argparse.Namespace) -> None:
    from bench_validate import RUN_DATE, synthetic_records

    from hotich import validate as v
    from hotich.db import pg_connect
    from hotich.load import copy_frame
    from hotich_dev import embedded, reference
    from hotich_dev.demo import fresh_database

    codes = v.load_province_codes(
        Path(__file__).resolve().parents[1] / "include" / "contracts" / "province_codes.csv"
    )
    records = synthetic_records(args.rows)
    t0 = time.monotonic()
    v._gx_runtime()
    v._load_suites(str(v.EXPECTATIONS_DIR))
    gx_init = time.monotonic() - t0
    t0 = time.monotonic()
    gx = v.validate_records(records, RUN_DATE, codes).reasons
    gx_s = time.monotonic() - t0
    t0 = time.monotonic()
    pd_reasons = reference.reference_reasons(records, RUN_DATE, codes)
    pd_s = time.monotonic() - t0

    server = embedded.embedded_uri(OUT / "pg")
    uri = fresh_database(server, "hotich_cmp_validate")
    conn = pg_connect(uri)
    frame = records.loc[:, record_columns()].copy()
    for f in v.model.DATE_FIELDS:
        frame[f] = pd.to_datetime(frame[f]).dt.strftime("%Y-%m-%d")
        frame[f"{f}_year"] = frame[f"{f}_year"].astype("Int64")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(records_ddl())
            t0 = time.monotonic()
            copy_frame(cur, "rec", frame, tuple(record_columns()))
            copy_s = time.monotonic() - t0
        with conn, conn.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(rules_sql(RUN_DATE, codes))
            sql_rows = cur.fetchall()
            sql_s = time.monotonic() - t0
    finally:
        conn.close()
    sql = pd.Series(dict(sql_rows)).reindex(records["source_key"].to_numpy())
    keyed = pd.Series(gx.to_numpy(), index=records["source_key"].to_numpy())
    as_t = lambda s: s.map(lambda r: tuple(r))  # noqa: E731
    agree_pd = float((as_t(gx) == as_t(pd_reasons)).mean())
    agree_sql = float((as_t(keyed) == as_t(sql)).to_numpy().mean())
    if agree_sql < 1:
        diff = pd.DataFrame({"gx": keyed, "sql": sql})[as_t(keyed) != as_t(sql)]
        print(diff.head(20).to_string(), file=sys.stderr)
    quarantined = int(gx.map(len).gt(0).sum())
    out = [
        ("records (synthetic normalized, bench_validate's mix)", f"{args.rows:,}"),
        ("quarantined", f"{quarantined:,} ({quarantined / args.rows:.1%})"),
        ("GX: import, context and 4 suites, once per process (s)", f"{gx_init:.1f}"),
        ("GX suites, per-row results (hotich.validate) (s)", f"{gx_s:.1f}"),
        ("plain pandas, per-row results (hotich_dev.reference) (s)", f"{pd_s:.1f}"),
        ("SQL in PostgreSQL: COPY the records in (s)", f"{copy_s:.1f}"),
        ("SQL in PostgreSQL: the rules, one query, per-row results (s)", f"{sql_s:.1f}"),
        ("**GX / pandas, GX / (SQL incl. COPY)**",
         f"**{gx_s / pd_s:.1f}× / {gx_s / (copy_s + sql_s):.1f}×**"),
        ("per-row results equal: GX = pandas / GX = SQL",
         f"{agree_pd:.4%} / {agree_sql:.4%}"),
        ("load average (1, 5, 15 min)", load_average()),
    ]  # fmt: skip
    append(
        f"Compare: validation, {args.rows:,} records ({dt.date.today()})",
        "The quarantine rules three ways on the same normalized records, each keeping one "
        "verdict list per record: the GX suites (`expectations/*.json` via "
        "`hotich.validate.validate_records`), plain pandas (`hotich_dev.reference`) and one "
        "SQL query in PostgreSQL (`bench_compare.rules_sql`, embedded server). "
        "`benchmarks/bench_compare.py validate`.",
        out,
    )


# --- 4. the load ------------------------------------------------------------------------------
REG_COLUMNS = (
    "source_key", "district_code", "record_type", "book", "entry_no", "registration_date",
    "place", "ethnicity", "nationality", "death_cause", "legacy_encoding", "content_hash",
    "run_id",
)  # fmt: skip
UPSERT_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in REG_COLUMNS[1:]) + ", loaded_at = now()"


def registration_rows(n: int, run_id: str, seed: int = 3) -> pd.DataFrame:
    """``n`` rows of ``civil.registration`` (Vietnamese text, some nulls), deterministic."""
    import numpy as np

    rng = np.random.default_rng(seed)
    kind = rng.choice(np.array(["birth", "death", "marriage"], dtype=object), n, p=[0.7, 0.2, 0.1])
    district = rng.choice(np.array(["256", "258", "260", "261"], dtype=object), n)
    places = np.array(["Bắc Ninh", "Từ Sơn", "Tiên Du", "Quế Võ", "Yên Phong"], dtype=object)
    reg = np.datetime64("1990-01-01") + rng.integers(0, 12_000, n).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "source_key": pd.Series(district + ":" + kind + ":")
            + pd.Series(np.arange(n)).astype(str),
            "district_code": district,
            "record_type": kind,
            "book": pd.Series(district + "-KS-")
            + pd.Series(rng.integers(1990, 2025, n)).astype(str),
            "entry_no": pd.Series(rng.integers(1, 900, n)).astype(str),
            "registration_date": pd.Series(reg).dt.date,
            "place": places[rng.integers(0, len(places), n)],
            "ethnicity": np.where(rng.random(n) < 0.9, "Kinh", "Tày").astype(object),
            "nationality": "Việt Nam",
            "death_cause": np.where(kind == "death", "Già yếu, bệnh tật", None).astype(object),
            "legacy_encoding": rng.random(n) < 0.05,
            "content_hash": [f"{x:032x}" for x in rng.integers(0, 2**62, n)],
            "run_id": run_id,
        }
    )


def _reset(cur, before: pd.DataFrame) -> None:
    """The table as the day before: ``before`` in it (COPY, not timed)."""
    from hotich.load import copy_frame

    cur.execute("TRUNCATE civil.person, civil.registration CASCADE")
    copy_frame(cur, "civil.registration", before, REG_COLUMNS)


def load_copy_upsert(cur, rows: pd.DataFrame) -> None:
    """What hotich.load does: COPY into a staging table, one set-based upsert."""
    from hotich.load import copy_frame

    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_reg (LIKE civil.registration INCLUDING DEFAULTS)"
        " ON COMMIT DELETE ROWS"
    )
    copy_frame(cur, "stage_reg", rows, REG_COLUMNS)
    cur.execute(
        f"INSERT INTO civil.registration SELECT * FROM stage_reg"
        f" ON CONFLICT (source_key) DO UPDATE SET {UPSERT_SET}"
    )


def _py_rows(rows: pd.DataFrame) -> list[tuple]:
    frame = rows.loc[:, list(REG_COLUMNS)].astype(object)
    return [
        tuple(None if v is None or v != v else v for v in r) for r in frame.itertuples(index=False)
    ]


def load_executemany(cur, rows: pd.DataFrame) -> None:
    """psycopg2 ``executemany`` of one upsert statement per row."""
    marks = ", ".join(["%s"] * len(REG_COLUMNS))
    cur.executemany(
        f"INSERT INTO civil.registration ({', '.join(REG_COLUMNS)}) VALUES ({marks})"
        f" ON CONFLICT (source_key) DO UPDATE SET {UPSERT_SET}",
        _py_rows(rows),
    )


def load_execute_values(cur, rows: pd.DataFrame) -> None:
    """psycopg2 ``execute_values`` (multi-row VALUES, 1,000 a statement), one upsert."""
    from psycopg2.extras import execute_values

    execute_values(
        cur,
        f"INSERT INTO civil.registration ({', '.join(REG_COLUMNS)}) VALUES %s"
        f" ON CONFLICT (source_key) DO UPDATE SET {UPSERT_SET}",
        _py_rows(rows),
        page_size=1000,
    )


def load_to_sql(conn, rows: pd.DataFrame, chunksize: int = 1000) -> None:
    """``DataFrame.to_sql`` with the upsert ``method`` pandas' documentation shows
    (SQLAlchemy ``insert().on_conflict_do_update``), multi-row, ``chunksize`` a statement."""
    from sqlalchemy.dialects.postgresql import insert

    def upsert(table, sa_conn, keys, data_iter):
        stmt = insert(table.table).values([dict(zip(keys, r, strict=True)) for r in data_iter])
        stmt = stmt.on_conflict_do_update(
            index_elements=["source_key"],
            set_={c: stmt.excluded[c] for c in REG_COLUMNS[1:]},
        )
        return sa_conn.execute(stmt).rowcount

    rows.to_sql(
        "registration", conn, schema="civil", if_exists="append", index=False,
        chunksize=chunksize, method=upsert,
    )  # fmt: skip


def table_digest(cur) -> tuple[int, str]:
    """Rows and an md5 of ``civil.registration`` in key order (``loaded_at`` left out)."""
    cols = ", ".join(REG_COLUMNS)
    cur.execute(
        f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.source_key))"
        f" FROM (SELECT {cols} FROM civil.registration) t"
    )
    n, digest = cur.fetchone()
    return int(n), str(digest)


def section_load(args: argparse.Namespace) -> None:
    from sqlalchemy import create_engine

    from hotich.db import pg_connect
    from hotich.migrate import migrate
    from hotich_dev import embedded
    from hotich_dev.demo import fresh_database

    server = embedded.embedded_uri(OUT / "pg")
    uri = fresh_database(server, "hotich_cmp_load")
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg2://", 1))
    migrate(engine, Path(__file__).resolve().parents[1] / "include" / "sql")
    n = args.rows
    rows = registration_rows(n, "run-2")
    # The day before: the first half loaded in an older version (other hashes, run).
    before = registration_rows(n // 2, "run-1", seed=4)
    before["source_key"] = rows["source_key"].iloc[: n // 2].to_numpy()
    variants = {
        "COPY + set-based upsert (hotich.load)": ("cur", load_copy_upsert),
        "execute_values, 1,000 rows a statement": ("cur", load_execute_values),
        "executemany, one upsert per row": ("cur", load_executemany),
        "pandas to_sql, upsert method, chunks of 1,000": ("sa", load_to_sql),
    }
    seconds, digests = {}, {}
    for name, (kind, fn) in variants.items():
        conn = pg_connect(uri)
        with conn, conn.cursor() as cur:
            _reset(cur, before)
        if kind == "cur":
            t0 = time.monotonic()
            with conn, conn.cursor() as cur:
                fn(cur, rows)
            seconds[name] = time.monotonic() - t0
        else:
            t0 = time.monotonic()
            with engine.begin() as sa_conn:
                fn(sa_conn, rows)
            seconds[name] = time.monotonic() - t0
        with conn, conn.cursor() as cur:
            digests[name] = table_digest(cur)
        conn.close()
        print(f"{name}: {seconds[name]:.2f} s {digests[name]}", flush=True)
    engine.dispose()
    base = next(iter(variants))
    same = all(d == digests[base] for d in digests.values())
    out = [
        ("rows loaded (half new, half replacing an older version)", f"{n:,}"),
        *[
            (name, f"{s:.2f} s, {n / s:,.0f} rows/s, {s / seconds[base]:.1f}× hotich's")
            for name, s in seconds.items()
        ],
        ("final table identical (count and md5 in key order)",
         f"{'yes' if same else 'NO'}: {digests[base][0]:,} rows, md5 {digests[base][1][:12]}…"),
        ("load average (1, 5, 15 min)", load_average()),
    ]  # fmt: skip
    append(
        f"Compare: the load, {n:,} rows ({dt.date.today()})",
        "The same rows upserted into `civil.registration` (embedded PostgreSQL), the table "
        "first holding half of them in an older version; each variant one transaction. "
        "`benchmarks/bench_compare.py load`.",
        out,
    )
    if not same:
        raise SystemExit("the load variants left different tables")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="section", required=True)
    p = sub.add_parser("pipeline")
    p.add_argument("--scale", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quota", type=float, default=None, help="register quota, requests/s")
    p = sub.add_parser("linkage")
    p.add_argument("--scale", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("validate")
    p.add_argument("--rows", type=int, default=200_000)
    p = sub.add_parser("load")
    p.add_argument("--rows", type=int, default=100_000)
    sub.add_parser("all", help="the four sections with their defaults")
    args = ap.parse_args()
    sections = {
        "pipeline": section_pipeline,
        "linkage": section_linkage,
        "validate": section_validate,
        "load": section_load,
    }
    if args.section == "all":
        for name, run in sections.items():
            print(f"== {name}", flush=True)
            run(ap.parse_args([name]))
    else:
        sections[args.section](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
