"""Reconciliation against the register: ID checks and the contract's linkage rule.

Hand-made cases, one or more per branch of the rule ("Linking a person without an ID" in
docs/ledger.md), through an in-memory register that answers ``match`` the way the
contract describes (same sex; same folded name and year, or same date and at most two
true-Damerau-Levenshtein slips; at most 50 candidates).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, DamerauLevenshtein

from hotich import model
from hotich.names import exact_keys, fold_keys
from hotich.reconcile import (
    AMBIGUOUS_COLUMNS,
    CANDIDATE_COLUMNS,
    CITIZEN_COLUMNS,
    CORROBORATIONS,
    DATE_LEVELS,
    EXCLUSIONS,
    FITS,
    MAX_CANDIDATES,
    NAME_LEVELS,
    RANK,
    VERDICT_COLUMNS,
    AskedBefore,
    Comparison,
    Level,
    PairFrame,
    _slip_distance,
    add_counters,
    any_holds,
    build_match_queries,
    check_ids,
    compare,
    decide,
    first_level,
    link,
    merge_record_verdicts,
    pair_candidates,
    reconcile,
)

REG = "2021-01-10"


# --- builders -----------------------------------------------------------------------------
def person(
    key: str = "260:birth:1",
    *,
    record_type: str = "birth",
    role: str = "subject",
    name: str = "Nguyễn Văn An",
    sex: str = "Nam",
    dob: str = "2020-03-05",
    pid: str | None = None,
    mother: str | None = None,
    father: str | None = None,
    death: str | None = None,
    registered: str = REG,
) -> dict:
    """One person row; ``dob`` 'yyyy' means a year-only date of birth."""
    year_only = len(dob) == 4
    return {
        "source_key": key,
        "record_type": record_type,
        "role": role,
        "full_name": name,
        "sex": sex,
        "dob": pd.NaT if year_only else pd.Timestamp(dob),
        "dob_year": int(dob[:4]),
        "dob_year_only": year_only,
        "personal_id": pid,
        "mother_name": mother,
        "father_name": father,
        "death_date": pd.Timestamp(death) if death else pd.NaT,
        "registration_date": pd.Timestamp(registered),
    }


def persons(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(model.PERSON_COLUMNS))
    frame["dob_year"] = frame["dob_year"].astype("Int64")
    for col in ("dob", "death_date", "registration_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def citizen(
    sdd: str,
    name: str = "Nguyễn Văn An",
    *,
    sex: str = "Nam",
    dob: str = "2020-03-05",
    mother: str | None = None,
    father: str | None = None,
    status: str = "con_song",
    died: str | None = None,
) -> dict:
    return {
        "so_dinh_danh": sdd,
        "ho_ten": name,
        "gioi_tinh": sex,
        "ngay_sinh": dob,
        "noi_dang_ky_khai_sinh": sdd[:3],
        "ho_ten_cha": father,
        "ho_ten_me": mother,
        "trang_thai": status,
        "ngay_chet": died,
    }


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFD", unicodedata.normalize("NFC", s).lower())
    s = "".join(c for c in s if not unicodedata.combining(c)).replace("đ", "d")
    return " ".join(s.split())


class FakeRegister:
    """In-memory RegisterLookup following the contract's match rule."""

    def __init__(self, citizens: Iterable[dict]) -> None:
        self.citizens = pd.DataFrame(list(citizens), columns=list(CITIZEN_COLUMNS))
        self.batch_calls: list[list[str]] = []
        self.match_calls: list[pd.DataFrame] = []

    def batch_get(self, ids: Iterable[str]) -> tuple[pd.DataFrame, set[str]]:
        ids = list(ids)
        self.batch_calls.append(ids)
        found = self.citizens[self.citizens["so_dinh_danh"].isin(ids)]
        return found.reset_index(drop=True), set(ids) - set(found["so_dinh_danh"])

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        self.match_calls.append(queries)
        rows = []
        for q in queries.itertuples():
            hits = []
            for c in self.citizens.itertuples():
                if c.gioi_tinh != q.gioi_tinh:
                    continue
                same_name = _fold(c.ho_ten) == _fold(q.ho_ten)
                if len(q.ngay_sinh) == 4:
                    ok = same_name and c.ngay_sinh[:4] == q.ngay_sinh
                else:
                    ok = (same_name and c.ngay_sinh[:4] == q.ngay_sinh[:4]) or (
                        c.ngay_sinh == q.ngay_sinh
                        and DamerauLevenshtein.distance(_fold(c.ho_ten), _fold(q.ho_ten)) <= 2
                    )
                if ok:
                    hits.append({"ref": q.ref, **c._asdict()})
            rows.extend(hits[:MAX_CANDIDATES])
        frame = pd.DataFrame(rows, columns=["ref", "Index", *CITIZEN_COLUMNS])
        return frame.drop(columns="Index")


