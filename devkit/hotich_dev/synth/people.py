"""The synthetic population: the register's people, and people the register never held.

Everything is vectorized with numpy; at scale 1.0 the register holds about 1.5 M people
born 1920-2025 (about 20 per sex per birth date, fewer for the oldest years).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from hotich_dev.synth import names as nm

# The data's horizon: no generated event (other than a labelled future-date defect)
# lies after it, so the truth does not depend on the day the generator runs.
DATA_END = dt.date(2025, 6, 30)
REGISTER_START = dt.date(2016, 1, 1)  # deaths before this are not in the register
HOME_PROVINCE = "027"
PER_SEX_PER_DAY = 20.0

# Dates are day numbers since 1800-01-01, so that every real date is positive and -1
# can mean "none".
EPOCH = np.datetime64("1800-01-01", "D")
_EPOCH_SHIFT = int((EPOCH - np.datetime64("1970-01-01", "D")).astype(int))


def to_days(d: dt.date) -> int:
    """Day number of a date."""
    return int((np.datetime64(d, "D") - EPOCH).astype(int))


def as_dt64(days: np.ndarray) -> np.ndarray:
    """Day numbers as ``datetime64[D]`` (negative -> NaT)."""
    out = (np.asarray(days, np.int64) + _EPOCH_SHIFT).astype("datetime64[D]")
    out[np.asarray(days) < 0] = np.datetime64("NaT")
    return out


def years_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers."""
    return as_dt64(days).astype("datetime64[Y]").astype(int) + 1970


