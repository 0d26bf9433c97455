"""Benchmark the population register simulator on a 1.5-million-person register.

Builds a synthetic register (vectorized numpy), starts the simulator as its own process
(``python -m hotich_dev.population_api``, as it runs for real), and measures:

* startup: launch until the first token is issued (read Parquet, fold names, index);
* resident memory of the simulator process;
* p50/p99 latency of ``batchGet`` with 500 IDs and ``match`` with 100 queries (200 calls
  each, one at a time, over a kept-alive connection);
* ``PopulationClient.batch_get`` throughput on 100,000 IDs (8 concurrent batches).

Prints a markdown table and records it in ``benchmarks/RESULTS.md`` under the heading
"Population register simulator" (replacing the previous table there). Run: ``.venv/bin/python benchmarks/bench_population_api.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parents[1]

from hotich.markdown import measure_table  # noqa: E402
from hotich.register.client import PopulationClient  # noqa: E402

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đinh", "Mai", "Trịnh"]  # fmt: skip
SURNAME_P = np.array([38, 11, 9.5, 7, 5.1, 4.7, 4.5, 3.9, 3.5, 2.1,
                      2, 1.4, 1.3, 1.3, 1, 0.5, 0.5, 0.5, 0.5, 0.5])  # fmt: skip
MIDDLE_M = ["Văn", "Đức", "Hữu", "Quang", "Minh", "Công", "Thành", "Xuân", "Đình", "Ngọc"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Hồng", "Kim", "Minh", "Phương"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hải", "Hiếu", "Hoàng", "Hùng",
           "Huy", "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Mạnh", "Nam", "Nghĩa", "Phong",
           "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Toàn", "Trung",
           "Tuấn", "Tùng", "Việt", "Vinh", "Vũ", "Bảo", "Duy", "Hưng", "Lộc", "Tâm"]  # fmt: skip
GIVEN_F = ["Anh", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hằng", "Hạnh", "Hiền", "Hoa",
           "Hồng", "Huệ", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga",
           "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang",
           "Trinh", "Tuyết", "Uyên", "Vân", "Vy", "Yến", "Hạnh", "Thu", "Xuân", "Nhi"]  # fmt: skip
PROVINCES = ["027", "001", "024", "026", "030", "031", "033", "034", "035", "036", "037", "079"]


def synthetic_register(n: int, seed: int = 2025) -> pd.DataFrame:
    """``n`` persons with Vietnamese-looking names, valid IDs and dates (vectorized)."""
    rng = np.random.default_rng(seed)
    female = rng.random(n) < 0.5
    surname = np.array(SURNAMES, dtype=object)[
        rng.choice(len(SURNAMES), n, p=SURNAME_P / SURNAME_P.sum())
    ]
    middle = np.where(
        female,
        np.array(MIDDLE_F, dtype=object)[rng.integers(0, len(MIDDLE_F), n)],
        np.array(MIDDLE_M, dtype=object)[rng.integers(0, len(MIDDLE_M), n)],
    )
    given = np.where(
        female,
        np.array(GIVEN_F, dtype=object)[rng.integers(0, len(GIVEN_F), n)],
        np.array(GIVEN_M, dtype=object)[rng.integers(0, len(GIVEN_M), n)],
    )
    name = surname + " " + middle + " " + given
    dob = np.datetime64("1925-01-01") + rng.integers(0, 100 * 365, n).astype("timedelta64[D]")
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    g = np.where(year >= 2000, 2, 0) + female
    prov = np.array(PROVINCES)[rng.integers(0, len(PROVINCES), n)]
    serial = rng.integers(0, 1_000_000, n)
    ids = (
        pd.Series(prov)
        + pd.Series(g.astype(str))
        + pd.Series((year % 100).astype(str)).str.zfill(2)
        + pd.Series(serial.astype(str)).str.zfill(6)
    )
    dead = rng.random(n) < 0.08
    death = dob + rng.integers(365 * 20, 365 * 90, n).astype("timedelta64[D]")
    death = np.where(dead & (death < np.datetime64("2025-06-01")), death, np.datetime64("NaT"))
    father = np.where(rng.random(n) < 0.7, surname + " Văn " + rng.choice(GIVEN_M, n), None)
    mother = np.where(
        rng.random(n) < 0.7,
        np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
        + " Thị "
        + rng.choice(GIVEN_F, n),
        None,
    )
    df = pd.DataFrame(
        {
            "so_dinh_danh": ids,
            "ho_ten": name,
            "gioi_tinh": np.where(female, "Nữ", "Nam"),
            "ngay_sinh": dob.astype("datetime64[s]"),
            "noi_dang_ky_khai_sinh": prov,
            "ho_ten_cha": father,
            "ho_ten_me": mother,
            "trang_thai": np.where(pd.isna(death), "con_song", "da_chet"),
            "ngay_chet": pd.Series(death).astype("datetime64[s]"),
        }
    )
    return df.drop_duplicates("so_dinh_danh", ignore_index=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    a = np.array(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.max())


def _typo(names: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Swap two neighbouring letters in the given name (one slip)."""

    def swap(s: str) -> str:
        i = len(s) - 3
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]

    return names.map(swap)


