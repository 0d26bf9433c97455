"""Benchmark ``normalize_records`` on a synthetic 1.1 M-row raw frame.

Run from the project root: ``.venv/bin/python benchmarks/bench_normalize.py [rows]``.
Prints a markdown table and appends it to ``benchmarks/RESULTS.md`` under "Normalize".
Peak memory is the peak resident set size *above* the size before the call, sampled
every 5 ms from ``/proc/self/statm`` (Linux).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_names import GIVENS, MIDDLES, SURNAMES  # noqa: E402

from hotich.model import DATE_FIELDS, ID_FIELDS, NAME_FIELDS, OTHER_TEXT_FIELDS  # noqa: E402
from hotich.normalize import normalize_records  # noqa: E402
from hotich.vnencoding import encode_tcvn3, encode_vni  # noqa: E402

PLACES = ["Xã Tiên Du", "Thị trấn Lim", "Bệnh viện đa khoa Bắc Ninh", "Xã Phật Tích", "Tại nhà"]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    mid = np.array(MIDDLES, dtype=object)[rng.integers(0, len(MIDDLES), n)]
    giv = np.array(GIVENS, dtype=object)[rng.integers(0, len(GIVENS), n)]
    return sur + " " + mid + " " + giv


def _legacy(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Encode a share of the values in TCVN3 or VNI (as a legacy district would)."""
    out = values.copy()
    pick = np.flatnonzero(rng.random(len(values)) < share)
    half = len(pick) // 2
    out[pick[:half]] = [encode_tcvn3(v) for v in values[pick[:half]]]
    out[pick[half:]] = [encode_vni(v) for v in values[pick[half:]]]
    return out


def _dates(rng: np.random.Generator, n: int, start: int, end: int) -> np.ndarray:
    """A mix: date objects (modern/workbook), dd/mm/yyyy and yyyy text (legacy), blanks."""
    days = rng.integers(0, (end - start) * 365, n)
    base = np.datetime64(f"{start}-01-01") + days.astype("timedelta64[D]")
    as_dates = base.astype(object)  # datetime.date
    text = pd.Series(base).dt.strftime("%d/%m/%Y").to_numpy(dtype=object)
    years = pd.Series(base).dt.year.astype(str).to_numpy(dtype=object)
    kind = rng.random(n)
    out = np.where(kind < 0.5, as_dates, text)
    out = np.where((kind > 0.95) & (kind < 0.97), years, out)
    out = np.where(kind > 0.99, None, out)
    out[kind > 0.985] = "30/02/2001"  # a few non-existent dates
    return out


def synthetic_raw(rows: int = 1_100_000, seed: int = 42) -> pd.DataFrame:
    """A raw canonical frame shaped like a mixed province extract."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {
        "source_key": [f"260:birth:{i}" for i in range(rows)],
        "district_code": np.full(rows, "260", dtype=object),
        "record_type": np.array(["birth", "death", "marriage"], dtype=object)[
            rng.choice(3, rows, p=[0.6, 0.25, 0.15])
        ],
        "local_key": np.arange(rows).astype(str).astype(object),
        "sort_key": np.arange(rows),
        "content_hash": np.full(rows, "0" * 64, dtype=object),
        "raw": np.full(rows, "{}", dtype=object),
    }
    for field in NAME_FIELDS:
        cols[field] = _legacy(rng, _names(rng, rows), 0.03)
    for field in ID_FIELDS:
        ids = rng.integers(0, 10**11, rows).astype(np.float64)  # numeric cells: lost zeros
        as_text = np.char.zfill(ids.astype(np.int64).astype(str), 12).astype(object)
        cols[field] = np.where(rng.random(rows) < 0.5, ids, as_text)
        cols[field][rng.random(rows) < 0.4] = None
    for field in OTHER_TEXT_FIELDS:
        if field == "entry_no":
            cols[field] = rng.integers(1, 500, rows).astype(np.float64)
        elif field == "book":
            cols[field] = np.array(["260-KS-2008-01", "260-KT-2010-02"], dtype=object)[
                rng.integers(0, 2, rows)
            ]
        elif field == "subject_sex":
            cols[field] = np.array(["Nam", "Nữ", "nam", "NỮ", "N÷", "Nöõ", None], dtype=object)[
                rng.integers(0, 7, rows)
            ]
        else:
            cols[field] = np.array(PLACES + [None], dtype=object)[
                rng.integers(0, len(PLACES) + 1, rows)
            ]
    for field in DATE_FIELDS:
        cols[field] = _dates(rng, rows, 1930, 2025)
    return pd.DataFrame(cols)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(raw: pd.DataFrame) -> tuple[float, float, int, pd.DataFrame]:
    """Wall time (s), CPU time (s) and peak RSS increase (bytes) of one call."""
    base, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start, cpu = time.perf_counter(), time.process_time()
    out = normalize_records(raw)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    thread.join()
    return elapsed, cpu, max(peak[0], _rss()) - base, out


def main() -> None:
    """Build the frame, time normalization, print and record the result."""
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_100_000
    t0 = time.perf_counter()
    raw = synthetic_raw(rows)
    build = time.perf_counter() - t0
    load = os.getloadavg()[0]
    elapsed, cpu, peak, out = measure(raw)
    uniques = raw["subject_name"].nunique()
    table = "\n".join(
        [
            "| rows | distinct subject names | legacy records | wall (s) | CPU (s) "
            "| rows/s (wall) | peak RSS increase (MiB) | input frame (MiB) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {rows:,} | {uniques:,} | {int(out['legacy_encoding'].sum()):,} | {elapsed:.1f} "
            f"| {cpu:.1f} | {rows / elapsed:,.0f} | {peak / 2**20:,.0f} "
            f"| {raw.memory_usage(deep=True).sum() / 2**20:,.0f} |",
        ]
    )
    print(f"(synthetic frame built in {build:.1f} s)\n")
    print(table)
    results = Path(__file__).resolve().parent / "RESULTS.md"
    machine = (
        f"{platform.python_implementation()} {platform.python_version()}, pandas {pd.__version__},"
        f" {os.cpu_count()} CPUs, load average {load:.1f} at start, {dt.date.today().isoformat()}"
    )
    with results.open("a", encoding="utf-8") as f:
        f.write(f"\n## Normalize\n\n`benchmarks/bench_normalize.py`, {machine}.\n\n{table}\n")


if __name__ == "__main__":
    main()
