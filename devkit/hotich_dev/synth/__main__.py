"""``python -m hotich_dev.synth --scale S --seed N --out DIR [...]``: generate the synthetic province."""

from __future__ import annotations

import argparse
import logging
import sys

from hotich_dev.synth.province import DefectRates, generate


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and generate."""
    ap = argparse.ArgumentParser(prog="python -m hotich_dev.synth", description=__doc__)
    ap.add_argument("--scale", type=float, default=0.01, help="1.0 ≈ 1.5 M people, 1.1 M records")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--pg-url", default=None, help="PostgreSQL server for the modern districts")
    ap.add_argument("--mariadb-url", default=None, help="MariaDB server for the legacy district")
    ap.add_argument(
        "--run-date", default=None, help="YYYY-MM-DD (default: today in Asia/Ho_Chi_Minh)"
    )
    ap.add_argument("--defect-scale", type=float, default=1.0, help="multiply every defect rate")
    ap.add_argument("--db-prefix", default="hotich_src_", help="server database name prefix")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    res = generate(
        args.scale,
        args.seed,
        args.out,
        pg_url=args.pg_url,
        mariadb_url=args.mariadb_url,
        run_date=args.run_date,
        rates=DefectRates().scaled(args.defect_scale),
        db_prefix=args.db_prefix,
    )
    print(
        f"{res.records} records, {res.register_rows} register people -> {res.out} "
        f"(run date {res.run_date}); statuses {res.status_counts}; timings {res.timings}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
