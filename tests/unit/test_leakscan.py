"""The leak scanner finds what is planted, as a test of a run's outputs needs it to."""

from __future__ import annotations

import json
import unicodedata

import pandas as pd

from hotich_dev.leakscan import Scanner, file_texts, fold

ID, NAME, SECRET = "027218000001", "Nguyễn Văn An", "s3cr3t-planted-4711"


def scanner() -> Scanner:
    return Scanner(ids=[ID, "12345"], names=[NAME, "An"], secrets=[SECRET])


def test_finds_a_planted_id_name_and_secret_with_masked_excerpts():
    text = f"INFO district 901: person {ID} is {NAME}; token {SECRET}"
    hits = scanner().scan("task.log", text)
    assert sorted(h.kind for h in hits) == ["full name", "personal ID", "secret"]
    report = "\n".join(map(str, hits))
    assert "task.log: personal ID 027******001" in report and "N. V. A." in report
    assert ID not in report and NAME not in report and SECRET not in report


def test_finds_names_in_other_forms():
    s = scanner()
    nfd = unicodedata.normalize("NFD", NAME)
    assert nfd != NAME and s.scan("a", f"name={nfd}")
    assert s.scan("b", NAME.upper())
    assert s.scan("c", json.dumps({"full_name": NAME}))  # \\uXXXX escapes, as in XCom JSON
    assert s.scan("d", "nguyễn   văn\tan,")
    assert fold("\\u1ec5") == "ễ"


def test_does_not_find_what_is_not_there():
    s = scanner()
    assert s.names == {"nguyễn văn an"}  # one-word names are not full names
    assert s.scan("a", "Nguyễn Văn Anh, Nguyễn Văn") == []
    assert s.scan("b", f"0{ID} {ID[:-1]} 027*******001 12345") == []  # 13 and 11 digits, masked
    assert s.scan("c", "") == []


def test_scans_parquet_cells_and_text_files(tmp_path):
    pd.DataFrame({"full_name": [NAME], "n": [1]}).to_parquet(tmp_path / "persons.parquet")
    (tmp_path / "gx").mkdir()
    (tmp_path / "gx" / "birth.json").write_text('{"sample_source_keys": ["901:birth:1"]}')
    (tmp_path / "note.txt").write_bytes(f"id {ID}\n".encode() + b"\xff")
    hits = scanner().scan_all(file_texts(tmp_path))
    assert sorted((h.where.rsplit("/", 1)[-1], h.kind) for h in hits) == [
        ("note.txt", "personal ID"),
        ("persons.parquet", "full name"),
    ]
