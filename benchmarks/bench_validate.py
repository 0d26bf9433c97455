"""Benchmark of ``hotich.validate.validate_records`` on 1.1 M synthetic normalized records.

Run: ``.venv/bin/python benchmarks/bench_validate.py [--rows 1100000] [--no-append]``.
Prints a markdown table and appends it to ``benchmarks/RESULTS.md`` under "Validate".

The records look like a province's mix (55 % births, 30 % deaths, 14 % marriages, 1 %
unknown legacy rows) with about 5 % of them broken in one of the ways the quarantine
rules catch (control characters, bad IDs, invalid or future dates, out-of-order dates,
under-age spouses, duplicated entries, missing fields).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from hotich import model  # noqa: E402
from hotich import validate as v  # noqa: E402
from hotich_dev import reference  # noqa: E402

RUN_DATE = dt.date(2025, 6, 30)
SURNAMES = np.array(["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"])
MIDDLE = {"Nam": np.array(["Văn", "Đức", "Quang", "Minh"]), "Nữ": np.array(["Thị", "Ngọc", "Thu"])}
GIVEN = np.array(["An", "Bình", "Cường", "Dung", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long", "Mai"])


def _names(rng: np.random.Generator, sex: np.ndarray) -> np.ndarray:
    n = len(sex)
    male = sex == "Nam"
    middle = np.where(
        male,
        MIDDLE["Nam"][rng.integers(0, 4, n)],
        MIDDLE["Nữ"][rng.integers(0, 3, n)],
    )
    sur = SURNAMES[rng.integers(0, len(SURNAMES), n)]
    given = GIVEN[rng.integers(0, len(GIVEN), n)]
    return (pd.Series(sur) + " " + pd.Series(middle) + " " + pd.Series(given)).to_numpy(object)


def _dates(rng: np.random.Generator, lo: str, hi: str, n: int) -> np.ndarray:
    start, end = np.datetime64(lo, "D"), np.datetime64(hi, "D")
    return start + rng.integers(0, (end - start).astype(int), n).astype("timedelta64[D]")


def _ids(rng: np.random.Generator, dob: np.ndarray, sex: np.ndarray) -> np.ndarray:
    year = dob.astype("datetime64[Y]").astype(int) + 1970
    g = 2 * ((year - 1900) // 100) + (sex == "Nữ")
    num = (
        27 * 10**9
        + g.astype(np.int64) * 10**8
        + (year % 100).astype(np.int64) * 10**6
        + rng.integers(0, 10**6, len(dob))
    )
    return pd.Series(num).astype(str).str.zfill(12).to_numpy(object)


def synthetic_records(n: int, seed: int = 7, error_rate: float = 0.05) -> pd.DataFrame:
    """``n`` normalized records (``model.RECORD_COLUMNS``), about ``error_rate`` broken."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(np.array(model.RecordType, dtype=object), n, p=[0.55, 0.30, 0.14, 0.01])
    birth, death, marr = kind == "birth", kind == "death", kind == "marriage"
    sex = np.where(rng.random(n) < 0.5, "Nam", "Nữ").astype(object)
    cols: dict[str, object] = {}
    district = np.array(["260", "261", "262", "263"], dtype=object)[rng.integers(0, 4, n)]
    pos = np.arange(n)
    cols["source_key"] = (
        pd.Series(district) + ":" + pd.Series(kind) + ":" + pd.Series(pos).astype(str)
    )
    cols["district_code"] = district
    cols["record_type"] = kind
    cols["local_key"] = pd.Series(pos).astype(str)
    cols["sort_key"] = pos
    cols["content_hash"] = None
    cols["legacy_encoding"] = False
    cols["raw"] = None

    subj_dob = np.where(
        death,
        _dates(rng, "1910-01-01", "1990-12-31", n),
        _dates(rng, "1990-01-01", "2024-12-31", n),
    )
    death_date = _dates(rng, "2000-01-01", "2025-06-01", n)
    h_dob = _dates(rng, "1960-01-01", "2000-12-31", n)
    w_dob = h_dob + rng.integers(-1500, 1500, n).astype("timedelta64[D]")
    wedding = np.maximum(h_dob, w_dob) + rng.integers(365 * 21, 365 * 35, n).astype(
        "timedelta64[D]"
    )
    wedding = np.minimum(wedding, np.datetime64("2025-06-01"))
    reg = np.where(
        birth,
        subj_dob + rng.integers(0, 60, n).astype("timedelta64[D]"),
        np.where(death, death_date + rng.integers(0, 30, n).astype("timedelta64[D]"), wedding),
    )
    reg = np.minimum(reg, np.datetime64("2025-06-30"))

    cols["subject_name"] = np.where(~marr, _names(rng, sex), None)
    cols["subject_sex"] = np.where(~marr, sex, None)
    cols["subject_id"] = np.where(~marr & (rng.random(n) < 0.6), _ids(rng, subj_dob, sex), None)
    cols["mother_name"] = np.where(birth, _names(rng, np.full(n, "Nữ")), None)
    cols["father_name"] = np.where(
        birth & (rng.random(n) < 0.8), _names(rng, np.full(n, "Nam")), None
    )
    cols["husband_name"] = np.where(marr, _names(rng, np.full(n, "Nam")), None)
    cols["wife_name"] = np.where(marr, _names(rng, np.full(n, "Nữ")), None)
    cols["husband_id"] = np.where(marr, _ids(rng, h_dob, np.full(n, "Nam")), None)
    cols["wife_id"] = np.where(marr, _ids(rng, w_dob, np.full(n, "Nữ")), None)
    reg_year = reg.astype("datetime64[Y]").astype(int) + 1970
    cols["book"] = np.where(
        kind != "unknown",
        pd.Series(district) + "-" + pd.Series(kind) + "-" + pd.Series(reg_year).astype(str),
        None,
    )
    cols["entry_no"] = pd.Series(pos).astype(str).to_numpy(object)
    cols["place"] = np.where(~marr, "Xã Tân Chi, huyện Tiên Du, tỉnh Bắc Ninh", None)
    cols["ethnicity"] = np.where(~marr, "Kinh", None)
    cols["nationality"] = np.where(birth, "Việt Nam", None)
    cols["death_cause"] = np.where(death, "Già yếu", None)
    cols["husband_ethnicity"] = np.where(marr, "Kinh", None)
    cols["wife_ethnicity"] = np.where(marr, "Kinh", None)
    cols["note"] = np.where(rng.random(n) < 0.1, "Ghi chú\nbổ sung\ttheo sổ gốc", None)
    df = pd.DataFrame(cols)

    def put_date(field: str, values: np.ndarray, mask: np.ndarray) -> None:
        d = pd.Series(np.where(mask, values, np.datetime64("NaT")), dtype="datetime64[s]")
        df[field] = d
        df[f"{field}_year"] = d.dt.year.astype("Int64")
        df[f"{field}_state"] = np.where(mask, "full", "missing").astype(object)

    put_date("registration_date", reg, kind != "unknown")
    put_date("subject_dob", subj_dob, ~marr)
    put_date("death_date", death_date, death)
    put_date("mother_dob", _dates(rng, "1950-01-01", "2000-01-01", n), birth)
    put_date(
        "father_dob", _dates(rng, "1950-01-01", "2000-01-01", n), birth & (rng.random(n) < 0.7)
    )
    put_date("husband_dob", h_dob, marr)
    put_date("wife_dob", w_dob, marr)
    # Old death books often give only the year of birth; parents' years likewise.
    yo = death & (rng.random(n) < 0.3)
    df.loc[yo, "subject_dob"] = pd.NaT
    df.loc[yo, "subject_dob_state"] = "year"
    yo = birth & (rng.random(n) < 0.2)
    df.loc[yo, "mother_dob"] = pd.NaT
    df.loc[yo, "mother_dob_state"] = "year"

    # --- about error_rate of the records broken, each in one way -------------------------
    broken = rng.random(n) < error_rate
    how = rng.integers(0, 9, n)
    idx = {k: np.flatnonzero(broken & (how == k)) for k in range(9)}
    df.loc[df.index[idx[0]], "place"] = "Xã\x07 Tân Chi"  # VALUE_INVALID
    ids = df["subject_id"].copy()
    ids.iloc[idx[1]] = "02712345678"  # ID_FORMAT (or nothing for marriages)
    ids.iloc[idx[2]] = "099" + ids.iloc[idx[2]].str[3:]  # ID_PROVINCE where present
    df["subject_id"] = ids
    df.loc[df.index[idx[3]], "subject_dob_state"] = "invalid"  # DATE_INVALID
    df.loc[df.index[idx[3]], "subject_dob"] = pd.NaT
    df.loc[df.index[idx[4]], "registration_date"] = pd.Timestamp("2030-01-01")  # future
    df.loc[df.index[idx[4]], "registration_date_state"] = "full"  # also for unknown rows
    df.loc[df.index[idx[5]], "death_date"] = pd.Timestamp("1900-01-01")  # DATE_ORDER
    df.loc[df.index[idx[5]], "death_date_state"] = "full"
    df.loc[df.index[idx[6]], "wife_dob"] = pd.Timestamp("2015-01-01")  # MARRIAGE_AGE
    df.loc[df.index[idx[6]], "wife_dob_state"] = "full"
    dup = idx[7][idx[7] > 0]
    df.loc[df.index[dup], "entry_no"] = df["entry_no"].to_numpy()[dup - 1]  # maybe DUPLICATE
    df.loc[df.index[dup], "book"] = df["book"].to_numpy()[dup - 1]
    df.loc[df.index[dup], "district_code"] = df["district_code"].to_numpy()[dup - 1]
    df.loc[df.index[idx[8]], "subject_name"] = None  # REQUIRED_MISSING for births/deaths
    for f in model.DATE_FIELDS:
        df[f"{f}_year"] = (
            df[f].dt.year.astype("Int64").where(df[f"{f}_state"] != "year", df[f"{f}_year"])
        )
        df.loc[df[f"{f}_state"] == "invalid", f"{f}_year"] = pd.NA
    extra = [f"{f}_{part}" for f in model.DATE_FIELDS for part in ("year", "state")]
    return df[list(model.RECORD_COLUMNS) + extra]