def run(people: list[dict], citizens: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    result = reconcile(persons(*people), FakeRegister(citizens))
    return result.persons, result.ambiguous


def only(verdicts: pd.DataFrame) -> pd.Series:
    assert len(verdicts) == 1
    return verdicts.iloc[0]


ID1, ID2, ID3 = "027220000001", "027220000002", "027220000003"


# --- normalization ------------------------------------------------------------------------
def test_fold_and_exact_keys() -> None:
    names = ["  NGUYỄN\u00a0 Văn   Đức ", "Nguye\u0301n Thị Hoà", None, " ", "a \u0301 b"]
    assert fold_keys(names).to_pylist() == ["nguyen van duc", "nguyen thi hoa", None, "", "a b"]
    assert exact_keys(names).to_pylist()[:4] == ["nguyễn văn đức", "nguyén thị hoà", None, ""]
    assert exact_keys(pd.Series(["Ê"], dtype="str")).to_pylist() == ["ê"]


def test_slip_distance_is_true_damerau_levenshtein() -> None:
    # 'ca' -> 'abc': true DL 2 (swap, then insert between), OSA 3 (no edit of a swapped pair).
    assert DamerauLevenshtein.distance("ca", "abc") == 2
    assert OSA.distance("ca", "abc") == 3
    vocab = np.array(["le van ca", "le van abc", "le van ac", "le van ca x"], dtype=object)
    a = np.array([0, 0, 0, 0, -1])
    b = np.array([1, 2, 0, 3, 0])
    lengths = np.array([len(v) for v in vocab])
    assert _slip_distance(vocab, lengths, a, b).tolist() == [2, 1, 0, 2, -1]


def test_register_at_two_true_dl_slips_returns_a_candidate_that_does_not_fit() -> None:
    # The register's "two slips" uses true DL: OSA would not return this candidate at all.
    src = person(name="Lê Văn Ca", mother="Trần Thị Mai")
    reg = citizen(ID1, "Lê Văn Abc", mother="Trần Thị Mai")
    register = FakeRegister([reg])
    result = reconcile(persons(src), register)
    assert len(register.match(build_match_queries(persons(src))[0])) == 1
    assert only(result.persons)["reasons"] == [model.LINK_NONE]


def test_persons_of_several_record_types_in_arrow_strings_are_queried() -> None:
    # Persons as pipeline.persons_of gives them after reading Parquet: Arrow-backed text,
    # one chunk per record type concatenated. This once raised AttributeError in reconcile.
    birth = persons(person("260:birth:1"))
    death = persons(person("260:death:2", record_type="death", name="Đỗ Văn Tư", dob="1950"))
    both = pd.concat(
        [f.astype({"full_name": "str", "sex": "str"}) for f in (birth, death)], ignore_index=True
    )
    queries, refs = build_match_queries(both)
    assert sorted(queries["ho_ten"]) == ["Nguyễn Văn An", "Đỗ Văn Tư"]
    assert refs.notna().all()


# --- linkage: names and dates -------------------------------------------------------------
def test_exact_name_and_date_links() -> None:
    v, amb = run([person(name="nguyễn  văn AN")], [citizen(ID1)])
    row = only(v)
    assert row["reasons"] == [model.LINKED]
    assert row["loaded_personal_id"] == ID1
    assert row["loaded_name"] == "nguyễn  văn AN"  # exact: the source spelling is kept
    assert (row["link_name_level"], row["link_date_level"]) == ("exact", "agrees")
    assert bool(row["link_corroborated"]) is False  # bool(pd.NA) would raise
    assert amb.empty


def test_folded_name_without_corroboration_does_not_fit() -> None:
    v, _ = run([person(name="Nguyễn Văn Ân")], [citizen(ID1, "Nguyễn Văn An")])
    assert only(v)["reasons"] == [model.LINK_NONE]
    assert only(v)["loaded_personal_id"] is None


def test_folded_name_with_mother_links_with_register_spelling() -> None:
    v, _ = run(
        [person(name="Nguyen Van An", mother="Tran Thi Mai")],
        [citizen(ID1, "Nguyễn Văn An", mother="Trần Thị Mai")],
    )
    row = only(v)
    assert row["reasons"] == [model.LINKED, model.NAME_DIACRITICS]
    assert row["loaded_name"] == "Nguyễn Văn An"
    assert row["source_name"] == "Nguyen Van An"
    assert (row["link_name_level"], row["link_corroborated"]) == ("folded", True)


def test_mother_one_slip_apart_corroborates() -> None:
    v, _ = run(
        [person(name="Nguyen Van An", mother="Tran Thi Mia")],
        [citizen(ID1, "Nguyễn Văn An", mother="Trần Thị Mai")],
    )
    assert only(v)["reasons"] == [model.LINKED, model.NAME_DIACRITICS]


def test_mother_on_one_side_only_does_not_corroborate() -> None:
    v, _ = run([person(name="Nguyen Van An", mother="Tran Thi Mai")], [citizen(ID1)])
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_father_alone_does_not_corroborate() -> None:
    v, _ = run(
        [person(name="Nguyen Van An", father="Nguyen Van Binh")],
        [citizen(ID1, father="Nguyễn Văn Bình")],
    )
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_slip_with_equal_full_date_and_corroboration_links() -> None:
    v, _ = run(
        [person(name="Nguyễn Văn Anh", mother="Trần Thị Mai")],
        [citizen(ID1, "Nguyễn Văn An", mother="Trần Thị Mai")],
    )
    row = only(v)
    assert row["reasons"] == [model.LINKED]  # a slip is no NAME_DIACRITICS
    assert row["loaded_name"] == "Nguyễn Văn Anh"
    assert row["link_name_level"] == "slip"


def test_slip_without_corroboration_does_not_fit() -> None:
    v, _ = run([person(name="Nguyễn Văn Anh")], [citizen(ID1, "Nguyễn Văn An")])
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_slip_with_year_only_date_does_not_fit() -> None:
    # A death with a year-only birth date, corroborated by the date of death: a slip
    # needs an equal *full* date. (The register would not even return it; feed it.)
    src = persons(
        person(
            "260:death:1",
            record_type="death",
            name="Nguyễn Văn Anh",
            dob="1950",
            death="2020-02-02",
            registered="2020-02-03",
        )
    ).assign(ref="r1")
    cand = pd.DataFrame(
        [
            {
                "ref": "r1",
                **citizen(
                    ID1, "Nguyễn Văn An", dob="1950-06-01", status="da_chet", died="2020-02-02"
                ),
            }
        ],
        columns=list(CANDIDATE_COLUMNS),
    )
    v, _ = link(src, cand)
    assert only(v)["reasons"] == [model.LINK_NONE]
    # ... while the exact name in the same year fits.
    cand.loc[0, "ho_ten"] = "Nguyễn Văn Anh"
    v, _ = link(src, cand)
    assert only(v)["reasons"] == [model.LINKED]
    assert only(v)["link_date_level"] == "agrees"


def test_two_slips_never_fit() -> None:
    v, _ = run(
        [person(name="Nguyễn Văn Anhh", mother="Trần Thị Mai")],
        [citizen(ID1, "Nguyễn Văn An", mother="Trần Thị Mai")],
    )
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_swapped_date_needs_corroboration() -> None:
    src = person(dob="2020-03-05", mother="Trần Thị Mai")
    swapped = citizen(ID1, dob="2020-05-03", mother="Trần Thị Mai")
    src_link = persons(src).assign(ref="r")
    cand = pd.DataFrame([{"ref": "r", **swapped}], columns=list(CANDIDATE_COLUMNS))
    v, _ = link(src_link, cand)
    assert only(v)["reasons"] == [model.LINKED]
    assert only(v)["link_date_level"] == "swapped"
    # Without the mother on the register side: exact name but swapped date → no fit.
    cand.loc[0, "ho_ten_me"] = None
    v, _ = link(src_link, cand)
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_swapped_date_with_slip_name_does_not_fit() -> None:
    src = persons(person(name="Nguyễn Văn Anh", dob="2020-03-05", mother="Trần Thị Mai"))
    cand = pd.DataFrame(
        [{"ref": "r", **citizen(ID1, "Nguyễn Văn An", dob="2020-05-03", mother="Trần Thị Mai")}],
        columns=list(CANDIDATE_COLUMNS),
    )
    v, _ = link(src.assign(ref="r"), cand)
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_day_equal_to_month_is_never_swapped() -> None:
    # 04/04 swaps to itself: the date agrees, it is not "swapped".
    src = persons(person(dob="2020-04-04")).assign(ref="r")
    cand = pd.DataFrame(
        [{"ref": "r", **citizen(ID1, dob="2020-04-04")}], columns=list(CANDIDATE_COLUMNS)
    )
    v, _ = link(src, cand)
    assert (only(v)["reasons"], only(v)["link_date_level"]) == ([model.LINKED], "agrees")


def test_other_date_same_year_does_not_fit_for_full_date() -> None:
    v, _ = run([person(dob="2020-03-05")], [citizen(ID1, dob="2020-07-09")])
    assert only(v)["reasons"] == [model.LINK_NONE]


# --- linkage: exclusion -------------------------------------------------------------------
def test_mother_contradiction_excludes_even_an_exact_match() -> None:
    v, _ = run([person(mother="Trần Thị Mai")], [citizen(ID1, mother="Lê Thị Hồng")])
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_father_contradiction_excludes() -> None:
    v, _ = run(
        [person(mother="Trần Thị Mai", father="Nguyễn Văn Bình")],
        [citizen(ID1, mother="Trần Thị Mai", father="Phạm Văn Cường")],
    )
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_death_living_candidate_excluded() -> None:
    src = person("260:death:1", record_type="death", death="2020-12-01", registered=REG)
    v, _ = run([src], [citizen(ID1, status="con_song")])
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_death_dead_on_other_date_excluded() -> None:
    src = person("260:death:1", record_type="death", death="2020-12-01", registered=REG)
    v, _ = run([src], [citizen(ID1, status="da_chet", died="2020-11-30")])
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_death_dead_on_same_date_corroborates_folded_name() -> None:
    src = person("260:death:1", record_type="death", name="Nguyen Van An", death="2020-12-01")
    v, _ = run([src], [citizen(ID1, status="da_chet", died="2020-12-01")])
    row = only(v)
    assert row["reasons"] == [model.LINKED, model.NAME_DIACRITICS]
    assert row["link_corroborated"] == True  # noqa: E712


def test_death_dead_without_date_links_only_exactly() -> None:
    src = person("260:death:1", record_type="death", death="2020-12-01")
    v, _ = run([src], [citizen(ID1, status="da_chet", died=None)])
    assert only(v)["reasons"] == [model.LINKED]
    src["full_name"] = "Nguyen Van An"
    v, _ = run([src], [citizen(ID1, status="da_chet", died=None)])
    assert only(v)["reasons"] == [model.LINK_NONE]


def test_birth_candidate_dead_before_registration_excluded() -> None:
    v, _ = run([person(registered=REG)], [citizen(ID1, status="da_chet", died="2021-01-09")])
    assert only(v)["reasons"] == [model.LINK_NONE]
    # Died on (or after) the registration date: not contradicted.
    v, _ = run([person(registered=REG)], [citizen(ID1, status="da_chet", died=REG)])
    assert only(v)["reasons"] == [model.LINKED]


def test_marriage_spouse_dead_before_registration_excluded_and_never_corroborated() -> None:
    husband = person("260:marriage:1", record_type="marriage", role="husband", dob="1990-02-03")
    v, _ = run([husband], [citizen(ID1, dob="1990-02-03", status="da_chet", died="2000-01-01")])
    assert only(v)["reasons"] == [model.LINK_NONE]
    folded = dict(husband, full_name="Nguyen Van An")
    v, _ = run([folded], [citizen(ID1, dob="1990-02-03")])
    assert only(v)["reasons"] == [model.LINK_NONE]
    v, _ = run([husband], [citizen(ID1, dob="1990-02-03")])
    assert only(v)["reasons"] == [model.LINKED]


# --- linkage: ranking ---------------------------------------------------------------------
def test_two_namesakes_are_ambiguous() -> None:
    v, amb = run([person()], [citizen(ID1), citizen(ID2)])
    row = only(v)
    assert row["reasons"] == [model.LINK_AMBIGUOUS]
    assert row["loaded_personal_id"] is None
    assert list(amb.columns) == list(AMBIGUOUS_COLUMNS)
    assert sorted(amb["so_dinh_danh"]) == [ID1, ID2]
    assert amb["best"].all() and amb["fits"].all()
    assert amb["candidate_order"].tolist() == [1, 2]
    assert amb["score"].between(0, 1).all()


def test_corroborated_beats_uncorroborated() -> None:
    v, _ = run(
        [person(mother="Trần Thị Mai")],
        [citizen(ID1), citizen(ID2, mother="Trần Thị Mai")],
    )
    assert (only(v)["reasons"], only(v)["loaded_personal_id"]) == ([model.LINKED], ID2)


def test_corroborated_folded_beats_uncorroborated_exact() -> None:
    v, _ = run(
        [person(mother="Trần Thị Mai")],
        [citizen(ID1), citizen(ID2, "Nguyễn Văn Ân", mother="Trần Thị Mai")],
    )
    assert (only(v)["loaded_personal_id"], only(v)["reasons"]) == (
        ID2,
        [model.LINKED, model.NAME_DIACRITICS],
    )


def test_name_level_then_date_level_break_ties_among_corroborated() -> None:
    src = person(name="Nguyễn Văn An", mother="Trần Thị Mai")
    folded = citizen(ID1, "Nguyễn Văn Ấn", mother="Trần Thị Mai")
    exact = citizen(ID2, mother="Trần Thị Mai")
    v, _ = run([src], [folded, exact])
    assert only(v)["loaded_personal_id"] == ID2
    # exact + swapped vs folded + agrees: the name level ranks first.
    frame = persons(src).assign(ref="r")
    cands = pd.DataFrame(
        [
            {"ref": "r", **citizen(ID1, "Nguyễn Văn Ấn", mother="Trần Thị Mai")},
            {"ref": "r", **citizen(ID2, dob="2020-05-03", mother="Trần Thị Mai")},
        ],
        columns=list(CANDIDATE_COLUMNS),
    )
    v, _ = link(frame, cands)
    assert (only(v)["loaded_personal_id"], only(v)["link_date_level"]) == (ID2, "swapped")
    # exact + agrees vs exact + swapped: the date decides.
    cands.loc[0, ["ho_ten", "so_dinh_danh"]] = ["Nguyễn Văn An", ID3]
    v, _ = link(frame, cands)
    assert only(v)["loaded_personal_id"] == ID3


def test_tie_among_corroborated_is_ambiguous_even_with_a_worse_one() -> None:
    v, amb = run(
        [person(mother="Trần Thị Mai")],
        [
            citizen(ID1, mother="Trần Thị Mai"),
            citizen(ID2, mother="Trần Thị Mia"),
            citizen(ID3),
        ],
    )
    assert only(v)["reasons"] == [model.LINK_AMBIGUOUS]
    assert amb.set_index("so_dinh_danh")["best"].to_dict() == {ID1: True, ID2: True, ID3: False}
    assert amb["candidate_order"].tolist() == [1, 2, 3]
    assert amb["so_dinh_danh"].iloc[-1] == ID3


def _many(n: int, fitting: int) -> list[dict]:
    rows = [citizen(f"0272200{i:05d}", dob="2020-03-05") for i in range(fitting)]
    rows += [
        citizen(f"0272201{i:05d}", "Nguyễn Văn Ânh", dob="2020-03-05") for i in range(n - fitting)
    ]
    return rows


def test_fifty_candidates_are_ambiguous_whatever_fits() -> None:
    v, amb = run([person()], _many(MAX_CANDIDATES, 1))
    assert only(v)["reasons"] == [model.LINK_AMBIGUOUS]
    assert len(amb) == MAX_CANDIDATES
    v, _ = run([person()], _many(MAX_CANDIDATES, 0))
    assert only(v)["reasons"] == [model.LINK_AMBIGUOUS]
    v, _ = run([person()], _many(MAX_CANDIDATES - 1, 1))
    assert only(v)["reasons"] == [model.LINKED]


def test_no_candidate_is_link_none() -> None:
    v, amb = run([person()], [citizen(ID1, "Trần Văn Bảo")])
    assert only(v)["reasons"] == [model.LINK_NONE]
    assert amb.empty


def test_duplicate_candidate_rows_count_once() -> None:
    src = persons(person()).assign(ref="r")
    row = {"ref": "r", **citizen(ID1)}
    v, _ = link(src, pd.DataFrame([row, row], columns=list(CANDIDATE_COLUMNS)))
    assert only(v)["reasons"] == [model.LINKED]


def test_duplicate_candidates_with_non_numeric_ids_count_once() -> None:
    # IDs that do not pack into an int64 take the slower de-duplication path.
    src = persons(person()).assign(ref="r")
    rows = [{"ref": "r", **citizen(ID1)}, {"ref": "r", **citizen(ID1)}]
    for row in rows:
        row["so_dinh_danh"] = "X-1"
    v, _ = link(src, pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS)))
    assert (only(v)["reasons"], only(v)["loaded_personal_id"]) == ([model.LINKED], "X-1")


