"""The garbage collector's share of a task's allocations (decision 0026).

    .venv/bin/python benchmarks/bench_gc.py
    .venv/bin/python benchmarks/bench_gc.py --rounds 3 --repeat 3

Each setting runs in a fresh process that first imports what the fork server's preload
imports (Airflow, Great Expectations, pandas, the stages), then does what a district task
does most with Python objects, ``--rounds`` times, keeping what it builds: 1.1 million
reason lists decoded from bit masks (``hotich.model.reason_lists``), 200,000 register
answers decoded from JSON into dicts and framed, a column mapped row by row, and an Arrow
list array built from the reason lists. The collector settings compared: Python's default,
the preload's (``gc.freeze()`` after the imports and a youngest-generation threshold of
``hotich.airflow.preload.YOUNG_GENERATION_THRESHOLD``), each half of it, and the collector
off (the floor). The fastest of ``--repeat`` runs of each is reported. Results are
appended to ``benchmarks/RESULTS.md`` with the machine's load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys

from results import append, load_average

#: The workload, run with ``python -c`` in a fresh process; argv: freeze (0/1), the
#: youngest generation's threshold (0: the collector off, -1: Python's default), rounds.
WORKLOAD = """
import gc, json, sys, time
freeze, young, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import great_expectations, numpy as np, pandas as pd, pyarrow as pa
import hotich.airflow.tasks, hotich.feedback.stage, hotich.ops.dashboard
from hotich import model
if freeze:
    gc.freeze()
if young == 0:
    gc.disable()
elif young > 0:
    gc.set_threshold(young, *gc.get_threshold()[1:])
rng = np.random.default_rng(1)
masks = rng.choice(np.array([0, 0, 0, 1, 2, 5, 8, 1024], dtype=np.int64), 1_100_000)
answers = json.dumps([
    {"so_dinh_danh": f"{i:012d}", "ho_ten": "Nguyễn Văn An", "gioi_tinh": "Nam",
     "ngay_sinh": "1990-01-01", "noi_dang_ky_khai_sinh": "Bắc Ninh"}
    for i in range(200_000)], ensure_ascii=False)
kept = []
t0 = time.perf_counter()
for _ in range(rounds):
    reasons = model.reason_lists(masks, model.CODE_ORDER)
    rows = json.loads(answers)
    kept += [reasons, pd.DataFrame(rows), pd.Series(reasons, dtype=object).map(len),
             pa.array(reasons, type=pa.list_(pa.string())), [dict(r) for r in rows]]
print(time.perf_counter() - t0)
"""

#: (label, freeze, youngest-generation threshold: -1 default, 0 off).
SETTINGS = (
    ("Python's default (700, 10, 10)", 0, -1),
    ("gc.freeze() after the imports", 1, -1),
    ("youngest generation every {young:,}", 0, None),
    ("the preload's: gc.freeze() and every {young:,}", 1, None),
    ("collector off (the floor)", 0, 0),
)


def run(freeze: int, young: int, rounds: int) -> float:
    """Seconds of the workload in a fresh process with these settings."""
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", WORKLOAD, str(freeze), str(young), str(rounds)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    return float(out.stdout.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--rounds", type=int, default=3, help="workload rounds per process")
    ap.add_argument("--repeat", type=int, default=3, help="processes per setting (fastest kept)")
    args = ap.parse_args()
    from hotich.airflow.preload import YOUNG_GENERATION_THRESHOLD as young

    before = load_average()
    rows: list[tuple[str, str]] = []
    default_s = None
    for label, freeze, threshold in SETTINGS:
        seconds = min(run(freeze, young if threshold is None else threshold, args.rounds)
                      for _ in range(args.repeat))  # fmt: skip
        default_s = default_s or seconds
        rows.append(
            (f"{label.format(young=young)} (s)", f"{seconds:.2f} ({default_s / seconds:.2f}x)")
        )
    rows.append(("load average before / after", f"{before} / {load_average()}"))
    append(
        f"The garbage collector's share of a task's allocations ({dt.date.today()}, 2 cores)",
        f"`benchmarks/bench_gc.py --rounds {args.rounds} --repeat {args.repeat}`: the fastest of "
        f"{args.repeat} fresh processes per setting, each with the preload's imports loaded;"
        " the ratio is against Python's default.",
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