def _rss_mib() -> float:
    """Peak resident set size of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_100_000)
    parser.add_argument("--repeat", type=int, default=2, help="validate runs; the best is kept")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    codes = v.load_province_codes(ROOT / "include" / "contracts" / "province_codes.csv")
    t0 = time.perf_counter()
    records = synthetic_records(args.rows)
    t_gen = time.perf_counter() - t0
    rss_data = _rss_mib()

    t0 = time.perf_counter()
    v._gx_runtime()
    v._load_suites(str(v.EXPECTATIONS_DIR))
    t_gx_init = time.perf_counter() - t0
    rss_before = _rss_mib()

    runs = []
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = v.validate_records(records, RUN_DATE, codes)
        runs.append((time.perf_counter() - w0, time.process_time() - c0, out.timings))
    wall, cpu, timings = min(runs, key=lambda r: r[0])
    rss_after = _rss_mib()

    w0, c0 = time.perf_counter(), time.process_time()
    ref = reference.reference_reasons(records, RUN_DATE, codes)
    t_ref, c_ref = time.perf_counter() - w0, time.process_time() - c0
    agree = bool(ref.tolist() == out.reasons.tolist())

    quarantined = int(out.quarantined.sum())
    counts = v.summarize_reasons(out.reasons)
    load = os.getloadavg()[0]
    table = "\n".join(
        [
            f"### {dt.datetime.now():%Y-%m-%d %H:%M} — {platform.node() or 'host'}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, pandas {pd.__version__}",
            "",
            f"{args.rows:,} synthetic normalized records, {quarantined:,} quarantined "
            f"({quarantined / args.rows:.1%}); GX verdicts equal the direct pandas verdicts: "
            f"{agree}. Best of {args.repeat} runs; load average {load:.1f} at the end "
            "(other jobs shared the machine: CPU seconds are the steadier figure).",
            "",
            "| step | wall s | CPU s | peak RSS (MiB) |",
            "| --- | ---: | ---: | ---: |",
            f"| generate records (not part of validate) | {t_gen:.1f} | | {rss_data:,.0f} |",
            f"| GX import, ephemeral context, 4 suites (once per process) | {t_gx_init:.1f} | "
            f"| {rss_before:,.0f} |",
            f"| validate_records: prepare the GX frame (checks, helper columns) | {timings['prepare']:.1f} | | |",
            f"| validate_records: GX suites | {timings['gx']:.1f} | | |",
            f"| validate_records: verdict lists | {timings['verdicts']:.1f} | | |",
            f"| **validate_records total** | **{wall:.1f}** | {cpu:.1f} | {rss_after:,.0f} |",
            f"| hotich_dev.reference (same verdicts without GX) | {t_ref:.1f} | {c_ref:.1f} | |",
            "",
            "Codes: " + ", ".join(f"{k} {c:,}" for k, c in counts.items()),
            "",
        ]
    )
    print(table)
    if not args.no_append:
        results = ROOT / "benchmarks" / "RESULTS.md"
        text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmarks\n"
        if "\n## Validate\n" not in text:
            text = text.rstrip("\n") + "\n\n## Validate\n"
        head, _, tail = text.partition("\n## Validate\n")
        nxt = tail.find("\n## ")
        body, rest = (tail, "") if nxt < 0 else (tail[:nxt], tail[nxt:])
        body = body.strip("\n")
        text = head + "\n## Validate\n\n" + (body + "\n\n" if body else "") + table + rest
        results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
