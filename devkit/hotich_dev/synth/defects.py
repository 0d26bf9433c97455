"""Labelled defects and hard linkage cases, applied to the logical records.

Every change is recorded as an *intent* (``source row -> [kind, ...]``) so the tests can
check that each kind yields its code; the truth itself is computed by ``oracle`` from
the resulting values, never from these labels.

Rates are probabilities per eligible record (or person) and can be scaled as a whole
with ``DefectRates.scaled``. Hard linkage cases are built explicitly (clones in the
register, 50+ candidate clusters) so they appear at a realistic density even at small
scale, where the register is too sparse to produce them by chance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hotich_dev.synth import names as nm
from hotich_dev.synth.memory import shared_objects
from hotich_dev.synth.people import IdAllocator, id_strings, make_names, to_days, years_of
from hotich_dev.synth.records import DATE_COLS, FLAVOR_OF, ID_COLS, NAME_COLS, STORE_OF, TEXT_COLS

# Defect kind -> the reason code it is meant to produce (for the cross-check tests).
EXPECTED_CODE: dict[str, str] = {
    "required_missing": "REQUIRED_MISSING",
    "sex_invalid": "REQUIRED_MISSING",
    "legacy_type": "REQUIRED_MISSING",
    "date_future": "DATE_INVALID",
    "date_impossible": "DATE_INVALID",
    "date_garbage": "DATE_INVALID",
    "year_only_bad": "DATE_INVALID",
    "date_order": "DATE_ORDER",
    "marriage_age": "MARRIAGE_AGE",
    "control_char": "VALUE_INVALID",
    "over_long": "VALUE_INVALID",
    "id_format": "ID_FORMAT",
    "id_province": "ID_PROVINCE",
    "id_century": "ID_CENTURY_SEX",
    "wrong_sex": "ID_CENTURY_SEX",
    "id_year": "ID_BIRTH_YEAR",
    "duplicate": "DUPLICATE_ENTRY",
    "id_unknown": "ID_NOT_FOUND",
    "name_typo": "NAME_MISMATCH",
    "name_diacritics": "NAME_DIACRITICS",
    "dob_swap": "DOB_MISMATCH",
    "dob_day": "DOB_MISMATCH",
    "register_sex": "SEX_MISMATCH",
    "legacy_encoding": "LEGACY_ENCODING",
}
# Hard linkage cases -> the verdict the generator aims at (the oracle decides).
LINK_INTENTS = (
    "link_folded", "link_slip", "link_swap", "namesake_tie", "namesake_resolved",
    "ghost_namesake", "cluster50",
)  # fmt: skip

INVALID_PROVINCES = ("000", "003", "005", "009", "028", "029", "065", "099", "100", "999")
TEXT_STORES = ("legacy", "workbook")  # dates stored as text
LOOSE_STORES = ("sqlite", "legacy", "workbook")  # text not checked by the storage


@dataclass(frozen=True)
class DefectRates:
    """Probabilities of each defect, per eligible record or person."""

    required_missing: float = 0.006
    sex_invalid: float = 0.001
    date_future: float = 0.001
    date_impossible: float = 0.002
    date_garbage: float = 0.001
    year_only_bad: float = 0.001
    date_order: float = 0.002
    marriage_age: float = 0.004
    control_char: float = 0.001
    over_long: float = 0.0006
    legacy_type: float = 0.002
    id_format: float = 0.003
    id_province: float = 0.002
    id_century: float = 0.002
    id_year: float = 0.003
    wrong_sex: float = 0.002
    id_unknown: float = 0.004
    name_typo: float = 0.008
    name_diacritics: float = 0.01
    dob_swap: float = 0.004
    dob_day: float = 0.003
    register_sex: float = 0.0015
    duplicate: float = 0.004
    # Hard linkage cases, per person without an ID
    link_folded: float = 0.03
    link_slip: float = 0.02
    link_swap: float = 0.015
    namesake_tie: float = 0.015
    namesake_resolved: float = 0.01
    ghost_namesake: float = 0.05
    clusters_per_scale: float = 8.0  # 50+ candidate clusters at scale 1.0 (min 2)
    # Not defects: variations the pipeline must absorb
    legacy_encoding: float = 0.35
    workbook_legacy_encoding: float = 0.03
    nfd: float = 0.03
    year_only_death_dob: float = 0.3
    year_only_mother_dob: float = 0.1
    sex_case: float = 0.05
    loai_case: float = 0.02

    _NOT_SCALED = frozenset(
        {"legacy_encoding", "workbook_legacy_encoding", "nfd", "year_only_death_dob",
         "year_only_mother_dob", "sex_case", "loai_case", "clusters_per_scale"}
    )  # fmt: skip

    def scaled(self, factor: float) -> DefectRates:
        """The same rates with every defect and hard case multiplied by ``factor``."""
        changes = {
            f.name: min(1.0, getattr(self, f.name) * factor)
            for f in dataclasses.fields(self)
            if f.name not in self._NOT_SCALED
        }
        return dataclasses.replace(self, **changes)


# --- small text helpers --------------------------------------------------------------------
def strip_diacritics(text: str) -> str:
    """Vietnamese text without diacritics (đ -> d), case kept."""
    d = unicodedata.normalize("NFD", text)
    out = "".join(c for c in d if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", out.replace("đ", "d").replace("Đ", "D"))


def diacritic_variant(name: str, rng: np.random.Generator) -> str | None:
    """A spelling of ``name`` that differs in diacritics only, or None."""
    words = name.split(" ")
    given = words[-1]
    if given in nm.FOLD_VARIANTS and rng.random() < 0.7:
        alts = nm.FOLD_VARIANTS[given]
        words[-1] = alts[int(rng.integers(0, len(alts)))]
        out = " ".join(words)
    else:
        out = strip_diacritics(name)
    return out if out != name else None


_ASCII = "abcdeghiklmnopqrstuvxy"


def one_slip(name: str, rng: np.random.Generator) -> str:
    """``name`` with one typing slip in its last word (added, dropped, changed or swapped)."""
    words = unicodedata.normalize("NFC", name).split(" ")
    w = words[-1]
    base = strip_diacritics(w).lower()
    if len(base) != len(w):  # not a plain word (e.g. a control character): append a letter
        words[-1] = w + "a"
        return " ".join(words)
    op = int(rng.integers(0, 4))
    i = int(rng.integers(0, len(w)))
    if op == 0 and len(w) > 2:  # drop
        w = w[:i] + w[i + 1 :]
    elif op == 1:  # add
        w = w[: i + 1] + _ASCII[int(rng.integers(0, len(_ASCII)))] + w[i + 1 :]
    elif op == 2 and len(w) > 2 and any(base[j] != base[j + 1] for j in range(len(base) - 1)):
        js = [j for j in range(len(base) - 1) if base[j] != base[j + 1]]
        j = js[int(rng.integers(0, len(js)))]
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    else:  # change a letter to one whose folded form differs
        choices = [c for c in _ASCII if c != base[i]]
        c = choices[int(rng.integers(0, len(choices)))]
        w = w[:i] + (c.upper() if i == 0 else c) + w[i + 1 :]
    words[-1] = w
    return " ".join(words)


def _swap(date: str) -> str | None:
    y, m, d = date.split("-")
    if int(d) > 12 or d == m:
        return None
    return f"{y}-{d}-{m}"


def _day_slip(date: str, rng: np.random.Generator) -> str | None:
    """The same month and year, a day or two off (None when that leaves the month)."""
    y, m, d = (int(x) for x in date.split("-"))
    nd = d + int(rng.choice([-2, -1, 1, 2]))
    return f"{y:04d}-{m:02d}-{nd:02d}" if 1 <= nd <= 28 else None


def _is_full(v) -> bool:
    return isinstance(v, str) and len(v) == 10 and v[4] == "-"


class Defects:
    """Applies hard cases and defects to the logical records (held as object arrays)."""

    def __init__(
        self,
        rng: np.random.Generator,
        rec: pd.DataFrame,
        people: pd.DataFrame,
        alloc: IdAllocator,
        rates: DefectRates,
        scale: float,
    ) -> None:
        self.rng = rng
        self.rates = rates
        self.scale = scale
        self.alloc = alloc
        # Equal values share one object: a cell-by-cell conversion of a million records
        # would hold a string object per cell (gigabytes at scale 1.0).
        self.cols: dict[str, np.ndarray] = {
            c: shared_objects(rec[c])
            if rec[c].dtype.kind in "OUT"
            else rec[c].to_numpy(dtype=object, na_value=None)
            for c in rec.columns
        }
        self.n = len(rec)
        self.dtypes = rec.dtypes
        self.people = people
        self.new_people: list[dict] = []
        self.intents: dict[int, list[str]] = {}
        self.store = self.cols["store"]
        self.rtype = self.cols["rtype"]
        self.flavor = np.array([FLAVOR_OF[d] for d in self.cols["district"]], dtype=object)
        self.id_of_pid = {}  # pid string -> people row, built lazily

    # -- bookkeeping ---------------------------------------------------------------------
    def mark(self, i: int, kind: str) -> None:
        """Record the intent of a change to row ``i``."""
        self.intents.setdefault(int(i), []).append(kind)

    def pick(self, mask: np.ndarray, rate: float) -> np.ndarray:
        """Rows of ``mask`` drawn with probability ``rate``."""
        idx = np.flatnonzero(mask)
        return idx[self.rng.random(len(idx)) < rate]

    def clean(self) -> np.ndarray:
        """Rows with no intent yet."""
        m = np.ones(self.n, bool)
        if self.intents:
            m[np.fromiter(self.intents.keys(), dtype=np.int64)] = False
        return m

    def _person_row(self, pid: str) -> int:
        if not self.id_of_pid:
            pids = self.people["pid"].to_numpy()
            self.id_of_pid = {f"{p:012d}": i for i, p in enumerate(pids.tolist()) if p >= 0}
        return self.id_of_pid[pid]

    def add_register_person(self, **fields) -> None:
        """Queue a person for the register (a clone or a cluster member); IDs come later."""
        male, dob = bool(fields["male"]), int(fields["dob"])
        row = {
            "pid": -2, "name": fields["name"], "surname": fields["name"].split(" ")[0],
            "male": male, "dob": dob, "ppp": fields.get("ppp", "027"),
            "father_name": fields.get("father_name"), "mother_name": fields.get("mother_name"),
            "father_dob": -1, "mother_dob": -1,
            "reg_mother": fields.get("mother_name") is not None,
            "reg_father": fields.get("father_name") is not None,
            "dead": bool(fields.get("dead", False)), "death": int(fields.get("death", -1)),
            "sex_flip": False,
        }  # fmt: skip
        self.new_people.append(row)

    # -- hard linkage cases ------------------------------------------------------------------
    def _idless_persons(self) -> list[tuple[np.ndarray, str, str, str]]:
        """(rows, name col, dob col, true-id col) of persons without an ID but in the register."""
        c = self.cols
        out = []
        subj = np.array(
            [(s is None) and (t is not None) for s, t in zip(c["sid"], c["true_pid"], strict=True)]
        )
        out.append((np.flatnonzero(subj & (self.rtype != "marriage")), "name", "dob", "true_pid"))
        for nc, dc, ic, tc in (
            ("h_name", "h_dob", "h_id", "true_h"),
            ("w_name", "w_dob", "w_id", "true_w"),
        ):
            m = np.array(
                [(s is None) and (t is not None) for s, t in zip(c[ic], c[tc], strict=True)]
            )
            out.append((np.flatnonzero(m & (self.rtype == "marriage")), nc, dc, tc))
        return out

    def hard_link_cases(self) -> None:
        """Folded names, slips, swapped dates, namesakes, ghost namesakes, 50+ clusters."""
        r, c, rng = self.rates, self.cols, self.rng
        people = self.people
        for rows, ncol, dcol, tcol in self._idless_persons():
            rows = rows[self.clean()[rows]]
            u = rng.random(len(rows))
            edges = np.cumsum(
                [r.link_folded, r.link_slip, r.link_swap, r.namesake_tie, r.namesake_resolved]
            )
            kind_idx = np.searchsorted(edges, u, side="right")
            for i, k in zip(rows.tolist(), kind_idx.tolist(), strict=True):
                if k >= 5:
                    continue
                prow = self._person_row(c[tcol][i])
                if k == 0:
                    v = diacritic_variant(c[ncol][i], rng)
                    if v is None:
                        continue
                    c[ncol][i] = v
                    self._ensure_mother(i, prow)
                    self.mark(i, "link_folded")
                elif k == 1:
                    c[ncol][i] = one_slip(c[ncol][i], rng)
                    self._ensure_mother(i, prow)
                    self.mark(i, "link_slip")
                elif k == 2:
                    s = _swap(c[dcol][i])
                    if s is None:
                        continue
                    c[dcol][i] = s
                    self._ensure_mother(i, prow)
                    self.mark(i, "link_swap")
                elif k == 3:
                    # A namesake the record cannot tell apart (no parents on either side).
                    p = people.loc[prow]
                    if self.rtype[i] == "birth":
                        c["mother_name"][i] = c["father_name"][i] = None
                        c["mother_dob"][i] = c["father_dob"][i] = None
                    same_death = self.rtype[i] == "death" and rng.random() < 0.5
                    self.add_register_person(
                        name=p["name"], male=p["male"], dob=p["dob"], ppp=p["ppp"],
                        dead=same_death, death=p["death"] if same_death else -1,
                    )  # fmt: skip
                    self.mark(i, "namesake_tie")
                elif k == 4 and self.rtype[i] == "birth" and c["mother_name"][i] is not None:
                    # A namesake whose mother differs: the record's mother tells them apart.
                    p = people.loc[prow]
                    other_mother = make_names(rng, np.zeros(1, bool), np.array([1960]))[0]
                    self.add_register_person(
                        name=p["name"],
                        male=p["male"],
                        dob=p["dob"],
                        ppp=p["ppp"],
                        mother_name=other_mother,
                    )
                    self.mark(i, "namesake_resolved")
        self._ghost_namesakes()
        self._clusters()

    def _ensure_mother(self, i: int, prow: int) -> None:
        """Most corroboration cases of a birth get a mother's name on both sides."""
        if self.rtype[i] != "birth" or self.rng.random() > 0.7:
            return
        p = self.people
        if not p.at[prow, "reg_mother"]:
            p.at[prow, "reg_mother"] = True
        if self.cols["mother_name"][i] is None:
            self.cols["mother_name"][i] = p.at[prow, "mother_name"]

    def _ghost_namesakes(self) -> None:
        """Deaths of people the register never held, beside a living namesake."""
        c = self.cols
        ghost_death = (self.rtype == "death") & np.array([t is None for t in c["true_pid"]])
        for i in self.pick(ghost_death & self.clean(), self.rates.ghost_namesake).tolist():
            dob = c["dob"][i]
            if dob < "1920":  # the register holds people born from 1920
                continue
            self.add_register_person(
                name=c["name"][i],
                male=c["sex"][i] == "Nam",
                dob=to_days(dt.date.fromisoformat(dob)),
            )
            self.mark(i, "ghost_namesake")

    def _clusters(self) -> None:
        """Records whose match answer is cut at 50: 50+ namesakes born the same year."""
        c, rng = self.cols, self.rng
        k = max(2, int(round(self.rates.clusters_per_scale * self.scale)))
        cand = np.flatnonzero(
            (self.rtype == "birth") & np.array([s is None for s in c["sid"]])
            & np.array([t is not None for t in c["true_pid"]]) & self.clean()
        )  # fmt: skip
        for i in rng.choice(cand, size=min(k, len(cand)), replace=False).tolist():
            name, male = c["name"][i], c["sex"][i] == "Nam"
            year = int(c["dob"][i][:4])
            lo, hi = to_days(dt.date(year, 1, 1)), to_days(dt.date(year, 12, 31))
            for _ in range(int(rng.integers(50, 62))):
                v = name if rng.random() < 0.6 else (diacritic_variant(name, rng) or name)
                self.add_register_person(name=v, male=male, dob=int(rng.integers(lo, hi + 1)))
            self.mark(i, "cluster50")

    # -- personal-ID defects and register disagreements ---------------------------------------
    def id_defects(self) -> None:
        """Defects of persons who give an ID: bad IDs, unknown IDs, register disagreements."""
        r, c, rng = self.rates, self.cols, self.rng
        kinds = (
            ("id_format", r.id_format), ("id_province", r.id_province), ("id_century", r.id_century),
            ("id_year", r.id_year), ("id_unknown", r.id_unknown), ("name_typo", r.name_typo),
            ("name_diacritics", r.name_diacritics), ("dob_swap", r.dob_swap), ("dob_day", r.dob_day),
            ("wrong_sex", r.wrong_sex), ("register_sex", r.register_sex),
        )  # fmt: skip
        edges = np.cumsum([p for _k, p in kinds])
        for icol, ncol, dcol in (
            ("sid", "name", "dob"),
            ("h_id", "h_name", "h_dob"),
            ("w_id", "w_name", "w_dob"),
        ):
            rows = np.flatnonzero(np.array([v is not None for v in c[icol]]) & self.clean())
            k_idx = np.searchsorted(edges, rng.random(len(rows)), side="right")
            for i, k in zip(rows.tolist(), k_idx.tolist(), strict=True):
                if k >= len(kinds):
                    continue
                kind = kinds[k][0]
                pid = c[icol][i]
                if kind == "id_format":
                    op = int(rng.integers(0, 3))
                    j = int(rng.integers(3, 12))
                    c[icol][i] = (
                        pid[:j] + pid[j + 1 :] if op == 0
                        else pid[:j] + str(int(rng.integers(0, 10))) + pid[j:] if op == 1
                        else pid[:j] + "O" + pid[j + 1 :]
                    )  # fmt: skip
                elif kind == "id_province":
                    c[icol][i] = (
                        INVALID_PROVINCES[int(rng.integers(0, len(INVALID_PROVINCES)))] + pid[3:]
                    )
                elif kind == "id_century":
                    g = int(pid[3])
                    bad = [x for x in range(10) if x != g]
                    c[icol][i] = pid[:3] + str(bad[int(rng.integers(0, len(bad)))]) + pid[4:]
                elif kind == "id_year":
                    yy = (int(pid[4:6]) + int(rng.integers(1, 10))) % 100
                    c[icol][i] = pid[:4] + f"{yy:02d}" + pid[6:]
                elif kind == "id_unknown":
                    while True:
                        new = pid[:6] + f"{int(rng.integers(0, 1_000_000)):06d}"
                        if not self.alloc.is_used(np.array([int(new)]))[0]:
                            break
                    c[icol][i] = new
                elif kind == "name_typo":
                    c[ncol][i] = one_slip(c[ncol][i], rng)
                elif kind == "name_diacritics":
                    v = diacritic_variant(c[ncol][i], rng)
                    if v is None:
                        continue
                    c[ncol][i] = v
                elif kind in ("dob_swap", "dob_day"):
                    s = _swap(c[dcol][i]) if kind == "dob_swap" else _day_slip(c[dcol][i], rng)
                    # Keep the new date before the registration and the death (no DATE_ORDER).
                    limit = min(
                        v
                        for v in (c["reg"][i], c["death"][i], "9999")
                        if _is_full(v) or v == "9999"
                    )
                    if s is None or s > limit:
                        continue
                    c[dcol][i] = s
                elif kind == "wrong_sex":
                    if icol != "sid":
                        continue
                    c["sex"][i] = "Nữ" if c["sex"][i] == "Nam" else "Nam"
                elif kind == "register_sex":
                    prow = self._person_row(pid)
                    if self.people.at[prow, "sex_flip"]:
                        continue
                    self.people.at[prow, "sex_flip"] = True
                self.mark(i, kind)

    # -- data-quality defects -------------------------------------------------------------------
    def quality_defects(self) -> None:
        """Missing fields, bad dates, date order, marriage age, bad text values."""
        r, c, rng = self.rates, self.cols, self.rng
        b, d, m = self.rtype == "birth", self.rtype == "death", self.rtype == "marriage"
        text_store = np.isin(self.store, TEXT_STORES)
        loose = np.isin(self.store, LOOSE_STORES)

        required = {
            "birth": ["name", "sex", "dob", "reg", "entry"],
            "death": ["name", "sex", "dob", "death", "reg", "entry"],
            "marriage": ["h_name", "h_dob", "w_name", "w_dob", "reg", "entry"],
        }
        for i in self.pick(self.clean(), r.required_missing).tolist():
            fields = required[self.rtype[i]] + (["book"] if text_store[i] else [])
            f = fields[int(rng.integers(0, len(fields)))]
            blank = loose[i] and f not in (*DATE_COLS, "entry") and rng.random() < 0.3
            c[f][i] = "" if blank else None
            self.mark(i, "required_missing")
        for i in self.pick(self.clean() & (b | d), r.sex_invalid).tolist():
            c["sex"][i] = ["Nu", "M", "F", "X", "Nan"][int(rng.integers(0, 5))]
            self.mark(i, "sex_invalid")

        date_fields = {
            "birth": ["reg", "dob", "mother_dob"],
            "death": ["reg", "dob", "death"],
            "marriage": ["reg", "h_dob", "w_dob"],
        }

        def present(i: int, fields: list[str]) -> list[str]:
            return [f for f in fields if _is_full(c[f][i])]

        for i in self.pick(self.clean(), r.date_future).tolist():
            fs = present(i, date_fields[self.rtype[i]])
            if not fs:
                continue
            f = fs[int(rng.integers(0, len(fs)))]
            mm, dd = c[f][i][5:7], min(int(c[f][i][8:10]), 28)
            c[f][i] = f"2099-{mm}-{dd:02d}"
            self.mark(i, "date_future")
        for i in self.pick(self.clean() & text_store, r.date_impossible).tolist():
            fs = present(i, date_fields[self.rtype[i]])
            if not fs:
                continue
            f = fs[int(rng.integers(0, len(fs)))]
            bad = ["02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-05", "00-10"]
            c[f][i] = c[f][i][:4] + "-" + bad[int(rng.integers(0, len(bad)))]
            self.mark(i, "date_impossible")
        for i in self.pick(self.clean() & text_store, r.date_garbage).tolist():
            fs = present(i, date_fields[self.rtype[i]])
            if not fs:
                continue
            f = fs[int(rng.integers(0, len(fs)))]
            y, mo = c[f][i][:4], c[f][i][5:7]
            c[f][i] = ["không rõ", f"??/{mo}/{y}", f"00/00/{y}", f"{mo}.{y}"][
                int(rng.integers(0, 4))
            ]
            self.mark(i, "date_garbage")
        for i in self.pick(self.clean() & text_store & (b | m), r.year_only_bad).tolist():
            f = "dob" if self.rtype[i] == "birth" else ("h_dob" if rng.random() < 0.5 else "w_dob")
            if not _is_full(c[f][i]):
                continue
            c[f][i] = c[f][i][:4]
            self.mark(i, "year_only_bad")
        for i in self.pick(self.clean() & (b | d), r.date_order).tolist():
            reg, dob = c["reg"][i], c["dob"][i]
            if not (_is_full(reg) and _is_full(dob)):
                continue
            dob_d = dt.date.fromisoformat(dob)
            if self.rtype[i] == "birth" or rng.random() < 0.3:
                new = dob_d - dt.timedelta(days=int(rng.integers(1, 400)))
                c["reg"][i] = new.isoformat()
            elif rng.random() < 0.5 and _is_full(c["death"][i]):
                new = dob_d - dt.timedelta(days=int(rng.integers(1, 3000)))
                c["death"][i] = new.isoformat()
            elif _is_full(c["death"][i]):
                death = dt.date.fromisoformat(c["death"][i])
                c["reg"][i] = (death - dt.timedelta(days=int(rng.integers(1, 200)))).isoformat()
                if c["reg"][i] < dob:
                    continue
            else:
                continue
            self.mark(i, "date_order")
        for i in self.pick(self.clean() & m, r.marriage_age).tolist():
            reg = c["reg"][i]
            if not _is_full(reg):
                continue
            reg_d = dt.date.fromisoformat(reg)
            husband = rng.random() < 0.5
            years = float(rng.uniform(16.0, 19.3) if husband else rng.uniform(14.5, 17.3))
            dob = reg_d - dt.timedelta(days=int(years * 365.25))
            c["h_dob" if husband else "w_dob"][i] = dob.isoformat()
            self.mark(i, "marriage_age")

        ctrl_ok = loose
        for i in self.pick(self.clean() & ctrl_ok, r.control_char).tolist():
            fields = [f for f in ("name", "place", "h_name", "w_name", "mother_name") if c[f][i]]
            if not fields:
                continue
            f = fields[int(rng.integers(0, len(fields)))]
            ch = (
                "\x7f"
                if self.store[i] == "workbook"
                else ["\x01", "\x07", "\x1a", "\x7f", "\x02"][int(rng.integers(0, 5))]
            )
            v = c[f][i]
            j = int(rng.integers(1, len(v)))
            c[f][i] = v[:j] + ch + v[j:]
            self.mark(i, "control_char")
        for i in self.pick(
            self.clean() & np.isin(self.store, ("sqlite", "workbook")), r.over_long
        ).tolist():
            fields = [f for f in ("name", "place", "h_name", "w_name") if c[f][i]]
            if not fields:
                continue
            f = fields[int(rng.integers(0, len(fields)))]
            v = c[f][i]
            if f == "place":
                filler = ", thôn Đông, xóm Giữa, gần đình làng, cạnh cổng chợ cũ"
                while len(v) <= 260:
                    v += filler
            else:
                filler = " (ghi chú: con ông bà trong thôn, đã đăng ký tạm trú tại địa phương)"
                while len(v) <= 105:
                    v += filler
            c[f][i] = v
            self.mark(i, "over_long")

    # -- variations that are not defects -----------------------------------------------------
    def variations(self) -> None:
        """Year-only dates where allowed, sex case, NFD text, legacy type codes and encodings."""
        r, c, rng = self.rates, self.cols, self.rng
        text_store = np.isin(self.store, TEXT_STORES)
        d = self.rtype == "death"
        old = np.array([_is_full(v) and v < "1960" for v in c["dob"]])
        for i in self.pick(text_store & d & old & self.clean(), r.year_only_death_dob).tolist():
            c["dob"][i] = c["dob"][i][:4]
        mdob = np.array([_is_full(v) for v in c["mother_dob"]])
        for i in self.pick(text_store & mdob, r.year_only_mother_dob).tolist():
            c["mother_dob"][i] = c["mother_dob"][i][:4]
        has_sex = np.array([v in ("Nam", "Nữ") for v in c["sex"]])
        for i in self.pick(text_store & has_sex, r.sex_case).tolist():
            c["sex"][i] = c["sex"][i].lower() if rng.random() < 0.6 else c["sex"][i].upper()
        legacy = self.store == "legacy"
        for i in self.pick(legacy, r.loai_case).tolist():
            # VARCHAR(2): only the case can vary.
            c["loai"][i] = (
                c["loai"][i].lower()
                if rng.random() < 0.7
                else c["loai"][i][0] + c["loai"][i][1].lower()
            )
        for i in self.pick(legacy & self.clean(), r.legacy_type).tolist():
            c["loai"][i] = [None, "", "KN", "XX", "K", "CN"][int(rng.integers(0, 6))]
            self.mark(i, "legacy_type")
            c["legacy_unknown"][i] = True
        # NFD text in a few Unicode records (not those that will be legacy-encoded).
        enc_rate = np.where(
            legacy,
            r.legacy_encoding,
            np.where(self.store == "workbook", r.workbook_legacy_encoding, 0.0),
        )
        u = rng.random(self.n)
        encode = (u < enc_rate) & ~c["legacy_unknown"].astype(bool)
        for i in np.flatnonzero(encode).tolist():
            if any(k == "control_char" for k in self.intents.get(i, [])):
                encode[i] = False
        nfd = ~encode & (rng.random(self.n) < r.nfd)
        for i in np.flatnonzero(nfd).tolist():
            for f in NAME_COLS + ("place",):
                if c[f][i]:
                    c[f][i] = unicodedata.normalize("NFD", c[f][i])
        self._legacy_encode(np.flatnonzero(encode))

    def _legacy_encode(self, rows: np.ndarray) -> None:
        """Choose the values to write in TCVN3/VNI: those that change and convert back."""
        from hotich.vnencoding import decode_legacy, encode_tcvn3, encode_vni

        c, rng = self.cols, self.rng
        fields = [f for f in TEXT_COLS if f not in ("loai", "book", "entry", *ID_COLS)]
        for i in rows.tolist():
            scheme = "tcvn3" if rng.random() < 0.6 else "vni"
            enc = encode_tcvn3 if scheme == "tcvn3" else encode_vni
            chosen = []
            for f in fields:
                v = c[f][i]
                if not v:
                    continue
                e = enc(v)
                try:
                    back = decode_legacy(e)
                except Exception:  # a converter failure: leave this value in Unicode
                    back = None
                if e != v and back == (unicodedata.normalize("NFC", v), True):
                    chosen.append(f)
            if chosen:
                c["legacy_enc"][i] = scheme
                c["legacy_cols"][i] = ",".join(chosen)
                self.mark(i, "legacy_encoding")

    def duplicates(self) -> np.ndarray:
        """Rows to copy as duplicate entries (same district, type, book and entry)."""
        c = self.cols
        ok = np.array([bool(b) and bool(e) for b, e in zip(c["book"], c["entry"], strict=True)])
        ok &= ~c["legacy_unknown"].astype(bool)
        return self.pick(ok & self.clean(), self.rates.duplicate)

    def frame(self, dup_rows: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The records (with duplicate copies appended) and the people with the additions."""
        c, rng = self.cols, self.rng
        # Hand each column over as it is extended (never two copies of them all at once).
        cols = {}
        for k in list(c):
            v = c.pop(k)
            cols[k] = np.concatenate([v, v[dup_rows]]) if len(dup_rows) else v
            del v
        if len(dup_rows):
            base = self.n
            for j, src in enumerate(dup_rows.tolist()):
                # The copy is often a corrected re-entry of the same record.
                ncol = "h_name" if self.rtype[src] == "marriage" else "name"
                if rng.random() < 0.3 and cols[ncol][base + j]:
                    cols[ncol][base + j] = one_slip(cols[ncol][base + j], rng)
                self.intents.setdefault(base + j, []).append("duplicate")
                cols["dup_of"][base + j] = src
        rec = pd.DataFrame(
            {
                k: pd.Series(v, dtype=object, copy=False) if v.dtype == object else v
                for k, v in cols.items()
            },
            copy=False,
        )
        del cols
        for k, dtype in self.dtypes.items():
            if dtype.kind == "M":  # one Timestamp object per row otherwise
                rec[k] = pd.to_datetime(rec[k]).astype(dtype)
        people = self.people
        if self.new_people:
            extra = pd.DataFrame(self.new_people)
            # One batch: allocating IDs one by one would re-sort the whole ID list each time.
            extra["pid"] = self.alloc.allocate(
                extra["ppp"].to_numpy(), extra["male"].to_numpy(), years_of(extra["dob"].to_numpy())
            )
            extra.index = np.arange(len(people), len(people) + len(extra))
            people = pd.concat([people, extra])
        return rec, people


def apply_all(
    rng: np.random.Generator,
    rec: pd.DataFrame,
    people: pd.DataFrame,
    alloc: IdAllocator,
    rates: DefectRates,
    scale: float,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, list[str]]]:
    """Apply hard cases, ID defects, quality defects, variations and duplicates.

    Returns ``(records, people, intents)``; intents map a record row to its labels.
    """
    # Copy-on-write: neither frame is copied here, nor changed by what follows.
    rec = rec.assign(legacy_cols=None, legacy_unknown=False, dup_of=-1)
    d = Defects(rng, rec, people.copy(deep=False), alloc, rates, scale)
    del rec
    d.cols["legacy_unknown"] = d.cols["legacy_unknown"].astype(bool)
    d.hard_link_cases()
    d.id_defects()
    d.quality_defects()
    d.variations()
    dups = d.duplicates()
    out, ppl = d.frame(dups)
    _ = (id_strings, STORE_OF)
    return out, ppl, d.intents
