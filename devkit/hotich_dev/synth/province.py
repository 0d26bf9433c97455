"""The synthetic Bắc Ninh province: register, district sources and ground truth.

``generate(scale, seed, out)`` writes, under ``out``:

- ``register.parquet``: the population register (population-api ``Citizen`` columns);
- the district sources (SQLite files in ``sources/``, workbooks in ``inbox/<code>/``,
  and PostgreSQL/MariaDB databases ``hotich_src_<code>`` when servers are given);
- ``districts.yaml`` and ``connections.env`` (``AIRFLOW_CONN_DISTRICT_<CODE>=<uri>``);
- ``truth.parquet`` (one row per source record: the ledger row a correct first run
  writes), ``truth_persons.parquet`` (one row per person to reconcile),
  ``defects.parquet`` (the generator's labels, for cross-checks only) and
  ``logical.parquet`` (the oracle's input, for debugging).

Deterministic for a seed (and a run date); the truth comes from ``oracle``.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import multiprocessing as mp
import os
import pickle
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from hotich_dev.synth.defects import DefectRates, apply_all
from hotich_dev.synth.memory import release_memory
from hotich_dev.synth.oracle import (
    INPUT_COLUMNS,
    duplicate_losers,
    oracle_frame,
    oracle_frame_columns,
    record_types,
    truth_from_files,
)
from hotich_dev.synth.people import IdAllocator, make_register_people, register_frame
from hotich_dev.synth.records import apply_store_masks, build_records
from hotich_dev.synth.render import SOURCE_COLUMNS, assign_keys, write_sources_from

log = logging.getLogger(__name__)

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")

__all__ = ["DefectRates", "SynthResult", "generate", "today_in_vietnam"]


def today_in_vietnam() -> dt.date:
    """The current date in Asia/Ho_Chi_Minh (the run date's default)."""
    return dt.datetime.now(TZ).date()


@dataclass
class SynthResult:
    """What ``generate`` wrote, and how long each stage took (seconds)."""

    out: Path
    run_date: dt.date
    register_rows: int
    records: int
    districts: list[dict]
    files: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)


def _stage_rng(seed: int, stage: int) -> np.random.Generator:
    # One independent stream per stage, so that changing one stage leaves the others alone.
    return np.random.default_rng(np.random.SeedSequence([seed, stage]))


