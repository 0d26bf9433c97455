"""Hostile inputs at the sizes issue 15 found them: what the extract does, how long it
takes and its peak memory, each case in a process of its own.

    .venv/bin/python benchmarks/bench_hostile_inputs.py

Cases (the files are built here, on disk, by the same builders as the unit tests):

- a 0.6 MB workbook declaring ``A1:XFD1048576`` with 20,000 rows (it took 2.66 GB);
- a 1.9 MB workbook unpacking to 391 MB (it peaked at 4.8 GB);
- one 283 MB cell in a 0.28 MB workbook (6.5 GB), with a valid CSV beside it;
- one 270 MB value in a modern (SQLite) district's name column, through the whole
  pipeline into the national database (it blocked the district: jsonb's limit).

Prints a Markdown table for ``benchmarks/RESULTS.md`` and ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "unit"), str(ROOT / "tests" / "integration")]

CASES = ("dimension", "zip_bomb", "huge_cell", "huge_db_value")


def _peak_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def build(case: str, tmp: Path) -> None:
    """Write the case's input files under ``tmp`` (in a process of its own, so that
    building a 283 MB cell does not count in the measured peak)."""
    from test_workbook_limits import birth_row, write_csv, write_xlsx

    if case == "huge_db_value":
        from tests.integration.pipeline_kit import birth, write_modern_sqlite

        rows = [birth(1, pid="027218000001"), birth(2, name="A" * (270 * 2**20)), birth(3)]
        write_modern_sqlite(tmp / "901.sqlite", births=rows)
        return
    inbox = tmp / "inbox"
    inbox.mkdir()
    if case == "dimension":
        write_xlsx(inbox / "wide.xlsx", [birth_row(i) for i in range(20_000)],
                   dimension="A1:XFD1048576")  # fmt: skip
    elif case == "zip_bomb":
        pad = b"\0" * (391 * 2**20)
        write_xlsx(inbox / "bomb.xlsx", [birth_row(0)], extra_members={"xl/media/pad.bin": pad})
        del pad
    else:
        write_xlsx(inbox / "cell.xlsx", [birth_row(0), ["Q1", 2, None, "A" * 283 * 2**20]])
        write_csv(inbox / "KhaiSinh_good.csv", [birth_row(i) for i in range(100)])


def _workbook_case(tmp: Path) -> dict:
    from test_workbook_limits import extract

    inbox = tmp / "inbox"
    size_mb = sum(p.stat().st_size for p in inbox.iterdir()) / 2**20
    base = _peak_mib()
    started = time.monotonic()
    result, records = extract(inbox, tmp)
    return {
        "input": f"{size_mb:.2f} MB in {len(list(inbox.iterdir()))} file(s)",
        "records_read": result.read,
        "records_kept": len(records),
        "files_rejected": [r["problem"][:110] for r in result.rejected_files],
        "seconds": round(time.monotonic() - started, 2),
        "peak_mib": _peak_mib(),
        "peak_before_mib": base,
    }


def _db_value_case(tmp: Path) -> dict:
    from datetime import date

    from register_fixtures import person, register_client
    from tests.integration.pipeline_kit import (
        modern,
        national_database,
        query,
        run_context,
        run_district,
    )

    uri = f"sqlite:///{tmp / '901.sqlite'}"
    people = [person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa")]
    server = os.environ.get("HOTICH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    base = _peak_mib()
    with national_database(server) as nat, register_client(people) as register:
        started = time.monotonic()
        out = run_district(run_context(nat, tmp / "data", "bench"), modern("901"),
                           {"district_901": uri}, register)  # fmt: skip
        seconds = time.monotonic() - started
        ledger = query(nat, "SELECT status, count(*) FROM recon.ledger GROUP BY 1 ORDER BY 1")
        dups = query(nat, "SELECT count(*) - count(DISTINCT source_key) FROM civil.registration")
    return {
        "input": f"{(tmp / '901.sqlite').stat().st_size / 2**20:.0f} MB SQLite, 3 records",
        "records_read": out["extracted"],
        "records_kept": dict(ledger),
        "duplicates": dups[0][0],
        "seconds": round(seconds, 2),
        "peak_mib": _peak_mib(),
        "peak_before_mib": base,
    }


def run_case(case: str, tmp: Path) -> dict:
    """One case over the files :func:`build` wrote, in this process."""
    return _db_value_case(tmp) if case == "huge_db_value" else _workbook_case(tmp)


def _child(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--build":
        build(sys.argv[2], Path(sys.argv[3]))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--case":
        result = run_case(sys.argv[2], Path(sys.argv[3]))
        print("RESULT " + json.dumps(result, ensure_ascii=False))
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| case | input | records read | kept | rejected files | s | peak RSS (MiB) |")
    print("| --- | --- | ---: | --- | --- | ---: | ---: |")
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            built = _child("--build", case, tmp)
            proc = _child("--case", case, tmp) if built.returncode == 0 else built
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"| {case} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(lines[0][7:])
        rejected = "; ".join(r.get("files_rejected", [])) or "none"
        print(f"| {case} | {r['input']} | {r['records_read']} | {r['records_kept']} | "
              f"{rejected} | {r['seconds']} | {r['peak_mib']} |")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
