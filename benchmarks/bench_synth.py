"""Benchmark: generate the synthetic province at scale 1.0 (people, records, all sources, truth).

Runs the generator in a child process and samples the resident memory of its whole
process tree (the generator forks: oracle workers and the source writer). Prints a
markdown table and appends it to benchmarks/RESULTS.md under "Synthetic province".

    .venv/bin/python benchmarks/bench_synth.py [--scale 1.0] [--no-servers] [--no-append] [--verbose]

PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) are used when reachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hotich.markdown import measure_table

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432/postgres"
MARIADB = "mysql://root:@127.0.0.1:3306"

CHILD = """
import json, sys, datetime as dt
from hotich_dev.synth.province import generate
args = json.loads(sys.argv[1])
r = generate(args["scale"], args["seed"], args["out"], pg_url=args["pg"], mariadb_url=args["mariadb"],
             run_date=dt.date(2025, 9, 1), db_prefix="hotich_bench_src_")
json.dump({"timings": r.timings, "records": r.records, "register": r.register_rows,
           "status": r.status_counts}, open(args["result"], "w"))
"""


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _tree_pss(pid: int) -> tuple[int, int]:
    """(PSS of a process and all its descendants, RSS of the process itself) in bytes.

    PSS counts a copy-on-write page shared by forked processes once in total (summing
    RSS would count it in every process), so it is the memory the run really holds.
    """
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))

    def mem(p: int, key: str) -> int:
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    total, todo, parts = 0, [pid], []
    while todo:
        p = todo.pop()
        pss = mem(p, "Pss")
        total += pss
        parts.append(pss)
        todo.extend(children.get(p, []))
    _tree_pss.parts = parts  # the processes' PSS at the last sample (for --verbose)
    return total, mem(pid, "Rss")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-servers", action="store_true")
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="print each new peak and its processes")
    args = ap.parse_args()
    pg = PG if (not args.no_servers and _up(5432)) else None
    my = MARIADB if (not args.no_servers and _up(3306)) else None
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        result = Path(tmp) / "result.json"
        params = {"scale": args.scale, "seed": args.seed, "out": str(Path(tmp) / "out"), "pg": pg,
                  "mariadb": my, "result": str(result)}  # fmt: skip
        env = dict(os.environ)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(params)], env=env)
        peak = peak_main = 0
        while proc.poll() is None:
            pss, rss = _tree_pss(proc.pid)
            if pss > peak and args.verbose:
                print(f"{time.perf_counter() - t0:6.1f}s peak {pss / 2**30:.2f} GiB: "
                      + " + ".join(f"{x / 2**30:.2f}" for x in _tree_pss.parts), file=sys.stderr)  # fmt: skip
            peak, peak_main = max(peak, pss), max(peak_main, rss)
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"generator failed with exit code {proc.returncode}", file=sys.stderr)
            return 1
        res = json.loads(result.read_text())
    stages = " · ".join(f"{k} {v:.1f}s" for k, v in res["timings"].items())
    rows = [
        ("scale", f"{args.scale}"),
        ("machine", f"{os.cpu_count()} cores"),
        (
            "sources",
            f"PostgreSQL {'yes' if pg else 'no (SQLite)'}, MariaDB {'yes' if my else 'no (SQLite)'}",
        ),
        ("register people", f"{res['register']:,}"),
        ("source records", f"{res['records']:,}"),
        ("statuses", ", ".join(f"{k} {v:,}" for k, v in sorted(res["status"].items()))),
        ("wall time", f"{wall:.1f} s (target < 180 s)"),
        ("peak memory, process tree (PSS)", f"{peak / 2**30:.2f} GiB (target < 4 GB = 3.73 GiB)"),
        ("peak RSS, main process", f"{peak_main / 2**30:.2f} GiB"),
        ("stages", stages),
    ]
    table = measure_table(rows)
    print(table)
    if not args.no_append:
        path = ROOT / "benchmarks" / "RESULTS.md"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(
                f"\n## Synthetic province\n\n{dt.date.today().isoformat()}, `benchmarks/bench_synth.py`\n\n{table}\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