def test_other_sex_row_is_no_candidate() -> None:
    src = persons(person()).assign(ref="r")
    rows = [{"ref": "r", **citizen(ID1)}, {"ref": "r", **citizen(ID2, sex="Nữ")}]
    v, _ = link(src, pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS)))
    assert (only(v)["reasons"], only(v)["loaded_personal_id"]) == ([model.LINKED], ID1)


# --- linkage: the rule's tables -----------------------------------------------------------
def _pairs(*rows: tuple[dict, dict]) -> PairFrame:
    """A pair frame with one pair per (person, citizen) row, in that order."""
    people = persons(*(p for p, _ in rows)).assign(ref=[f"r{i}" for i in range(len(rows))])
    cands = pd.DataFrame(
        [{"ref": f"r{i}", **c} for i, (_, c) in enumerate(rows)], columns=list(CANDIDATE_COLUMNS)
    )
    pairs = pair_candidates(people, cands)
    assert pairs.person_row.tolist() == pairs.candidate_row.tolist() == list(range(len(rows)))
    return pairs


def _holds(levels: tuple[Level, ...], pairs: PairFrame) -> dict[str, list[bool]]:
    return {level.label: level.holds(pairs).tolist() for level in levels}


def test_level_tables_read_like_the_ledger() -> None:
    for title, levels in (
        ("exclusions", EXCLUSIONS),
        ("corroborations", CORROBORATIONS),
        ("name levels", NAME_LEVELS),
        ("date levels", DATE_LEVELS),
    ):
        print(f"{title}:", *(f"  {lvl.label}: {lvl.rule}" for lvl in levels), sep="\n")
        labels = [level.label for level in levels]
        assert len(set(labels)) == len(labels) and all(level.rule for level in levels)
    print("fits:", *(f"  {fit.rule}" for fit in FITS), sep="\n")
    print("rank:", *(f"  {key.rule} (x{key.weight})" for key in RANK), sep="\n")
    # The labels lineage and the review desk show, best first.
    assert [level.label for level in NAME_LEVELS] == ["exact", "folded", "slip"]
    assert [level.label for level in DATE_LEVELS] == ["agrees", "swapped"]
    # Every name and date level is used by some way of fitting, and only those.
    assert {label for fit in FITS for label in fit.names} == {lvl.label for lvl in NAME_LEVELS}
    assert {fit.date for fit in FITS} == {level.label for level in DATE_LEVELS}
    # Only an exact name with an agreeing date fits without corroboration.
    assert [(f.names, f.date) for f in FITS if not f.needs_corroboration] == [
        (("exact",), "agrees")
    ]


