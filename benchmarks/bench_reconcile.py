"""Benchmark reconciliation on synthetic data through an in-memory register.

Run from the project root: ``.venv/bin/python benchmarks/bench_reconcile.py [persons]``
(default 1 000 000 persons without an ID, each with ~8 candidates, plus 300 000 persons
with an ID). Times ``build_match_queries``, ``link``, ``check_ids`` and the whole
``reconcile`` (which includes the fake register's own work), prints a markdown table
and appends it to ``benchmarks/RESULTS.md`` under "Reconcile (in-memory)". Peak memory is
the peak resident set size above the size before the step, sampled every 5 ms. CPU seconds
(all threads of the process) are shown beside wall seconds: on a shared machine the wall
time of a step grows with the others' load, its CPU time much less.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from bench_names import GIVENS, MIDDLES, SURNAMES  # noqa: E402

from hotich.model import PERSON_COLUMNS  # noqa: E402
from hotich.names import fold_keys  # noqa: E402
from hotich.reconcile import (  # noqa: E402
    CANDIDATE_COLUMNS,
    CITIZEN_COLUMNS,
    build_match_queries,
    check_ids,
    link,
    reconcile,
)


def _pick(rng: np.random.Generator, words: list[str], n: int) -> np.ndarray:
    return np.array(words, dtype=object)[rng.integers(0, len(words), n)]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    # Two middle names make the name space large enough for ~1 M people.
    return (
        _pick(rng, SURNAMES, n)
        + " "
        + _pick(rng, MIDDLES, n)
        + " "
        + _pick(rng, MIDDLES, n)
        + " "
        + _pick(rng, GIVENS, n)
    )


def _iso(days: np.ndarray) -> np.ndarray:
    out = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)
    out[np.isnat(days)] = None
    return out


def _ids(start: int, n: int) -> np.ndarray:
    digits = pc.utf8_lpad(pa.array(np.arange(start, start + n)).cast(pa.string()), 12, "0")
    return digits.to_numpy(zero_copy_only=False).astype(object)


def synthetic(n_linkless: int, n_with_id: int, seed: int = 7) -> tuple[pd.DataFrame, Any]:
    """Persons (PERSON_COLUMNS) and a ``BenchRegister`` holding their register side."""
    rng = np.random.default_rng(seed)
    n = n_linkless + n_with_id
    kind = rng.choice(np.array(["birth", "death", "marriage"], dtype=object), n, p=[0.7, 0.2, 0.1])
    dob = np.datetime64("1925-01-01") + rng.integers(0, 36_500, n).astype("timedelta64[D]")
    dob = np.where(
        kind == "birth",
        np.datetime64("2000-01-01") + rng.integers(0, 9000, n).astype("timedelta64[D]"),
        dob,
    )
    year_only = (kind == "death") & (rng.random(n) < 0.1)
    death = np.where(
        kind == "death",
        dob + rng.integers(3650, 30000, n).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )
    death = np.minimum(death, np.datetime64("2025-12-31"))
    death = np.where(kind == "death", death, np.datetime64("NaT"))
    registered = np.where(
        kind == "death", death + 5, dob + rng.integers(1, 60, n).astype("timedelta64[D]")
    )
    registered = np.where(kind == "marriage", dob + 9000, registered)
    mother = np.where((kind == "birth") & (rng.random(n) < 0.85), _names(rng, n), None)
    father = np.where((kind == "birth") & (rng.random(n) < 0.6), _names(rng, n), None)
    names = _names(rng, n)
    sex = np.where(rng.random(n) < 0.5, "Nam", "Nữ").astype(object)
    role = np.where(kind == "marriage", np.where(sex == "Nam", "husband", "wife"), "subject")
    pid = np.full(n, None, dtype=object)
    pid[n_linkless:] = _ids(10**11, n_with_id)
    persons = pd.DataFrame(
        {
            "source_key": pd.Series(np.arange(n)).astype(str).radd("260:").to_numpy(dtype=object),
            "record_type": kind,
            "role": role.astype(object),
            "full_name": names,
            "sex": sex,
            "dob": pd.to_datetime(np.where(year_only, np.datetime64("NaT"), dob)),
            "dob_year": pd.Series(dob.astype("datetime64[Y]").astype(int) + 1970, dtype="Int64"),
            "dob_year_only": year_only,
            "personal_id": pid,
            "mother_name": mother,
            "father_name": father,
            "death_date": pd.to_datetime(death),
            "registration_date": pd.to_datetime(registered),
        },
        columns=list(PERSON_COLUMNS),
    )

    # Register side of persons with an ID: 3% unknown, a few mismatches.
    w = np.arange(n_linkless, n)
    known = rng.random(n_with_id) >= 0.03
    reg_name = names[w].copy()
    r = rng.random(n_with_id)
    reg_name[r < 0.02] = _names(rng, int((r < 0.02).sum()))
    diac = (r >= 0.02) & (r < 0.05)
    reg_name[diac] = fold_keys(reg_name[diac]).to_pandas().str.title().to_numpy(dtype=object)
    reg_dob = np.where(rng.random(n_with_id) < 0.02, dob[w] + 1, dob[w])
    citizens = pd.DataFrame(
        {
            "so_dinh_danh": pid[w],
            "ho_ten": reg_name,
            "gioi_tinh": np.where(rng.random(n_with_id) < 0.01, "Nam", sex[w]),
            "ngay_sinh": _iso(reg_dob),
            "noi_dang_ky_khai_sinh": "027",
            "ho_ten_cha": father[w],
            "ho_ten_me": mother[w],
            "trang_thai": np.where(kind[w] == "death", "da_chet", "con_song"),
            "ngay_chet": _iso(death[w]),
        },
        columns=list(CITIZEN_COLUMNS),
    )[known]

    # Candidates of persons without an ID: ~8 each; the first is usually the person.
    k = rng.integers(1, 16, n_linkless)
    k[rng.random(n_linkless) < 0.001] = 50  # some full answers
    owner = np.repeat(np.arange(n_linkless), k)
    first = np.concatenate([[0], np.cumsum(k)[:-1]])
    is_first = np.zeros(len(owner), dtype=bool)
    is_first[first] = True
    m = len(owner)
    variant = rng.random(m)
    c_name = names[owner].copy()
    c_dob = dob[owner].copy()
    # The person: exact (most), diacritics lost, a slip, or a day/month swap.
    folded = is_first & (variant < 0.10)
    c_name[folded] = fold_keys(c_name[folded]).to_pandas().str.title().to_numpy(dtype=object)
    slip = is_first & (variant >= 0.10) & (variant < 0.15)
    c_name[slip] = pd.Series(c_name[slip]).str[:-1].add("x").to_numpy(dtype=object)
    swap = is_first & (variant >= 0.15) & (variant < 0.20)
    ymd = pd.Series(c_dob[swap])
    ok = ymd.dt.day.to_numpy() <= 12
    swapped = pd.to_datetime(
        {"year": ymd.dt.year, "month": ymd.dt.day.clip(upper=12), "day": ymd.dt.month}
    ).to_numpy()
    c_dob[np.flatnonzero(swap)[ok]] = swapped[ok]
    # Others: namesakes born another day that year, or near names born the same day.
    other = ~is_first
    namesake = other & (variant < 0.4)
    c_dob[namesake] = c_dob[namesake] + rng.integers(1, 200, int(namesake.sum())).astype(
        "timedelta64[D]"
    )
    near = other & ~namesake
    c_name[near] = (
        pd.Series(c_name[near])
        .str[:-2]
        .add(pd.Series(_pick(rng, ["a", "e", "ng", "nh", "u"], int(near.sum()))))
        .to_numpy(dtype=object)
    )
    c_mother = np.where(is_first, mother[owner], _names(rng, m))
    c_mother = np.where(rng.random(m) < 0.1, None, c_mother)
    c_father = np.where(is_first, father[owner], None)
    c_kind = kind[owner]
    dead = (c_kind == "death") & (is_first | (rng.random(m) < 0.3))
    c_death = np.where(dead & is_first, death[owner], np.datetime64("NaT"))
    c_death = np.where(dead & ~is_first, death[owner] - 30, c_death)
    cand = pd.DataFrame(
        {
            "qkey": owner,
            "so_dinh_danh": _ids(5 * 10**11, m),
            "ho_ten": pd.array(c_name, dtype="str"),
            "gioi_tinh": pd.array(sex[owner], dtype="str"),
            "ngay_sinh": pd.array(_iso(c_dob), dtype="str"),
            "noi_dang_ky_khai_sinh": "027",
            "ho_ten_cha": pd.array(c_father, dtype="str"),
            "ho_ten_me": pd.array(c_mother, dtype="str"),
            "trang_thai": np.where(dead, "da_chet", "con_song"),
            "ngay_chet": pd.array(_iso(c_death), dtype="str"),
        }
    )
    cand["so_dinh_danh"] = pd.array(cand["so_dinh_danh"], dtype="str")
    # How the register finds a person's candidates: by the query's (name, sex, date).
    key = pd.Series(names[:n_linkless]) + "|" + sex[:n_linkless] + "|" + _iso(dob[:n_linkless])
    key[year_only[:n_linkless]] = (
        pd.Series(names[:n_linkless])
        + "|"
        + sex[:n_linkless]
        + "|"
        + pd.Series(dob[:n_linkless]).dt.year.astype(str)
    )[year_only[:n_linkless]]
    return persons, BenchRegister(citizens, cand, key.to_numpy(dtype=object), k)


class BenchRegister:
    """In-memory RegisterLookup over prebuilt answers (no matching logic: not timed here)."""

    def __init__(
        self, citizens: pd.DataFrame, cand: pd.DataFrame, keys: np.ndarray, per_person: np.ndarray
    ) -> None:
        self.citizens = citizens.reset_index(drop=True)
        self.cand = cand
        # The first person of each key answers for it (namesakes born the same day).
        first = ~pd.Index(keys).duplicated()
        self.key_index = pd.Index(keys[first])
        self.owner_of = np.flatnonzero(first)
        self.starts = np.concatenate([[0], np.cumsum(per_person)[:-1]])
        self.per_person = per_person

    def batch_get(self, ids: Iterable[str]) -> tuple[pd.DataFrame, set[str]]:
        ids = pd.Index(list(ids))
        found = self.citizens[self.citizens["so_dinh_danh"].isin(ids)]
        return found, set(ids.difference(pd.Index(found["so_dinh_danh"])))

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        key = queries["ho_ten"] + "|" + queries["gioi_tinh"] + "|" + queries["ngay_sinh"]
        q_pos = self.key_index.get_indexer(key)
        hit = np.flatnonzero(q_pos >= 0)
        owners = self.owner_of[q_pos[hit]]
        counts = self.per_person[owners]
        rows = np.repeat(self.starts[owners], counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        out = self.cand.iloc[rows].drop(columns="qkey").reset_index(drop=True)
        out.insert(0, "ref", np.repeat(queries["ref"].to_numpy(dtype=object)[hit], counts))
        return out[list(CANDIDATE_COLUMNS)]


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """Run fn; return its result, wall seconds, peak RSS above the start in GiB, and CPU
    seconds of the process (all threads)."""
    base, peak, stop = _rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    stop.set()
    t.join()
    return result, seconds, max(peak[0] - base, 0) / 2**30, cpu


def main() -> None:
    n_linkless = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_with_id = int(n_linkless * 0.3)
    t0 = time.perf_counter()
    persons, register = synthetic(n_linkless, n_with_id)
    print(f"synthetic data: {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    without = persons[persons["personal_id"].isna()]
    with_id = persons[persons["personal_id"].notna()]
    (queries, refs), t_q, m_q, c_q = timed(lambda: build_match_queries(without))
    candidates, t_m, _, _ = timed(lambda: register.match(queries))
    (verdicts, amb), t_l, m_l, c_l = timed(lambda: link(without.assign(ref=refs), candidates))
    (citizens, not_found), t_b, _, _ = timed(
        lambda: register.batch_get(with_id["personal_id"].unique())
    )
    checked, t_c, m_c, c_c = timed(lambda: check_ids(with_id, citizens, not_found))
    result, t_r, m_r, c_r = timed(lambda: reconcile(persons, register))

    share = verdicts["reasons"].map(lambda r: r[0] if r else "").value_counts()
    rows = [
        ("build_match_queries", len(without), t_q, m_q, c_q, f"{len(queries):,} queries"),
        (
            "link",
            len(candidates),
            t_l,
            m_l,
            c_l,
            f"{len(without):,} persons; {len(amb):,} ambiguous candidate rows",
        ),
        (
            "check_ids",
            len(with_id),
            t_c,
            m_c,
            c_c,
            f"{int(checked['reasons'].map(bool).sum()):,} with a code",
        ),
        (
            "reconcile (incl. fake register)",
            len(persons),
            t_r,
            m_r,
            c_r,
            "batch_get + match + all of the above",
        ),
    ]
    today = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"### {today} — {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, pandas {pd.__version__}",
        "",
        f"{n_linkless:,} persons without ID × {len(candidates) / max(len(without), 1):.1f} candidates "
        f"({len(candidates):,} pairs) + {n_with_id:,} with ID. Fake register: match {t_m:.1f} s, batch_get {t_b:.1f} s (not part of link/check_ids).",
        "",
        "| step | rows in | seconds | rows/s | peak RSS (GiB) | CPU seconds | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        *(
            f"| {name} | {n:,} | {t:.2f} | {n / t:,.0f} | {m:.2f} | {cpu:.2f} | {note} |"
            for name, n, t, m, cpu, note in rows
        ),
        "",
        "Link verdicts: " + ", ".join(f"{k} {v:,}" for k, v in share.items()),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    results = Path(__file__).resolve().parent / "RESULTS.md"
    header = "## Reconcile (in-memory)\n\n"
    existing = results.read_text() if results.exists() else ""
    if header in existing:
        at = existing.index(header) + len(header)
        results.write_text(existing[:at] + text + "\n" + existing[at:])
    else:
        results.write_text(existing + ("\n" if existing else "") + header + text + "\n")


if __name__ == "__main__":
    main()
