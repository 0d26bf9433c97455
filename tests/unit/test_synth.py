"""The synthetic province: determinism, realism, valid IDs, and the oracle's rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections import Counter

import pandas as pd
import pytest

from hotich_dev.synth.defects import EXPECTED_CODE
from hotich_dev.synth.names import SURNAME_TARGETS
from hotich_dev.synth.oracle import (
    PROVINCE_CODES,
    Person,
    Register,
    century_digit,
    compute_truth,
    fold,
    link,
    parse_date,
)
from hotich_dev.synth.province import generate

RUN_DATE = dt.date(2025, 9, 1)


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """One small province (SQLite/workbook sources only), shared by the tests here."""
    out = tmp_path_factory.mktemp("synth")
    res = generate(0.01, 11, out, run_date=RUN_DATE)
    truth = pd.read_parquet(res.files["truth"])
    defects = pd.read_parquet(res.files["defects"])
    persons = pd.read_parquet(res.files["truth_persons"])
    register = pd.read_parquet(res.files["register"])
    return res, truth, defects, persons, register


def _digest(path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.suffix in (".parquet", ".yaml", ".env", ".csv"):
            h.update(p.name.encode() + p.read_bytes())
        elif p.suffix == ".sqlite":
            con = sqlite3.connect(p)
            for (t,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
            ):
                for row in con.execute(f"SELECT * FROM {t} ORDER BY 1"):
                    h.update(repr(row).encode())
            con.close()
    return h.hexdigest()


def test_deterministic_by_seed(tmp_path):
    a = generate(0.003, 5, tmp_path / "a", run_date=RUN_DATE)
    b = generate(0.003, 5, tmp_path / "b", run_date=RUN_DATE)
    c = generate(0.003, 6, tmp_path / "c", run_date=RUN_DATE, write_sources_=False)
    ta, tb = pd.read_parquet(a.files["truth"]), pd.read_parquet(b.files["truth"])
    pd.testing.assert_frame_equal(ta, tb)
    pd.testing.assert_frame_equal(
        pd.read_parquet(a.files["register"]), pd.read_parquet(b.files["register"])
    )
    # Everything but the absolute paths in districts.yaml/connections.env is identical.
    for f in ("districts.yaml", "connections.env"):
        (tmp_path / "a" / f).unlink()
        (tmp_path / "b" / f).unlink()
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert not ta.equals(pd.read_parquet(c.files["truth"]))


def test_sizes_and_structure(province):
    res, truth, _d, _p, register = province
    assert 13_000 < len(register) < 18_000  # ≈1.5 M at scale 1.0
    assert 10_500 < len(truth) < 11_600  # ≈1.1 M at scale 1.0
    assert truth["source_key"].is_unique
    assert register["so_dinh_danh"].is_unique
    assert set(truth["record_type"]) <= {"birth", "death", "marriage", "unknown"}
    assert {"loaded", "review", "quarantined"} == set(truth["status"])
    for reasons in truth["reasons"]:
        assert list(reasons) == sorted(set(reasons))  # each once, C collation
    flavors = {d["flavor"] for d in res.districts}
    assert flavors == {"modern", "legacy", "workbook"}


def test_surname_shares(province):
    register = province[4]
    surname = register["ho_ten"].str.split(" ").str[0]
    for target, pct in SURNAME_TARGETS.items():
        share = 100 * surname.isin(target.split("|")).mean()
        assert abs(share - pct) <= 2.0, (target, share)


def test_names_are_family_middle_given(province):
    register = province[4]
    words = register["ho_ten"].str.split(" ").str.len()
    assert words.min() >= 3
    women = register[register["gioi_tinh"] == "Nữ"]["ho_ten"].str.split(" ").str[1]
    assert 0.3 < (women == "Thị").mean() < 0.8


def _id_problems(pid: str, sex: str, dob: dt.date) -> set[str]:
    out = set()
    if len(pid) != 12 or not pid.isdigit():
        return {"format"}
    if pid[:3] not in PROVINCE_CODES:
        out.add("province")
    if int(pid[3]) != century_digit(dob.year, sex == "Nam"):
        out.add("century_sex")
    if pid[4:6] != f"{dob.year % 100:02d}":
        out.add("year")
    return out


def test_register_ids_valid_unless_labelled(province):
    res, _t, _d, _p, register = province
    labelled = set(pd.read_parquet(res.out / "register_defects.parquet")["so_dinh_danh"])
    bad = []
    for pid, sex, dob in zip(
        register["so_dinh_danh"], register["gioi_tinh"], register["ngay_sinh"], strict=True
    ):
        problems = _id_problems(pid, sex, pd.Timestamp(dob).date())
        if problems and not (pid in labelled and problems == {"century_sex"}):
            bad.append(problems)
    assert not bad
    assert (register["noi_dang_ky_khai_sinh"] == register["so_dinh_danh"].str[:3]).all()
    assert (register["noi_dang_ky_khai_sinh"] == "027").mean() > 0.8


def test_record_id_codes_only_where_labelled(province):
    _r, truth, defects, _p, _reg = province
    labels = dict(zip(defects["source_key"], defects["defects"], strict=True))
    id_kinds = {"id_format", "id_province", "id_century", "id_year", "wrong_sex", "marriage_age"}
    id_codes = {"ID_FORMAT", "ID_PROVINCE", "ID_CENTURY_SEX", "ID_BIRTH_YEAR"}
    for sk, reasons in zip(truth["source_key"], truth["reasons"], strict=True):
        if id_codes & set(reasons):
            assert id_kinds & set(labels.get(sk, [])), (sk, list(reasons))


def test_each_defect_kind_yields_its_code(province):
    _r, truth, defects, _p, _reg = province
    m = truth.merge(defects, on="source_key")
    seen, misses = Counter(), []
    for sk, reasons, kinds in zip(m["source_key"], m["reasons"], m["defects"], strict=True):
        if len(kinds) != 1 or kinds[0] not in EXPECTED_CODE or kinds[0] == "duplicate":
            continue
        seen[kinds[0]] += 1
        if EXPECTED_CODE[kinds[0]] not in reasons:
            misses.append((kinds[0], sk, list(reasons)))
    assert not misses
    must = {
        "required_missing", "date_future", "date_order", "marriage_age", "id_format",
        "id_year", "id_unknown", "name_typo", "name_diacritics", "legacy_encoding",
    }  # fmt: skip
    assert must <= set(seen), must - set(seen)


def test_duplicates_keep_exactly_one(province):
    _r, truth, defects, _p, _reg = province
    logical = pd.read_parquet(province[0].files["logical"])
    dup_keys = set(defects[defects["defects"].map(lambda k: "duplicate" in k)]["source_key"])
    assert dup_keys
    t = truth.merge(logical[["source_key", "book", "entry"]], on="source_key")
    flagged = t[t["reasons"].map(lambda r: "DUPLICATE_ENTRY" in r)]
    assert len(flagged) >= len(dup_keys) * 0.9
    groups = t.groupby(["district_code", "record_type", "book", "entry"])["reasons"]
    for _key, reasons in groups:
        if len(reasons) > 1:
            assert sum("DUPLICATE_ENTRY" not in r for r in reasons) == 1


def test_hard_link_cases(province):
    _r, _t, defects, persons, _reg = province
    pm = persons.merge(defects, on="source_key")

    def verdicts(kind):
        return pm[pm["defects"].map(lambda k: kind in k) & pm["link_verdict"].notna()][
            "link_verdict"
        ]

    assert (verdicts("ghost_namesake") == "LINK_NONE").all() and len(verdicts("ghost_namesake")) > 5
    assert (verdicts("cluster50") == "LINK_AMBIGUOUS").all() and len(verdicts("cluster50")) >= 2
    assert (verdicts("namesake_resolved") == "LINKED").all()
    assert (verdicts("namesake_tie") == "LINK_AMBIGUOUS").mean() > 0.5
    v = persons["link_verdict"].value_counts()
    assert v["LINKED"] > v["LINK_NONE"] > v["LINK_AMBIGUOUS"] > 20
    # Links that needed corroboration exist: folded names, slips, swapped dates.
    linked = persons[persons["link_verdict"] == "LINKED"]
    assert (linked["name_level"] == "folded").sum() > 20
    assert (linked["name_level"] == "slip").sum() > 20
    assert (linked["date_level"] == "swapped").sum() > 5
    assert linked["corroborated"].astype(bool).all() or (linked["name_level"] == "exact").any()
    # A loaded birth/death carries the linked ID.
    assert persons["candidates"].max() >= 50


def test_personal_id_only_for_loaded_births_and_deaths(province):
    truth = province[1]
    has = truth["personal_id"].notna()
    assert (truth.loc[has, "status"] == "loaded").all()
    assert truth.loc[has, "record_type"].isin(["birth", "death"]).all()
    assert truth.loc[truth["record_type"] == "marriage", "personal_id"].isna().all()


# --- the oracle's rules on hand-made cases ---------------------------------------------------
def test_fold_and_dates():
    assert fold("  Nguyễn  Văn ĐỨC ") == "nguyen van duc"
    assert fold("Thủy") == fold("Thúy") == fold("Thuỷ")
    assert parse_date("2001-02-30", False, RUN_DATE).state == "invalid"
    assert parse_date("2099-01-01", False, RUN_DATE).state == "invalid"
    assert parse_date("1950", True, RUN_DATE).state == "year"
    assert parse_date("1950", False, RUN_DATE).state == "invalid"
    assert parse_date("??/05/1960", True, RUN_DATE).state == "invalid"
    assert parse_date(None, True, RUN_DATE).state == "missing"


def _register(rows):
    cols = ["so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh", "noi_dang_ky_khai_sinh",
            "ho_ten_cha", "ho_ten_me", "trang_thai", "ngay_chet"]  # fmt: skip
    return Register(pd.DataFrame(rows, columns=cols))


def _birth(name, dob, mother=None):
    d = parse_date(dob, False, RUN_DATE)
    return Person(
        "subject",
        name,
        "Nam",
        d,
        None,
        None,
        mother=mother,
        reg=parse_date("2000-06-01", False, RUN_DATE),
    )


def test_linkage_rules():
    a = (
        "027085000001",
        "Nguyễn Văn Hùng",
        "Nam",
        "1985-03-04",
        "027",
        None,
        "Lê Thị Lan",
        "con_song",
        None,
    )
    b = (
        "027085000002",
        "Nguyễn Văn Hưng",
        "Nam",
        "1985-03-04",
        "027",
        None,
        None,
        "con_song",
        None,
    )
    reg = _register([a, b])
    # Exact name and date: LINKED even beside a folded namesake (which is not corroborated).
    assert link(_birth("Nguyễn Văn Hùng", "1985-03-04"), "birth", reg).linked_id == a[0]
    # Folded only, no corroboration: the exact-name candidate b fits ("Hưng"), not a.
    v = link(_birth("Nguyen Van Hung", "1985-03-04"), "birth", reg)
    assert v.link == "LINK_NONE"
    # Folded + mother corroborates a: a ranks first (corroborated), NAME_DIACRITICS.
    v = link(_birth("Nguyen Van Hung", "1985-03-04", mother="Le Thi Lan"), "birth", reg)
    assert (v.link, v.linked_id) == ("LINKED", a[0]) and "NAME_DIACRITICS" in v.codes
    # A mother's name that contradicts excludes; a swapped date needs corroboration.
    v = link(_birth("Nguyễn Văn Hùng", "1985-04-03", mother="Lê Thị Lam"), "birth", reg)
    assert (v.link, v.linked_id, v.date_level) == ("LINKED", a[0], "swapped")
    v = link(_birth("Nguyễn Văn Hùng", "1985-04-03", mother="Trần Thị Mai"), "birth", reg)
    assert v.link == "LINK_NONE"
    # True Damerau-Levenshtein: a transposition plus an insertion is 2, not 3 (OSA).
    from rapidfuzz.distance import DamerauLevenshtein

    assert DamerauLevenshtein.distance("ca", "abc") == 2


def test_oracle_record_rules():
    reg = pd.DataFrame(
        [("027085000001", "Nguyễn Văn Hùng", "Nam", "1985-03-04", "027", None, None, "con_song", None)],
        columns=["so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh", "noi_dang_ky_khai_sinh",
                 "ho_ten_cha", "ho_ten_me", "trang_thai", "ngay_chet"],
    )  # fmt: skip
    base = {c: None for c in ("loai", "book", "entry", "name", "sex", "sid", "mother_name", "father_name",
                              "place", "ethnicity", "nationality", "cause", "note", "h_name", "h_id",
                              "h_eth", "w_name", "w_id", "w_eth", "reg", "dob", "death", "mother_dob",
                              "father_dob", "h_dob", "w_dob", "legacy_cols", "true_pid", "true_h", "true_w")}  # fmt: skip
    base |= {"district": "260", "store": "sqlite", "rtype": "birth", "loai": "KS", "book": "B1",
             "name": "Nguyễn Văn Hùng", "sex": "Nam", "dob": "1985-03-04", "reg": "2016-05-01"}  # fmt: skip
    rows = [
        base | {"entry": "1", "sid": "027085000001", "local_key": "1"},  # loaded with its ID
        base | {"entry": "2", "sid": "027185000001", "local_key": "2"},  # century/sex
        base | {"entry": "3", "sid": "02708500001", "local_key": "3"},  # format
        base | {"entry": "4", "sid": "027085000009", "local_key": "4"},  # not found
        base | {"entry": "1", "local_key": "5", "name": "Nguyen Van Hung"},  # duplicate of 1
        base
        | {
            "entry": "6",
            "local_key": "6",
            "dob": "1985",
            "reg": "1984-01-01",
        },  # year-only birth dob
        base
        | {
            "entry": "7",
            "local_key": "7",
            "sid": "027085000001",
            "dob": "1985-04-03",
            "name": "Nguyễn văn HÙNG",
        },
        base | {"entry": "8", "local_key": "8", "store": "legacy", "loai": "XX"},
        base | {"entry": "9", "local_key": "9", "legacy_cols": "name"},
    ]
    rec = pd.DataFrame(rows)
    rec["sort_a"], rec["sort_b"] = "", rec["local_key"].astype(int)
    truth, _persons = compute_truth(rec, reg, RUN_DATE)
    got = {
        k.split(":", 2)[2]: (s, list(r))
        for k, s, r in zip(truth["source_key"], truth["status"], truth["reasons"], strict=True)
    }
    assert got["1"] == ("loaded", [])
    assert got["2"] == ("quarantined", ["ID_CENTURY_SEX"])
    assert got["3"] == ("quarantined", ["ID_FORMAT"])
    assert got["4"] == ("review", ["ID_NOT_FOUND"])
    assert got["5"] == ("quarantined", ["DUPLICATE_ENTRY"])
    assert got["6"] == ("quarantined", ["DATE_INVALID"])  # and no DATE_ORDER from an invalid date
    assert got["7"] == ("review", ["DOB_MISMATCH"])  # case differences are not diacritics
    assert got["8"] == ("quarantined", ["REQUIRED_MISSING"])
    assert truth["record_type"].tolist()[7] == "unknown"
    assert got["9"] == ("loaded", ["LEGACY_ENCODING", "LINKED"])
    assert truth["personal_id"].tolist()[0] == "027085000001"