def test_rank_orders_corroborated_then_name_then_date() -> None:
    combos = [(c, n, d) for c in (True, False) for n in range(3) for d in range(2)]
    corroborated, name_level, date_level = (np.array(x) for x in zip(*combos, strict=True))
    comparison = Comparison(
        contradicted=np.zeros(len(combos), dtype=bool),
        corroborated=corroborated,
        name_level=name_level.astype(np.int8),
        date_level=date_level.astype(np.int8),
        fits=np.ones(len(combos), dtype=bool),
    )
    # combos are listed in the ledger's order: the rank must be strictly increasing.
    assert (np.diff(comparison.rank) > 0).all()
    assert comparison.rank.tolist()[:3] == [0, 1, 10]  # docs/ledger.md's integer
    not_fitting = replace(comparison, fits=np.zeros(len(combos), dtype=bool))
    assert (not_fitting.rank > comparison.rank.max()).all()


def test_name_levels_hold_as_labelled() -> None:
    src = person(name="Nguyễn Văn An")
    pairs = _pairs(
        (src, citizen(ID1, "nguyễn  văn AN")),  # exact form equal
        (src, citizen(ID1, "Nguyen Van An")),  # equal folded only
        (src, citizen(ID1, "Nguyễn Văn Anh")),  # one slip (added)
        (src, citizen(ID1, "Nguyễn Văn Na")),  # one slip (neighbours swapped)
        (src, citizen(ID1, "Nguyễn Văn Anhh")),  # two slips
        (dict(src, full_name=None), citizen(ID1, "Nguyễn Văn An")),  # no name
    )
    assert _holds(NAME_LEVELS, pairs) == {
        "exact": [True, False, False, False, False, False],
        "folded": [True, True, False, False, False, False],
        "slip": [False, False, True, True, False, False],
    }
    assert first_level(NAME_LEVELS, pairs).tolist() == [0, 1, 2, 2, 3, 3]


