"""A row's legacy values decide its ambiguous ones (issue 15; docs/district-sources.md):
TCVN3 ``GÊm`` is ``Gấm``, yet ``Ê`` is also a Unicode letter, so ``Le Minh GÊm`` reads as
Vietnamese both ways; the row's other legacy values say which reading it takes.
"""

from __future__ import annotations

import time

import pandas as pd

from hotich.model import NAME_FIELDS, OTHER_TEXT_FIELDS
from hotich.normalize import normalize_records
from hotich.vnencoding import decode_legacy, decode_legacy_rows, encode_tcvn3, encode_vni

TEXT = ["subject_name", "mother_name", "father_name", "place", "note"]
GAM = "Le Minh GÊm"  # TCVN3 for "Le Minh Gấm" ("Le" typed without its mark), or Unicode


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["source_key", *TEXT], dtype=object)


def test_the_value_alone_is_ambiguous() -> None:
    assert decode_legacy(GAM) == (GAM, False)  # per value: kept (a tie), issue 15's defect
    assert decode_legacy(encode_tcvn3("Lê Minh Gấm")) == ("Lê Minh Gấm", True)  # 'Lª': not


def test_ambiguous_value_takes_the_reading_of_a_tcvn3_row() -> None:
    raw = frame(
        {
            "source_key": "262:birth:1",
            "subject_name": GAM,
            "mother_name": encode_tcvn3("Trần Thị Bình"),  # TrÇn ThÞ B×nh
            "father_name": encode_tcvn3("Lê Văn Đức"),
            "place": encode_tcvn3("Bắc Ninh"),
        },
        {
            "source_key": "262:birth:2",
            "subject_name": encode_tcvn3("Lê Minh Gấm"),  # unambiguous on its own
            "mother_name": GAM.replace("Le ", "Nguyễn "),  # beyond Latin-1: plain Unicode
            "place": None,
        },
    )
    out, converted = decode_legacy_rows(raw, TEXT)
    assert out.loc[0, "subject_name"] == "Le Minh Gấm"
    assert out.loc[0, ["mother_name", "father_name", "place"]].tolist() == [
        "Trần Thị Bình",
        "Lê Văn Đức",
        "Bắc Ninh",
    ]
    assert out.loc[1, "subject_name"] == "Lê Minh Gấm"
    assert out.loc[1, "mother_name"] == "Nguyễn Minh GÊm"
    assert converted.tolist() == [True, True]
    assert out["source_key"].tolist() == raw["source_key"].tolist()
    assert pd.isna(out.loc[1, "place"]) and pd.isna(out.loc[0, "note"])


def test_ambiguous_value_stays_in_a_unicode_row_or_alone() -> None:
    raw = frame(
        {"subject_name": GAM, "mother_name": "Trần Thị Bình", "place": "Bắc Ninh"},  # Unicode
        {"subject_name": GAM, "mother_name": "Hà Thái Tú", "note": "ASCII note"},  # Latin-1
        {"subject_name": GAM},  # no other value
        {"subject_name": "Hoà Thò An", "place": "Thôn Đông"},  # VNI "Hồ Thị An", ambiguous
    )
    out, converted = decode_legacy_rows(raw, TEXT)
    assert out["subject_name"].tolist() == [GAM, GAM, GAM, "Hoà Thò An"]
    assert out.loc[1, "mother_name"] == "Hà Thái Tú"
    assert not converted.any()


def test_a_vni_row_decodes_its_ambiguous_values_as_vni_only() -> None:
    raw = frame(
        # GÊm has no VNI reading: it stays; "Hoà Thò An" reads as VNI and takes it.
        {"subject_name": GAM, "mother_name": encode_vni("Nguyễn Thị Hoa")},
        {"subject_name": "Hoà Thò An", "mother_name": encode_vni("Nguyễn Thị Hoa")},
    )
    out, converted = decode_legacy_rows(raw, TEXT)
    assert out["subject_name"].tolist() == [GAM, "Hồ Thị An"]
    assert out["mother_name"].tolist() == ["Nguyễn Thị Hoa"] * 2
    assert converted.tolist() == [True, True]