def main() -> None:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_500_000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    rng = np.random.default_rng(7)

    t0 = time.perf_counter()
    register = synthetic_register(args.persons)
    t_build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.parquet"
        register.to_parquet(path, index=False)
        port = _free_port()
        env = {
            **os.environ,
            "POPULATION_API_CLIENTS": "bench:secret",
        }
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hotich_dev.population_api",
                "--register",
                str(path),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],  # fmt: skip
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            session = requests.Session()
            tok = None
            while time.perf_counter() - t0 < 180 and proc.poll() is None:
                try:
                    r = session.post(
                        f"{base}/oauth/token",
                        data={
                            "grant_type": "client_credentials",
                            "client_id": "bench",
                            "client_secret": "secret",
                        },  # fmt: skip
                        timeout=2,
                    )
                    tok = r.json()["access_token"]
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            if tok is None:
                raise SystemExit("the simulator did not start")
            t_start = time.perf_counter() - t0
            rss = _rss_mb(proc.pid)
            session.headers["Authorization"] = f"Bearer {tok}"

            ids = register["so_dinh_danh"].to_numpy()
            batch_lat: list[float] = []
            for _ in range(args.calls):
                known = rng.choice(ids, 400, replace=False).tolist()
                unknown = [f"0990{x:08d}" for x in rng.integers(0, 10**8, 100)]
                t = time.perf_counter()
                r = session.post(f"{base}/v1/citizens:batchGet", json={"ids": known + unknown})
                batch_lat.append(time.perf_counter() - t)
                assert r.status_code == 200 and len(r.json()["found"]) == 400

            match_lat: list[float] = []
            n_cands = 0
            for _ in range(args.calls):
                people = register.iloc[rng.integers(0, len(register), 100)]
                names = people["ho_ten"].copy()
                typo = rng.random(100) < 0.3
                names[typo] = _typo(names[typo], rng)
                dob = people["ngay_sinh"].dt.strftime("%Y-%m-%d")
                year_only = rng.random(100) < 0.1
                dob[year_only] = dob[year_only].str[:4]
                queries = [
                    {"ref": str(i), "ho_ten": n, "gioi_tinh": s, "ngay_sinh": d}
                    for i, (n, s, d) in enumerate(zip(names, people["gioi_tinh"], dob, strict=True))
                ]
                t = time.perf_counter()
                r = session.post(f"{base}/v1/citizens:match", json={"queries": queries})
                match_lat.append(time.perf_counter() - t)
                assert r.status_code == 200
                n_cands += sum(len(x["candidates"]) for x in r.json()["results"])

            client = PopulationClient(base, "bench", "secret")
            n_lookup = min(100_000, len(ids))
            lookup = rng.choice(ids, n_lookup, replace=False).tolist()
            t = time.perf_counter()
            found, _ = client.batch_get(lookup)
            t_client = time.perf_counter() - t
            assert len(found) == n_lookup
            rss_after = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)

    b50, b99, bmax = _percentiles(batch_lat)
    m50, m99, mmax = _percentiles(match_lat)
    table = "\n".join(
        [
            f"Register of {len(register):,} persons; {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"{datetime.now().isoformat(timespec='minutes')}. Server in its own process, "
            f"one request at a time over keep-alive.",
            "",
            measure_table(
                [
                    ("build synthetic register (numpy)", f"{t_build:.1f} s"),
                    ("simulator startup (read Parquet, fold, index)", f"{t_start:.1f} s"),
                    (
                        "simulator RSS after startup / after the run",
                        f"{rss:.0f} MB / {rss_after:.0f} MB",
                    ),
                    (
                        "batchGet 500 IDs (400 known): p50 / p99 / max",
                        f"{b50:.1f} / {b99:.1f} / {bmax:.1f} ms",
                    ),
                    (
                        "match 100 queries (30% typo, 10% year only): p50 / p99 / max",
                        f"{m50:.1f} / {m99:.1f} / {mmax:.1f} ms",
                    ),
                    ("match: mean candidates per query", f"{n_cands / (100 * args.calls):.1f}"),
                    (
                        "PopulationClient.batch_get 100,000 IDs (8 concurrent)",
                        f"{t_client:.2f} s ({100_000 / t_client:,.0f} IDs/s)",
                    ),
                ]
            ),
        ]
    )
    print(table)
    if not args.no_record:
        record(ROOT / "benchmarks" / "RESULTS.md", table)


def record(results: Path, table: str) -> None:
    """Put ``table`` under "## Population register simulator" in ``results``, replacing
    that section's previous table (or appending the section if there is none)."""
    heading = "## Population register simulator"
    text = results.read_text(encoding="utf-8") if results.exists() else ""
    section = f"{heading}\n\n{table}\n"
    start = text.find(f"{heading}\n")
    if start < 0:
        text = text.rstrip("\n") + f"\n\n{section}" if text else section
    else:
        end = text.find("\n## ", start + len(heading))
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