def test_date_levels_hold_as_labelled() -> None:
    pairs = _pairs(
        (person(dob="2020-03-05"), citizen(ID1, dob="2020-03-05")),  # equal
        (person(dob="2020-03-05"), citizen(ID1, dob="2020-05-03")),  # day and month swapped
        (person(dob="2020-03-05"), citizen(ID1, dob="2020-07-09")),  # same year only
        (person(dob="2020-03-05"), citizen(ID1, dob="2021-05-03")),  # swapped, other year
        (person(dob="2020-04-04"), citizen(ID1, dob="2020-04-04")),  # swaps to itself
        (person(dob="2020-03-25"), citizen(ID1, dob="2020-03-25")),  # no month 25
        (person(dob="2020"), citizen(ID1, dob="2020-06-01")),  # year-only, same year
        (person(dob="2020"), citizen(ID1, dob="2019-06-01")),  # year-only, other year
    )
    assert _holds(DATE_LEVELS, pairs) == {
        "agrees": [True, False, False, False, True, True, True, False],
        "swapped": [False, True, False, False, False, False, False, False],
    }
    assert first_level(DATE_LEVELS, pairs).tolist() == [0, 1, 2, 2, 0, 0, 0, 2]


def test_exclusions_hold_as_labelled() -> None:
    death = person("260:death:1", record_type="death", death="2020-12-01")
    marriage = person("260:marriage:1", record_type="marriage", role="husband")
    mai = "Trần Thị Mai"
    pairs = _pairs(
        (person(mother=mai), citizen(ID1, mother="Lê Thị Hồng")),  # mother contradicts
        (person(mother=mai), citizen(ID1, mother="Trần Thị Mia")),  # one slip: no
        (person(mother=mai), citizen(ID1)),  # one side only: no
        (person(father="Nguyễn Văn Bình"), citizen(ID1, father="Phạm Văn Cường")),
        (dict(death, mother_name=mai), citizen(ID1, mother="Lê Thị Hồng", status="da_chet")),
        (death, citizen(ID1, status="con_song")),  # death, register alive
        (person(), citizen(ID1, status="con_song")),  # birth, alive: no
        (death, citizen(ID1, status="da_chet", died="2020-11-30")),  # dead another day
        (death, citizen(ID1, status="da_chet", died="2020-12-01")),  # dead that day: no
        (death, citizen(ID1, status="da_chet")),  # no register date of death: no
        (person(), citizen(ID1, status="da_chet", died="2021-01-09")),  # before REG
        (person(), citizen(ID1, status="da_chet", died=REG)),  # on REG: no
        (marriage, citizen(ID1, status="da_chet", died="2000-01-01")),
    )
    F, T = False, True
    assert _holds(EXCLUSIONS, pairs) == {
        "parent_contradicts": [T, F, F, T, F, F, F, F, F, F, F, F, F],
        "alive_at_death": [F, F, F, F, F, T, F, F, F, F, F, F, F],
        "died_another_day": [F, F, F, F, F, F, F, T, F, F, F, F, F],
        "died_before_registration": [F, F, F, F, F, F, F, F, F, F, T, F, T],
    }
    assert any_holds(EXCLUSIONS, pairs).tolist() == [T, F, F, T, F, T, F, T, F, F, T, F, T]


