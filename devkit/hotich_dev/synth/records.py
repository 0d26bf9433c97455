"""Civil-status records consistent with the synthetic population.

Builds the *logical* record frame: one row per source record, every value as the
district reader will see it once converted to Unicode (text before any legacy
encoding, dates in a small canonical language, IDs after the workbook's padding rule).
``render`` turns it into the three source flavors; ``oracle`` computes the truth from it.

Logical dates are strings: ``YYYY-MM-DD`` (which may not exist, e.g. ``2001-02-30``),
``YYYY`` (a year alone), any other text (unparseable), or None (missing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hotich_dev.synth import names as nm
from hotich_dev.synth.memory import shared_objects
from hotich_dev.synth.people import (
    DATA_END,
    REGISTER_START,
    as_dt64,
    make_ghosts,
    to_days,
    years_of,
)

# (code, name, flavor, store): store is where the flavor lives: 'pg' (PostgreSQL when a
# server is given, else SQLite), 'sqlite', 'legacy' (MariaDB when given, else SQLite),
# 'workbook'. Defects depend on the store class only, never on the server actually used.
DISTRICTS: tuple[tuple[str, str, str, str, float], ...] = (
    ("256", "Bắc Ninh", "modern", "pg", 0.17),
    ("258", "Yên Phong", "modern", "pg", 0.12),
    ("259", "Quế Võ", "modern", "sqlite", 0.13),
    ("260", "Tiên Du", "modern", "pg", 0.12),
    ("261", "Từ Sơn", "modern", "pg", 0.13),
    ("262", "Thuận Thành", "legacy", "legacy", 0.13),
    ("263", "Gia Bình", "workbook", "workbook", 0.10),
    ("264", "Lương Tài", "modern", "sqlite", 0.10),
)
DISTRICT_NAMES = {c: n for c, n, *_ in DISTRICTS}
STORE_OF = {c: s for c, _n, _f, s, _w in DISTRICTS}
FLAVOR_OF = {c: f for c, _n, f, _s, _w in DISTRICTS}

# Registration periods: (first year, last year, births, deaths, marriages) at scale 1.0.
PERIODS: tuple[tuple[int, int, int, int, int], ...] = (
    (1955, 2005, 210_000, 70_000, 70_000),
    (2006, 2018, 385_000, 105_000, 210_000),
    (2019, 2025, 25_000, 12_500, 12_500),
)
ENTRIES_PER_BOOK = 122
LOAI = {"birth": "KS", "death": "KT", "marriage": "KH"}

_COMMUNE_WORDS = (
    "Đông", "Tam", "Phù", "Hòa", "Long", "Đại", "Tân", "Trung", "Xuân", "Việt", "Đình", "Song",
    "Cảnh", "Hưng", "Lạc", "Vệ", "Phong", "Nội", "Bình", "Lâm", "Mão", "Điền", "An", "Thái",
)  # fmt: skip
DEATH_CAUSES = (
    "Bệnh già", "Đột quỵ", "Bệnh tim", "Ung thư", "Tai nạn giao thông", "Viêm phổi",
    "Tai biến mạch máu não", "Suy thận", "Đuối nước", "Bệnh",
)  # fmt: skip

DATE_COLS = ("reg", "dob", "death", "mother_dob", "father_dob", "h_dob", "w_dob")
TEXT_COLS = (
    "loai", "book", "entry", "name", "sex", "sid", "mother_name", "father_name", "place",
    "ethnicity", "nationality", "cause", "note", "h_name", "h_id", "h_eth", "w_name",
    "w_id", "w_eth",
)  # fmt: skip
NAME_COLS = ("name", "mother_name", "father_name", "h_name", "w_name")
ID_COLS = ("sid", "h_id", "w_id")


@dataclass(frozen=True)
class Commune:
    """A commune: code and name."""

    code: str
    name: str


def communes(rng: np.random.Generator) -> dict[str, list[Commune]]:
    """12-24 communes per district, with 5-digit codes and two-word names."""
    out: dict[str, list[Commune]] = {}
    code = 9160
    for dcode, *_ in DISTRICTS:
        k = int(rng.integers(12, 25))
        words = rng.choice(len(_COMMUNE_WORDS), size=(k, 2))
        out[dcode] = []
        seen: set[str] = set()
        for a, b in words:
            name = f"{_COMMUNE_WORDS[a]} {_COMMUNE_WORDS[b]}" if a != b else _COMMUNE_WORDS[a]
            while name in seen:
                name += " Đông"
            seen.add(name)
            out[dcode].append(Commune(f"{code:05d}", name))
            code += 3
    return out


def _days_to_str(days: np.ndarray) -> np.ndarray:
    """Day numbers to ``YYYY-MM-DD`` strings; negative (missing) to None."""
    s = np.datetime_as_string(as_dt64(days), unit="D").astype(object)
    s[days < 0] = None
    return s


def _uniform_days(
    rng: np.random.Generator, lo: np.ndarray | int, hi: np.ndarray | int, n: int
) -> np.ndarray:
    lo = np.broadcast_to(np.asarray(lo, np.int64), (n,))
    hi = np.broadcast_to(np.asarray(hi, np.int64), (n,))
    return lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)


def _reg_days_in_years(
    rng: np.random.Generator, first: int, last: int, n: int, ramp: bool
) -> np.ndarray:
    """Registration days spread over [first, last] (more in later years when ``ramp``)."""
    years = np.arange(first, last + 1)
    w = np.linspace(1.0, 3.0, len(years)) if ramp else np.ones(len(years))
    y = rng.choice(years, size=n, p=w / w.sum())
    lo = np.array([to_days(dt.date(int(v), 1, 1)) for v in years])
    hi = np.minimum(np.array([to_days(dt.date(int(v), 12, 31)) for v in years]), to_days(DATA_END))
    i = y - first
    return _uniform_days(rng, lo[i], hi[i], n)


def _pick_pool(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(pool))
    return rng.choice(pool, size=n, replace=False) if n else pool[:0]


class PeopleBook:
    """The register people plus ghosts, growing as ghosts are made."""

    def __init__(self, people: pd.DataFrame) -> None:
        self.frames = [people]
        self.n = len(people)

    def add_ghosts(
        self, rng: np.random.Generator, male: np.ndarray, dob: np.ndarray, death: np.ndarray
    ) -> np.ndarray:
        """Append ghosts; return their row numbers."""
        g = make_ghosts(rng, male, dob, death)
        g.index = np.arange(self.n, self.n + len(g))
        self.frames.append(g)
        self.n += len(g)
        return g.index.to_numpy()

    def frame(self) -> pd.DataFrame:
        """All people, row number = index."""
        if len(self.frames) > 1:
            self.frames = [pd.concat(self.frames)]
        return self.frames[0]


def _births(rng, people: pd.DataFrame, book: PeopleBook, scale: float) -> pd.DataFrame:
    dob = people["dob"].to_numpy()
    byear = years_of(dob)
    home = people["ppp"].to_numpy() == "027"
    used = np.zeros(len(people), bool)
    parts = []
    for first, last, n_births, _d, _m in PERIODS:
        n = int(round(n_births * scale))
        if first == 1955:
            n_ghost = int(round(n * 0.15))
            pool = np.flatnonzero(home & (byear >= first) & (byear <= last) & ~used)
            subj = _pick_pool(rng, pool, n - n_ghost)
            used[subj] = True
            # Births of people who died before the register existed.
            gdob = _uniform_days(
                rng, to_days(dt.date(first, 1, 1)), to_days(dt.date(last, 12, 31)), n_ghost
            )
            gdeath = _uniform_days(rng, gdob + 1, to_days(REGISTER_START) - 1, n_ghost)
            ghosts = book.add_ghosts(rng, rng.random(n_ghost) < 0.51, gdob, gdeath)
            subj_all = np.concatenate([subj, ghosts])
            sdob = np.concatenate([dob[subj], gdob])
            late = np.zeros(len(subj_all), bool)
        else:
            pool = np.flatnonzero(home & (byear >= first) & (byear <= last) & ~used)
            on_time = _pick_pool(rng, pool, min(int(len(pool) * 0.9), n))
            used[on_time] = True
            rest = n - len(on_time)
            late_pool = np.flatnonzero(home & (byear >= 1930) & (byear < first) & ~used)
            late_subj = _pick_pool(rng, late_pool, rest) if first == 2006 else late_pool[:0]
            used[late_subj] = True
            subj_all = np.concatenate([on_time, late_subj])
            sdob = dob[subj_all]
            late = np.r_[np.zeros(len(on_time), bool), np.ones(len(late_subj), bool)]
        m = len(subj_all)
        reg = sdob + rng.integers(1, 61, m)
        slow = rng.random(m) < 0.05
        reg[slow] += rng.integers(60, 3 * 365, int(slow.sum()))
        if late.any():
            reg[late] = _reg_days_in_years(rng, first, last, int(late.sum()), ramp=False)
        reg = np.minimum(np.maximum(reg, sdob), to_days(DATA_END))
        parts.append(pd.DataFrame({"subj": subj_all, "reg_d": reg, "late": late}))
    out = pd.concat(parts, ignore_index=True)
    out["rtype"] = "birth"
    return out


def _deaths(rng, people: pd.DataFrame, book: PeopleBook, scale: float) -> pd.DataFrame:
    dead = np.flatnonzero(people["dead"].to_numpy())
    death = people["death"].to_numpy()
    parts = []
    for first, last, _b, n_deaths, _m in PERIODS:
        n = int(round(n_deaths * scale))
        # Deaths before the register existed: people it never held.
        last_ghost = min(last, REGISTER_START.year - 1)
        if first <= last_ghost:
            n_ghost = int(round(n * (last_ghost - first + 1) / (last - first + 1)))
            gdeath = _reg_days_in_years(rng, first, last_ghost, n_ghost, ramp=True)
            age = np.where(
                rng.random(n_ghost) < 0.05,
                rng.integers(1, 365, n_ghost),
                (np.clip(rng.normal(72, 13, n_ghost), 18, 102) * 365.25).astype(np.int64),
            )
            gdob = gdeath - age
            ghosts = book.add_ghosts(rng, rng.random(n_ghost) < 0.5, gdob, gdeath)
            reg = np.minimum(gdeath + rng.integers(0, 31, n_ghost), to_days(DATA_END))
            parts.append(pd.DataFrame({"subj": ghosts, "reg_d": reg}))
            n -= n_ghost
        if last >= REGISTER_START.year and n > 0:
            lo = to_days(dt.date(max(first, REGISTER_START.year), 1, 1))
            hi = to_days(dt.date(last, 12, 31))
            pool = dead[(death[dead] >= lo) & (death[dead] <= hi)]
            subj = _pick_pool(rng, pool, n)
            reg = np.minimum(death[subj] + rng.integers(0, 31, len(subj)), to_days(DATA_END))
            parts.append(pd.DataFrame({"subj": subj, "reg_d": reg}))
    out = pd.concat(parts, ignore_index=True)
    out["rtype"] = "death"
    return out


def _spouses(
    rng, people: pd.DataFrame, male: bool, reg: np.ndarray, min_age: float, mean_extra: float
) -> np.ndarray:
    """Register people of one sex, alive at ``reg`` and of a plausible age for marriage."""
    sel = np.flatnonzero(people["male"].to_numpy() == male)
    order = sel[np.argsort(people["dob"].to_numpy()[sel], kind="stable")]
    sdob = people["dob"].to_numpy()[order]
    death = people["death"].to_numpy()
    out = np.full(len(reg), -1, np.int64)
    todo = np.arange(len(reg))
    for _ in range(8):
        age = (min_age + np.minimum(rng.exponential(mean_extra, len(todo)), 22.0)) * 365.25
        target = reg[todo] - age.astype(np.int64)
        pos = np.searchsorted(sdob, target, side="right") - 1 - rng.integers(0, 3, len(todo))
        ok = pos >= 0
        cand = order[np.maximum(pos, 0)]
        ok &= (death[cand] < 0) | (death[cand] >= reg[todo])
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
        if not len(todo):
            break
    return out


def _marriages(rng, people: pd.DataFrame, book: PeopleBook, scale: float) -> pd.DataFrame:
    parts = []
    for first, last, _b, _d, n_marr in PERIODS:
        n = int(round(n_marr * scale))
        reg = _reg_days_in_years(rng, first, last, n, ramp=first == 1955)
        h = _spouses(rng, people, True, reg, 20.6, 5.5)
        w = _spouses(rng, people, False, reg, 18.6, 4.5)
        # Old marriages: some spouses died before the register existed (ghosts).
        ghost_h = (h < 0) | ((reg < to_days(dt.date(2000, 1, 1))) & (rng.random(n) < 0.15))
        ghost_w = (w < 0) | ((reg < to_days(dt.date(2000, 1, 1))) & (rng.random(n) < 0.15))
        for is_h, mask, arr, min_age in ((True, ghost_h, h, 20.6), (False, ghost_w, w, 18.6)):
            k = int(mask.sum())
            if k:
                gdob = reg[mask] - ((min_age + rng.exponential(4.0, k)) * 365.25).astype(np.int64)
                gdeath = _uniform_days(rng, reg[mask] + 1, to_days(REGISTER_START) - 1, k)
                gdeath = np.maximum(gdeath, reg[mask] + 1)
                arr[mask] = book.add_ghosts(rng, np.full(k, is_h), gdob, gdeath)
        parts.append(pd.DataFrame({"h": h, "w": w, "reg_d": reg}))
    out = pd.concat(parts, ignore_index=True)
    out["rtype"] = "marriage"
    return out


def build_records(
    rng: np.random.Generator, people: pd.DataFrame, scale: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clean logical records (no defects yet) and the people frame with ghosts.

    Returns ``(records, all_people)``; records reference people by row number in
    columns ``subj``, ``h`` and ``w`` (-1 when not applicable).
    """
    book = PeopleBook(people)
    births = _births(rng, people, book, scale)
    deaths = _deaths(rng, people, book, scale)
    marriages = _marriages(rng, people, book, scale)
    allp = book.frame()
    ev = pd.concat([births, deaths, marriages], ignore_index=True)
    n = len(ev)
    for c in ("subj", "h", "w"):
        ev[c] = ev[c].fillna(-1).astype(np.int64)
    ev["late"] = ev["late"].fillna(False).astype(bool)

    # District, book (per commune, year and type) and entry number. Work on numbers and
    # numpy object arrays: pandas' Arrow strings are slow to build row by row.
    codes = np.array([d[0] for d in DISTRICTS], dtype=object)
    weights = np.array([d[4] for d in DISTRICTS])
    ev["d_idx"] = rng.choice(len(codes), n, p=weights / weights.sum())
    ev["rt"] = ev["rtype"].map({"birth": 0, "death": 1, "marriage": 2}).astype(np.int64)
    ev["year"] = years_of(ev["reg_d"].to_numpy())
    ev = ev.sort_values(["d_idx", "rt", "year", "reg_d"], kind="stable").reset_index(drop=True)
    grp = ev.groupby(["d_idx", "rt", "year"], sort=False)
    size = grp["reg_d"].transform("size").to_numpy()
    rank = grp.cumcount().to_numpy()
    n_books = np.maximum(1, np.round(size / ENTRIES_PER_BOOK)).astype(np.int64)
    quyen = rank * n_books // size + 1
    ev["quyen"] = quyen
    ev["entry_n"] = (
        ev.groupby(["d_idx", "rt", "year", "quyen"], sort=False).cumcount().to_numpy() + 1
    )
    d_idx = ev["d_idx"].to_numpy()
    district = codes[d_idx]
    loai = np.array(["KS", "KT", "KH"], dtype=object)[ev["rt"].to_numpy()]
    year = ev["year"].to_numpy()
    ev["district"] = pd.Series(district, dtype=object)
    ev["loai"] = pd.Series(loai, dtype=object)
    ev["book"] = pd.Series(
        [
            f"{d}-{lo}-{y}-{q:02d}"
            for d, lo, y, q in zip(
                district.tolist(), loai.tolist(), year.tolist(), quyen.tolist(), strict=True
            )
        ],
        dtype=object,
    )
    comm = communes(rng)
    width = max(len(v) for v in comm.values())
    comm_code = np.empty((len(codes), width), dtype=object)
    comm_name = np.empty((len(codes), width), dtype=object)
    sizes = np.array([len(comm[c]) for c in codes])
    for k, c in enumerate(codes):
        comm_code[k, : sizes[k]] = [x.code for x in comm[c]]
        comm_name[k, : sizes[k]] = [x.name for x in comm[c]]
    comm_idx = (quyen - 1 + year) % sizes[d_idx]
    ev["commune"] = pd.Series(comm_code[d_idx, comm_idx], dtype=object)
    commune_name = comm_name[d_idx, comm_idx]

    rec = _logical(rng, ev, allp, commune_name)
    return rec, allp


