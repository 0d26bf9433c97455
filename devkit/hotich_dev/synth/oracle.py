"""The ground-truth oracle: the contract's rules applied to each record, to the letter.

Independent of the generator's intentions: it reads only the logical record values
(what a reader sees once text is converted to Unicode, dates as they will be read, IDs
after the workbook padding rule, and whether some text was legacy-encoded) and the
register file, and applies docs/ledger.md and the ``match`` semantics of
include/contracts/population-api.yaml (docs/register-api.md). Straightforward per-record Python, on purpose: it is
the reference the vectorized pipeline is checked against.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from hotich_dev.synth.memory import release_memory, shared_objects

# include/contracts/province_codes.csv (the 63 codes of the personal ID).
PROVINCE_CODES: frozenset[str] = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 "
    "034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 "
    "067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)
MATCH_LIMIT = 50
NAME_MAX, TEXT_MAX = 100, 255
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_ID = re.compile(r"^[0-9]{12}$")
_WS = re.compile(r"\s+")

NAME_COLS = ("name", "mother_name", "father_name", "h_name", "w_name")
TEXT_COLS = (
    "loai", "book", "entry", "name", "sex", "sid", "mother_name", "father_name", "place",
    "ethnicity", "nationality", "cause", "note", "h_name", "h_id", "h_eth", "w_name",
    "w_id", "w_eth",
)  # fmt: skip
DATE_COLS = ("reg", "dob", "death", "mother_dob", "father_dob", "h_dob", "w_dob")
RTYPE_OF_LOAI = {"KS": "birth", "KT": "death", "KH": "marriage"}


# --- text -----------------------------------------------------------------------------------
def nfc(text: str) -> str:
    """Unicode NFC."""
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=1 << 17)  # recent names: a record looks its names up several times
def exact_form(name: str) -> str:
    """NFC, lower case, runs of whitespace as one space, trimmed."""
    return _WS.sub(" ", nfc(name).lower()).strip()


@lru_cache(maxsize=1 << 17)  # recent names: a record looks its names up several times
def fold(name: str) -> str:
    """The contract's folding: NFC, lower case, diacritics removed with đ→d, spaces."""
    low = nfc(name).lower()
    bare = "".join(c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c))
    return _WS.sub(" ", bare.replace("đ", "d")).strip()


def within_slip(a: str, b: str) -> bool:
    """Folded names at most one typing slip apart (true Damerau-Levenshtein)."""
    return DamerauLevenshtein.distance(fold(a), fold(b), score_cutoff=1) <= 1


def _empty(v) -> bool:
    return (
        v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and v.strip() == "")
    )


# --- dates ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class D:
    """A parsed date: state 'missing' | 'full' | 'year' | 'invalid'."""

    state: str
    date: dt.date | None = None
    year: int | None = None

    @property
    def valid(self) -> bool:
        return self.state in ("full", "year")


MISSING = D("missing")
INVALID = D("invalid")


def parse_date(v, year_allowed: bool, run_date: dt.date) -> D:
    """A logical date string as the contract reads it (DATE_INVALID rules included)."""
    if _empty(v):
        return MISSING
    v = str(v).strip()
    m = _ISO.match(v)
    if m:
        try:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return INVALID
        return D("full", d, d.year) if d <= run_date else INVALID
    m = _YEAR.match(v)
    if m:
        y = int(m[1])
        if not year_allowed or y > run_date.year or y < 1:
            return INVALID
        return D("year", None, y)
    return INVALID


def _before(a: D, b: D) -> bool:
    """``a`` lies before ``b`` (both valid); a year-only date compares by its year."""
    if a.state == "year" or b.state == "year":
        return a.year < b.year
    return a.date < b.date