def test_corroborations_hold_as_labelled() -> None:
    death = person("260:death:1", record_type="death", death="2020-12-01")
    mai, binh = "Trần Thị Mai", "Nguyễn Văn Bình"
    pairs = _pairs(
        (person(mother=mai), citizen(ID1, mother=mai)),  # mother agrees
        (person(mother=mai), citizen(ID1, mother="Trần Thị Mia")),  # within a slip
        (person(mother=mai), citizen(ID1)),  # one side only: no
        (person(father=binh), citizen(ID1, father=binh)),  # the father alone: no
        (person(mother=mai, father=binh), citizen(ID1, mother=mai, father=binh)),
        (person(mother=mai, father=binh), citizen(ID1, mother=mai)),  # one father: yes
        (person(mother=mai, father=binh), citizen(ID1, mother=mai, father="Phạm Văn Cường")),
        (dict(death, mother_name=mai), citizen(ID1, mother=mai, status="da_chet")),  # no
        (death, citizen(ID1, status="da_chet", died="2020-12-01")),  # dead that day
        (death, citizen(ID1, status="da_chet")),  # no register date: no
        (death, citizen(ID1, status="con_song", died="2020-12-01")),  # alive: no
        (
            person("m", record_type="marriage", role="wife", sex="Nữ", mother=mai),
            citizen(ID1, sex="Nữ", mother=mai),
        ),  # a spouse never
    )
    F, T = False, True
    assert _holds(CORROBORATIONS, pairs) == {
        "parents_agree": [T, T, F, F, T, T, F, F, F, F, F, F],
        "dead_on_the_day": [F, F, F, F, F, F, F, F, T, F, F, F],
    }


def test_compare_and_decide_on_one_frame() -> None:
    # Person 0: exact + agrees (fits alone). Person 1: two namesakes (a tie). Person 2: a
    # folded name without corroboration (does not fit) and an other-sex row.
    people = persons(person("a:1"), person("a:2"), person("a:3", name="Nguyen Van An"))
    people = people.assign(ref=["r0", "r1", "r2"])
    rows = [("r0", citizen(ID1)), ("r1", citizen(ID1)), ("r1", citizen(ID2))]
    rows += [("r2", citizen(ID3)), ("r2", citizen(ID2, sex="Nữ"))]
    cands = pd.DataFrame([{"ref": r, **c} for r, c in rows], columns=list(CANDIDATE_COLUMNS))
    pairs = pair_candidates(people, cands)
    comparison = compare(pairs)
    pair = list(
        zip(
            pairs.person_row.tolist(),
            cands["so_dinh_danh"].take(pairs.candidate_row).tolist(),
            strict=True,
        )
    )
    contradicted = dict(zip(pair, comparison.contradicted.tolist(), strict=True))
    fits = dict(zip(pair, comparison.fits.tolist(), strict=True))
    assert [key for key, value in contradicted.items() if value] == [(2, ID2)]  # other sex
    assert [key for key, value in fits.items() if value] == [(0, ID1), (1, ID1), (1, ID2)]
    decision = decide(pairs, comparison)
    assert decision.linked.tolist() == [True, False, False]
    assert decision.ambiguous.tolist() == [False, True, False]
    assert decision.none.tolist() == [False, False, True]