def _combine(make, *arrays: np.ndarray) -> np.ndarray:
    """``make(*values)`` per row, computed once per distinct combination (shared objects)."""
    code = np.zeros(len(arrays[0]), np.int64)
    firsts = []
    for a in arrays:
        c, u = pd.factorize(a)
        code = code * len(u) + c
        firsts.append(np.asarray(u, dtype=object))
    combos, inverse = np.unique(code, return_inverse=True)
    out = np.empty(len(combos), dtype=object)
    for k, cc in enumerate(combos.tolist()):
        parts = []
        for u in reversed(firsts):
            cc, r = divmod(cc, len(u))
            parts.append(u[r])
        out[k] = make(*reversed(parts))
    return out[inverse.reshape(-1)]


def _take(arr: np.ndarray, idx: np.ndarray, fill=None) -> np.ndarray:
    out = np.empty(len(idx), dtype=object)
    ok = idx >= 0
    out[ok] = arr[idx[ok]]
    out[~ok] = fill
    return out


def _logical(rng, ev: pd.DataFrame, allp: pd.DataFrame, commune_name: np.ndarray) -> pd.DataFrame:
    """The logical columns from the events and the people they reference."""
    n = len(ev)
    rtype = ev["rtype"].to_numpy()
    is_b, is_d, is_m = rtype == "birth", rtype == "death", rtype == "marriage"
    subj, h, w = ev["subj"].to_numpy(), ev["h"].to_numpy(), ev["w"].to_numpy()
    reg = ev["reg_d"].to_numpy()
    name = allp["name"].to_numpy()
    male = allp["male"].to_numpy()
    dob = allp["dob"].to_numpy()
    pid = allp["pid"].to_numpy()
    death = allp["death"].to_numpy()
    pid_s = np.array([f"{x:012d}" if x >= 0 else None for x in pid.tolist()], dtype=object)

    has_id_era = reg >= to_days(REGISTER_START)
    p_id = np.where(has_id_era, np.where(is_d, 0.9, 0.97), 0.03)
    give_id = rng.random(n) < p_id
    give_h = rng.random(n) < p_id
    give_w = rng.random(n) < p_id

    out: dict[str, np.ndarray] = {}
    out["district"] = ev["district"].to_numpy()
    out["store"] = np.array([STORE_OF[d] for d in out["district"].tolist()], dtype=object)
    out["rtype"] = rtype
    out["loai"] = ev["loai"].to_numpy()
    out["book"] = ev["book"].to_numpy()
    out["entry"] = np.array([str(x) for x in ev["entry_n"].tolist()], dtype=object)
    out["commune"] = ev["commune"].to_numpy()
    out["book_year"] = ev["year"].to_numpy()
    out["reg"] = _days_to_str(reg)
    s = np.where(is_m, -1, subj)
    out["name"] = _take(name, s)
    out["sex"] = np.where(s >= 0, np.where(_take(male, s, False).astype(bool), "Nam", "Nữ"), None)
    out["dob"] = _days_to_str(np.where(s >= 0, dob[np.maximum(s, 0)], -1))
    sid = _take(pid_s, s)
    out["sid"] = np.where(give_id & ~is_m, sid, None)
    out["true_pid"] = np.where(~is_m, sid, None)
    out["death"] = _days_to_str(np.where(is_d, death[np.maximum(s, 0)], -1))

    # Parents of a birth: the record names them as they are (the register may not).
    bs = np.where(is_b, subj, -1)
    give_mother = is_b & (rng.random(n) < 0.97)
    give_father = is_b & (rng.random(n) < 0.88)
    out["mother_name"] = np.where(give_mother, _take(allp["mother_name"].to_numpy(), bs), None)
    out["father_name"] = np.where(give_father, _take(allp["father_name"].to_numpy(), bs), None)
    mdob = np.where(bs >= 0, allp["mother_dob"].to_numpy()[np.maximum(bs, 0)], -1)
    fdob = np.where(bs >= 0, allp["father_dob"].to_numpy()[np.maximum(bs, 0)], -1)
    out["mother_dob"] = _days_to_str(np.where(give_mother & (rng.random(n) < 0.9), mdob, -1))
    out["father_dob"] = _days_to_str(np.where(give_father & (rng.random(n) < 0.8), fdob, -1))

    out["h_name"] = _take(name, np.where(is_m, h, -1))
    out["h_dob"] = _days_to_str(np.where(is_m, dob[np.maximum(h, 0)], -1))
    out["h_id"] = np.where(is_m & give_h, _take(pid_s, np.where(is_m, h, -1)), None)
    out["true_h"] = _take(pid_s, np.where(is_m, h, -1))
    out["w_name"] = _take(name, np.where(is_m, w, -1))
    out["w_dob"] = _days_to_str(np.where(is_m, dob[np.maximum(w, 0)], -1))
    out["w_id"] = np.where(is_m & give_w, _take(pid_s, np.where(is_m, w, -1)), None)
    out["true_w"] = _take(pid_s, np.where(is_m, w, -1))

    eth_names = np.array([e for e, _p in nm.ETHNICITIES], dtype=object)
    eth_p = np.array([p for _e, p in nm.ETHNICITIES])
    eth = eth_names[rng.choice(len(eth_names), n, p=eth_p / eth_p.sum())]
    out["ethnicity"] = np.where(is_m, None, eth)
    out["h_eth"] = np.where(is_m, eth, None)
    out["w_eth"] = np.where(
        is_m, eth_names[rng.choice(len(eth_names), n, p=eth_p / eth_p.sum())], None
    )
    out["nationality"] = np.where(is_b, "Việt Nam", None)
    dname = np.array([DISTRICT_NAMES[d] for d in out["district"].tolist()], dtype=object)
    cname = np.array(commune_name, dtype=object)
    hospital = rng.random(n) < np.where(reg >= to_days(dt.date(2000, 1, 1)), 0.7, 0.2)
    place_b = np.where(
        hospital,
        np.where(
            rng.random(n) < 0.6,
            "Bệnh viện Đa khoa tỉnh Bắc Ninh",
            _combine(lambda d: "Trung tâm Y tế " + d, dname),
        ),
        _combine(lambda c, d: "Trạm Y tế xã " + c + ", " + d + ", Bắc Ninh", cname, dname),
    )
    place_d = np.where(
        rng.random(n) < 0.75, _combine(lambda c, d: "Tại nhà, xã " + c + ", " + d, cname, dname),
        "Bệnh viện Đa khoa tỉnh Bắc Ninh",
    )  # fmt: skip
    out["place"] = np.where(is_b, place_b, np.where(is_d, place_d, None))
    causes = np.array(DEATH_CAUSES, dtype=object)
    out["cause"] = np.where(
        is_d & (rng.random(n) < 0.8), causes[rng.integers(0, len(causes), n)], None
    )
    late = ev["late"].to_numpy()
    out["note"] = np.where(late, "Đăng ký lại", None)

    # The district server's wall time of the last write (modern sources only).
    migrated = reg < to_days(dt.date(2019, 1, 1))
    stamp_day = np.where(
        migrated,
        _uniform_days(rng, to_days(dt.date(2019, 3, 1)), to_days(dt.date(2024, 12, 31)), n),
        np.minimum(reg + rng.integers(0, 3, n), to_days(DATA_END)),
    )
    secs = rng.integers(7 * 3600, 18 * 3600, n)
    out["updated_at"] = as_dt64(stamp_day).astype("datetime64[s]") + secs.astype("timedelta64[s]")
    out["subj"], out["h"], out["w"] = subj, h, w
    out["legacy_enc"] = np.full(n, None, dtype=object)
    for c in (*DATE_COLS, "sex", "place", "book", "entry"):
        out[c] = shared_objects(out[c])
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object) if v.dtype == object else v for k, v in out.items()}
    )