def century_sex_digit(year: np.ndarray, male: np.ndarray) -> np.ndarray:
    """The ID's fourth digit for a birth year and sex (contract rule)."""
    return 2 * ((year - 1900) // 100) + np.where(male, 0, 1)


class IdAllocator:
    """Hands out unique 12-digit personal IDs (kept as int64: PPPGYYNNNNNN)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used = np.empty(0, dtype=np.int64)  # sorted

    def _taken(self, ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.used, ids)
        pos = np.minimum(pos, len(self.used) - 1)
        return (self.used[pos] == ids) if len(self.used) else np.zeros(len(ids), bool)

    def allocate(self, ppp: np.ndarray, male: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Unique IDs for people of the given province code, sex and birth year."""
        prefix = (
            ppp.astype(np.int64) * 1_000_000_000
            + century_sex_digit(year, male).astype(np.int64) * 100_000_000
            + (year % 100).astype(np.int64) * 1_000_000
        )
        ids = prefix + self.rng.integers(0, 1_000_000, len(prefix))
        for _ in range(100):
            # Collisions with earlier IDs or within this batch are drawn again.
            order = np.argsort(ids, kind="stable")
            dup_sorted = np.zeros(len(ids), bool)
            s = ids[order]
            dup_sorted[1:] = s[1:] == s[:-1]
            bad = np.zeros(len(ids), bool)
            bad[order[dup_sorted]] = True
            bad |= self._taken(ids)
            if not bad.any():
                break
            ids[bad] = prefix[bad] + self.rng.integers(0, 1_000_000, int(bad.sum()))
        self.used = np.sort(np.concatenate([self.used, ids]))
        return ids

    def is_used(self, ids: np.ndarray) -> np.ndarray:
        """Whether each ID is taken."""
        return self._taken(ids)


def id_strings(ids: np.ndarray) -> np.ndarray:
    """int64 IDs as 12-digit strings."""
    return np.array([f"{i:012d}" for i in ids.tolist()], dtype=object)


def make_names(
    rng: np.random.Generator,
    male: np.ndarray,
    birth_year: np.ndarray,
    surname: np.ndarray | None = None,
) -> np.ndarray:
    """Full names ``family middle given`` for people of the given sex and birth year."""
    n = len(male)
    if surname is None:
        surname = nm.sample_surnames(rng, n)
    middle, given = nm.sample_given(rng, male, birth_year >= 1980)
    return nm.join_names(surname, middle, given)


def make_parents(
    rng: np.random.Generator, surname: np.ndarray, dob: np.ndarray
) -> dict[str, np.ndarray]:
    """Father (same family name as the child), mother, and their dates of birth."""
    n = len(surname)
    mother_age = rng.integers(18 * 365 + 30, 42 * 365, n)
    father_age = mother_age + rng.integers(-2 * 365, 9 * 365, n)
    father_age = np.maximum(father_age, 20 * 365 + 30)
    mother_dob = dob - mother_age
    father_dob = dob - father_age
    father = make_names(rng, np.ones(n, bool), years_of(father_dob), surname)
    mother = make_names(rng, np.zeros(n, bool), years_of(mother_dob))
    return {
        "father_name": father,
        "mother_name": mother,
        "father_dob": father_dob,
        "mother_dob": mother_dob,
    }


def make_register_people(
    rng: np.random.Generator, alloc: IdAllocator, scale: float
) -> pd.DataFrame:
    """The register's people (before hard-case additions), one row each.

    Columns: ``pid`` (int64), ``name``, ``surname``, ``male``, ``dob`` (days),
    ``ppp``, parents (names, dob days), ``reg_mother``/``reg_father`` (the register
    holds the parent's name), ``dead``, ``death`` (days, -1 when alive).
    """
    start, end = to_days(dt.date(1920, 1, 1)), to_days(DATA_END)
    days = np.arange(start, end + 1)
    year = years_of(days)
    # The oldest cohorts are thinner (most died before the register existed).
    weight = np.clip((year - 1905) / 45.0, 0.2, 1.0)
    weight = weight * len(weight) / weight.sum()
    lam = PER_SEX_PER_DAY * scale * weight
    counts = rng.poisson(np.concatenate([lam, lam]))
    dob = np.repeat(np.concatenate([days, days]), counts)
    male = np.repeat(np.concatenate([np.ones(len(days), bool), np.zeros(len(days), bool)]), counts)
    n = len(dob)
    perm = rng.permutation(n)
    dob, male = dob[perm], male[perm]
    byear = years_of(dob)

    surname = nm.sample_surnames(rng, n)
    name = make_names(rng, male, byear, surname)
    others = np.array([c for c, _w in nm.OTHER_PROVINCES], dtype=object)
    other_p = np.array([w for _c, w in nm.OTHER_PROVINCES], float)
    ppp = np.where(
        rng.random(n) < 0.88,
        HOME_PROVINCE,
        others[rng.choice(len(others), n, p=other_p / other_p.sum())],
    ).astype(object)
    pid = alloc.allocate(ppp, male, byear)
    parents = make_parents(rng, surname, dob)
    p_me = np.select([byear >= 1990, byear >= 1960], [0.92, 0.6], 0.25)
    reg_mother = rng.random(n) < p_me
    reg_father = reg_mother & (rng.random(n) < 0.9)
    # Deaths since the register started (earlier deaths are not in the register at all).
    p_dead = np.select([byear < 1936, byear < 1951, byear < 1971], [0.55, 0.18, 0.05], 0.01)
    dead = rng.random(n) < p_dead
    lo = np.maximum(to_days(REGISTER_START), dob + 1)
    death = np.where(dead, lo + (rng.random(n) * (end - lo + 1)).astype(np.int64), -1)
    dead &= death <= end
    death = np.where(dead, death, -1)
    return pd.DataFrame(
        {
            "pid": pid,
            "name": name,
            "surname": surname,
            "male": male,
            "dob": dob,
            "ppp": ppp,
            "father_name": parents["father_name"],
            "mother_name": parents["mother_name"],
            "father_dob": parents["father_dob"],
            "mother_dob": parents["mother_dob"],
            "reg_mother": reg_mother,
            "reg_father": reg_father,
            "dead": dead,
            "death": death,
            "sex_flip": np.zeros(n, bool),  # register's sex disagrees with its ID (labelled)
        }
    )


def make_ghosts(
    rng: np.random.Generator, male: np.ndarray, dob: np.ndarray, death: np.ndarray
) -> pd.DataFrame:
    """People the register never held (died before it existed), same columns as people."""
    n = len(male)
    byear = years_of(dob)
    surname = nm.sample_surnames(rng, n)
    name = make_names(rng, male, byear, surname)
    parents = make_parents(rng, surname, dob)
    return pd.DataFrame(
        {
            "pid": np.full(n, -1, np.int64),
            "name": name,
            "surname": surname,
            "male": male,
            "dob": dob,
            "ppp": np.full(n, HOME_PROVINCE, object),
            "father_name": parents["father_name"],
            "mother_name": parents["mother_name"],
            "father_dob": parents["father_dob"],
            "mother_dob": parents["mother_dob"],
            "reg_mother": np.zeros(n, bool),
            "reg_father": np.zeros(n, bool),
            "dead": np.ones(n, bool),
            "death": death,
            "sex_flip": np.zeros(n, bool),
        }
    )


def register_frame(people: pd.DataFrame) -> pd.DataFrame:
    """The register file's columns (population-api ``Citizen``), sorted by ID."""
    p = people[people["pid"] >= 0].sort_values("pid")
    male = p["male"].to_numpy() ^ p["sex_flip"].to_numpy()
    dead = p["dead"].to_numpy()
    return pd.DataFrame(
        {
            "so_dinh_danh": id_strings(p["pid"].to_numpy()),
            "ho_ten": p["name"].to_numpy(),
            "gioi_tinh": np.where(male, "Nam", "Nữ").astype(object),
            "ngay_sinh": as_dt64(p["dob"].to_numpy()),
            "noi_dang_ky_khai_sinh": p["ppp"].to_numpy(),
            "ho_ten_cha": np.where(p["reg_father"], p["father_name"], None),
            "ho_ten_me": np.where(p["reg_mother"], p["mother_name"], None),
            "trang_thai": np.where(dead, "da_chet", "con_song").astype(object),
            "ngay_chet": as_dt64(np.where(dead, p["death"].to_numpy(), -1)),
        }
    ).reset_index(drop=True)