# --- queries ------------------------------------------------------------------------------
def test_queries_once_per_folded_name_sex_and_date() -> None:
    people = persons(
        person("a:birth:1", name="Nguyễn Văn An"),
        person("a:birth:2", name="nguyen van  an"),
        person("a:birth:3", name="Nguyễn Văn An", sex="Nữ"),
        person(
            "a:death:4", record_type="death", name="Nguyễn Văn An", dob="1950", death="2020-01-01"
        ),
    )
    queries, refs = build_match_queries(people)
    assert len(queries) == 3
    assert refs.iloc[0] == refs.iloc[1] != refs.iloc[2]
    assert queries["ngay_sinh"].tolist() == ["2020-03-05", "2020-03-05", "1950"]
    assert queries["gioi_tinh"].tolist() == ["Nam", "Nữ", "Nam"]
    assert queries["ref"].is_unique


def test_reconcile_calls_register_once_with_distinct_keys() -> None:
    register = FakeRegister([citizen(ID1), citizen(ID2, "Lê Thị Hoa", sex="Nữ")])
    people = persons(
        person("a:birth:1"),
        person("a:birth:2"),
        person("a:birth:3", name="Lê Thị Hoa", sex="Nữ", pid=ID2),
        person("a:birth:4", name="Lê Thị Hoa", sex="Nữ", pid=ID2),
    )
    result = reconcile(people, register)
    assert register.batch_calls == [[ID2]]
    assert len(register.match_calls) == 1 and len(register.match_calls[0]) == 1
    assert list(result.persons.columns) == list(VERDICT_COLUMNS)
    assert result.persons["source_key"].tolist() == [
        "a:birth:1",
        "a:birth:2",
        "a:birth:3",
        "a:birth:4",
    ]
    assert result.persons["reasons"].tolist() == [[model.LINKED]] * 2 + [[]] * 2
    assert result.counters["linked"] == 2 and result.counters["queries"] == 1


def test_link_by_chunks_gives_the_verdicts_of_one_link_and_asks_the_register_once() -> None:
    """chunk_rows=1 (one person a chunk): the same verdicts and ambiguous candidates as
    all at once, and still one match call for the district's distinct queries."""
    citizens = [citizen(ID1), citizen(ID2, "Lê Thị Hoa", sex="Nữ"),
                citizen(ID3, "Lê Thị Hoa", sex="Nữ")]  # fmt: skip
    people = persons(
        person("a:birth:1"),
        person("a:birth:2", name="Lê Thị Hoa", sex="Nữ"),  # two namesakes: ambiguous
        person("a:birth:3"),  # the same query as a:birth:1, in another chunk
        person("a:birth:4", name="Trần Văn Ba"),  # no candidate
        person("a:birth:5", pid=ID1),
    )
    whole = reconcile(people, FakeRegister(citizens))
    register = FakeRegister(citizens)
    chunked = reconcile(people, register, chunk_rows=1)
    assert len(register.match_calls) == 1 and len(register.match_calls[0]) == 3
    pd.testing.assert_frame_equal(chunked.persons, whole.persons)
    pd.testing.assert_frame_equal(chunked.ambiguous, whole.ambiguous)
    assert len(whole.ambiguous) == 2 and chunked.counters == whole.counters


def test_reconcile_a_chunk_of_records_at_a_time_gives_the_district_verdicts_and_counters() -> None:
    """The reconcile step's chunks (issue 16): each chunk asks the register about its own
    persons only, the verdicts and candidates are the district's, and with AskedBefore
    the chunks' counters add up to the district's though an ID and a query repeat in two
    chunks."""
    citizens = [citizen(ID1), citizen(ID2, "Lê Thị Hoa", sex="Nữ"),
                citizen(ID3, "Lê Thị Hoa", sex="Nữ")]  # fmt: skip
    people = persons(
        person("a:birth:1"),
        person("a:birth:2", name="Lê Thị Hoa", sex="Nữ"),  # two namesakes: ambiguous
        person("a:birth:3", pid=ID1),
        person("a:birth:4"),  # the query of a:birth:1 again, in the second chunk
        person("a:birth:5", pid=ID1),  # the ID of a:birth:3 again
        person("a:birth:6", name="Trần Văn Ba"),  # no candidate
    )
    whole = reconcile(people, FakeRegister(citizens))
    register, asked_before, counters = FakeRegister(citizens), AskedBefore(), {}
    verdicts, ambiguous = [], []
    for first in (0, 3):
        part = reconcile(people.iloc[first : first + 3], register, 2, asked_before)
        verdicts.append(part.persons)
        ambiguous.append(part.ambiguous)
        counters = add_counters(counters, part.counters)
    assert [len(c) for c in register.batch_calls] == [1, 1]
    assert [len(q) for q in register.match_calls] == [2, 2]
    pd.testing.assert_frame_equal(pd.concat(verdicts, ignore_index=True), whole.persons)
    found = pd.concat([a for a in ambiguous if len(a)], ignore_index=True)
    pd.testing.assert_frame_equal(found, whole.ambiguous)
    assert len(whole.ambiguous) == 2 and counters == whole.counters
    assert counters["ids_requested"] == 1 and counters["queries"] == 3