def generate(
    scale: float,
    seed: int,
    out: str | Path,
    pg_url: str | None = None,
    mariadb_url: str | None = None,
    run_date: dt.date | str | None = None,
    rates: DefectRates | None = None,
    write_sources_: bool = True,
    db_prefix: str = "hotich_src_",
) -> SynthResult:
    """Generate the synthetic province at ``scale`` (1.0 ≈ 1.5 M people, 1.1 M records).

    ``run_date`` (default: today in Asia/Ho_Chi_Minh) is the date the truth assumes the
    pipeline runs on (DATE_INVALID for later dates). ``rates`` tunes the defects.
    Server databases are named ``<db_prefix><district code>`` (dropped and recreated).
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(run_date, str):
        run_date = dt.date.fromisoformat(run_date)
    run_date = run_date or today_in_vietnam()
    rates = rates or DefectRates()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 2)
        t0 = now
        log.info("synth: %s done in %.1fs", name, timings[name])

    alloc = IdAllocator(_stage_rng(seed, 1))
    people = make_register_people(_stage_rng(seed, 2), alloc, scale)
    lap("people")
    rec, allp = build_records(_stage_rng(seed, 3), people, scale)
    rec = apply_store_masks(rec)
    lap("records")
    rec, allp, intents = apply_all(_stage_rng(seed, 4), rec, allp, alloc, rates, scale)
    rec = assign_keys(rec, _stage_rng(seed, 5))
    register = register_frame(allp)
    lap("defects")

    files = {
        "register": out / "register.parquet",
        "truth": out / "truth.parquet",
        "truth_persons": out / "truth_persons.parquet",
        "defects": out / "defects.parquet",
        "logical": out / "logical.parquet",
        "districts": out / "districts.yaml",
        "connections": out / "connections.env",
    }
    register.to_parquet(files["register"], index=False)
    labelled = pd.DataFrame(
        {
            "so_dinh_danh": [f"{p:012d}" for p in allp.loc[allp["sex_flip"].astype(bool), "pid"]],
            "defect": "register_sex",
        }
    )
    labelled.to_parquet(out / "register_defects.parquet", index=False)
    lap("register")

    # The oracle and the source writer read the records from a file (fresh processes for
    # large runs: a forked child would copy the parent's Python objects as it touches them).
    n_register = len(register)
    del allp, people, labelled, register
    work = out / ".records.parquet"
    losers = duplicate_losers(rec, record_types(rec))
    index = rec.index.to_numpy()
    work_cols = list(
        dict.fromkeys(["_index", *oracle_frame(rec).columns, *INPUT_COLUMNS, *SOURCE_COLUMNS])
    )
    frame = rec.assign(_index=index)[work_cols]
    frame.astype(
        {c: "object" for c in frame.columns if c not in ("sort_b", "_index", "updated_at")}
    ).to_parquet(work, index=False, row_group_size=50_000)
    del rec, frame
    intents_blob = pickle.dumps(intents)
    del intents
    release_memory()
    lap("records file")

    large = len(index) > 40_000
    entries: list[dict] = []
    args = (work, out, seed, pg_url, mariadb_url, db_prefix, files)
    child = None
    # Forked children share the (now small) heap: keep the collector from touching it.
    gc.freeze()
    if write_sources_ and large:
        # Large runs: write the sources in another process while the oracle works.
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        child = mp.get_context(method).Process(target=_sources_child, args=args)
        child.start()
    elif write_sources_:
        entries = _sources(*args)
        lap("sources")

    workers = min(2, os.cpu_count() or 1) if large else 1
    truth_from_files(
        str(work),
        str(files["register"]),
        run_date,
        losers,
        str(files["truth"]),
        str(files["truth_persons"]),
        workers,
    )
    gc.unfreeze()
    lap("oracle")
    if child is not None:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"writing the district sources failed (exit code {child.exitcode})")
        entries = json.loads((out / ".entries.json").read_text(encoding="utf-8"))
        (out / ".entries.json").unlink()
        lap("sources (after oracle)")
    truth = pq.read_table(files["truth"], columns=["source_key", "status"])
    rec_keys = truth.column("source_key").to_numpy()
    status_counts = {
        r["values"]: r["counts"] for r in pc.value_counts(truth.column("status")).to_pylist()
    }
    del truth
    intents = pickle.loads(intents_blob)
    pos = {k: i for i, k in enumerate(index.tolist())}
    intent_rows = [
        {"source_key": rec_keys[pos[i]] if i in pos else None, "defects": sorted(kinds)}
        for i, kinds in sorted(intents.items())
    ]
    pd.DataFrame(intent_rows, columns=["source_key", "defects"]).to_parquet(
        files["defects"], index=False
    )
    del intent_rows, intents
    # The oracle's input beside the truth (Arrow all the way: no Python object per cell).
    logical_cols = [*oracle_frame_columns(), "true_pid", "true_h", "true_w", "legacy_enc"]
    logical = pq.read_table(work, columns=logical_cols)
    logical = logical.add_column(0, "source_key", pa.array(rec_keys, pa.large_string()))
    pq.write_table(logical.replace_schema_metadata(None), files["logical"])
    del logical
    work.unlink()
    lap("truth files")

    return SynthResult(
        out=out,
        run_date=run_date,
        register_rows=n_register,
        records=len(index),
        districts=entries,
        files=files,
        timings=timings,
        status_counts=status_counts,
    )


def _sources(work, out, seed, pg_url, mariadb_url, db_prefix, files) -> list[dict]:
    entries = write_sources_from(work, out, _stage_rng(seed, 6), pg_url, mariadb_url, db_prefix)
    _write_config(entries, files["districts"], files["connections"])
    return entries


def _sources_child(*args) -> None:
    """In its own process: write the sources, leave the district entries in ``.entries.json``."""
    import traceback

    try:
        entries = _sources(*args)
        (args[1] / ".entries.json").write_text(json.dumps(entries), encoding="utf-8")
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def _write_config(entries: list[dict], districts_file: Path, env_file: Path) -> None:
    """districts.yaml in the contract format, and the connections as env lines."""
    doc = {"districts": []}
    lines = []
    for e in entries:
        item = {"code": e["code"], "name": e["name"], "flavor": e["flavor"]}
        if "inbox" in e:
            item["inbox"] = e["inbox"]
        else:
            item["conn_id"] = e["conn_id"]
            lines.append(f"AIRFLOW_CONN_{e['conn_id'].upper()}={e['uri']}")
        doc["districts"].append(item)
    districts_file.write_text(
        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