def test_mixed_votes_decide_by_majority_and_a_tie_keeps_the_ambiguous_value() -> None:
    t, v = encode_tcvn3("Bắc Ninh"), encode_vni("Nguyễn Thị Hoa")
    raw = frame(
        {"subject_name": GAM, "mother_name": t, "father_name": t, "place": v},
        {"subject_name": GAM, "mother_name": t, "place": v},
    )
    out, _ = decode_legacy_rows(raw, TEXT)
    assert out["subject_name"].tolist() == ["Le Minh Gấm", GAM]
    assert out.loc[1, "mother_name"] == "Bắc Ninh"  # unambiguous values decode anyway


def test_non_text_values_and_other_columns_are_left_as_they_are() -> None:
    raw = pd.DataFrame(
        {"subject_name": [GAM, 12.0, None], "subject_id": [1, 2, 3], "place": ["x", "y", "z"]},
        index=[7, 8, 9],
    )
    out, converted = decode_legacy_rows(raw, ["subject_name", "missing_column"])
    assert out.index.tolist() == [7, 8, 9] and converted.index.tolist() == [7, 8, 9]
    assert out.loc[8, "subject_name"] == 12.0 and out.loc[9, "subject_name"] is None
    assert out["subject_id"].tolist() == [1, 2, 3]


def test_unicode_nfd_comes_back_nfc() -> None:
    import unicodedata

    raw = frame({"subject_name": unicodedata.normalize("NFD", "Nguyễn Thị Ánh")})
    out, converted = decode_legacy_rows(raw, TEXT)
    assert out.loc[0, "subject_name"] == "Nguyễn Thị Ánh" and not converted.any()


def test_many_rows_are_decided_per_distinct_value_fast() -> None:
    """200,000 rows of four kinds: the work is per distinct value, not per row."""
    rows = [
        {"subject_name": GAM, "mother_name": encode_tcvn3("Trần Thị Bình")},
        {"subject_name": GAM, "mother_name": "Trần Thị Bình"},
        {"subject_name": "Hoà Thò An", "mother_name": encode_vni("Nguyễn Thị Hoa")},
        {"subject_name": "Nguyen Van An", "mother_name": None},
    ] * 50_000
    raw = frame(*rows)
    started = time.monotonic()
    out, converted = decode_legacy_rows(raw, TEXT)
    elapsed = time.monotonic() - started
    assert out["subject_name"].iloc[:4].tolist() == [
        "Le Minh Gấm",
        GAM,
        "Hồ Thị An",
        "Nguyen Van An",
    ]
    assert out["subject_name"].value_counts().to_dict() == {
        "Le Minh Gấm": 50_000, GAM: 50_000, "Hồ Thị An": 50_000, "Nguyen Van An": 50_000
    }  # fmt: skip
    assert converted.sum() == 100_000
    assert elapsed < 5, elapsed  # ~0.3 s here


def test_normalize_records_after_the_row_decision() -> None:
    """How normalize_records is meant to use it: decode row by row first, OR the flags."""
    raw = frame(
        {"source_key": "262:birth:1", "subject_name": GAM, "place": encode_tcvn3("Bắc Ninh")},
        {"source_key": "262:birth:2", "subject_name": GAM, "place": "Bắc Ninh"},
    )
    decoded, converted = decode_legacy_rows(raw, [*NAME_FIELDS, *OTHER_TEXT_FIELDS])
    out = normalize_records(decoded)
    assert out["subject_name"].tolist() == ["Le Minh Gấm", GAM]
    assert out["place"].tolist() == ["Bắc Ninh", "Bắc Ninh"]
    assert (out["legacy_encoding"] | converted).tolist() == [True, False]