_COMMON = {"loai", "book", "entry", "reg"}
_AVAILABLE: dict[tuple[str, str], set[str]] = {
    ("modern", "birth"): _COMMON | {
        "sid", "name", "sex", "dob", "place", "ethnicity", "nationality", "mother_name",
        "mother_dob", "father_name", "father_dob"},
    ("modern", "death"): _COMMON | {"sid", "name", "sex", "dob", "death", "place", "cause"},
    ("modern", "marriage"): _COMMON | {
        "h_name", "h_dob", "h_id", "h_eth", "w_name", "w_dob", "w_id", "w_eth"},
    ("legacy", "birth"): _COMMON | {
        "sid", "name", "sex", "dob", "place", "ethnicity", "mother_name", "mother_dob",
        "father_name", "note"},
    ("legacy", "death"): _COMMON | {"sid", "name", "sex", "dob", "death", "place", "ethnicity", "note"},
    ("legacy", "marriage"): _COMMON | {"h_name", "h_dob", "h_id", "h_eth", "w_name", "w_dob", "w_id", "note"},
    ("workbook", "birth"): _COMMON | {
        "sid", "name", "sex", "dob", "place", "ethnicity", "mother_name", "mother_dob", "father_name"},
    ("workbook", "death"): _COMMON | {"sid", "name", "sex", "dob", "death", "place", "cause"},
    ("workbook", "marriage"): _COMMON | {"h_name", "h_dob", "h_id", "w_name", "w_dob", "w_id"},
}  # fmt: skip


def apply_store_masks(rec: pd.DataFrame) -> pd.DataFrame:
    """Blank the fields a district's flavor has no column for (in place; returned)."""
    flavor = rec["district"].map(FLAVOR_OF).to_numpy()
    rtype = rec["rtype"].to_numpy()
    for (fl, rt), cols in _AVAILABLE.items():
        rows = (flavor == fl) & (rtype == rt)
        if not rows.any():
            continue
        for c in (*TEXT_COLS, *DATE_COLS):
            if c not in cols:
                rec.loc[rows, c] = None
    return rec