def _age(dob: dt.date, on: dt.date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def century_digit(year: int, male: bool) -> int | None:
    """The ID's fourth digit for a birth year and sex (None outside 1900-2399)."""
    if not 1900 <= year <= 2399:
        return None
    return 2 * ((year - 1900) // 100) + (0 if male else 1)


def _sex(v) -> str | None:
    if _empty(v):
        return None
    s = nfc(str(v)).lower()
    return {"nam": "Nam", "nữ": "Nữ"}.get(s)


# --- the register -----------------------------------------------------------------------------
_EPOCH_DATE = dt.date(1970, 1, 1)


def _shared(values: pd.Series, convert=None) -> list:
    """``values`` as a list in which equal values are one object (missing -> None)."""
    return shared_objects(values, convert).tolist()


def _shared_dates(days: np.ndarray) -> list:
    """``datetime64[D]`` values as ``datetime.date`` objects, shared (NaT -> None)."""
    as_float = np.where(np.isnat(days), np.nan, days.astype(np.int64).astype(float))
    return _shared(pd.Series(as_float), lambda d: _EPOCH_DATE + dt.timedelta(days=int(d)))


class _IdList:
    """Register IDs by row, as 12-digit ``str`` (kept as int64 in a numpy array)."""

    def __init__(self, ids: np.ndarray) -> None:
        self._ids = ids

    def __getitem__(self, i: int) -> str:
        return f"{int(self._ids[i]):012d}"

    def __len__(self) -> int:
        return len(self._ids)


REGISTER_COLUMNS = (
    "so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh", "ho_ten_cha", "ho_ten_me", "trang_thai", "ngay_chet",
)  # fmt: skip


class Register:
    """The register file, indexed for ID lookups and the ``match`` query."""

    def __init__(self, frame: pd.DataFrame) -> None:
        # Each worker of a large run holds one: equal values share one Python object (a
        # file read from parquet would give every cell its own), and IDs and indexes live
        # in numpy arrays. The same values in a fraction of the memory.
        ids = frame["so_dinh_danh"].astype(str)
        if not ids.str.fullmatch(r"[0-9]{12}").all():
            raise ValueError("register: every so_dinh_danh must be 12 digits")
        ids = ids.astype(np.int64).to_numpy()
        self._id_order = np.argsort(ids, kind="stable")
        self._sorted_ids = ids[self._id_order]
        self.ids = _IdList(ids)
        self.name = _shared(frame["ho_ten"])
        self.fold = _shared(frame["ho_ten"], fold.__wrapped__)  # not cached: each name folded once
        self.sex = _shared(frame["gioi_tinh"])
        dob = pd.to_datetime(frame["ngay_sinh"]).to_numpy().astype("datetime64[D]")
        self.dob = _shared_dates(dob)
        self.year = _shared(pd.Series(dob.astype("datetime64[Y]").astype(np.int64) + 1970), int)
        self.mother = _shared(frame["ho_ten_me"])
        self.father = _shared(frame["ho_ten_cha"])
        self.dead = (frame["trang_thai"] == "da_chet").tolist()
        self.death = _shared_dates(
            pd.to_datetime(frame["ngay_chet"]).to_numpy().astype("datetime64[D]")
        )
        # Lookups by (sex, folded name, year) and by (sex, date of birth) are binary
        # searches in sorted numpy arrays (hash of the key, and a verification).
        ny_hash = np.fromiter(
            (hash(k) for k in zip(self.sex, self.fold, self.year, strict=True)),
            dtype=np.int64,
            count=len(ids),
        )
        order = np.argsort(ny_hash, kind="stable")
        # array.array: compact, and bisect on it is much faster than numpy on one value.
        self._ny_order, self._ny_hash = (
            array("q", order.tobytes()),
            array("q", ny_hash[order].tobytes()),
        )
        del ny_hash, order
        self._sex_code = {v: k for k, v in enumerate(dict.fromkeys(self.sex))}
        sex_code = np.array([self._sex_code[v] for v in self.sex], dtype=np.int64)
        day = dob.astype(np.int64) + _EPOCH_DATE.toordinal()
        dob_key = sex_code * 10_000_000 + day
        order = np.argsort(dob_key, kind="stable")
        self._dob_order, self._dob_sorted = (
            array("q", order.tobytes()),
            array("q", dob_key[order].tobytes()),
        )

    def by_name_year(self, sex: str, f: str, year: int) -> list[int]:
        """Rows of that sex, folded name and birth year (ascending)."""
        h = hash((sex, f, year))
        lo = bisect_left(self._ny_hash, h)
        hi = bisect_right(self._ny_hash, h, lo)
        rows = self._ny_order[lo:hi].tolist()
        return [
            i for i in rows if self.sex[i] == sex and self.fold[i] == f and self.year[i] == year
        ]

    def by_dob(self, sex: str, ordinal: int) -> list[int]:
        """Rows of that sex born on that day (ascending)."""
        code = self._sex_code.get(sex)
        if code is None:
            return []
        key = code * 10_000_000 + ordinal
        lo = bisect_left(self._dob_sorted, key)
        hi = bisect_right(self._dob_sorted, key, lo)
        return self._dob_order[lo:hi].tolist()

    def row_of(self, pid: str) -> int | None:
        """The row of an ID, or None."""
        if not _ID.match(pid):
            return None
        key = int(pid)
        k = int(np.searchsorted(self._sorted_ids, key))
        if k < len(self._sorted_ids) and self._sorted_ids[k] == key:
            return int(self._id_order[k])
        return None

    def match(self, name: str, sex: str, dob: D) -> list[int]:
        """population-api ``match``: same sex and (same folded name and birth year, or
        same full date of birth and folded names at most two slips apart); uncut."""
        f = fold(name)
        found = self.by_name_year(sex, f, dob.year)
        if dob.state == "full":
            rows = self.by_dob(sex, dob.date.toordinal())
            if rows:
                folds = [self.fold[i] for i in rows]
                seen = set(found)
                for _choice, _dist, k in process.extract(
                    f, folds, scorer=DamerauLevenshtein.distance, score_cutoff=2, limit=None
                ):
                    if rows[k] not in seen:
                        found.append(rows[k])
        return found


# --- persons ---------------------------------------------------------------------------------
@dataclass
class Person:
    """One person to reconcile: the subject of a birth/death, or a spouse."""

    role: str
    name: str
    sex: str
    dob: D
    pid: str | None
    true_pid: str | None
    mother: str | None = None
    father: str | None = None
    death: D | None = None
    reg: D | None = None


@dataclass
class Verdict:
    """What the register says about one person."""

    codes: set[str] = field(default_factory=set)
    link: str | None = None  # LINKED / LINK_AMBIGUOUS / LINK_NONE (no ID given)
    linked_id: str | None = None
    name_level: str | None = None
    date_level: str | None = None
    corroborated: bool | None = None
    candidates: int | None = None


_LEVEL = {"exact": 0, "folded": 1, "slip": 2}


def link(person: Person, rtype: str, reg: Register) -> Verdict:
    """The contract's linkage of a person without an ID."""
    cands = reg.match(person.name, person.sex, person.dob)
    v = Verdict(candidates=len(cands))
    exact = exact_form(person.name)
    f = fold(person.name)
    scored = []  # (rank, idx, name level, date level, corroborated)
    for i in cands:
        # Name agreement.
        if exact_form(reg.name[i]) == exact:
            nlev = "exact"
        elif reg.fold[i] == f:
            nlev = "folded"
        elif DamerauLevenshtein.distance(f, reg.fold[i], score_cutoff=1) <= 1:
            nlev = "slip"
        else:
            nlev = None
        # Date agreement.
        if person.dob.state == "year":
            dlev = "agree" if reg.year[i] == person.dob.year else None
        else:
            d = person.dob.date
            if reg.dob[i] == d:
                dlev = "agree"
            else:
                try:
                    swapped = dt.date(d.year, d.day, d.month)
                except ValueError:
                    swapped = None
                dlev = "swapped" if swapped is not None and reg.dob[i] == swapped else None
        # Exclusion and corroboration.
        excluded = False
        corroborated = False
        if rtype == "birth":
            for mine, theirs in ((person.mother, reg.mother[i]), (person.father, reg.father[i])):
                if not _empty(mine) and not _empty(theirs) and not within_slip(mine, theirs):
                    excluded = True
            if reg.dead[i] and reg.death[i] is not None and reg.death[i] < person.reg.date:
                excluded = True
            if (
                not _empty(person.mother)
                and not _empty(reg.mother[i])
                and within_slip(person.mother, reg.mother[i])
            ):
                corroborated = not (
                    not _empty(person.father) and not _empty(reg.father[i])
                    and not within_slip(person.father, reg.father[i])
                )  # fmt: skip
        elif rtype == "death":
            if not reg.dead[i]:
                excluded = True
            elif (
                reg.death[i] is not None
                and person.death.date is not None
                and reg.death[i] != person.death.date
            ):
                excluded = True
            corroborated = (
                reg.dead[i] and reg.death[i] is not None and reg.death[i] == person.death.date
            )
        else:  # marriage: spouses are never corroborated
            if reg.dead[i] and reg.death[i] is not None and reg.death[i] < person.reg.date:
                excluded = True
        if excluded:
            continue
        fits = nlev == "exact" and dlev == "agree"
        if not fits and corroborated:
            fits = (
                (nlev == "folded" and dlev == "agree")
                or (nlev == "slip" and person.dob.state == "full" and reg.dob[i] == person.dob.date)
                or (nlev in ("exact", "folded") and dlev == "swapped")
            )
        if fits:
            rank = (0 if corroborated else 1, _LEVEL[nlev], 0 if dlev == "agree" else 1)
            scored.append((rank, i, nlev, dlev, corroborated))
    if len(cands) >= MATCH_LIMIT:
        v.link = "LINK_AMBIGUOUS"
    elif not scored:
        v.link = "LINK_NONE"
    else:
        best = min(s[0] for s in scored)
        top = [s for s in scored if s[0] == best]
        if len(top) == 1:
            _rank, i, nlev, dlev, corr = top[0]
            v.link, v.linked_id = "LINKED", reg.ids[i]
            if nlev == "folded":
                v.codes.add("NAME_DIACRITICS")
        else:
            v.link = "LINK_AMBIGUOUS"
    v.codes.add(v.link)
    # Diagnostics: how the winner (or else the true person) agreed.
    pick = next((s for s in scored if reg.ids[s[1]] == v.linked_id), None) if v.linked_id else None
    if pick is None and person.true_pid is not None:
        pick = next((s for s in scored if reg.ids[s[1]] == person.true_pid), None)
    if pick is not None:
        v.name_level, v.date_level, v.corroborated = pick[2], pick[3], pick[4]
    return v


def check_with_id(person: Person, reg: Register) -> Verdict:
    """Review codes (and NAME_DIACRITICS) of a person who gives a well-formed ID."""
    v = Verdict()
    i = reg.row_of(person.pid)
    if i is None:
        v.codes.add("ID_NOT_FOUND")
        return v
    if reg.fold[i] != fold(person.name):
        v.codes.add("NAME_MISMATCH")
    elif exact_form(reg.name[i]) != exact_form(person.name):
        v.codes.add("NAME_DIACRITICS")
    if person.dob.state == "year":
        if reg.year[i] != person.dob.year:
            v.codes.add("DOB_MISMATCH")
    elif reg.dob[i] != person.dob.date:
        v.codes.add("DOB_MISMATCH")
    if reg.sex[i] != person.sex:
        v.codes.add("SEX_MISMATCH")
    return v


# --- records ----------------------------------------------------------------------------------
def _id_codes(pid: str, dob: D, sex: str | None) -> set[str]:
    codes: set[str] = set()
    if not _ID.match(pid):
        return {"ID_FORMAT"}
    if pid[:3] not in PROVINCE_CODES:
        codes.add("ID_PROVINCE")
    if dob.valid and sex is not None:
        g = century_digit(dob.year, sex == "Nam")
        if g is None or int(pid[3]) != g:
            codes.add("ID_CENTURY_SEX")
    if dob.valid and pid[4:6] != f"{dob.year % 100:02d}":
        codes.add("ID_BIRTH_YEAR")
    return codes


def duplicate_losers(rec: pd.DataFrame, rtypes: list[str]) -> set[int]:
    """Rows that are not the first of their (district, type, book, entry) group.

    First = smallest local key: numerically for integer keys (``sort_b``), for workbook
    rows by file name (``sort_a``) then row number. Rows without a book or an entry
    number are not evaluated.
    """
    book = rec["book"].to_numpy(dtype=object, na_value=None)
    entry = rec["entry"].to_numpy(dtype=object, na_value=None)
    ok = np.array([not _empty(b) and not _empty(e) for b, e in zip(book, entry, strict=True)], bool)
    frame = pd.DataFrame(
        {
            "d": rec["district"].to_numpy(dtype=object), "t": np.array(rtypes, dtype=object),
            "b": book, "e": entry, "sa": rec["sort_a"].astype(str).to_numpy(dtype=object),
            "sb": rec["sort_b"].astype(np.int64).to_numpy(), "row": np.arange(len(rec)),
        }
    )[ok]  # fmt: skip
    frame = frame.sort_values(["sa", "sb"], kind="stable")
    dup = frame.duplicated(["d", "t", "b", "e"], keep="first")
    return set(frame.loc[dup, "row"].tolist())


def _values(rec: pd.DataFrame, col: str) -> list:
    return rec[col].to_numpy(dtype=object, na_value=None).tolist()


_QUARANTINE = frozenset(
    {"REQUIRED_MISSING", "DATE_INVALID", "VALUE_INVALID", "DATE_ORDER", "MARRIAGE_AGE",
     "ID_FORMAT", "ID_PROVINCE", "ID_CENTURY_SEX", "ID_BIRTH_YEAR", "DUPLICATE_ENTRY"}
)  # fmt: skip
_REVIEW = frozenset({"ID_NOT_FOUND", "NAME_MISMATCH", "DOB_MISMATCH", "SEX_MISMATCH"})


@dataclass
class _Prepared:
    """Per-column facts computed once (the same rules, column-wise, for speed)."""

    n: int
    cols: dict[str, list]
    rtypes: list[str]
    district: list[str]
    local: list[str]
    value_invalid: list[bool]
    dates: dict[str, list[D]]
    sex: list[str | None]
    losers: set[int]


def record_types(rec: pd.DataFrame) -> list[str]:
    """Each record's type as read: a legacy LoaiGiay after trimming and upper case."""
    rtypes = []
    for s, t, loai in zip(
        rec["store"].tolist(), rec["rtype"].tolist(), _values(rec, "loai"), strict=True
    ):
        if s == "legacy":
            key = "" if _empty(loai) else str(loai).strip().upper()
            rtypes.append(RTYPE_OF_LOAI.get(key, "unknown"))
        else:
            rtypes.append(t)
    return rtypes


def _prepare(rec: pd.DataFrame, run_date: dt.date, losers: set[int] | None = None) -> _Prepared:
    """``losers``: the duplicate losers among these rows when ``rec`` is a slice."""
    cols = {
        c: _values(rec, c)
        for c in (*TEXT_COLS, *DATE_COLS, "legacy_cols", "true_pid", "true_h", "true_w")
    }
    rtypes = record_types(rec)
    n = len(rec)
    # VALUE_INVALID: a control character, or longer than the column allows (after NFC).
    # Column-wise with Arrow kernels; NFC neither adds nor removes control characters,
    # and only shortens text, so NFC is needed only for values over the limit.
    bad = np.zeros(n, bool)
    for c in TEXT_COLS:
        arr = pa.array([v if isinstance(v, str) else None for v in cols[c]], type=pa.string())
        if arr.null_count == n:
            continue
        limit = NAME_MAX if c in NAME_COLS else TEXT_MAX
        ctrl = pc.fill_null(pc.match_substring_regex(arr, _CONTROL.pattern), False).to_numpy(
            zero_copy_only=False
        )
        long = pc.fill_null(pc.greater(pc.utf8_length(arr), limit), False).to_numpy(
            zero_copy_only=False
        )
        for i in np.flatnonzero(long).tolist():
            long[i] = len(nfc(cols[c][i])) > limit
        bad |= ctrl | long
    # Dates: parse each distinct value once per (column, year allowed).
    is_death = np.array([rt == "death" for rt in rtypes], bool)
    dates: dict[str, list[D]] = {}
    for c in DATE_COLS:
        codes_, uniques = pd.factorize(pd.Series(cols[c], dtype=object), use_na_sentinel=True)
        parents = c in ("mother_dob", "father_dob")
        strict = np.array(
            [MISSING] + [parse_date(v, parents, run_date) for v in uniques], dtype=object
        )
        picked = strict[codes_ + 1]
        if c == "dob":  # a death record's date of birth may be a year alone
            loose = np.array(
                [MISSING] + [parse_date(v, True, run_date) for v in uniques], dtype=object
            )
            picked = np.where(is_death, loose[codes_ + 1], picked)
        dates[c] = picked.tolist()
    sex_cache: dict = {}
    sex = []
    for v in cols["sex"]:
        if v not in sex_cache:
            sex_cache[v] = _sex(v)
        sex.append(sex_cache[v])
    return _Prepared(
        n=n, cols=cols, rtypes=rtypes, district=rec["district"].tolist(),
        local=rec["local_key"].astype(str).tolist(), value_invalid=bad.tolist(), dates=dates,
        sex=sex, losers=duplicate_losers(rec, rtypes) if losers is None else losers,
    )  # fmt: skip


_STATE: dict = {}  # set before forking workers (copy-on-write), read by _run_range


def compute_truth(
    rec: pd.DataFrame, register: pd.DataFrame, run_date: dt.date, workers: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Truth per record and per person from the logical records and the register file.

    ``rec`` needs the logical columns (see ``records``), ``local_key``, ``sort_a``,
    ``sort_b``, ``store``, ``rtype`` and ``legacy_cols``; true IDs in ``true_pid``,
    ``true_h``, ``true_w``. Large inputs are split over ``workers`` forked processes.
    """
    import multiprocessing as mp
    import os

    _STATE["reg"] = Register(register)
    _STATE["pre"] = pre = _prepare(rec, run_date)
    workers = workers or min(2, os.cpu_count() or 1)
    if workers > 1 and pre.n > 40_000 and "fork" in mp.get_all_start_methods():
        bounds = np.linspace(0, pre.n, workers * 4 + 1).astype(int)
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.starmap(
                _run_range, zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
            )
    else:
        parts = [_run_range(0, pre.n)]
    _STATE.clear()
    rec_rows = [r for p in parts for r in p[0]]
    person_rows = [r for p in parts for r in p[1]]
    truth = pd.DataFrame(rec_rows, columns=TRUTH_COLUMNS)
    persons = pd.DataFrame(person_rows, columns=TRUTH_PERSON_COLUMNS)
    return truth, persons


# Columns the oracle reads from its input file (``truth_from_files``).
INPUT_COLUMNS = (
    *TEXT_COLS, *DATE_COLS, "district", "store", "rtype", "local_key", "sort_a", "sort_b",
    "legacy_cols", "true_pid", "true_h", "true_w",
)  # fmt: skip


CHUNKS_PER_WORKER = 16  # small slices: a worker holds one slice's prepared values at a time


def truth_from_files(
    records: str,
    register: str,
    run_date: dt.date,
    losers: set[int],
    truth_path: str,
    persons_path: str,
    workers: int = 1,
    start_method: str | None = None,
) -> None:
    """``compute_truth`` from files, into files: the logical records (parquet,
    ``INPUT_COLUMNS``) and the register file in; the truth per record (``truth_path``)
    and per person (``persons_path``) out, in record order. ``losers`` are the duplicate
    losers (``duplicate_losers`` over all records).

    With ``workers`` > 1 the records are split over worker processes, each reading the
    register and its slices itself and writing each slice's verdicts to a part file; the
    parts are then appended one at a time, so no process holds the whole truth. Call this
    from a lean process (a forked worker copies whatever parent objects it touches), or
    pass ``start_method``.
    """
    import multiprocessing as mp
    import tempfile

    n = pq.ParquetFile(records).metadata.num_rows
    init = (records, register, run_date, losers)
    with tempfile.TemporaryDirectory(prefix="oracle_", dir=Path(truth_path).parent) as tmp:
        if workers > 1:
            bounds = np.linspace(0, n, workers * CHUNKS_PER_WORKER + 1).astype(int)
            ctx = mp.get_context(
                start_method or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            )
            with ctx.Pool(workers, initializer=_init_worker, initargs=init) as pool:
                args = [
                    (a, b, tmp)
                    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
                ]
                parts = pool.starmap(_run_file_range, args)
        else:
            _init_worker(*init)
            try:
                parts = [_run_file_range(0, n, tmp)]
            finally:
                _STATE.clear()
        for k, (path, schema) in enumerate(
            ((truth_path, TRUTH_SCHEMA), (persons_path, PERSON_SCHEMA))
        ):
            with pq.ParquetWriter(path, schema) as writer:
                for part in parts:
                    writer.write_table(pq.read_table(part[k], schema=schema))


def _init_worker(records: str, register: str, run_date: dt.date, losers: set[int]) -> None:
    _STATE.update(records=records, run_date=run_date, all_losers=losers)
    _STATE["reg"] = Register(pd.read_parquet(register, columns=list(REGISTER_COLUMNS)))
    release_memory()


def _run_file_range(start: int, stop: int, out_dir: str) -> tuple[str, str]:
    """Verdicts of records ``start..stop`` of the input file (read here, row groups
    only), written to two part files in ``out_dir``: their paths (truth, persons)."""

    f = pq.ParquetFile(_STATE["records"])
    groups, first, offset = [], None, 0
    for g in range(f.metadata.num_row_groups):
        size = f.metadata.row_group(g).num_rows
        if offset < stop and offset + size > start:
            groups.append(g)
            first = offset if first is None else first
        offset += size
    out_rows: list[tuple] = []
    person_rows: list[tuple] = []
    if groups:
        table = f.read_row_groups(groups, columns=list(INPUT_COLUMNS))
        rec = table.slice(start - first, stop - start).to_pandas()
        del table
        losers = {r - start for r in _STATE["all_losers"] if start <= r < stop}
        _STATE["pre"] = _prepare(rec, _STATE["run_date"], losers)
        del rec
        try:
            out_rows, person_rows = _run_range(0, stop - start)
        finally:
            del _STATE["pre"]
    paths = (f"{out_dir}/{start:09d}.truth.parquet", f"{out_dir}/{start:09d}.persons.parquet")
    _write_rows(out_rows, TRUTH_COLUMNS, TRUTH_SCHEMA, paths[0])
    _write_rows(person_rows, TRUTH_PERSON_COLUMNS, PERSON_SCHEMA, paths[1])
    del out_rows, person_rows
    release_memory()
    return paths


def _write_rows(rows: list[tuple], columns: tuple[str, ...], schema: pa.Schema, path: str) -> None:
    """Rows (tuples in ``columns`` order) as a parquet file of ``schema``."""

    data = {c: [r[k] for r in rows] for k, c in enumerate(columns)}
    pq.write_table(pa.Table.from_pydict(data, schema=schema), path)


TRUTH_COLUMNS = (
    "source_key", "district_code", "record_type", "status", "reasons", "personal_id",
    "true_personal_id", "true_husband_id", "true_wife_id", "subject_link", "husband_link",
    "wife_link",
)  # fmt: skip
TRUTH_PERSON_COLUMNS = (
    "source_key", "role", "gives_id", "true_personal_id", "link_verdict", "linked_id",
    "name_level", "date_level", "corroborated", "candidates", "review_codes",
)  # fmt: skip

# The truth files' types: strings, except these.
_CODES = pa.list_(pa.string())
_TYPES = {
    "reasons": _CODES, "review_codes": _CODES, "gives_id": pa.bool_(), "corroborated": pa.bool_(),
    "candidates": pa.float64(),
}  # fmt: skip
TRUTH_SCHEMA = pa.schema([(c, _TYPES.get(c, pa.large_string())) for c in TRUTH_COLUMNS])
PERSON_SCHEMA = pa.schema([(c, _TYPES.get(c, pa.large_string())) for c in TRUTH_PERSON_COLUMNS])


def _run_range(start: int, stop: int) -> tuple[list[tuple], list[tuple]]:
    """Verdicts of records ``start..stop`` (rows as tuples in the column orders above)."""
    reg: Register = _STATE["reg"]
    pre: _Prepared = _STATE["pre"]
    out_rows, person_rows = [], []
    names = tuple(pre.cols)
    for row in range(start, stop):
        g = {c: pre.cols[c][row] for c in names}
        rtype = pre.rtypes[row]
        codes: set[str] = set()
        persons: list[Person] = []
        if rtype == "unknown":
            codes.add("REQUIRED_MISSING")
        else:
            codes |= _quality(g, rtype, pre, row, persons)
            if row in pre.losers:
                codes.add("DUPLICATE_ENTRY")
        verdicts: list[Verdict | None] = [None] * len(persons)
        if not codes & _QUARANTINE and rtype != "unknown":
            # The register is consulted only for records with no quarantine code.
            for k, p in enumerate(persons):
                verdicts[k] = check_with_id(p, reg) if p.pid is not None else link(p, rtype, reg)
                codes |= verdicts[k].codes
        if not _empty(g["legacy_cols"]):
            codes.add("LEGACY_ENCODING")
        if codes & _QUARANTINE:
            status = "quarantined"
        elif codes & _REVIEW:
            status = "review"
        else:
            status = "loaded"
        personal_id = None
        if status == "loaded" and rtype in ("birth", "death"):
            p, v = persons[0], verdicts[0]
            personal_id = p.pid if p.pid is not None else v.linked_id
        sk = f"{pre.district[row]}:{rtype}:{pre.local[row]}"
        links = {p.role: verdicts[k] for k, p in enumerate(persons)}
        out_rows.append((
            sk, pre.district[row], rtype, status, sorted(codes), personal_id,
            g["true_pid"] if rtype in ("birth", "death") else None,
            g["true_h"] if rtype == "marriage" else None,
            g["true_w"] if rtype == "marriage" else None,
            _link_of(links.get("subject")), _link_of(links.get("husband")), _link_of(links.get("wife")),
        ))  # fmt: skip
        for k, p in enumerate(persons):
            v = verdicts[k]
            person_rows.append((
                sk, p.role, p.pid is not None, p.true_pid,
                v.link if v else None, v.linked_id if v else None,
                v.name_level if v else None, v.date_level if v else None,
                v.corroborated if v else None, v.candidates if v else None,
                sorted(v.codes & _REVIEW) if v else [],
            ))  # fmt: skip
    return out_rows, person_rows


def _link_of(v: Verdict | None) -> str | None:
    return v.link if v is not None else None


def _quality(g: dict, rtype: str, pre: _Prepared, row: int, persons: list[Person]) -> set[str]:
    """Quarantine codes of one record (all rules), and its persons (appended)."""
    codes: set[str] = set()
    if pre.value_invalid[row]:
        codes.add("VALUE_INVALID")
    dates = {c: pre.dates[c][row] for c in DATE_COLS}
    if any(d.state == "invalid" for d in dates.values()):
        codes.add("DATE_INVALID")
    reg = dates["reg"]
    sex_value = pre.sex[row]
    required = ["reg", "book", "entry"]
    if rtype in ("birth", "death"):
        required += ["name", "sex", "dob"] + (["death"] if rtype == "death" else [])
    else:
        required += ["h_name", "h_dob", "w_name", "w_dob"]
    for c in required:
        if c == "sex":
            if sex_value is None:  # any value but Nam/Nữ counts as missing
                codes.add("REQUIRED_MISSING")
        elif c in DATE_COLS:
            if dates[c].state == "missing":
                codes.add("REQUIRED_MISSING")
        elif _empty(g[c]):
            codes.add("REQUIRED_MISSING")
    # DATE_ORDER and MARRIAGE_AGE (valid dates only).
    if rtype in ("birth", "death"):
        dob = dates["dob"]
        if reg.valid and dob.valid and _before(reg, dob):
            codes.add("DATE_ORDER")
        if rtype == "death":
            death = dates["death"]
            if death.valid and dob.valid and _before(death, dob):
                codes.add("DATE_ORDER")
            if reg.valid and death.valid and _before(reg, death):
                codes.add("DATE_ORDER")
    else:
        for c, min_age in (("h_dob", 20), ("w_dob", 18)):
            dob = dates[c]
            if reg.valid and dob.valid and _before(reg, dob):
                codes.add("DATE_ORDER")
            if reg.state == "full" and dob.state == "full" and _age(dob.date, reg.date) < min_age:
                codes.add("MARRIAGE_AGE")
    # Personal IDs, and the persons to reconcile.
    if rtype in ("birth", "death"):
        roles = [("subject", "name", "sid", "dob", sex_value, "true_pid")]
    else:
        roles = [
            ("husband", "h_name", "h_id", "h_dob", "Nam", "true_h"),
            ("wife", "w_name", "w_id", "w_dob", "Nữ", "true_w"),
        ]
    for role, nc, ic, dc, sex, tc in roles:
        pid = None if _empty(g[ic]) else str(g[ic])
        if pid is not None:
            codes |= _id_codes(pid, dates[dc], sex)
        if not _empty(g[nc]) and sex is not None and dates[dc].valid:
            persons.append(
                Person(
                    role=role,
                    name=nfc(str(g[nc])),
                    sex=sex,
                    dob=dates[dc],
                    pid=pid,
                    true_pid=g[tc],
                    mother=None if _empty(g["mother_name"]) else nfc(str(g["mother_name"])),
                    father=None if _empty(g["father_name"]) else nfc(str(g["father_name"])),
                    death=dates["death"],
                    reg=reg,
                )  # fmt: skip
            )
    return codes


def oracle_frame_columns() -> list[str]:
    """The columns of ``oracle_frame``."""
    return [
        *TEXT_COLS,
        *DATE_COLS,
        "district",
        "store",
        "rtype",
        "local_key",
        "sort_a",
        "sort_b",
        "legacy_cols",
    ]


def oracle_frame(rec: pd.DataFrame) -> pd.DataFrame:
    """The columns the oracle reads, for saving beside the truth (debugging)."""
    return rec[oracle_frame_columns()]