# --- ID checks ----------------------------------------------------------------------------
def _check(src: dict, reg: list[dict]) -> pd.Series:
    v, _ = run([src], reg)
    return only(v)


def test_id_matching_register_has_no_code() -> None:
    row = _check(person(pid=ID1), [citizen(ID1)])
    assert (row["reasons"], row["loaded_personal_id"], row["loaded_name"]) == (
        [],
        ID1,
        "Nguyễn Văn An",
    )


def test_id_not_found() -> None:
    assert _check(person(pid=ID1), [citizen(ID2)])["reasons"] == [model.ID_NOT_FOUND]


def test_id_name_mismatch() -> None:
    assert _check(person(pid=ID1), [citizen(ID1, "Nguyễn Văn Anh")])["reasons"] == [
        model.NAME_MISMATCH
    ]


def test_id_dob_mismatch() -> None:
    assert _check(person(pid=ID1), [citizen(ID1, dob="2020-05-03")])["reasons"] == [
        model.DOB_MISMATCH
    ]


def test_id_sex_mismatch() -> None:
    assert _check(person(pid=ID1), [citizen(ID1, sex="Nữ")])["reasons"] == [model.SEX_MISMATCH]


def test_id_year_only_dob_matches_on_year() -> None:
    src = person("a:death:1", record_type="death", dob="1950", pid=ID1, death="2020-01-01")
    assert _check(src, [citizen(ID1, dob="1950-12-31")])["reasons"] == []
    assert _check(src, [citizen(ID1, dob="1951-01-01")])["reasons"] == [model.DOB_MISMATCH]


def test_id_diacritics_loads_register_spelling() -> None:
    row = _check(person(name="Nguyen Van  An", pid=ID1), [citizen(ID1)])
    assert row["reasons"] == [model.NAME_DIACRITICS]
    assert (row["loaded_name"], row["source_name"]) == ("Nguyễn Văn An", "Nguyen Van  An")
    # Case and spacing alone are no diacritics difference.
    assert _check(person(name="NGUYỄN VĂN AN", pid=ID1), [citizen(ID1)])["reasons"] == []


def test_id_all_codes_sorted() -> None:
    row = _check(
        person(name="Nguyen Van An", pid=ID1, dob="2020-03-06"),
        [citizen(ID1, sex="Nữ")],
    )
    assert row["reasons"] == [model.DOB_MISMATCH, model.NAME_DIACRITICS, model.SEX_MISMATCH]
    row = _check(person(pid=ID1, dob="2020-03-06"), [citizen(ID1, "Trần Văn Bảo")])
    assert row["reasons"] == [model.DOB_MISMATCH, model.NAME_MISMATCH]


def test_check_ids_directly() -> None:
    src = persons(person(pid=ID1), person("a:birth:2", pid=ID2))
    citizens = pd.DataFrame([citizen(ID1)], columns=list(CITIZEN_COLUMNS))
    v = check_ids(src, citizens, {ID2})
    assert v["reasons"].tolist() == [[], [model.ID_NOT_FOUND]]
    assert v["loaded_personal_id"].tolist() == [ID1, ID2]


# --- records ------------------------------------------------------------------------------
def test_merge_marriage_spouses_and_singles() -> None:
    husband = person("m:marriage:1", record_type="marriage", role="husband", dob="1990-02-03")
    wife = person(
        "m:marriage:1",
        record_type="marriage",
        role="wife",
        name="Lê Thị Hoa",
        sex="Nữ",
        dob="1992-04-05",
        pid=ID2,
    )
    birth = person("b:birth:1", pid=ID3)
    v, _ = run(
        [husband, wife, birth],
        [
            citizen(ID1, dob="1990-02-03"),
            citizen(ID2, "Le Thi Hoa", sex="Nữ", dob="1992-04-06"),
            citizen(ID3),
        ],
    )
    merged = merge_record_verdicts(v).set_index("source_key")
    merged["reasons"] = model.reason_lists(merged["reason_mask"].to_numpy(), model.CODE_ORDER)
    assert merged.loc["m:marriage:1", "reasons"] == [
        model.DOB_MISMATCH,
        model.LINKED,
        model.NAME_DIACRITICS,
    ]
    assert merged.loc["m:marriage:1", "status"] == "review"
    assert merged.loc["m:marriage:1", "personal_id"] is None
    assert (merged.loc["b:birth:1", "reasons"], merged.loc["b:birth:1", "status"]) == ([], "loaded")
    assert merged.loc["b:birth:1", "personal_id"] == ID3


def test_merge_loaded_marriage_unions_codes_once() -> None:
    verdicts = pd.DataFrame(
        {
            "source_key": ["m:1", "m:1", "b:2"],
            "role": ["husband", "wife", "subject"],
            "reasons": [
                [model.LINK_NONE],
                [model.LINK_NONE, model.LEGACY_ENCODING],
                [model.ID_NOT_FOUND],
            ],
            "loaded_personal_id": [None, None, ID1],
        }
    )
    merged = merge_record_verdicts(verdicts)
    assert model.reason_lists(merged["reason_mask"].to_numpy(), model.CODE_ORDER) == [
        [model.LEGACY_ENCODING, model.LINK_NONE],
        [model.ID_NOT_FOUND],
    ]
    assert merged["status"].tolist() == ["loaded", "review"]
    assert merged["personal_id"].tolist() == [None, None]


def test_empty_inputs() -> None:
    result = reconcile(persons(), FakeRegister([]))
    assert result.persons.empty and list(result.persons.columns) == list(VERDICT_COLUMNS)
    assert merge_record_verdicts(result.persons).empty
